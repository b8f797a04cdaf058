import Foundation

// The one vocabulary of numbers with a unit suffix (README, "Numbers and units"): spec
// literals (`16GiB`, `7B`), `--set` values and every flag that takes a size or a count
// read their suffixes here, so each suffix means one thing everywhere.
//
// - byte sizes take IEC units (KiB, MiB, GiB, TiB = 2^10 ... 2^40 bytes), SI byte units
//   (KB, MB, GB, TB = 10^3 ... 10^12 bytes) or a plain number of bytes;
// - counts (parameters, FLOPs, tokens, samples) take K, M, B or G, T, P
//   (10^3 ... 10^15) or scientific notation (1e21).
// `B` is a billion, never a byte: `--max-peak-memory 1B` is an error, not one byte.

/// What a number measures, and so which unit suffixes fit it.
public enum QuantityKind: String, Sendable, Hashable {
    case bytes
    case count

    /// "a byte size" / "a count", for messages.
    public var noun: String {
        switch self {
        case .bytes: "a byte size"
        case .count: "a count"
        }
    }

    /// The units this kind takes, as the README states them.
    public var rule: String {
        switch self {
        case .bytes:
            "byte sizes take KiB, MiB, GiB, TiB (powers of 2), KB, MB, GB, TB (powers of 10) or a plain number of bytes"
        case .count:
            "counts take K, M, B or G, T, P (10^3 to 10^15) or scientific notation (1e21)"
        }
    }

    var examples: String {
        switch self {
        case .bytes: "24GiB, 80GB or 1073741824"
        case .count: "1e21, 7B, 1.4T or 1281167"
        }
    }
}

/// A unit suffix of the vocabulary.
public enum QuantityUnit: String, Sendable, Hashable, CaseIterable {
    case thousand = "K", million = "M", billion = "B", giga = "G", trillion = "T", quadrillion = "P"
    case kibibyte = "KiB", mebibyte = "MiB", gibibyte = "GiB", tebibyte = "TiB"
    case kilobyte = "KB", megabyte = "MB", gigabyte = "GB", terabyte = "TB"

    public var kind: QuantityKind {
        switch self {
        case .thousand, .million, .billion, .giga, .trillion, .quadrillion: .count
        default: .bytes
        }
    }

    /// The factor the unit multiplies by.
    public var scale: Double {
        switch self {
        case .thousand, .kilobyte: 1e3
        case .million, .megabyte: 1e6
        case .billion, .giga, .gigabyte: 1e9
        case .trillion, .terabyte: 1e12
        case .quadrillion: 1e15
        case .kibibyte: 1024
        case .mebibyte: 1_048_576
        case .gibibyte: 1_073_741_824
        case .tebibyte: 1_099_511_627_776
        }
    }

    /// "10^9", "2^30 bytes", for messages.
    public var meaning: String {
        switch self {
        case .thousand: "10^3"
        case .million: "10^6"
        case .billion, .giga: "10^9"
        case .trillion: "10^12"
        case .quadrillion: "10^15"
        case .kibibyte: "2^10 bytes"
        case .mebibyte: "2^20 bytes"
        case .gibibyte: "2^30 bytes"
        case .tebibyte: "2^40 bytes"
        case .kilobyte: "10^3 bytes"
        case .megabyte: "10^6 bytes"
        case .gigabyte: "10^9 bytes"
        case .terabyte: "10^12 bytes"
        }
    }

    /// The unit a suffix spells. Byte units are spelt exactly (`kb` could be kilobits);
    /// count suffixes also in lower case (`7b`, `1.5k`), except `m`: milli or mega?
    public init?(suffix: String) {
        if let exact = QuantityUnit(rawValue: suffix) {
            self = exact
            return
        }
        guard suffix.count == 1, suffix != "m", let upper = QuantityUnit(rawValue: suffix.uppercased()), upper.kind == .count else {
            return nil
        }
        self = upper
    }

