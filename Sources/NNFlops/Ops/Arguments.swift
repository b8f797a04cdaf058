/// The kinds of value an operator argument accepts.
enum ArgumentKind: Sendable, Equatable {
    case tensor
    case tensorList
    case int
    case float
    case bool
    case string
    /// An int, or a list of `count` ints (kernel = 3 or kernel = [3, 5]).
    case intTuple(count: Int)
    case intList
    /// A tensor or a plain number (the right-hand side of `add`, `mul`, ...).
    case tensorOrNumber
}

/// Whether an argument must be given or has a default: exactly one of the two.
enum ArgumentPresence: Sendable {
    case required
    /// Taken when the argument is not given (`Value.none` for "absent": attention's
    /// `kv_heads = none` means "as many as heads").
    case defaulted(Value)
}

/// One argument of an operator's signature.
struct ArgumentSpec: Sendable {
    public var name: String
    public var kind: ArgumentKind
    public var presence: ArgumentPresence

    public static func required(_ name: String, _ kind: ArgumentKind) -> ArgumentSpec {
        ArgumentSpec(name: name, kind: kind, presence: .required)
    }

    public static func defaulted(_ name: String, _ kind: ArgumentKind, _ value: Value) -> ArgumentSpec {
        ArgumentSpec(name: name, kind: kind, presence: .defaulted(value))
    }

    /// The default value; nil for a required argument.
    public var defaultValue: Value? {
        if case .defaulted(let value) = presence { value } else { nil }
    }

    public var isRequired: Bool {
        if case .required = presence { true } else { false }
    }
}

/// Arguments matched to a signature and type-checked, handed to an operator's initialiser.
/// Accessors throw `OperatorError` naming the argument, so messages stay located.
///
/// The values are stored by position, beside the signature's names: an operator's
/// signature has a dozen arguments at most, so finding one by comparing names is cheaper
/// than hashing it, and binding builds no dictionary (with two String-keyed dictionaries
/// a call, binding took about 6,200 instructions an operator; by position 3,200: README,
/// "Speed").
struct BoundArguments: Sendable {
    /// The signature the values are bound to (the catalog's shared array: no copy).
    public let signature: [ArgumentSpec]
    /// Names given outside the signature (by `init(values:signature:)`), after it.
    private var extraNames: [String] = []
    /// The value of each argument, signature order then `extraNames`; nil where none
    /// was bound.
    public private(set) var slots: [Value?]
    /// Tensor arguments in the order they become node inputs.
    public private(set) var tensorInputs: [TensorRef] = []

    /// Values by position: `slots[i]` is the value of `signature[i]`.
    init(slots: [Value?], signature: [ArgumentSpec]) {
        self.signature = signature
        self.slots = slots
        collectTensorInputs()
    }

    /// Values by name (built by hand, not by `GraphBuilder.bind`).
    public init(values: [String: Value], signature: [ArgumentSpec]) {
        self.signature = signature
        slots = signature.map { values[$0.name] }
        // Names outside the signature are kept too, after it, in a fixed order.
        for name in values.keys.sorted() where !signature.contains(where: { $0.name == name }) {
            extraNames.append(name)
            slots.append(values[name])
        }
        collectTensorInputs()
    }

    private mutating func collectTensorInputs() {
        for (index, spec) in signature.enumerated() {
            switch (spec.kind, slots[index]) {
            case (.tensor, .tensor(let ref)?), (.tensorOrNumber, .tensor(let ref)?):
                tensorInputs.append(ref)
            case (.tensorList, .list(let items)?):
                for case .tensor(let ref) in items { tensorInputs.append(ref) }
            default:
                break
            }
        }
    }

    /// The argument names, in the order of `slots`.
    public var names: [String] { signature.map(\.name) + extraNames }

    /// The value bound to `name`; nil when none is.
    public subscript(name: String) -> Value? {
        for index in signature.indices where signature[index].name == name { return slots[index] }
        for index in extraNames.indices where extraNames[index] == name { return slots[signature.count + index] }
        return nil
    }

