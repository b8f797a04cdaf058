/// Output formats of the reports. Each command writes a subset of them
/// (`nnflops check`: table or json).
public enum OutputFormat: String, Sendable, Hashable, CaseIterable {
    case table, json, csv, markdown

    /// "table or json", "table, json, csv or markdown": the formats a command writes.
    public static func list(_ formats: [OutputFormat]) -> String {
        let names = formats.map(\.rawValue)
        guard let last = names.last else { return "" }
        return names.count == 1 ? last : names.dropLast().joined(separator: ", ") + " or " + last
    }
}
