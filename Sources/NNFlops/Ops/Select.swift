/// `select(input, dim, index)`: picks one entry along `dim` and drops that dimension
/// (torch.select, like `x[:, 0]`); negative `index` counts from the end.
///
/// Reference algorithm: a view, 0 FLOPs; backward writes dY into a zero tensor of the
/// input's shape (a copy, 0 FLOPs).
struct Select: Operator {
    public static let kind = "select"
    public static let summary = "pick one index along a dimension, dropping it"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("dim", .int),
        .required("index", .int),
    ]

    let input: TensorType
    let axis: Int
    let index: Int

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        axis = try arguments.axis("dim", of: input)
        let requested = try arguments.int("index")
        let length = input.shape[axis]
        let normalized = requested < 0 ? requested + length : requested
        guard normalized >= 0 && normalized < length else {
            throw OperatorError("index \(requested) is out of range for dimension \(axis) of size \(length) in \(input)", argument: "index")
        }
        index = normalized
    }

    /// A strided view (contiguous when every dimension before `axis` has size 1).
    public var outputs: [TensorType] { [input.selecting(axis: axis)] }

    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "dim \(axis) [\(index)]" }
}

// Memory (README, "Training and inference memory").
extension Select {
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}