    /// `self[name]`, looking first at position `index` (where the signature a call is
    /// recorded against has it).
    public func value(of name: String, likelyAt index: Int) -> Value? {
        if index < signature.count, signature[index].name == name { return slots[index] }
        return self[name]
    }

    /// Every bound value by name.
    public var dictionary: [String: Value] {
        var values: [String: Value] = Dictionary(minimumCapacity: slots.count)
        for (name, value) in zip(names, slots) { values[name] = value }
        return values
    }

    public func tensor(_ name: String) throws -> TensorType {
        guard case .tensor(let ref)? = self[name] else { throw OperatorError("'\(name)' must be a tensor", argument: name) }
        return ref.type
    }

    public func optionalTensor(_ name: String) throws -> TensorType? {
        switch self[name] {
        case .tensor(let ref)?: return ref.type
        case .none?, nil: return nil
        default: throw OperatorError("'\(name)' must be a tensor", argument: name)
        }
    }

    public func tensors(_ name: String) throws -> [TensorType] {
        guard case .list(let items)? = self[name] else { throw OperatorError("'\(name)' must be a list of tensors", argument: name) }
        return try items.map {
            guard case .tensor(let ref) = $0 else { throw OperatorError("'\(name)' must be a list of tensors", argument: name) }
            return ref.type
        }
    }

    public func int(_ name: String) throws -> Int {
        switch self[name] {
        case .int(let v)?: return v
        case .float(let v)? where v.rounded() == v && abs(v) < 9e15: return Int(v)
        default: throw OperatorError("'\(name)' must be an integer, got \(self[name]?.description ?? "nothing")", argument: name)
        }
    }

    public func optionalInt(_ name: String) throws -> Int? {
        if case .none? = self[name] { return nil }
        if self[name] == nil { return nil }
        return try int(name)
    }

    /// An int that must be at least `minimum`.
    public func int(_ name: String, atLeast minimum: Int) throws -> Int {
        let v = try int(name)
        guard v >= minimum else { throw OperatorError("'\(name)' must be at least \(minimum), got \(v)", argument: name) }
        return v
    }

    public func float(_ name: String) throws -> Double {
        switch self[name] {
        case .float(let v)?: return v
        case .int(let v)?: return Double(v)
        default: throw OperatorError("'\(name)' must be a number", argument: name)
        }
    }

    public func bool(_ name: String) throws -> Bool {
        guard case .bool(let v)? = self[name] else { throw OperatorError("'\(name)' must be true or false", argument: name) }
        return v
    }

    public func string(_ name: String) throws -> String {
        guard case .string(let v)? = self[name] else { throw OperatorError("'\(name)' must be a string", argument: name) }
        return v
    }

    /// A string that must be one of `choices`.
    public func choice(_ name: String, _ choices: [String]) throws -> String {
        let v = try string(name)
        guard choices.contains(v) else {
            throw OperatorError("'\(name)' must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), got \"\(v)\"", argument: name)
        }
        return v
    }

    /// `count` ints from an int (repeated) or a list of exactly `count` ints.
    public func ints(_ name: String, count: Int) throws -> [Int] {
        switch self[name] {
        case .int(let v)?: return Array(repeating: v, count: count)
        case .list(let items)?:
            let ints = items.compactMap { if case .int(let v) = $0 { v } else { nil } }
            guard ints.count == items.count, ints.count == count else {
                throw OperatorError("'\(name)' must be an integer or a list of \(count) integers", argument: name)
            }
            return ints
        default: throw OperatorError("'\(name)' must be an integer or a list of \(count) integers", argument: name)
        }
    }

    public func intList(_ name: String) throws -> [Int] {
        switch self[name] {
        case .int(let v)?: return [v]
        case .list(let items)?:
            return try items.map {
                guard case .int(let v) = $0 else { throw OperatorError("'\(name)' must be a list of integers", argument: name) }
                return v
            }
        default: throw OperatorError("'\(name)' must be a list of integers", argument: name)
        }
    }
}
