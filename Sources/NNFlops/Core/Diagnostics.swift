/// Where something is in a spec: file name, 1-based line and column.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// The one error type the library throws for bad input. It carries the location and the
/// offending source line so the CLI can print `file:line:col: error: …` with a caret.
public struct NNFlopsError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    public var location: SourceLocation?
    /// The full text of the source line at `location`, for the caret display.
    public var sourceLine: String?
    /// Extra lines ("note: …", "did you mean …").
    public var notes: [String]

    public init(_ message: String, at location: SourceLocation? = nil, sourceLine: String? = nil, notes: [String] = []) {
        self.message = message
        self.location = location
        self.sourceLine = sourceLine
        self.notes = notes
    }

    /// Compiler-style rendering: `file:line:col: error: message`, the line, a caret.
    public var description: String {
        var text = ""
        if let location { text += "\(location): " }
        text += "error: \(message)"
        if let location, let sourceLine {
            text += "\n" + sourceLine
            let prefix = sourceLine.prefix(max(0, location.column - 1)).map { (c: Character) -> String in c == "\t" ? "\t" : " " }
            text += "\n" + prefix.joined() + "^"
        }
        for note in notes { text += "\n" + note }
        return text
    }
}

/// A name from the user's input as a message quotes it: whole up to `limit` characters,
/// else its start, an ellipsis and its length, so that a mutated 14 KB key does not make
/// a 14 KB error line.
public func abbreviatedForMessage(_ name: String, limit: Int = 60) -> String {
    let count = name.count
    guard count > limit else { return name }
    return String(name.prefix(limit - 20)) + "… (\(count) characters)"
}

/// Suggests the closest candidate to a misspelled name (Damerau–Levenshtein distance),
/// or nil when nothing is close enough to be a plausible typo.
public func closestMatch(to word: String, in candidates: some Sequence<String>) -> String? {
    let target = Array(word.lowercased())
    let allowed = max(1, min(3, target.count / 3))
    var best: (String, Int)?
    for candidate in candidates {
        let distance = editDistance(target, Array(candidate.lowercased()), atMost: allowed)
        if distance <= allowed, best.map({ distance < $0.1 }) ?? true { best = (candidate, distance) }
    }
    return best?.0
}

