/// A JSON document read with the position of every value, so an error about a config key
/// can point at its line and column (`config.json:7:26: error: ...`). RFC 8259, plus the
/// `NaN`, `Infinity` and `-Infinity` that Python's `json.dump` writes by default (the
/// files `transformers` saves are written by Python). Integers keep their exact value;
/// a number with a fraction or an exponent, or one beyond 64 bits, is a float.
struct JSONValue: Sendable {
    enum Kind: Sendable {
        case null
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case array([JSONValue])
        /// Members in file order; a repeated key keeps its last value, as Python's json does.
        case object([JSONMember])
    }

    var kind: Kind
    var location: SourceLocation

    /// How the value is named in messages: `null`, `true`, `4096`, `"silu"`, `an object`.
    var summary: String {
        switch kind {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let v): String(v)
        case .float(let v): String(v)
        case .string(let s): "\"\(s.count > 40 ? String(s.prefix(40)) + "..." : s)\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The member named `key` (the last one, when the key is repeated).
    func member(_ key: String) -> JSONValue? {
        guard case .object(let members) = kind else { return nil }
        return members.last { $0.key == key }?.value
    }
}

struct JSONMember: Sendable {
    var key: String
    var value: JSONValue
}

/// Reads UTF-8 JSON text into `JSONValue`s. Errors are `NNFlopsError`s located in the file.
struct JSONReader {
    /// Deeper nesting than any config has; the limit keeps hostile input from exhausting the stack.
    static let maxDepth = 200

    private let bytes: [UInt8]
    private let file: String
    private let lines: SourceLines
    private var index = 0
    private var line = 1
    private var lineStart = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        self.lines = SourceLines(String(decoding: bytes, as: UTF8.self))
    }

    /// Parses a whole document: one value, surrounded only by whitespace.
    static func parse(_ bytes: [UInt8], file: String) throws -> JSONValue {
        var reader = JSONReader(bytes: bytes, file: file)
        // A UTF-8 byte order mark is tolerated, as Python's utf-8-sig reader does.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            reader.index = 3
            reader.lineStart = 3
        }
        reader.skipWhitespace()
        guard reader.index < bytes.count else { throw reader.error("malformed JSON: the file is empty") }
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.error("malformed JSON: unexpected text after the end of the document") }
        return value
    }

    private var location: SourceLocation {
        // Columns count characters, not bytes, as an editor shows them.
        let column = bytes[lineStart..<min(index, bytes.count)].reduce(1) { count, byte in byte & 0xC0 == 0x80 ? count : count + 1 }
        return SourceLocation(file: file, line: line, column: column)
    }

    private func error(_ message: String) -> NNFlopsError {
        let here = location
        return NNFlopsError(message, at: here, sourceLine: lines.text(ofLine: here.line))
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
                lineStart = index
            default:
                return
            }
        }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < Self.maxDepth else { throw error("malformed JSON: nested more than \(Self.maxDepth) levels deep") }
        guard index < bytes.count else { throw error("malformed JSON: the document ends where a value was expected") }
        let start = location
        switch bytes[index] {
        case UInt8(ascii: "{"):
            return JSONValue(kind: .object(try objectMembers(depth: depth)), location: start)
        case UInt8(ascii: "["):
            return JSONValue(kind: .array(try arrayElements(depth: depth)), location: start)
        case UInt8(ascii: "\""):
            return JSONValue(kind: .string(try string()), location: start)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSONValue(kind: try number(), location: start)
        default:
            for (word, kind) in [("true", JSONValue.Kind.bool(true)), ("false", .bool(false)), ("null", .null),
                                 ("NaN", .float(.nan)), ("Infinity", .float(.infinity))] where matches(word) {
                index += word.utf8.count
                return JSONValue(kind: kind, location: start)
            }
            throw error("malformed JSON: unexpected \(describeHere()) where a value was expected")
        }
    }

    private func matches(_ word: String) -> Bool {
        let utf8 = Array(word.utf8)
        return bytes.count - index >= utf8.count && Array(bytes[index..<index + utf8.count]) == utf8
    }

    private func describeHere() -> String {
        guard index < bytes.count else { return "end of file" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16, uppercase: true)
    }

    private mutating func objectMembers(depth: Int) throws -> [JSONMember] {
        index += 1  // {
        var members: [JSONMember] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("malformed JSON: expected a quoted key, found \(describeHere())")
            }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("malformed JSON: expected ':' after the key \"\(key)\", found \(describeHere())")
            }
            index += 1
            skipWhitespace()
            members.append(JSONMember(key: key, value: try value(depth: depth + 1)))
            skipWhitespace()
            guard index < bytes.count else { throw error("malformed JSON: the object is not closed (missing '}')") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return members
            }
            throw error("malformed JSON: expected ',' or '}' after the value of \"\(key)\", found \(describeHere())")
        }
    }

    private mutating func arrayElements(depth: Int) throws -> [JSONValue] {
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("malformed JSON: the array is not closed (missing ']')") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return elements
            }
            throw error("malformed JSON: expected ',' or ']' in an array, found \(describeHere())")
        }
    }

    private mutating func string() throws -> String {
        index += 1  // opening quote
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw error("malformed JSON: a string is not valid UTF-8")
                }
                index += 1
                return text
            }
            if byte < 0x20 { throw error("malformed JSON: a string contains a raw control character (or is not closed before the line ends)") }
            index += 1
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                continue
            }
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code) {
                    // A high surrogate must be followed by \u and a low surrogate.
                    guard matches("\\u") else { throw error("malformed JSON: an unpaired UTF-16 surrogate in a \\u escape") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("malformed JSON: an unpaired UTF-16 surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("malformed JSON: an unpaired UTF-16 surrogate in a \\u escape") }
                utf8.append(contentsOf: String(Character(scalar)).utf8)
            default:
                index -= 1
                throw error("malformed JSON: unknown escape '\\\(Character(Unicode.Scalar(escape)))' in a string")
            }
        }
        throw error("malformed JSON: a string is not closed (missing '\"')")
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("malformed JSON: \\u needs four hexadecimal digits") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("malformed JSON: \\u needs four hexadecimal digits")
            }
            code = code * 16 + digit
            index += 1
        }
        return code
    }

    private mutating func number() throws -> JSONValue.Kind {
        let start = index
        if bytes[index] == UInt8(ascii: "-") {
            index += 1
            if matches("Infinity") {
                index += "Infinity".utf8.count
                return .float(-.infinity)
            }
        }
        func digits(_ reader: inout JSONReader) -> Int {
            let first = reader.index
            while reader.index < reader.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.index]) { reader.index += 1 }
            return reader.index - first
        }
        let integerStart = index
        let integerDigits = digits(&self)
        guard integerDigits > 0 else { throw error("malformed JSON: a number needs digits") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            index = integerStart
            throw error("malformed JSON: a number may not have a leading zero")
        }
        var isFloat = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isFloat = true
            index += 1
            guard digits(&self) > 0 else { throw error("malformed JSON: a number needs digits after its decimal point") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isFloat = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw error("malformed JSON: a number needs digits in its exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isFloat, let value = Int(text) { return .int(value) }
        guard let value = Double(text) else { throw error("malformed JSON: '\(text)' is not a number") }
        return .float(value)
    }
}
