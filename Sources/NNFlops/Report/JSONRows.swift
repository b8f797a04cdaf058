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
    /// Writes `rows` as an array (the default, `StreamingJSONEncoder.writeRows`): a
    /// requirement so that each row type's witness is specialised for it; reached from
    /// the generic `JSONRowTable`, the generic function visited each member through
    /// witness tables, which cost more than the dispatch it saved.
    static func writeTable(_ rows: [Self], to encoder: StreamingJSONEncoder) throws
}

protocol JSONRowVisitor {
    associatedtype Key: CodingKey
    mutating func visit(_ value: Int, _ key: Key) throws
    mutating func visit(_ value: String, _ key: Key) throws
    mutating func visit(_ value: [Int], _ key: Key) throws
    mutating func visit(_ value: Double, _ key: Key) throws
    /// An absent optional member: written as nothing.
    mutating func skip(_ key: Key)
    /// A member whose value is JSON `null`.
    mutating func visitNull(_ key: Key) throws
    /// A member whose value is any other encodable value: an object or an array of its own.
    mutating func visit<Value: Encodable>(encoded value: Value, _ key: Key) throws
    /// A member whose value is an object of strings, `members` in their keys' UTF-8 order.
    mutating func visit(object members: [(key: String, value: String)], _ key: Key) throws
    /// A member whose value is an object of rows, `members` in their keys' UTF-8 order.
    mutating func visit<Row: JSONRow>(object members: [(key: String, value: Row)], _ key: Key) throws
}

extension JSONRowVisitor {
    mutating func skip(_ key: Key) {}
    mutating func visit(_ value: Int?, _ key: Key) throws {
        if let value { try visit(value, key) } else { skip(key) }
    }
    mutating func visit(_ value: String?, _ key: Key) throws {
        if let value { try visit(value, key) } else { skip(key) }
    }
    mutating func visit(_ value: Double?, _ key: Key) throws {
        if let value { try visit(value, key) } else { skip(key) }
    }
    /// An optional encoded member (a label of its own: `Optional` is `Encodable` too, and
    /// would be written as `null`).
    mutating func visit<Value: Encodable>(encodedIfPresent value: Value?, _ key: Key) throws {
        if let value { try visit(encoded: value, key) } else { skip(key) }
    }
}

/// Members (a dictionary's, or a list of name and value) in the order of their keys' UTF-8
/// bytes (JSONEncoder's `sortedKeys`), for `JSONRowVisitor.visit(object:_:)`.
func membersInKeyOrder<Members: Sequence, Value>(_ members: Members) -> [(key: String, value: Value)]
where Members.Element == (key: String, value: Value) {
    members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
}

extension ByteBuffer {
    /// A member's line up to its value: `\n`, the indentation of nesting `depth` and
    /// `"key" : `, for a key that needs no escape (JSONRow's).
    mutating func appendKeyLine(_ key: String, depth: Int) {
        append(UInt8(ascii: "\n"))
        append(repeating: UInt8(ascii: " "), count: 2 * depth)
        append(UInt8(ascii: "\""))
        append(utf8: key)
        append("\" : " as StaticString)
    }
}

extension JSONRow {
    static func writeTable(_ rows: [Self], to encoder: StreamingJSONEncoder) throws {
        try encoder.writeRows(rows)
    }

