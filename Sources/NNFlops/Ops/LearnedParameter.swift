/// `parameter(shape)`: a learned tensor with no inputs — class token, position embedding,
/// layer scale (nn.Parameter). The tensor is named by the instance name itself, as
/// PyTorch names a bare `nn.Parameter` attribute (`class_token`, `encoder.pos_embedding`,
/// `layer_scale`); the output is that tensor, float32.
///
/// Reference algorithm: forward returns the parameter itself, 0 FLOPs; the gradient that
/// reaches the output is the weight gradient, 0 FLOPs (uses elsewhere add theirs in the
/// operators that consume it).
public struct LearnedParameter: Operator {
    public static let kind = "parameter"
    public static let summary = "a learned tensor (class token, position embedding, layer scale)"
    static let signature: [ArgumentSpec] = [
        .required("shape", .intList),
    ]

    let shape: [Int]

    init(_ arguments: BoundArguments) throws {
        shape = try arguments.intList("shape")
        if let bad = shape.first(where: { $0 < 1 }) {
            throw OperatorError("shape \(shapeText(shape)) has dimension \(bad); dimensions must be positive", argument: "shape")
        }
        _ = try dimensionProduct(shape, argument: "shape")
    }

    public var outputs: [TensorType] { [TensorType(shape, .float32)] }
    /// A bare tensor: the empty local name (`ParameterSpec.qualifiedName(under:)`).
    var parameters: [ParameterSpec] { [ParameterSpec("", shape)] }
    func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { shapeText(shape) }
}

// Memory (README, "Training and inference memory").
extension LearnedParameter {
    /// The output is the parameter tensor itself: no allocation, nothing kept.
    func alias(ofOutput index: Int) -> OutputAlias? { .parameter(0) }
}
