/// Element types of tensors. Spec spelling in `rawValue`.
public enum DType: String, Sendable, Hashable, Codable, CaseIterable {
    case float32 = "f32"
    case float16 = "f16"
    case bfloat16 = "bf16"
    case int64 = "i64"
    case int32 = "i32"
    case uint8 = "u8"
    case bool = "bool"

    public var bytes: Int {
        switch self {
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .int64: 8
        case .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16: true
        default: false
        }
    }

    /// Accepts the canonical spelling plus the common aliases users type.
    public init?(spelling: String) {
        switch spelling {
        case "f32", "float", "float32": self = .float32
        case "f16", "half", "float16": self = .float16
        case "bf16", "bfloat16": self = .bfloat16
        case "i64", "int", "int64", "long": self = .int64
        case "i32", "int32": self = .int32
        case "u8", "uint8", "byte": self = .uint8
        case "bool": self = .bool
        default: return nil
        }
    }

    public static let spellings = ["f32", "float", "float32", "f16", "half", "float16", "bf16", "bfloat16",
                                   "i64", "int", "int64", "long", "i32", "int32", "u8", "uint8", "byte", "bool"]
}

/// The type of a tensor: its shape, element type and memory layout. Every dimension is
/// positive and the element count fits in 64 bits (checked where tensors are made).
public struct TensorType: Sendable, Hashable, CustomStringConvertible {
    public var shape: [Int]
    public var dtype: DType
    /// Element strides per dimension (torch's `stride()`) when the tensor is not
    /// contiguous: a transposed, permuted, expanded or sliced view, or an element-wise
    /// result that follows such a view's layout. nil: contiguous, row-major. Set only
    /// through `TensorType(_:_:strides:)`, which normalises (Graph/TensorLayout.swift).
    public internal(set) var strides: [Int]?

    public init(_ shape: [Int], _ dtype: DType = .float32) {
        self.shape = shape
        self.dtype = dtype
        strides = nil
    }

    public var rank: Int { shape.count }
    public var elements: Count { Count.product(shape) }
    public var bytes: Count { elements * dtype.bytes }

    public var description: String {
        shapeText(shape) + (dtype == .float32 ? "" : " \(dtype.rawValue)")
    }

    /// Normalises a possibly negative axis index; nil when out of range.
    public func axis(_ index: Int) -> Int? {
        let axis = index < 0 ? index + rank : index
        return axis >= 0 && axis < rank ? axis : nil
    }
}

/// A tensor value flowing through elaboration: its id in the graph and its type.
public struct TensorRef: Sendable, Hashable {
    public var id: Int
    public var type: TensorType
}

/// A runtime value of the spec language.
public indirect enum Value: Sendable, CustomStringConvertible {
    case int(Int)
    case float(Double)
    case bool(Bool)
    case string(String)
    case list([Value])
    case tensor(TensorRef)
    case none

    public var typeName: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .bool: "bool"
        case .string: "string"
        case .list: "list"
        case .tensor: "tensor"
        case .none: "none"
        }
    }

    /// The value as the spec language writes it; past `Value.describedBytes` it is cut
    /// with `...` (a message quoting a million-item list stays short, and lists that share
    /// their items are never expanded past the cut).
    public var description: String {
        var text = ""
        var budget = Self.describedBytes
        if !render(into: &text, budget: &budget) { text += "..." }
        return text
    }

    /// The longest `description` before it is cut.
    public static let describedBytes = 10_000

    /// The whole value as the spec language writes it (`str()`), or nil when that would
    /// take more than `maxBytes` bytes.
    public func rendered(maxBytes: Int) -> String? {
        var text = ""
        var budget = maxBytes
        return render(into: &text, budget: &budget) ? text : nil
    }

    /// Appends the value, spending `budget` bytes; false (with a partial text) when the
    /// budget runs out. Each list is visited only while budget is left.
    func render(into text: inout String, budget: inout Int) -> Bool {
        func append(_ piece: String) -> Bool {
            budget -= piece.utf8.count
            guard budget >= 0 else { return false }
            text += piece
            return true
        }
        switch self {
        case .int(let v): return append(String(v))
        case .float(let v): return append(String(v))
        case .bool(let v): return append(v ? "true" : "false")
        case .string(let s): return append("\"\(s)\"")
        case .tensor(let t): return append("tensor\(t.type)")
        case .none: return append("none")
        case .list(let items):
            guard append("[") else { return false }
            for (index, item) in items.enumerated() {
                if index > 0 { guard append(", ") else { return false } }
                guard item.render(into: &text, budget: &budget) else { return false }
            }
            return append("]")
        }
    }
}