    /// Why a suffix is not a unit: the message for `unknown unit` errors.
    static func reasonUnknown(_ suffix: String, noun: String = "unit") -> String {
        if suffix == "m" { return "'m' is ambiguous (milli or mega?): write M for 10^6" }
        let hint = closestMatch(to: suffix, in: allCases.map(\.rawValue)).map { " (did you mean '\($0)'?)" } ?? ""
        return "unknown \(noun) '\(suffix)'\(hint)"
    }
}

/// A number with the unit it was written in.
public struct Quantity: Sendable, Hashable {
    /// The number with its unit applied: `7B` -> 7e9, `1KiB` -> 1024.
    public var value: Double
    /// The suffix it was written with (nil: a plain number).
    public var unit: QuantityUnit?

    public init(value: Double, unit: QuantityUnit?) {
        self.value = value
        self.unit = unit
    }

    /// The value as a spec literal gives it: an integer when it is whole and fits 64 bits.
    public var integerValue: Int? {
        value.rounded() == value && abs(value) < 9.2e18 ? Int(value) : nil
    }

    /// Why this quantity does not fit `kind` (a count suffix on a byte size or the
    /// reverse), or nil when it fits. Plain numbers fit every kind.
    public func mismatch(for kind: QuantityKind) -> String? {
        guard let unit, unit.kind != kind else { return nil }
        let what = unit.kind == .count ? "a count suffix" : "a byte unit"
        return "'\(unit.rawValue)' is \(what) (\(unit.meaning)), not \(kind == .bytes ? "a byte unit" : "a count suffix"); \(kind.rule)"
    }

    /// Parses `1e21`, `2.5e9`, `7B`, `1.4T`, `16GiB`, `1_000`, `-3`: a decimal number
    /// (no hex, `nan` or `inf`) and an optional unit. `kind`, when given, is what the
    /// number measures: a unit of the other kind is an error. Errors start with `what`
    /// (a flag such as `--compute`, a spec place) when it is given; without it they are
    /// the bare reason, for callers that name the place themselves.
    public static func parse(_ text: String, as kind: QuantityKind? = nil, what: String? = nil) throws -> Quantity {
        func failure(_ reason: String) -> NNFlopsError {
            NNFlopsError(what.map { "\($0): \(reason)" } ?? reason)
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        var body = Substring(trimmed)
        var suffix = ""
        while let last = body.last, last.isASCII, last.isLetter {
            suffix.insert(last, at: suffix.startIndex)
            body = body.dropLast()
        }
        body = Substring(body.trimmingCharacters(in: .whitespaces))  // `16 GiB`
        // Only decimal notation: Double(String) would also accept hex, "nan" and "inf".
        let allowed = Set("0123456789.eE+-")
        guard !body.isEmpty, body.allSatisfy({ allowed.contains($0) }), body.contains(where: \.isNumber), let number = Double(body) else {
            throw failure("'\(text)' is not \(kind?.noun ?? "a number"); use \(kind?.examples ?? "1e21, 7B or 16GiB")")
        }
        var unit: QuantityUnit?
        if !suffix.isEmpty {
            guard let known = QuantityUnit(suffix: suffix) else {
                throw failure(QuantityUnit.reasonUnknown(suffix) + (kind.map { "; \($0.rule)" } ?? ""))
            }
            unit = known
        }
        let quantity = Quantity(value: number * (unit?.scale ?? 1), unit: unit)
        if let kind, let reason = quantity.mismatch(for: kind) { throw failure(reason) }
        guard quantity.value.isFinite else { throw failure("'\(text)' is too large") }
        return quantity
    }

    /// A positive byte size (`--memory 24GiB`), rounded down to whole bytes.
    public static func bytes(_ text: String, what: String? = nil) throws -> Int {
        let quantity = try parse(text, as: .bytes, what: what)
        guard quantity.value >= 1, quantity.value < 9e18 else {
            let reason = "'\(text)' is out of range (1 byte to 8 EiB)"
            throw NNFlopsError(what.map { "\($0): \(reason)" } ?? reason)
        }
        return Int(quantity.value.rounded(.down))
    }

    /// A count (`--params 7B`, `--samples 1.28M`).
    public static func count(_ text: String, what: String? = nil) throws -> Double {
        try parse(text, as: .count, what: what).value
    }
}
