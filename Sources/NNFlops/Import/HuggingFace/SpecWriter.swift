/// Builds the text of an imported spec: a comment header, `param` lines (each noting when
/// its value is the config class's default), then the blocks and the top level.
struct SpecWriter {
    private(set) var lines: [String] = []
    private var params: [(name: String, expression: String, note: String?)] = []

    var text: String {
        var out = lines
        flushParams(into: &out)
        return out.joined(separator: "\n") + "\n"
    }

    /// Comment lines (`# ...`); an empty line of `text` is a bare `#`.
    mutating func comment(_ text: String) {
        flush()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append(line.isEmpty ? "#" : "# " + line)
        }
    }

    /// Lines of spec source, as written.
    mutating func source(_ text: String) {
        flush()
        lines.append(contentsOf: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }

    mutating func blank() {
        flush()
        lines.append("")
    }

    /// `param NAME = EXPRESSION  # note`; consecutive params are written as one aligned group.
    mutating func param(_ name: String, _ expression: String, note: String? = nil) {
        params.append((name, expression, note))
    }

    private mutating func flush() {
        flushParams(into: &lines)
        params.removeAll()
    }

    private func flushParams(into out: inout [String]) {
        guard !params.isEmpty else { return }
        let width = params.map { "param \($0.name) = \($0.expression)".count }.max() ?? 0
        for param in params {
            let statement = "param \(param.name) = \(param.expression)"
            if let note = param.note {
                out.append(statement + String(repeating: " ", count: width - statement.count) + "  # " + note)
            } else {
                out.append(statement)
            }
        }
    }
}

/// Spec-language literals for values read from a config.
enum SpecLiteral {
    /// A float as the spec lexer reads it back exactly: `1e-05`, `10000.0`, `0.1`.
    static func float(_ value: Double) -> String { value.description }
    static func bool(_ value: Bool) -> String { value ? "true" : "false" }
    static func int(_ value: Int) -> String { String(value) }
}

extension ConfigReader {
    /// The note a param line carries when its value is the config class's default.
    func defaultNote(_ key: String) -> String? {
        isDefaulted(key) ? "absent: \(configClass)'s default" : nil
    }

    /// The note of a param whose value transformers derives when the key is null or absent.
    func derivedNote(_ key: String, _ expression: String) -> String {
        (isDefaulted(key) ? "absent" : "null") + ": transformers uses " + expression
    }
}