/// Every plausible meaning of a partial or misspelled name, for "did you mean": the
/// candidates whose `-`/`_`-separated parts include all of the word's (`h100` ->
/// `h100-sxm`, `h100-pcie`; `a100-80gb-sxm` -> `a100-sxm-80gb`), else those the word
/// begins (`llama2` -> `llama2-7b`), else the closest one by edit distance. In candidate
/// order, at most `limit`.
public func suggestions(for word: String, in candidates: [String], limit: Int = 6) -> [String] {
    func parts(_ text: String) -> Set<Substring> { Set(text.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" })) }
    let wanted = parts(word)
    if !wanted.isEmpty {
        let containing = candidates.filter { wanted.isSubset(of: parts($0)) }
        if !containing.isEmpty { return Array(containing.prefix(limit)) }
    }
    let lower = word.lowercased()
    if !lower.isEmpty {
        let extending = candidates.filter { $0.lowercased().hasPrefix(lower) }
        if !extending.isEmpty { return Array(extending.prefix(limit)) }
    }
    return closestMatch(to: word, in: candidates).map { [$0] } ?? []
}

/// `did you mean 'a'?`, `did you mean 'a' or 'b'?`, `did you mean 'a', 'b' or 'c'?`; nil
/// for no suggestions.
func didYouMean(_ suggestions: [String]) -> String? {
    guard let last = suggestions.last else { return nil }
    let quoted = suggestions.dropLast().map { "'\($0)'" }
    return "did you mean " + (quoted.isEmpty ? "" : quoted.joined(separator: ", ") + " or ") + "'\(last)'?"
}

/// The edit distance between `a` and `b` (optimal string alignment: insertions, deletions,
/// substitutions and transpositions of adjacent characters) when it is at most `limit`,
/// else `limit + 1`. Only the band of cells within `limit` of the diagonal is computed
/// (Ukkonen, "Algorithms for approximate string matching", 1985): a cell outside it is
/// already more than `limit` away, so the work is linear in the words' length instead of
/// their product (a 14 KB key in a hardware file took seconds to be told "unknown").
func editDistance(_ a: [Character], _ b: [Character], atMost limit: Int) -> Int {
    let over = limit + 1
    guard abs(a.count - b.count) <= limit else { return over }
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previousPrevious = [Int](repeating: over, count: b.count + 1)
    var previous = (0...b.count).map { min($0, over) }
    var current = [Int](repeating: over, count: b.count + 1)
    for i in 1...a.count {
        let low = max(1, i - limit), high = min(b.count, i + limit)
        // The cells either side of the band are read by this row and the next: more than `limit`.
        current[low - 1] = low == 1 ? min(i, over) : over
        if high < b.count { current[high + 1] = over }
        for j in low...high {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var distance = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                distance = min(distance, previousPrevious[j - 2] + 1)
            }
            current[j] = min(distance, over)
        }
        swap(&previousPrevious, &previous)
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// Spec text split into lines once (on UTF-8 bytes, which is fast), for the lexer and
/// for quoting the offending line in errors.
struct SourceLines: Sendable {
    public let lines: [ArraySlice<UInt8>]

    public init(_ source: String) {
        lines = Array(source.utf8).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    }

    public var count: Int { lines.count }

    /// The text of 1-based line `number`, without a trailing carriage return.
    public func text(ofLine number: Int) -> String? {
        guard number >= 1, number <= lines.count else { return nil }
        var bytes = lines[number - 1]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension SourceLines {
    /// The text of a spec file's bytes. Invalid UTF-8 is an error located at its first
    /// bad byte (line, column and byte offset); a leading byte-order mark is dropped.
    public static func decode(_ bytes: [UInt8], file: String) throws -> String {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        guard let offset = firstInvalidUTF8(body) else { return String(decoding: body, as: UTF8.self) }
        let lineStart = body[..<offset].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? body.startIndex
        let line = body[..<lineStart].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        let lineEnd = body[offset...].firstIndex(of: UInt8(ascii: "\n")) ?? body.endIndex
        // The column counts characters, so the caret sits under the bad byte's replacement.
        let column = String(decoding: body[lineStart..<offset], as: UTF8.self).count + 1
        throw NNFlopsError("invalid UTF-8 at byte offset \(offset) (byte 0x\(String(body[offset], radix: 16, uppercase: true))): a spec is UTF-8 text",
                           at: SourceLocation(file: file, line: line, column: column),
                           sourceLine: String(decoding: body[lineStart..<lineEnd], as: UTF8.self))
    }

    /// The index of the first byte that does not begin a well-formed UTF-8 sequence
    /// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), nil if none.
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int? {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let lead = bytes[i]
            if lead < 0x80 { i += 1; continue }
            // The continuation count and the allowed range of the first continuation byte.
            let (count, low, high): (Int, UInt8, UInt8)
            switch lead {
            case 0xC2...0xDF: (count, low, high) = (1, 0x80, 0xBF)
            case 0xE0: (count, low, high) = (2, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (count, low, high) = (2, 0x80, 0xBF)
            case 0xED: (count, low, high) = (2, 0x80, 0x9F)
            case 0xF0: (count, low, high) = (3, 0x90, 0xBF)
            case 0xF1...0xF3: (count, low, high) = (3, 0x80, 0xBF)
            case 0xF4: (count, low, high) = (3, 0x80, 0x8F)
            default: return i
            }
            guard i + count < bytes.endIndex, (low...high).contains(bytes[i + 1]) else { return i }
            for k in stride(from: 2, through: count, by: 1) where bytes[i + k] & 0xC0 != 0x80 { return i }
            i += count + 1
        }
        return nil
    }
}