    /// The row's `Encodable` conformance: direct bytes into a `StreamingJSONEncoder`, a
    /// keyed container for any other encoder.
    func encodeRow(to encoder: any Encoder) throws {
        if let streaming = encoder as? StreamingJSONEncoder {
            // One object, not a table's row: no key lines to share with a next row.
            var writer = StreamingRowWriter<RowKey>(encoder: streaming, sharesKeyLines: false)
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
    /// A table's row: its key lines are kept for the next row of the table. A single
    /// object (the report, its totals) writes each key line itself, and may hold encoded
    /// members, which write rows of their own.
    let sharesKeyLines: Bool
    /// Members written, and members visited (written or skipped): a member's position
    /// in `visitMembers`, the same in every row of the type.
    var count = 0
    var position = 0
    #if DEBUG
    var previousKey: [UInt8] = []
    #endif

    /// `depth`: the object's nesting depth, by default the encoder's open containers.
    init(encoder: StreamingJSONEncoder, depth: Int? = nil, sharesKeyLines: Bool = true) {
        self.encoder = encoder
        self.depth = depth ?? encoder.frames.count
        self.sharesKeyLines = sharesKeyLines
        encoder.bytes.append(UInt8(ascii: "{"))
        guard sharesKeyLines else { return }
        let depth = self.depth
        // A table's rows come one after another: the key lines the last row built serve
        // the next (one copy a member instead of a key, its indentation and punctuation:
        // 430 instructions a member).
        let type = ObjectIdentifier(Key.self)
        if encoder.rowKeyLinesType != type || encoder.rowKeyLinesDepth != depth {
            encoder.rowKeyLinesType = type
            encoder.rowKeyLinesDepth = depth
            encoder.rowKeyLines.removeAll()
            encoder.rowKeyLineEnds.removeAll(keepingCapacity: true)
        }
    }

    /// `\n`, the indentation and `"key" : ` of the member at `position`, built by the
    /// first row that reaches it.
    mutating func keyLine(_ key: Key) {
        checkOrder(key)
        if position == encoder.rowKeyLineEnds.count {
            encoder.rowKeyLines.appendKeyLine(key.stringValue, depth: depth + 1)
            encoder.rowKeyLineEnds.append(encoder.rowKeyLines.count)
        }
        #if DEBUG
        assert(encoder.rowKeyLines.withBytes(in: keyLineRange(position)) { $0.dropFirst(2 * depth + 4).starts(with: key.stringValue.utf8) },
               "JSONRow: members in another order than the last row's")
        #endif
        position += 1
    }

    /// The order and the plainness of the keys are the row's promise (JSONRow); the tests'
    /// encodings of every report run this check.
    mutating func checkOrder(_ key: Key) {
        #if DEBUG
        let utf8 = Array(key.stringValue.utf8)
        assert(previousKey.isEmpty || previousKey.lexicographicallyPrecedes(utf8), "JSONRow: '\(key.stringValue)' out of key order")
        assert(!utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }, "JSONRow: '\(key.stringValue)' needs escaping")
        previousKey = utf8
        #endif
    }

    /// Where key line `index` lies in `rowKeyLines`.
    func keyLineRange(_ index: Int) -> Range<Int> {
        (index == 0 ? 0 : encoder.rowKeyLineEnds[index - 1])..<encoder.rowKeyLineEnds[index]
    }

    mutating func begin(_ key: Key) {
        if count > 0 { encoder.bytes.append(UInt8(ascii: ",")) }
        count += 1
        guard sharesKeyLines else {
            checkOrder(key)
            encoder.bytes.appendKeyLine(key.stringValue, depth: depth + 1)
            return
        }
        keyLine(key)
        encoder.bytes.append(keyLineRange(position - 1), of: encoder.rowKeyLines)
    }

    mutating func skip(_ key: Key) {
        if sharesKeyLines { keyLine(key) } else { checkOrder(key) }
    }

    mutating func visit<Value: Encodable>(encoded value: Value, _ key: Key) throws {
        // The value's own rows would take the key lines this row shares (JSONRow).
        assert(!sharesKeyLines, "JSONRow: a table's row with an encoded member")
        begin(key)
        // A frame for this object, which the writer does not otherwise open: the value's
        // containers then nest one level deeper, and its own writers see their depth.
        encoder.frames.append(.init(isObject: false, contentStart: encoder.bytes.count, depth: depth, firstMember: encoder.members.count))
        try encoder.encodeValue(value)
        encoder.frames.removeLast()
    }

    mutating func visit(object members: [(key: String, value: String)], _ key: Key) throws {
        begin(key)
        encoder.bytes.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            openMember(member.key, index)
            encoder.writeString(member.value)
        }
        closeObject(empty: members.isEmpty)
    }

