/// Tokens of the spec language.
enum TokenKind: Sendable, Equatable {
    case name(String)
    case integer(Int)
    case float(Double)
    /// A number with a unit suffix (`16GiB`, `7B`): it keeps its unit, so a budget can
    /// tell a byte size from a count (README, "Numbers and units").
    case quantity(Quantity)
    case string(String)
    case symbol(String)
    case newline
    case indent
    case dedent
    case end
}

struct Token: Sendable {
    public var kind: TokenKind
    public var location: SourceLocation
}

/// Splits spec text into tokens with Python-style significant indentation: INDENT and
/// DEDENT tokens mark blocks, newlines inside brackets are ignored, `#` starts a comment.
struct Lexer {
    let file: String
    let lines: SourceLines

    public init(source: String, file: String) {
        self.init(lines: SourceLines(source), file: file)
    }

    public init(lines: SourceLines, file: String) {
        self.file = file
        self.lines = lines
    }

    static let symbols2: [String] = ["==", "!=", "<=", ">=", "**", "//", "->"]
    static let symbols1 = Array("+-*/%()[],:=<>.".utf8)
    /// The symbols as tokens, made once: a token's text is shared, not built per symbol.
    static let symbol2Kinds = symbols2.map { TokenKind.symbol($0) }
    static let symbol1Kinds = symbols1.map { TokenKind.symbol(String(Unicode.Scalar($0))) }

    func error(_ message: String, line: Int, column: Int) -> NNFlopsError {
        NNFlopsError(message, at: SourceLocation(file: file, line: line, column: column),
                     sourceLine: lines.text(ofLine: line))
    }

