/// The JSON every report is written as: pretty-printed with two-space indentation,
/// object keys sorted by their UTF-8 bytes, slashes unescaped: byte for byte what
/// `JSONEncoder` writes with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`
/// (README, "JSON output"; JSONOutputTests compare the two over the zoo and the golden
/// files), in one streaming pass.
///
/// `JSONEncoder` builds a tree of boxed values, sorts each object's dictionary and then
/// serialises it: about 35,000 instructions per row of a layer table. Here values go
/// straight into one byte buffer; an object's members are written as they come, and when
/// the object ends its members are put in key order in place (each byte is moved once per
/// enclosing object). Reports encode through their `Codable` conformances, so the key
/// names keep one home, their `CodingKeys`.
public enum JSONOutput {
    /// The JSON text of `value`, without a trailing newline.
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = StreamingJSONEncoder()
        try encoder.encodeValue(value)
        return encoder.bytes.string
    }
}

/// The encoder behind `JSONOutput`. One instance writes one document; the containers it
/// hands out write through it.
final class StreamingJSONEncoder: Encoder {
    var bytes = ByteBuffer()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// An open object or array: where its contents start, its nesting depth, and, for an
    /// object, its members so far (in `members`, from `firstMember` on).
    struct Frame {
        var isObject: Bool
        var contentStart: Int
        var depth: Int
        var firstMember: Int
        var count = 0
        /// A container from `nestedContainer` or `nestedUnkeyedContainer`: nothing tells
        /// the encoder when it is done, so it closes when its parent writes again or
        /// closes. `member`: the parent's member it is the value of.
        var isNested = false
        var member: Int?
    }

    /// One member of an open object: where its `"key" : value` bytes are, and its key.
    /// A key written without escapes (every report's) is its own bytes in `bytes`, right
    /// after the opening quote at `start`; one with escapes is kept whole in
    /// `escapedKeys`. `head` holds the key's first 16 bytes, big-endian and zero-padded:
    /// most comparisons are two integer comparisons, and the member holds no reference,
    /// so sorting moves plain words.
    struct Member {
        var start: Int
        var keyLength: Int
        var end = 0
        var head: (UInt64, UInt64)
        /// Index in `escapedKeys`, or -1 when the key needed no escape.
        var escapedKey: Int
    }

    var frames: [Frame] = []
    /// The keys that needed escaping, for the members that hold them.
    var escapedKeys: [[UInt8]] = []
    var members: [Member] = []
    /// Frames open when the value now being encoded began: a container it asks for is
    /// its own when `frames.count` is larger (a second request returns the same one).
    var valueBase = 0
    var scratch = ByteBuffer(capacity: 1 << 12)
    /// The key order of the last object sorted whose keys all differed in their first 16
    /// bytes: its members' heads, in the order written, and the order they were put in.
    /// The next object with the same heads (the next row of a table) takes that order
    /// without sorting; a row's sort was half of its encoding.
    var lastHeads: [(UInt64, UInt64)] = []
    var lastOrder: [Int] = []
    var unsortedMembers: [Member] = []
    /// Set by `precedes` when two heads were equal and the whole keys were compared: the
    /// order then depends on more than the heads, and is not reused.
    var comparedWholeKeys = false
    /// The key lines of the last `JSONRow` type written at this depth (StreamingRowWriter).
    var rowKeyLinesType: ObjectIdentifier?
    var rowKeyLinesDepth = -1
    /// Their bytes, one after another, and where each ends.
    var rowKeyLines = ByteBuffer(capacity: 1 << 10)
    var rowKeyLineEnds: [Int] = []

    init() {}

    // MARK: values