    mutating func visit<Row: JSONRow>(object members: [(key: String, value: Row)], _ key: Key) throws {
        begin(key)
        encoder.bytes.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            openMember(member.key, index)
            var writer = StreamingRowWriter<Row.RowKey>(encoder: encoder, depth: depth + 2)
            try member.value.visitMembers(&writer)
            writer.finish()
        }
        closeObject(empty: members.isEmpty)
    }

    /// `"key" : ` of member `index` of an object that is this row's member.
    private func openMember(_ key: String, _ index: Int) {
        if index > 0 { encoder.bytes.append(UInt8(ascii: ",")) }
        encoder.bytes.append(UInt8(ascii: "\n"))
        encoder.indent(depth + 2)
        encoder.writeString(key)
        encoder.bytes.append(" : " as StaticString)
    }

    /// Closes an object that is this row's member; one without members is `{`, an empty
    /// line, `}`.
    private func closeObject(empty: Bool) {
        if empty { encoder.bytes.append(UInt8(ascii: "\n")) }
        encoder.bytes.append(UInt8(ascii: "\n"))
        encoder.indent(depth + 1)
        encoder.bytes.append(UInt8(ascii: "}"))
    }

    mutating func visitNull(_ key: Key) throws {
        begin(key)
        encoder.bytes.append("null" as StaticString)
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
    mutating func visitNull(_ key: Key) throws { try container.encodeNil(forKey: key) }
    mutating func visit<Value: Encodable>(encoded value: Value, _ key: Key) throws { try container.encode(value, forKey: key) }
    mutating func visit(object members: [(key: String, value: String)], _ key: Key) throws {
        try container.encode(Dictionary(members, uniquingKeysWith: { first, _ in first }), forKey: key)
    }
    mutating func visit<Row: JSONRow>(object members: [(key: String, value: Row)], _ key: Key) throws {
        try container.encode(Dictionary(members, uniquingKeysWith: { first, _ in first }), forKey: key)
    }
}

/// A report's table of rows, kept by the report in place of its `[Row]` (which it gives
/// out as a computed property): encoded as the array it holds, but written by the
/// streaming encoder in one loop, each row straight through its `StreamingRowWriter`,
/// instead of each row dispatched through an unkeyed container, `Encodable` and a cast
/// back to the encoder (1,300 instructions a row).
struct JSONRowTable<Row: JSONRow>: Encodable {
    var rows: [Row]

    func encode(to encoder: any Encoder) throws {
        if let streaming = encoder as? StreamingJSONEncoder {
            try Row.writeTable(rows, to: streaming)
        } else {
            var container = encoder.unkeyedContainer()
            for row in rows { try container.encode(row) }
        }
    }
}

extension JSONRowTable: Sendable where Row: Sendable {}

extension StreamingJSONEncoder {
    /// An array of rows at the current position, as `unkeyedContainer` and an element
    /// per row would write it (the value's `encodeValue` closes it).
    func writeRows<Row: JSONRow>(_ rows: [Row]) throws {
        if frames.count == valueBase { open(object: false) }
        let frame = valueBase
        let start = bytes.count
        for (index, row) in rows.enumerated() {
            // Room for the rest of the table, sized by its first row (up to 64 MiB, past
            // which the buffer doubles as before): a 10,000-row table otherwise grew the
            // buffer six times, copying what was written each time (4M instructions).
            if index == 1 {
                let rest = (rows.count - 1).multipliedReportingOverflow(by: bytes.count - start)
                let limit = 64 << 20
                bytes.reserve(rest.overflow ? limit : min(rest.partialValue + rest.partialValue / 8, limit))
            }
            beginElement(in: frame)
            var writer = StreamingRowWriter<Row.RowKey>(encoder: self)
            try row.visitMembers(&writer)
            writer.finish()
        }
    }
}
