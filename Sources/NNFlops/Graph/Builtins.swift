#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Plain functions of the spec language: shape queries and arithmetic helpers. They
/// create no operators.
enum Builtins {
    /// Builtins that, given a tensor, are an operator call: `float(x)` is `cast(x, dtype = "f32")`.
    static let tensorCasts = ["float": "f32"]

    static let names = ["channels", "shape", "dim", "rank", "numel", "len", "range", "min", "max", "abs",
                        "int", "float", "round", "ceil", "floor", "sqrt", "divisible", "str"]
    /// `names` for membership: every call asks (one hash, not 18 comparisons); the list
    /// keeps its order for suggestions.
    static let nameSet = Set(names)

    /// The elaboration steps a call of `name` on `args` stands for (README, "Limits"): the
    /// list items `min` and `max` visit and `range` makes, counted before the work.
    static func work(_ name: String, _ args: [Value]) -> Int {
        switch name {
        case "min", "max":
            if args.count == 1, case .list(let items) = args[0] { return items.count }
            return args.count
        case "range":
            guard (1...3).contains(args.count) else { return 0 }
            let ints = args.map { if case .int(let v) = $0 { v } else { 0 } }
            let (start, end, step) = ints.count == 1 ? (0, ints[0], 1) : (ints[0], ints[1], ints.count == 3 ? ints[2] : 1)
            guard step != 0 else { return 0 }
            // In floating point: end - start can overflow Int.
            return Int(min(1e15, max(0, ((Double(end) - Double(start)) / Double(step)).rounded(.up))))
        default:
            return 0
        }
    }

    static func call(_ name: String, _ args: [Value], _ keywords: [String: Value], limits: Limits = .standard) throws -> Value {
        func tensor(_ i: Int) throws -> TensorType {
            guard i < args.count, case .tensor(let t) = args[i] else { throw OperatorError("argument \(i + 1) must be a tensor") }
            return t.type
        }
        func number(_ i: Int) throws -> Double {
            guard i < args.count, let v = args[i].asDouble else { throw OperatorError("argument \(i + 1) must be a number") }
            return v
        }
        func integer(_ i: Int) throws -> Int {
            guard i < args.count, case .int(let v) = args[i] else { throw OperatorError("argument \(i + 1) must be an integer") }
            return v
        }
        func arity(_ range: ClosedRange<Int>) throws {
            guard range.contains(args.count) else {
                throw OperatorError("takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") arguments, got \(args.count)")
            }
        }
        func toInt(_ v: Double) throws -> Int {
            guard v.isFinite, abs(v) < 9.2e18 else { throw OperatorError("\(v) does not fit an integer") }
            return Int(v)
        }
        let knownKeywords: Set<String> = name == "divisible" ? ["min_value"] : []
        if let unknown = keywords.keys.first(where: { !knownKeywords.contains($0) }) {
            throw OperatorError("has no keyword argument '\(unknown)'")
        }
        switch name {
        case "channels":
            try arity(1...1)
            let t = try tensor(0)
            guard t.rank >= 2 else { throw OperatorError("needs a tensor of rank 2 or more, got \(t)") }
            return .int(t.shape[1])
        case "shape":
            try arity(1...1)
            return .list(try tensor(0).shape.map(Value.int))
        case "dim":
            try arity(2...2)
            let t = try tensor(0)
            guard let axis = t.axis(try integer(1)) else { throw OperatorError("dimension \(try integer(1)) out of range for \(t)") }
            return .int(t.shape[axis])
        case "rank":
            try arity(1...1)
            return .int(try tensor(0).rank)
        case "numel":
            try arity(1...1)
            let count = try tensor(0).elements
            return .int(count.value)
        case "len":
            try arity(1...1)
            switch args[0] {
            case .list(let items): return .int(items.count)
            case .string(let s): return .int(s.count)
            case .tensor(let t):
                // len() of a tensor is its first dimension, as in Python; a rank-0 tensor has none
                // (torch raises "len() of a 0-d tensor").
                guard let first = t.type.shape.first else { throw OperatorError("a rank-0 tensor has no first dimension to take the length of; numel() counts its elements") }
                return .int(first)
            default: throw OperatorError("needs a list, a string or a tensor")
            }
        case "range":
            try arity(1...3)
            let start = args.count == 1 ? 0 : try integer(0)
            let end = args.count == 1 ? try integer(0) : try integer(1)
            let step = args.count == 3 ? try integer(2) : 1
            guard step != 0 else { throw OperatorError("step must not be zero") }
            let count = work(name, args)
            guard count <= limits.listItems else {
                throw OperatorError("list too large: \(count >= Int(1e15) ? "1e15 or more" : Units.grouped(count)) items, more than the limit of \(Units.grouped(limits.listItems))")
            }
            return .list(Swift.stride(from: start, to: end, by: step).map(Value.int))
        case "min", "max":
            let items: [Value]
            if args.count == 1, case .list(let list) = args[0] { items = list } else { items = args }
            guard !items.isEmpty else { throw OperatorError("needs at least one value") }
            if items.allSatisfy({ if case .int = $0 { true } else { false } }) {
                let ints = items.map { if case .int(let v) = $0 { v } else { 0 } }
                guard let extreme = name == "min" ? ints.min() : ints.max() else { throw OperatorError("needs at least one value") }
                return .int(extreme)
            }
            let doubles = try items.map { guard let d = $0.asDouble else { throw OperatorError("needs numbers") }; return d }
            guard let extreme = name == "min" ? doubles.min() : doubles.max() else { throw OperatorError("needs at least one value") }
            return .float(extreme)
        case "abs":
            try arity(1...1)
            if case .int(let v) = args[0] {
                guard v != Int.min else { throw OperatorError("integer overflow") }
                return .int(Swift.abs(v))
            }
            return .float(Swift.abs(try number(0)))
        case "int":
            try arity(1...1)
            return .int(try toInt(try number(0).rounded(.towardZero)))
        case "float":
            try arity(1...1)
            return .float(try number(0))
        case "round":
            try arity(1...1)
            return .int(try toInt(try number(0).rounded(.toNearestOrEven)))
        case "ceil":
            try arity(1...1)
            return .int(try toInt(try number(0).rounded(.up)))
        case "floor":
            try arity(1...1)
            return .int(try toInt(try number(0).rounded(.down)))
        case "sqrt":
            try arity(1...1)
            let v = try number(0)
            guard v >= 0 else { throw OperatorError("needs a non-negative number") }
            return .float(v.squareRoot())
        case "divisible":
            // torchvision's _make_divisible (MobileNetV2 / EfficientNet channel rounding):
            // round v to the nearest multiple of divisor, not below min_value, and never
            // more than 10% below v.
            try arity(2...2)
            let v = try number(0)
            let divisor = try integer(1)
            guard divisor > 0 else { throw OperatorError("divisor must be positive") }
            var minValue = divisor
            if case .int(let m)? = keywords["min_value"] { minValue = m }
            var result = max(minValue, (try toInt(v + Double(divisor) / 2) / divisor) * divisor)
            if Double(result) < 0.9 * v {
                let (sum, overflow) = result.addingReportingOverflow(divisor)
                guard !overflow else { throw OperatorError("integer overflow") }
                result = sum
            }
            return .int(result)
        case "str":
            try arity(1...1)
            if case .string(let s) = args[0] { return .string(s) }
            guard let text = args[0].rendered(maxBytes: limits.stringBytes) else {
                throw OperatorError("string too large: more than the limit of \(Units.grouped(limits.stringBytes)) bytes")
            }
            return .string(text)
        default:
            throw OperatorError("unknown function")
        }
    }
}
