/// Tokens of the spec language.
public enum TokenKind: Sendable, Equatable {
    case name(String)
    case integer(Int)
    case float(Double)
    case string(String)
    case symbol(String)
    case newline
    case indent
    case dedent
    case end
}

public struct Token: Sendable {
    public var kind: TokenKind
    public var location: SourceLocation
}

/// Splits spec text into tokens with Python-style significant indentation: INDENT and
/// DEDENT tokens mark blocks, newlines inside brackets are ignored, `#` starts a comment.
public struct Lexer {
    let file: String
    let lines: [Substring]

    public init(source: String, file: String) {
        self.file = file
        self.lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Number literal suffixes: SI counts and IEC/SI byte sizes (`16GiB`, `7B`, `1.4T`).
    static let suffixes: [String: Double] = [
        "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12,
        "KiB": 1024, "MiB": 1_048_576, "GiB": 1_073_741_824, "TiB": 1_099_511_627_776,
        "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
    ]

    static let symbols3: [String] = []
    static let symbols2 = ["==", "!=", "<=", ">=", "**", "//", "->"]
    static let symbols1 = Set("+-*/%()[],:=<>.")

    func error(_ message: String, line: Int, column: Int) -> NNFlopsError {
        NNFlopsError(message, at: SourceLocation(file: file, line: line, column: column),
                     sourceLine: line <= lines.count ? String(lines[line - 1]) : nil)
    }

    public func tokenize() throws -> [Token] {
        var tokens: [Token] = []
        var indents = [0]
        var depth = 0  // bracket nesting: newlines inside brackets are not statement ends
        var lastOpenLocation: SourceLocation?

        for (lineIndex, rawLine) in lines.enumerated() {
            let lineNumber = lineIndex + 1
            let chars = Array(rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine)
            var i = 0
            // Indentation at the start of a logical line.
            if depth == 0 {
                var width = 0
                while i < chars.count, chars[i] == " " || chars[i] == "\t" {
                    width += chars[i] == "\t" ? 4 : 1
                    i += 1
                }
                if i == chars.count || chars[i] == "#" { continue }  // blank or comment-only line
                let location = SourceLocation(file: file, line: lineNumber, column: i + 1)
                if width > indents.last! {
                    indents.append(width)
                    tokens.append(Token(kind: .indent, location: location))
                } else {
                    while width < indents.last! {
                        indents.removeLast()
                        tokens.append(Token(kind: .dedent, location: location))
                    }
                    if width != indents.last! {
                        throw error("indentation does not match any enclosing block", line: lineNumber, column: i + 1)
                    }
                }
            }
            while i < chars.count {
                let c = chars[i]
                let column = i + 1
                let location = SourceLocation(file: file, line: lineNumber, column: column)
                if c == " " || c == "\t" { i += 1; continue }
                if c == "#" { break }
                if c.isLetter || c == "_" {
                    var j = i
                    while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                    tokens.append(Token(kind: .name(String(chars[i..<j])), location: location))
                    i = j
                    continue
                }
                if c.isASCII, c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isASCII && chars[i + 1].isNumber) {
                    let (kind, next) = try number(chars, from: i, line: lineNumber)
                    tokens.append(Token(kind: kind, location: location))
                    i = next
                    continue
                }
                if c == "\"" || c == "'" {
                    var j = i + 1
                    var text = ""
                    while j < chars.count, chars[j] != c {
                        if chars[j] == "\\", j + 1 < chars.count {
                            j += 1
                            text.append(chars[j] == "n" ? "\n" : chars[j])
                        } else {
                            text.append(chars[j])
                        }
                        j += 1
                    }
                    guard j < chars.count else { throw error("unterminated string", line: lineNumber, column: column) }
                    tokens.append(Token(kind: .string(text), location: location))
                    i = j + 1
                    continue
                }
                let rest = String(chars[i..<min(chars.count, i + 3)])
                if let symbol = (Self.symbols3.first { rest.hasPrefix($0) } ?? Self.symbols2.first { rest.hasPrefix($0) }) {
                    tokens.append(Token(kind: .symbol(symbol), location: location))
                    i += symbol.count
                    continue
                }
                if Self.symbols1.contains(c) {
                    if "([".contains(c) { depth += 1; lastOpenLocation = location }
                    if ")]".contains(c) {
                        guard depth > 0 else { throw error("unmatched '\(c)'", line: lineNumber, column: column) }
                        depth -= 1
                    }
                    tokens.append(Token(kind: .symbol(String(c)), location: location))
                    i += 1
                    continue
                }
                throw error("unexpected character '\(c)'", line: lineNumber, column: column)
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

    private func number(_ chars: [Character], from start: Int, line: Int) throws -> (TokenKind, Int) {
        var j = start
        var isFloat = false
        func digits() { while j < chars.count, chars[j].isASCII, chars[j].isNumber || chars[j] == "_" { j += 1 } }
        digits()
        if j < chars.count, chars[j] == ".", !(j + 1 < chars.count && chars[j + 1] == ".") {
            isFloat = true
            j += 1
            digits()
        }
        if j < chars.count, chars[j] == "e" || chars[j] == "E" {
            var k = j + 1
            if k < chars.count, chars[k] == "+" || chars[k] == "-" { k += 1 }
            if k < chars.count, chars[k].isASCII, chars[k].isNumber {
                isFloat = true
                j = k
                digits()
            }
        }
        let text = String(chars[start..<j]).replacingOccurrences(of: "_", with: "")
        // Suffix: letters glued to the number.
        var k = j
        while k < chars.count, chars[k].isLetter { k += 1 }
        let suffix = String(chars[j..<k])
        guard let mantissa = Double(text) else { throw error("malformed number '\(text)'", line: line, column: start + 1) }
        if !suffix.isEmpty {
            guard let scale = Self.suffixes[suffix] else {
                let hint = closestMatch(to: suffix, in: Self.suffixes.keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw error("unknown number suffix '\(suffix)'\(hint)", line: line, column: j + 1)
            }
            let value = mantissa * scale
            if value.rounded() == value, value < 9.2e18 { return (.integer(Int(value)), k) }
            return (.float(value), k)
        }
        if isFloat { return (.float(mantissa), j) }
        guard let value = Int(text) else { throw error("integer literal '\(text)' does not fit in 64 bits", line: line, column: start + 1) }
        return (.integer(value), j)
    }
}