    // Byte classes (the language's syntax is ASCII; strings and comments may hold UTF-8).
    @inline(__always) static func isLetter(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) || b == 95 }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    public func tokenize() throws -> [Token] {
        var tokens: [Token] = []
        var indents: [ArraySlice<UInt8>] = [[]]
        var depth = 0  // bracket nesting: newlines inside brackets are not statement ends
        var lastOpenLocation: SourceLocation?
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), hash = UInt8(ascii: "#")

        for (lineIndex, rawLine) in lines.lines.enumerated() {
            let lineNumber = lineIndex + 1
            var chars = Array(rawLine)
            if chars.last == UInt8(ascii: "\r") { chars.removeLast() }
            if let cr = chars.firstIndex(of: UInt8(ascii: "\r")) {
                // A carriage return that ends no line: CR-only line endings (classic Mac OS),
                // which would run every line into one.
                // The quoted line stops at the carriage return, which a terminal would obey.
                throw NNFlopsError("carriage return inside a line: the file has CR line endings; save it with LF (or CRLF) line endings",
                                   at: SourceLocation(file: file, line: lineNumber, column: cr + 1),
                                   sourceLine: String(decoding: chars[..<cr], as: UTF8.self))
            }
            var i = 0
            // Indentation at the start of a logical line: its exact whitespace. A tab is
            // never converted to spaces (README, "The spec language"): a block's lines
            // begin with the same whitespace, a nested block's with its parent's and more.
            if depth == 0 {
                while i < chars.count, chars[i] == space || chars[i] == tab { i += 1 }
                if i == chars.count || chars[i] == hash { continue }  // blank or comment-only line
                let prefix = chars[0..<i]
                let location = SourceLocation(file: file, line: lineNumber, column: i + 1)
                // indents starts as [""]: every prefix extends it.
                let current = indents[indents.count - 1]
                if prefix.elementsEqual(current) {
                    // Same block.
                } else if prefix.starts(with: current) {
                    indents.append(prefix)
                    tokens.append(Token(kind: .indent, location: location))
                } else if let level = indents.lastIndex(where: { $0.elementsEqual(prefix) }) {
                    for _ in level + 1..<indents.count { tokens.append(Token(kind: .dedent, location: location)) }
                    indents.removeLast(indents.count - level - 1)
                } else if (prefix + current).contains(space) && (prefix + current).contains(tab) {
                    throw error("inconsistent use of tabs and spaces in indentation: this line is indented with \(Self.describe(prefix)), "
                                + "the block around it with \(Self.describe(current)); indent with one or the other",
                                line: lineNumber, column: i + 1)
                } else {
                    throw error("indentation does not match any enclosing block", line: lineNumber, column: i + 1)
                }
            }
            // `model NAME`: model names are free-form (`llama2-7b`, `bert-base`), so the
            // rest of the line is one name token rather than numbers and operators.
            if depth == 0, let name = Self.modelName(chars, from: i) {
                tokens.append(Token(kind: .name("model"), location: SourceLocation(file: file, line: lineNumber, column: i + 1)))
                tokens.append(Token(kind: .name(name.text), location: SourceLocation(file: file, line: lineNumber, column: name.start + 1)))
                i = name.end
            }
            while i < chars.count {
                let c = chars[i]
                let column = i + 1
                if c == space || c == tab { i += 1; continue }
                if c == hash { break }
                let location = SourceLocation(file: file, line: lineNumber, column: column)
                if Self.isLetter(c) {
                    var j = i
                    while j < chars.count, Self.isLetter(chars[j]) || Self.isDigit(chars[j]) { j += 1 }
                    tokens.append(Token(kind: .name(String(decoding: chars[i..<j], as: UTF8.self)), location: location))
                    i = j
                    continue
                }
                if Self.isDigit(c) || (c == UInt8(ascii: ".") && i + 1 < chars.count && Self.isDigit(chars[i + 1])) {
                    let (kind, next) = try number(chars, from: i, line: lineNumber)
                    tokens.append(Token(kind: kind, location: location))
                    i = next
                    continue
                }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    var j = i + 1
                    var bytes: [UInt8] = []
                    while j < chars.count, chars[j] != c {
                        if chars[j] == UInt8(ascii: "\\"), j + 1 < chars.count {
                            j += 1
                            bytes.append(chars[j] == UInt8(ascii: "n") ? UInt8(ascii: "\n") : chars[j])
                        } else {
                            bytes.append(chars[j])
                        }
                        j += 1
                    }
                    guard j < chars.count else { throw error("unterminated string", line: lineNumber, column: column) }
                    tokens.append(Token(kind: .string(String(decoding: bytes, as: UTF8.self)), location: location))
                    i = j + 1
                    continue
                }
                // Symbols by their bytes: the lexer is linear in the file and cheap per byte.
                if i + 1 < chars.count,
                   let pair = Self.symbols2.firstIndex(where: { $0.utf8.first == c && $0.utf8.last == chars[i + 1] }) {
                    tokens.append(Token(kind: Self.symbol2Kinds[pair], location: location))
                    i += 2
                    continue
                }
                let scalar = Character(Unicode.Scalar(c))
                if let single = Self.symbols1.firstIndex(of: c) {
                    if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") { depth += 1; lastOpenLocation = location }
                    if c == UInt8(ascii: ")") || c == UInt8(ascii: "]") {
                        guard depth > 0 else { throw error("unmatched '\(scalar)'", line: lineNumber, column: column) }
                        depth -= 1
                    }
                    tokens.append(Token(kind: Self.symbol1Kinds[single], location: location))
                    i += 1
                    continue
                }
                if c >= 128 {
                    // Name the whole UTF-8 character, not its first byte.
                    var j = i + 1
                    while j < chars.count, chars[j] & 0xC0 == 0x80 { j += 1 }
                    throw error("unexpected character '\(String(decoding: chars[i..<j], as: UTF8.self))'", line: lineNumber, column: column)
                }
                throw error("unexpected character \(c < 32 || c == 127 ? "0x" + String(c, radix: 16) : "'\(scalar)'")", line: lineNumber, column: column)
            }
            if depth == 0, let last = tokens.last, last.kind != .newline, last.kind != .indent, last.kind != .dedent {
                tokens.append(Token(kind: .newline, location: SourceLocation(file: file, line: lineNumber, column: chars.count + 1)))
            }
        }
        if depth > 0, let open = lastOpenLocation {
            throw error("unclosed bracket", line: open.line, column: open.column)
        }
        let endLocation = SourceLocation(file: file, line: max(1, lines.count), column: 1)
        if let last = tokens.last, last.kind != .newline, last.kind != .dedent, last.kind != .indent {
            tokens.append(Token(kind: .newline, location: endLocation))
        }
        while indents.count > 1 {
            indents.removeLast()
            tokens.append(Token(kind: .dedent, location: endLocation))
        }
        tokens.append(Token(kind: .end, location: endLocation))
        return tokens
    }

    /// Indentation in words: `4 spaces`, `1 tab`, `1 tab and 2 spaces`, `no indentation`.
    static func describe(_ whitespace: ArraySlice<UInt8>) -> String {
        guard !whitespace.isEmpty else { return "no indentation" }
        var runs: [(UInt8, Int)] = []
        for c in whitespace {
            if let last = runs.last, last.0 == c { runs[runs.count - 1].1 += 1 } else { runs.append((c, 1)) }
        }
        let words = runs.map { c, n in "\(n) \(c == UInt8(ascii: "\t") ? (n == 1 ? "tab" : "tabs") : (n == 1 ? "space" : "spaces"))" }
        return words.count == 1 ? words[0] : words.dropLast().joined(separator: ", ") + " and " + words[words.count - 1]
    }

    /// Recognises `model NAME [# comment]` at `start`: NAME is letters, digits, `_`, `-`, `.`.
    static func modelName(_ chars: [UInt8], from start: Int) -> (text: String, start: Int, end: Int)? {
        let keyword = Array("model".utf8)
        guard chars.count > start + keyword.count + 1, Array(chars[start..<start + keyword.count]) == keyword,
              chars[start + keyword.count] == UInt8(ascii: " ") || chars[start + keyword.count] == UInt8(ascii: "\t") else { return nil }
        var i = start + keyword.count
        while i < chars.count, chars[i] == UInt8(ascii: " ") || chars[i] == UInt8(ascii: "\t") { i += 1 }
        let nameStart = i
        while i < chars.count, isLetter(chars[i]) || isDigit(chars[i]) || chars[i] == UInt8(ascii: "-") || chars[i] == UInt8(ascii: ".") { i += 1 }
        guard i > nameStart, isLetter(chars[nameStart]) || isDigit(chars[nameStart]) else { return nil }
        var j = i
        while j < chars.count, chars[j] == UInt8(ascii: " ") || chars[j] == UInt8(ascii: "\t") { j += 1 }
        guard j == chars.count || chars[j] == UInt8(ascii: "#") else { return nil }
        return (String(decoding: chars[nameStart..<i], as: UTF8.self), nameStart, i)
    }

    private func number(_ chars: [UInt8], from start: Int, line: Int) throws -> (TokenKind, Int) {
        var j = start
        var isFloat = false
        func digits() { while j < chars.count, Self.isDigit(chars[j]) || chars[j] == UInt8(ascii: "_") { j += 1 } }
        digits()
        if j < chars.count, chars[j] == UInt8(ascii: ".") {
            isFloat = true
            j += 1
            digits()
        }
        if j < chars.count, chars[j] == UInt8(ascii: "e") || chars[j] == UInt8(ascii: "E") {
            var k = j + 1
            if k < chars.count, chars[k] == UInt8(ascii: "+") || chars[k] == UInt8(ascii: "-") { k += 1 }
            if k < chars.count, Self.isDigit(chars[k]) {
                isFloat = true
                j = k
                digits()
            }
        }
        let text = String(decoding: chars[start..<j].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        // Suffix: letters glued to the number.
        var k = j
        while k < chars.count, Self.isLetter(chars[k]), chars[k] != UInt8(ascii: "_") { k += 1 }
        let suffix = String(decoding: chars[j..<k], as: UTF8.self)
        guard let mantissa = Double(text) else { throw error("malformed number '\(text)'", line: line, column: start + 1) }
        guard mantissa.isFinite else { throw error("number '\(text)' is too large (beyond 1.8e308)", line: line, column: start + 1) }
        if !suffix.isEmpty {
            // Suffixes are the vocabulary of Quantity.swift, the same as on every flag.
            guard let unit = QuantityUnit(suffix: suffix) else {
                var failure = error(QuantityUnit.reasonUnknown(suffix, noun: "number suffix"), line: line, column: j + 1)
                failure.notes = ["note: " + QuantityKind.count.rule, "note: " + QuantityKind.bytes.rule]
                throw failure
            }
            let value = mantissa * unit.scale
            guard value.isFinite else { throw error("number '\(text)\(suffix)' is too large", line: line, column: start + 1) }
            return (.quantity(Quantity(value: value, unit: unit)), k)
        }
        if isFloat { return (.float(mantissa), j) }
        guard let value = Int(text) else { throw error("integer literal '\(text)' does not fit in 64 bits", line: line, column: start + 1) }
        return (.integer(value), j)
    }
}
