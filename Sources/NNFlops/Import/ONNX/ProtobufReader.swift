/// A reader of the protocol buffers wire format (https://protobuf.dev/programming-guides/encoding/),
/// the encoding of ONNX files. It walks one message's fields over the file's bytes
/// without copying them (a memory-mapped file is only touched where its messages are:
/// skipped weights are never paged in); a length-delimited field is handed out as a range
/// or a sub-reader. The buffer is borrowed for the duration of one decode
/// (`withUnsafeBytes`); nothing decoded keeps a reference to it. Every read is checked
/// against the end of its message before it is made; malformed input (a truncated varint,
/// a length past the end, an unknown wire type, unbalanced or too deeply nested groups)
/// throws `ProtobufError` with the byte offset, and never traps.
struct ProtobufReader {
    /// The wire types of the format. 6 and 7 are invalid.
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    /// How deep groups (deprecated, skipped) and messages may nest before the input is
    /// taken as hostile.
    static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    let end: Int
    let depth: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.init(bytes, range: 0..<bytes.count, depth: 0)
    }

    private init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, depth: Int) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.depth = depth
    }

    var isAtEnd: Bool { position >= end }

    // MARK: - Fields

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws(ProtobufError) -> (number: Int, wireType: WireType)? {
        guard position < end else { return nil }
        let start = position
        let tag = try readVarint()
        guard let wireType = WireType(rawValue: UInt8(tag & 7)) else {
            throw ProtobufError("invalid wire type \(tag & 7)", at: start)
        }
        let number = tag >> 3
        // Field numbers are 1 ... 2^29 - 1.
        guard number >= 1, number < (1 << 29) else { throw ProtobufError("invalid field number \(number)", at: start) }
        guard wireType != .endGroup else { throw ProtobufError("end of a group that was not started", at: start) }
        return (Int(number), wireType)
    }

    /// Skips the value of a field of `wireType` (unknown fields, unwanted data).
    mutating func skip(_ wireType: WireType) throws(ProtobufError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: try advance(8)
        case .fixed32: try advance(4)
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup: try skipGroup()
        case .endGroup: throw ProtobufError("end of a group that was not started", at: position)
        }
    }

    /// Skips a group up to its matching end tag (groups nest; each level counts towards
    /// `maxDepth`, iteratively, so no input can exhaust the stack).
    private mutating func skipGroup() throws(ProtobufError) {
        var open = 1
        while open > 0 {
            guard position < end else { throw ProtobufError("truncated group", at: position) }
            let start = position
            let tag = try readVarint()
            guard let wireType = WireType(rawValue: UInt8(tag & 7)) else {
                throw ProtobufError("invalid wire type \(tag & 7)", at: start)
            }
            switch wireType {
            case .startGroup:
                open += 1
                guard depth + open <= Self.maxDepth else { throw ProtobufError("groups nest deeper than \(Self.maxDepth)", at: start) }
            case .endGroup:
                open -= 1
            default:
                try skip(wireType)
            }
        }
    }

    // MARK: - Scalars

    /// A base-128 varint of at most 10 bytes.
    mutating func readVarint() throws(ProtobufError) -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw ProtobufError("truncated varint", at: start) }
            let byte = bytes[position]
            position += 1
            if shift == 63 && byte > 1 { throw ProtobufError("varint overflows 64 bits", at: start) }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw ProtobufError("varint longer than 10 bytes", at: start) }
        }
    }

    /// An int64 / int32 / enum field: the varint read as two's complement.
    mutating func readInt64() throws(ProtobufError) -> Int64 { Int64(bitPattern: try readVarint()) }

    /// A varint that must fit in an `Int` (a count, a size, a dimension).
    mutating func readInt() throws(ProtobufError) -> Int { Int(truncatingIfNeeded: try readInt64()) }

    mutating func readFixed32() throws(ProtobufError) -> UInt32 {
        let start = position
        try advance(4)
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[start + i]) << (8 * UInt32(i)) }
        return value
    }

    mutating func readFixed64() throws(ProtobufError) -> UInt64 {
        let start = position
        try advance(8)
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[start + i]) << (8 * UInt64(i)) }
        return value
    }

    mutating func readFloat() throws(ProtobufError) -> Float { Float(bitPattern: try readFixed32()) }
    mutating func readDouble() throws(ProtobufError) -> Double { Double(bitPattern: try readFixed64()) }

    // MARK: - Length-delimited

    /// The byte range of a length-delimited value, skipped over without copying.
    mutating func readLengthDelimited() throws(ProtobufError) -> Range<Int> {
        let start = position
        let length = try readVarint()
        guard length <= UInt64(end - position) else {
            throw ProtobufError("length \(length) runs past the end of the data (\(end - position) bytes left)", at: start)
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// A nested message as a reader of its own.
    mutating func readMessage() throws(ProtobufError) -> ProtobufReader {
        let start = position
        guard depth < Self.maxDepth else { throw ProtobufError("messages nest deeper than \(Self.maxDepth)", at: start) }
        return ProtobufReader(bytes, range: try readLengthDelimited(), depth: depth + 1)
    }

    /// A string field (UTF-8; invalid sequences become U+FFFD rather than failing).
    mutating func readString() throws(ProtobufError) -> String {
        String(decoding: bytes[try readLengthDelimited()], as: UTF8.self)
    }

    // MARK: - Repeated scalars (packed or not)

    /// Appends one element, or a packed run of them, of a repeated varint field.
    mutating func readRepeatedInt64(_ wireType: WireType, into values: inout [Int64]) throws(ProtobufError) {
        switch wireType {
        case .varint:
            values.append(try readInt64())
        case .lengthDelimited:
            var packed = ProtobufReader(bytes, range: try readLengthDelimited(), depth: depth)
            while !packed.isAtEnd { values.append(try packed.readInt64()) }
        default:
            throw ProtobufError("a repeated integer field has wire type \(wireType.rawValue)", at: position)
        }
    }

    /// Appends one element, or a packed run of them, of a repeated float field.
    mutating func readRepeatedFloat(_ wireType: WireType, into values: inout [Float]) throws(ProtobufError) {
        switch wireType {
        case .fixed32:
            values.append(try readFloat())
        case .lengthDelimited:
            let range = try readLengthDelimited()
            guard range.count % 4 == 0 else { throw ProtobufError("packed floats of \(range.count) bytes", at: range.lowerBound) }
            var packed = ProtobufReader(bytes, range: range, depth: depth)
            while !packed.isAtEnd { values.append(try packed.readFloat()) }
        default:
            throw ProtobufError("a repeated float field has wire type \(wireType.rawValue)", at: position)
        }
    }

    /// A reader over `range` of the same buffer (packed data recorded earlier).
    func reader(over range: Range<Int>) -> ProtobufReader {
        ProtobufReader(bytes, range: range.clamped(to: 0..<bytes.count), depth: depth)
    }

    private mutating func advance(_ count: Int) throws(ProtobufError) {
        guard end - position >= count else { throw ProtobufError("truncated: \(count) bytes needed, \(end - position) left", at: position) }
        position += count
    }
}

/// Malformed protocol buffers data, with the byte offset where it was found.
struct ProtobufError: Error, Sendable, CustomStringConvertible {
    var message: String
    var offset: Int
    init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
    var description: String { "\(message) (at byte \(offset))" }
}
