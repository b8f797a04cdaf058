#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds a spec by path or zoo name and parses command-line overrides.
public enum SpecLoader {
    /// Returns (source, file name for diagnostics). A path that exists wins; otherwise a
    /// zoo model name; otherwise an error with a suggestion.
    public static func load(_ reference: String) throws -> (source: String, file: String) {
        if FileManager.default.fileExists(atPath: reference) {
            return (try SourceLines.decode(try readFile(reference), file: reference), reference)
        }
        let name = reference.hasSuffix(".spec") ? String(reference.dropLast(5)) : reference
        if let source = Zoo.source(named: name) { return (source, name + ".spec") }
        var notes: [String] = []
        if let hint = didYouMean(suggestions(for: name, in: Zoo.models.map(\.name))) { notes.append(hint) }
        notes.append("built-in models: " + Zoo.models.map(\.name).joined(separator: ", "))
        throw NNFlopsError("no spec file '\(reference)' and no built-in model of that name", notes: notes)
    }

    /// The bytes of the model file at `path`: a directory or an unreadable file is an error.
    public static func readFile(_ path: String) throws -> [UInt8] {
        try checkReadableFile(path)
        guard let data = FileManager.default.contents(atPath: path) else { throw NNFlopsError("cannot read '\(path)'") }
        return [UInt8](data)
    }

    /// A model file must exist, be a file and be readable: each failure in plain words.
    public static func checkReadableFile(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw NNFlopsError("no such file '\(path)'")
        }
        guard !FileManager.default.isDirectory(atPath: path) else { throw NNFlopsError("'\(path)' is a directory, not a model file") }
        guard FileManager.default.isReadableFile(atPath: path) else { throw NNFlopsError("cannot read '\(path)': permission denied") }
    }

    /// Parses a `--set name=value` value: an integer (size suffixes allowed: 7B, 16GiB),
    /// a float, true/false, or else a string.
    public static func parseOverride(_ text: String) throws -> (String, Value) {
        guard let equals = text.firstIndex(of: "=") else {
            throw NNFlopsError("--set expects NAME=VALUE, got '\(text)'")
        }
        let name = String(text[..<equals]).trimmingWhitespace()
        let valueText = String(text[text.index(after: equals)...]).trimmingWhitespace()
        guard !name.isEmpty, !valueText.isEmpty else { throw NNFlopsError("--set expects NAME=VALUE, got '\(text)'") }
        // A number must be one the spec language reads: `1e400` and 20-digit integers are
        // errors here, not strings.
        let unsigned = valueText.hasPrefix("-") ? String(valueText.dropFirst()) : valueText
        if let number = Double(unsigned), !number.isFinite, unsigned.first?.isNumber == true {
            throw NNFlopsError("--set \(name): the number '\(valueText)' is too large (beyond 1.8e308)")
        }
        if !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "_") }), Int(unsigned.filter { $0 != "_" }) == nil {
            throw NNFlopsError("--set \(name): the integer '\(valueText)' does not fit in 64 bits")
        }
        return (name, parseValue(valueText))
    }

    public static func parseValue(_ text: String) -> Value {
        switch text {
        case "true": return .bool(true)
        case "false": return .bool(false)
        default: break
        }
        var body = text
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body.removeFirst()
        }
        if let tokens = try? Lexer(source: body, file: "--set").tokenize(), tokens.count == 3 {
            switch tokens[0].kind {
            case .integer(let v): return .int(negative ? -v : v)
            case .float(let v): return .float(negative ? -v : v)
            case .quantity(let q):
                let value = negative ? -q.value : q.value
                return Quantity(value: value, unit: q.unit).integerValue.map(Value.int) ?? .float(value)
            default: break
            }
        }
        return .string(text)
    }
}
