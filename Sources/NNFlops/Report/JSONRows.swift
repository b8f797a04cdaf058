/// Report rows written member by member, in key order, straight into the streaming
/// encoder's buffer (README, "JSON output").
///
/// A row of a layer table went through `Codable` as fourteen keyed-container calls, each
/// boxed and dispatched through witness tables, then the object's sort: 13,200
/// instructions a row, a quarter of a 10,000-operator chain's JSON run. A `JSONRow`
/// lists its members once, in the order of their keys' UTF-8 bytes (JSONEncoder's
/// `sortedKeys`), to a visitor: the streaming encoder's writes the bytes as they come;
/// any other encoder (JSONEncoder, in the tests that compare the two) gets the same
/// members through a keyed container. The key names keep their one home, `CodingKeys`.
protocol JSONRow: Encodable {
    associatedtype RowKey: CodingKey
    /// Gives every member to `visitor`, keys in ascending UTF-8 order; an absent optional
    /// is skipped (as `encodeIfPresent` does).
    func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == RowKey
}

protocol JSONRowVisitor {
    associatedtype Key: CodingKey
    mutating func visit(_ value: Int, _ key: Key) throws
    mutating func visit(_ value: String, _ key: Key) throws
    mutating func visit(_ value: [Int], _ key: Key) throws
    mutating func visit(_ value: Double, _ key: Key) throws
}

extension JSONRowVisitor {
    mutating func visit(_ value: Int?, _ key: Key) throws {
        if let value { try visit(value, key) }
    }
    mutating func visit(_ value: String?, _ key: Key) throws {
        if let value { try visit(value, key) }
    }
    mutating func visit(_ value: Double?, _ key: Key) throws {
        if let value { try visit(value, key) }
    }
}

extension JSONRow {
    /// The row's `Encodable` conformance: direct bytes into a `StreamingJSONEncoder`, a
    /// keyed container for any other encoder.
    func encodeRow(to encoder: any Encoder) throws {
        if let streaming = encoder as? StreamingJSONEncoder {
            var writer = StreamingRowWriter<RowKey>(encoder: streaming)
            try visitMembers(&writer)
            writer.finish()
        } else {
            var writer = KeyedRowWriter(container: encoder.container(keyedBy: RowKey.self))
            try visitMembers(&writer)
        }
    }
}

/// Writes a row's members as the streaming encoder would have after sorting them: each
/// on its own line, indented one level deeper than the object.
struct StreamingRowWriter<Key: CodingKey>: JSONRowVisitor {
    let encoder: StreamingJSONEncoder
    let depth: Int
    var count = 0
    #if DEBUG
    var previousKey: [UInt8] = []
    #endif

    init(encoder: StreamingJSONEncoder) {
        self.encoder = encoder
        depth = encoder.frames.count
        encoder.bytes.append(UInt8(ascii: "{"))
    }

    mutating func begin(_ key: Key) {
        var name = key.stringValue
        #if DEBUG
        // The order and the plainness of the keys are the row's promise (JSONRow); the
        // tests' encodings of every report run this check.
        let utf8 = Array(name.utf8)
        assert(count == 0 || previousKey.lexicographicallyPrecedes(utf8), "JSONRow: '\(name)' out of key order")
        assert(!utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }, "JSONRow: '\(name)' needs escaping")
        previousKey = utf8
        #endif
        if count > 0 { encoder.bytes.append(UInt8(ascii: ",")) }
        count += 1
        encoder.bytes.append(UInt8(ascii: "\n"))
        encoder.indent(depth + 1)
        encoder.bytes.append(UInt8(ascii: "\""))
        // Through a buffer pointer: `append(contentsOf: name.utf8)` walks the view byte
        // by byte (560 instructions a key, with the rest of this function).
        name.withUTF8 { encoder.bytes.append(contentsOf: $0) }
        encoder.bytes.append(UInt8(ascii: "\""))
        encoder.bytes.append(UInt8(ascii: " "))
        encoder.bytes.append(UInt8(ascii: ":"))
        encoder.bytes.append(UInt8(ascii: " "))
    }

    mutating func visit(_ value: Int, _ key: Key) throws {
        begin(key)
        encoder.writeSigned(Int64(value))
    }

    mutating func visit(_ value: String, _ key: Key) throws {
        begin(key)
        encoder.writeString(value)
    }

    mutating func visit(_ value: Double, _ key: Key) throws {
        begin(key)
        try encoder.writeFloat(value, key)
    }

    mutating func visit(_ value: [Int], _ key: Key) throws {
        begin(key)
        encoder.bytes.append(UInt8(ascii: "["))
        for (index, element) in value.enumerated() {
            if index > 0 { encoder.bytes.append(UInt8(ascii: ",")) }
            encoder.bytes.append(UInt8(ascii: "\n"))
            encoder.indent(depth + 2)
            encoder.writeSigned(Int64(element))
        }
        // An empty array is `[`, an empty line, `]`, as StreamingJSONEncoder.close writes it.
        if value.isEmpty { encoder.bytes.append(UInt8(ascii: "\n")) }
        encoder.bytes.append(UInt8(ascii: "\n"))
        encoder.indent(depth + 1)
        encoder.bytes.append(UInt8(ascii: "]"))
    }

    /// Closes the object; one without members is `{`, an empty line, `}`.
    func finish() {
        if count == 0 { encoder.bytes.append(UInt8(ascii: "\n")) }
        encoder.bytes.append(UInt8(ascii: "\n"))
        encoder.indent(depth)
        encoder.bytes.append(UInt8(ascii: "}"))
    }
}

/// Gives a row's members to any other encoder's keyed container.
struct KeyedRowWriter<Key: CodingKey>: JSONRowVisitor {
    var container: KeyedEncodingContainer<Key>

    mutating func visit(_ value: Int, _ key: Key) throws { try container.encode(value, forKey: key) }
    mutating func visit(_ value: String, _ key: Key) throws { try container.encode(value, forKey: key) }
    mutating func visit(_ value: [Int], _ key: Key) throws { try container.encode(value, forKey: key) }
    mutating func visit(_ value: Double, _ key: Key) throws { try container.encode(value, forKey: key) }
}
