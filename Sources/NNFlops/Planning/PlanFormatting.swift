import Foundation

/// Counts rendered as planning tables show them ("2.89B", "1.00e21"). Numbers are read
/// by `Quantity.parse`, the vocabulary of every flag (Core/Quantity.swift).
public enum PlanQuantity {
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
