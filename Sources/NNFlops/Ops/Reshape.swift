/// `reshape(input, shape)`: the same elements in a new shape (torch.reshape); at most one
/// dimension may be -1 and is inferred. As torch does, it is a view when strides can
/// describe the new shape (always for a contiguous input) and otherwise a contiguous copy
/// (`_unsafe_view(self.clone(contiguous))`): a transposed or permuted tensor merged across
/// the moved dimensions, a slice merged with its neighbours. 0 FLOPs in every phase.
struct Reshape: Operator {
    public static let kind = "reshape"
    public static let summary = "same elements, new shape (one -1 inferred)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("shape", .intList),
    ]

    let input: TensorType
    let output: TensorType
    /// The input cannot be viewed as the new shape: the output is a new contiguous tensor.
    let copies: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let requested = try arguments.intList("shape")
        let inferred = requested.indices.filter { requested[$0] == -1 }
        guard inferred.count <= 1 else {
            throw OperatorError("only one dimension of the new shape may be -1, got \(shapeText(requested))", argument: "shape")
        }
        if let bad = requested.first(where: { $0 != -1 && $0 < 1 }) {
            throw OperatorError("new shape \(shapeText(requested)) has dimension \(bad); dimensions must be positive (or -1 once)", argument: "shape")
        }
        let elements = try dimensionProduct(input.shape, argument: "input")
        let known = try dimensionProduct(requested.filter { $0 != -1 }, argument: "shape")
        var shape = requested
        if let slot = inferred.first {
            guard elements % known == 0 else {
                throw OperatorError("cannot reshape \(input) (\(elements) elements) to \(shapeText(requested)): \(elements) is not divisible by \(known)", argument: "shape")
            }
            shape[slot] = elements / known
        } else {
            guard known == elements else {
                throw OperatorError("cannot reshape \(input) (\(elements) elements) to \(shapeText(requested)) (\(known) elements)", argument: "shape")
            }
        }
        (output, copies) = reshapeLayout(of: input, to: shape)
    }

    public var outputs: [TensorType] { [output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(shapeText(input.shape))->\(shapeText(output.shape))" + (copies ? " copy" : "") }
}

/// The output of torch.reshape (and flatten, which is a reshape) of `input` to `shape`:
/// the view when strides can describe it, else a contiguous copy.
func reshapeLayout(of input: TensorType, to shape: [Int]) -> (output: TensorType, copies: Bool) {
    if let view = input.viewed(as: shape) { return (view, false) }
    return (TensorType(shape, input.dtype), true)
}

// Memory (README, "Training and inference memory").
extension Reshape {
    /// A view of the input, or a new tensor when it copies (the copy keeps nothing:
    /// clone's gradient is the identity).
    public func alias(ofOutput index: Int) -> OutputAlias? { copies ? nil : .view(input: 0) }
}
