import Foundation

/// Numbers as people type them for planning: `1e21`, `2.5e9`, `7B`, `1.4T`, `70M`, `1.5K`,
/// and rendering counts back the same way ("2.89B").
public enum PlanQuantity {
    /// Suffix multipliers (SI-style counts, not bytes): K 1e3, M 1e6, B or G 1e9, T 1e12,
    /// P 1e15. Case-insensitive except that a lowercase `m` is refused (milli or mega?).
    static let suffixes: [Character: Double] = [
        "K": 1e3, "k": 1e3, "M": 1e6, "B": 1e9, "b": 1e9, "G": 1e9, "g": 1e9,
        "T": 1e12, "t": 1e12, "P": 1e15, "p": 1e15,
    ]

    /// Parses a positive or negative finite number with an optional suffix. `what` names
    /// the option for the error message ("--compute").
    public static func parse(_ text: String, what: String = "number") throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        guard !trimmed.isEmpty else { throw NNFlopsError("\(what): empty number") }
        var body = Substring(trimmed)
        var scale = 1.0
        if let last = body.last, last.isLetter, !(last == "e" || last == "E") {
            guard let multiplier = suffixes[last] else {
                throw NNFlopsError("\(what): unknown suffix '\(last)' in '\(text)'",
                                   notes: ["note: use a plain number (1e21, 2.5e9) or a suffix K, M, B, T (7B, 1.4T, 70M, 1.5K)"])
            }
            scale = multiplier
            body = body.dropLast()
        }
        // Only decimal notation: Double(String) would also accept hex, "nan" and "inf".
        let allowed = Set("0123456789.eE+-")
        guard !body.isEmpty, body.allSatisfy({ allowed.contains($0) }), body.contains(where: \.isNumber),
              let value = Double(body) else {
            throw NNFlopsError("\(what): '\(text)' is not a number",
                               notes: ["note: use a plain number (1e21, 2.5e9) or a suffix K, M, B, T (7B, 1.4T, 70M, 1.5K)"])
        }
        let result = value * scale
        guard result.isFinite else { throw NNFlopsError("\(what): '\(text)' is too large") }
        return result
    }

    /// A count with three significant digits and a suffix: 2.887e9 -> "2.89B",
    /// 5.774e10 -> "57.7B", 1.4e12 -> "1.40T"; past 1000T, scientific ("1.20e15").
    public static func format(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude < 1000 { return threeDigits(value) }
        let units: [(Double, String)] = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        if magnitude >= 999.5e12 { return scientific(value) }
        for (scale, suffix) in units where magnitude >= scale * 0.9995 {
            return threeDigits(value / scale) + suffix
        }
        return threeDigits(value)
    }

    /// Three significant digits, no exponent (for values below 1000).
    static func threeDigits(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude == 0 { return "0" }
        if magnitude < 0.9995 { return String(format: "%.3g", value) }
        let decimals: Int
        if magnitude >= 99.95 { decimals = 0 } else if magnitude >= 9.995 { decimals = 1 } else { decimals = 2 }
        return String(format: "%.\(decimals)f", value)
    }

    /// "1.00e21".
    public static func scientific(_ value: Double) -> String {
        String(format: "%.2e", value).replacingOccurrences(of: "e+", with: "e").replacingOccurrences(of: "e0", with: "e")
    }
}