    /// Encodes one value at the current position and closes any container it opened.
    func encodeValue<T: Encodable>(_ value: T) throws {
        let saved = valueBase
        valueBase = frames.count
        let start = bytes.count
        try value.encode(to: self)
        if frames.count > valueBase {
            settle(valueBase)
            close()
        } else if bytes.count == start {
            // A value that encoded nothing is an empty object, as in JSONEncoder.
            open(object: true)
            close()
        }
        valueBase = saved
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if frames.count == valueBase { open(object: true) }
        return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, frame: valueBase))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if frames.count == valueBase { open(object: false) }
        return UnkeyedContainer(encoder: self, frame: valueBase)
    }

    /// Opens an object or an array at the current position (depth: the frames open).
    func open(object: Bool) {
        bytes.append(UInt8(ascii: object ? "{" : "["))
        frames.append(Frame(isObject: object, contentStart: bytes.count, depth: frames.count, firstMember: members.count))
    }

    /// Closes the nested containers above frame `index` before it writes again.
    func settle(_ index: Int) {
        while frames.count > index + 1, frames[frames.count - 1].isNested {
            let member = frames[frames.count - 1].member
            close()
            if let member { members[member].end = bytes.count }
        }
    }

    /// A container opened as the value of a member (`forKey`) or element of frame `index`.
    func openNested(object: Bool, in index: Int, forKey key: String?) -> Int {
        settle(index)
        if let key {
            beginMember(key, in: index)
        } else {
            beginElement(in: index)
        }
        open(object: object)
        frames[frames.count - 1].isNested = true
        frames[frames.count - 1].member = key == nil ? nil : members.count - 1
        return frames.count - 1
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleValueContainer(encoder: self) }

    /// Ends the innermost open container: an object's members are rewritten in key order
    /// with their separators and indentation; an array only gets its closing line.
    func close() {
        settle(frames.count - 1)
        let frame = frames.removeLast()
        if frame.isObject {
            let count = members.count - frame.firstMember
            if count > 0 {
                sortMembers(from: frame.firstMember)
                scratch.removeAll()
                scratch.append(frame.contentStart..<bytes.count, of: bytes)
                bytes.truncate(to: frame.contentStart)
                var first = true
                for member in members[frame.firstMember...] {
                    if first {
                        bytes.append(UInt8(ascii: "\n"))
                        first = false
                    } else {
                        bytes.append(UInt8(ascii: ","))
                        bytes.append(UInt8(ascii: "\n"))
                    }
                    indent(frame.depth + 1)
                    let offset = frame.contentStart
                    bytes.append((member.start - offset)..<(member.end - offset), of: scratch)
                }
                members.removeSubrange(frame.firstMember...)
            } else {
                bytes.append(UInt8(ascii: "\n"))
            }
            bytes.append(UInt8(ascii: "\n"))
            indent(frame.depth)
            bytes.append(UInt8(ascii: "}"))
        } else {
            if frame.count == 0 { bytes.append(UInt8(ascii: "\n")) }
            bytes.append(UInt8(ascii: "\n"))
            indent(frame.depth)
            bytes.append(UInt8(ascii: "]"))
        }
    }

    /// Puts the members from `first` on in key order: a report's object (a dozen members
    /// or so, often in order) by insertion sort, a large dictionary by the library's sort.
    func sortMembers(from first: Int) {
        let count = members.count - first
        guard count > 1 else { return }
        guard count <= 32 else {
            members[first...].sort { precedes($0, $1) }
            return
        }
        if count == lastOrder.count, (0..<count).allSatisfy({ members[first + $0].head == lastHeads[$0] }) {
            unsortedMembers.removeAll(keepingCapacity: true)
            unsortedMembers.append(contentsOf: members[first...])
            for (position, index) in lastOrder.enumerated() { members[first + position] = unsortedMembers[index] }
            return
        }
        unsortedMembers.removeAll(keepingCapacity: true)
        unsortedMembers.append(contentsOf: members[first...])
        comparedWholeKeys = false
        for i in (first + 1)..<members.count {
            let member = members[i]
            var j = i
            while j > first, precedes(member, members[j - 1]) {
                members[j] = members[j - 1]
                j -= 1
            }
            if j != i { members[j] = member }
        }
        lastOrder.removeAll(keepingCapacity: true)
        lastHeads.removeAll(keepingCapacity: true)
        guard !comparedWholeKeys else { return }
        // Members are written in order, so a member's position before the sort is the
        // rank of its start.
        for member in members[first...] {
            guard let index = unsortedMembers.firstIndex(where: { $0.start == member.start }) else {
                lastOrder.removeAll()
                return
            }
            lastOrder.append(index)
        }
        lastHeads.append(contentsOf: unsortedMembers.lazy.map(\.head))
    }

    /// Key order: the UTF-8 bytes, compared lexicographically (JSONEncoder's `sortedKeys`).
    func precedes(_ a: Member, _ b: Member) -> Bool {
        if a.head.0 != b.head.0 { return a.head.0 < b.head.0 }
        if a.head.1 != b.head.1 { return a.head.1 < b.head.1 }
        // The first 16 bytes agree (or a key is shorter, or holds U+0000): the whole keys.
        comparedWholeKeys = true
        return withKey(of: a) { x in withKey(of: b) { y in x.lexicographicallyPrecedes(y) } }
    }

    /// Calls `body` with a member's key as written by the report (unescaped), in UTF-8:
    /// its own bytes in `bytes`, or the copy kept in `escapedKeys`.
    func withKey<R>(of member: Member, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if member.escapedKey >= 0 { return escapedKeys[member.escapedKey].withUnsafeBufferPointer(body) }
        return bytes.withBytes(in: (member.start + 1)..<(member.start + 1 + member.keyLength), body)
    }

    /// Two spaces a level, in one fill.
    func indent(_ depth: Int) {
        bytes.append(repeating: UInt8(ascii: " "), count: 2 * depth)
    }

    // MARK: members and elements

    /// Starts a member of object frame `index`: records it and writes `"key" : `.
    func beginMember(_ key: String, in index: Int) {
        settle(index)
        let start = bytes.count
        var key = key
        var high: UInt64 = 0, low: UInt64 = 0
        let plain = key.withUTF8 { utf8 -> Bool in
            // The first 16 bytes, zero-padded, read as two big-endian words.
            var padded: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &padded) { words in
                words.copyMemory(from: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[..<min(utf8.count, 16)])))
            }
            high = UInt64(bigEndian: padded.0)
            low = UInt64(bigEndian: padded.1)
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(utf8)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
        var keyLength = 0
        var escapedKey = -1
        if plain {
            keyLength = bytes.count - start - 2
        } else {
            escapedKeys.append(Array(key.utf8))
            escapedKey = escapedKeys.count - 1
            writeString(key)
        }
        members.append(Member(start: start, keyLength: keyLength, head: (high, low), escapedKey: escapedKey))
        bytes.append(UInt8(ascii: " "))
        bytes.append(UInt8(ascii: ":"))
        bytes.append(UInt8(ascii: " "))
    }

    func endMember() {
        members[members.count - 1].end = bytes.count
    }

    /// Starts an element of array frame `index`: the separator and indentation.
    func beginElement(in index: Int) {
        settle(index)
        if frames[index].count > 0 { bytes.append(UInt8(ascii: ",")) }
        frames[index].count += 1
        bytes.append(UInt8(ascii: "\n"))
        indent(frames[index].depth + 1)
    }

    // MARK: scalars

    func writeString(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var mark = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(UnsafeBufferPointer(rebasing: utf8[mark..<i]))
                mark = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append([UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
            }
            bytes.append(UnsafeBufferPointer(rebasing: utf8[mark...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Every integer is written through one of two non-generic paths: a generic one is not
    /// specialised when reached through `Encodable`'s witness tables, and cost about 700
    /// instructions per number.
    func writeInteger<I: FixedWidthInteger>(_ value: I) {
        if I.isSigned, let signed = Int64(exactly: value) {
            writeSigned(signed)
        } else if let unsigned = UInt64(exactly: value) {
            writeUnsigned(unsigned, negative: false)
        } else {
            bytes.append(utf8: String(value))  // wider than 64 bits: none in the reports
        }
    }

    func writeSigned(_ value: Int64) {
        writeUnsigned(value.magnitude, negative: value < 0)
    }

    func writeUnsigned(_ magnitude: UInt64, negative: Bool) {
        if negative { bytes.append(UInt8(ascii: "-")) }
        if magnitude < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude))
            return
        }
        // Written in place, last digit first: UInt64.max has 20 digits.
        var digits = 0
        var remaining = magnitude
        while remaining != 0 {
            digits += 1
            remaining /= 10
        }
        bytes.write(atMost: 20) { room in
            var remaining = magnitude
            for position in stride(from: digits - 1, through: 0, by: -1) {
                room[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            }
            return digits
        }
    }

    /// A floating-point number as JSONEncoder writes it: its shortest round-trip
    /// `description`, without a trailing `.0`; infinity and NaN cannot be written.
    func writeFloat<F: BinaryFloatingPoint & CustomStringConvertible>(_ value: F, _ key: (any CodingKey)?) throws {
        guard value.isFinite else {
            let name = value.isNaN ? "\(F.self).nan" : value > 0 ? "\(F.self).infinity" : "-\(F.self).infinity"
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: key.map { [$0] } ?? [],
                debugDescription: "Unable to encode \(name) directly in JSON."))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(utf8: text)
    }

    // MARK: containers

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: StreamingJSONEncoder
        let frame: Int
        var codingPath: [any CodingKey] { [] }

        func encodeNil(forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            encoder.bytes.append("null" as StaticString)
            encoder.endMember()
        }
        func encode(_ value: Bool, forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            encoder.bytes.append(value ? "true" as StaticString : "false")
            encoder.endMember()
        }
        func encode(_ value: String, forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            encoder.writeString(value)
            encoder.endMember()
        }
        func encode(_ value: Double, forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            try encoder.writeFloat(value, key)
            encoder.endMember()
        }
        func encode(_ value: Float, forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            try encoder.writeFloat(value, key)
            encoder.endMember()
        }
        func encode(_ value: Int, forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            encoder.writeSigned(Int64(value))
            encoder.endMember()
        }
        func encode(_ value: Int8, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: Int16, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: Int32, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: Int64, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: UInt, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: UInt8, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: UInt16, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: UInt32, forKey key: Key) throws { integer(value, key) }
        func encode(_ value: UInt64, forKey key: Key) throws { integer(value, key) }

        func integer<I: FixedWidthInteger>(_ value: I, _ key: Key) {
            encoder.beginMember(key.stringValue, in: frame)
            encoder.writeInteger(value)
            encoder.endMember()
        }

        func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            encoder.beginMember(key.stringValue, in: frame)
            try encoder.encodeValue(value)
            encoder.endMember()
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: encoder, frame: encoder.openNested(object: true, in: frame, forKey: key.stringValue)))
        }
        func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            UnkeyedContainer(encoder: encoder, frame: encoder.openNested(object: false, in: frame, forKey: key.stringValue))
        }
        func superEncoder() -> any Encoder { preconditionFailure("StreamingJSONEncoder: superEncoder is not used by the reports") }
        func superEncoder(forKey key: Key) -> any Encoder { preconditionFailure("StreamingJSONEncoder: superEncoder is not used by the reports") }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let encoder: StreamingJSONEncoder
        let frame: Int
        var codingPath: [any CodingKey] { [] }
        var count: Int { frame < encoder.frames.count ? encoder.frames[frame].count : 0 }

        func encodeNil() throws {
            encoder.beginElement(in: frame)
            encoder.bytes.append("null" as StaticString)
        }
        func encode(_ value: Bool) throws {
            encoder.beginElement(in: frame)
            encoder.bytes.append(value ? "true" as StaticString : "false")
        }
        func encode(_ value: String) throws {
            encoder.beginElement(in: frame)
            encoder.writeString(value)
        }
        func encode(_ value: Double) throws {
            encoder.beginElement(in: frame)
            try encoder.writeFloat(value, nil)
        }
        func encode(_ value: Float) throws {
            encoder.beginElement(in: frame)
            try encoder.writeFloat(value, nil)
        }
        func encode(_ value: Int) throws {
            encoder.beginElement(in: frame)
            encoder.writeSigned(Int64(value))
        }
        func encode(_ value: Int8) throws { integer(value) }
        func encode(_ value: Int16) throws { integer(value) }
        func encode(_ value: Int32) throws { integer(value) }
        func encode(_ value: Int64) throws { integer(value) }
        func encode(_ value: UInt) throws { integer(value) }
        func encode(_ value: UInt8) throws { integer(value) }
        func encode(_ value: UInt16) throws { integer(value) }
        func encode(_ value: UInt32) throws { integer(value) }
        func encode(_ value: UInt64) throws { integer(value) }

        func integer<I: FixedWidthInteger>(_ value: I) {
            encoder.beginElement(in: frame)
            encoder.writeInteger(value)
        }

        func encode<T: Encodable>(_ value: T) throws {
            encoder.beginElement(in: frame)
            try encoder.encodeValue(value)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: encoder, frame: encoder.openNested(object: true, in: frame, forKey: nil)))
        }
        func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            UnkeyedContainer(encoder: encoder, frame: encoder.openNested(object: false, in: frame, forKey: nil))
        }
        func superEncoder() -> any Encoder { preconditionFailure("StreamingJSONEncoder: superEncoder is not used by the reports") }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let encoder: StreamingJSONEncoder
        var codingPath: [any CodingKey] { [] }

        func encodeNil() throws { encoder.bytes.append("null" as StaticString) }
        func encode(_ value: Bool) throws { encoder.bytes.append(value ? "true" as StaticString : "false") }
        func encode(_ value: String) throws { encoder.writeString(value) }
        func encode(_ value: Double) throws { try encoder.writeFloat(value, nil) }
        func encode(_ value: Float) throws { try encoder.writeFloat(value, nil) }
        func encode(_ value: Int) throws { encoder.writeSigned(Int64(value)) }
        func encode(_ value: Int8) throws { encoder.writeInteger(value) }
        func encode(_ value: Int16) throws { encoder.writeInteger(value) }
        func encode(_ value: Int32) throws { encoder.writeInteger(value) }
        func encode(_ value: Int64) throws { encoder.writeInteger(value) }
        func encode(_ value: UInt) throws { encoder.writeInteger(value) }
        func encode(_ value: UInt8) throws { encoder.writeInteger(value) }
        func encode(_ value: UInt16) throws { encoder.writeInteger(value) }
        func encode(_ value: UInt32) throws { encoder.writeInteger(value) }
        func encode(_ value: UInt64) throws { encoder.writeInteger(value) }
        func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
    }
}
