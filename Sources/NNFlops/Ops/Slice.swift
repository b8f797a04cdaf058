/// `slice(input, dim, start, end=none, step=1)`: entries start, start+step, ... before
/// `end` along `dim`, with Python slicing rules (negative indices count from the end,
/// out-of-range bounds are clamped, `end = none` means to the end). The result must not
/// be empty.
///
/// Reference algorithm: a view, 0 FLOPs; backward writes dY into a zero tensor of the
/// input's shape (a copy, 0 FLOPs).
struct Slice: Operator {
    public static let kind = "slice"
    public static let summary = "a strided range along a dimension"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("dim", .int),
        .required("start", .int),
        .defaulted("end", .int, .none),
        .defaulted("step", .int, .int(1)),
    ]

    let input: TensorType
    let axis: Int
    let start: Int
    let end: Int
    let step: Int
    let length: Int

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        axis = try arguments.axis("dim", of: input)
        step = try arguments.int("step", atLeast: 1)
        let size = input.shape[axis]
        func clamp(_ value: Int) -> Int {
            let v = value < 0 ? (value < -size ? 0 : value + size) : value
            return min(v, size)
        }
        start = clamp(try arguments.int("start"))
        end = try arguments.optionalInt("end").map(clamp) ?? size
        guard end > start else {
            throw OperatorError("slice \(start)..<\(end) of dimension \(axis) (size \(size)) of \(input) is empty", argument: "start")
        }
        length = (end - start - 1) / step + 1
    }

    /// A strided view: contiguous only when the slice keeps whole rows of the leading
    /// dimensions (e.g. a range of the first dimension with step 1).
    public var outputs: [TensorType] { [input.sliced(axis: axis, length: length, step: step)] }

    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "dim \(axis) [\(start):\(end)\(step == 1 ? "" : ":\(step)")]" }
}

// Memory (README, "Training and inference memory").
extension Slice {
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}
