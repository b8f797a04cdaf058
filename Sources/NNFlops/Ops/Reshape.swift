/// `reshape(input, shape)`: the same elements in a new shape (torch.reshape); at most one
/// dimension may be -1 and is inferred. A view (or a copy): 0 FLOPs in every phase.
public struct Reshape: Operator {
    public static let kind = "reshape"
    public static let summary = "same elements, new shape (one -1 inferred)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("shape", .intList),
    ]

    let input: TensorType
    let output: TensorType

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
        output = TensorType(shape, input.dtype)
    }

    public var outputs: [TensorType] { [output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(shapeText(input.shape))->\(shapeText(output.shape))" }
}

// Memory (README, "Training and inference memory").
extension Reshape {
    /// A view (the input is contiguous in this model of execution).
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}
