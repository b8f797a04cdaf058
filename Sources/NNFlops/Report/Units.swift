#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Human units, applied only when rendering (design §2): FLOPs and counts in SI
/// (1 GFLOP = 1e9), bytes in IEC (1 GiB = 2^30), always with their unit.
public enum Units {
    static let siPrefixes: [(Double, String)] = [(1e24, "Y"), (1e21, "Z"), (1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")]

    /// `8.18 GFLOPs`, `512 FLOPs`.
    public static func flops(_ value: Int) -> String { si(Double(value), unit: "FLOPs") }
    public static func flops(_ value: Double) -> String { si(value, unit: "FLOPs") }
    /// A throughput: `15.6 MFLOP/s`, `67.0 TFLOP/s` (one spelling everywhere: FLOP/s).
    public static func flopRate(_ value: Double) -> String { si(value, unit: "FLOP/s") }
    /// `4.09 GMACs`.
    public static func macs(_ value: Int) -> String { si(Double(value), unit: "MACs") }

    /// Parameter-like counts: `25.56M`, `1.56B`, `512`.
    public static func count(_ value: Int) -> String {
        let v = Double(value)
        for (scale, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where abs(v) >= scale {
            return format(v / scale) + suffix
        }
        return String(value)
    }

    /// A count that may be fractional or beyond 64 bits (a budget's limit); past 1000T
    /// in scientific notation (`1.00e19`).
    public static func count(_ value: Double) -> String {
        if abs(value) >= 1e15 { return PlanQuantity.scientific(value) }
        for (scale, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")] where abs(value) >= scale {
            return format(value / scale) + suffix
        }
        return value == value.rounded() ? String(Int(value)) : format(value)
    }

    /// `8.18 GFLOPs`; past the largest prefix in scientific notation (`1.00e300 FLOPs`).
    public static func si(_ value: Double, unit: String) -> String {
        if abs(value) >= 1e27 { return PlanQuantity.scientific(value) + " " + unit }
        for (scale, prefix) in siPrefixes where abs(value) >= scale {
            return format(value / scale) + " " + prefix + unit
        }
        return (value == value.rounded() ? String(Int(value)) : format(value)) + " " + unit
    }

    /// `2.56 GiB`, `512 B`.
    public static func bytes(_ value: Int) -> String {
        let v = Double(value)
        for (scale, unit) in [(1099511627776.0, "TiB"), (1073741824.0, "GiB"), (1048576.0, "MiB"), (1024.0, "KiB")] where abs(v) >= scale {
            return format(v / scale) + " " + unit
        }
        return "\(value) B"
    }

    /// Bytes that may be fractional or beyond 64 bits (a budget's limit): up to EiB, then
    /// in scientific notation (`1.00e308 B`).
    public static func bytes(_ value: Double) -> String {
        if abs(value) >= 1024 * 1152921504606846976.0 { return PlanQuantity.scientific(value) + " B" }
        for (scale, unit) in [(1152921504606846976.0, "EiB"), (1125899906842624.0, "PiB"), (1099511627776.0, "TiB"), (1073741824.0, "GiB"),
                              (1048576.0, "MiB"), (1024.0, "KiB")] where abs(value) >= scale {
            return format(value / scale) + " " + unit
        }
        return (value == value.rounded() ? String(Int(value)) : format(value)) + " B"
    }

    /// Every digit, grouped by thousands: `16,777,216` (limits and exact sizes in messages).
    public static func grouped(_ value: Int) -> String {
        let digits = Array(String(value.magnitude))
        var text = value < 0 ? "-" : ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { text += "," }
            text.append(c)
        }
        return text
    }

    /// Three significant digits: 8.18, 81.8, 818.
    static func format(_ v: Double) -> String {
        let magnitude = abs(v)
        let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : 2
        // Fixed-point by integer rounding: String(format:) is slow on 100k-row tables.
        let scale = decimals == 0 ? 1.0 : decimals == 1 ? 10.0 : 100.0
        let scaled = (magnitude * scale).rounded()
        guard scaled < 9e18 else { return String(v) }
        let units = Int(scaled)
        let whole = units / Int(scale), fraction = units % Int(scale)
        var text = (v < 0 && units != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }
}
