/// `tanh(x)`: hyperbolic tangent element-wise.
///
/// Reference algorithm, n elements: forward one tanh per element (n; a tanh counts as
/// one FLOP, design §4); input gradient from the output (tanh_backward):
/// dX = dY * (1 - y * y) = 3n. MACs: 0. Saved for backward: the output.
public struct Tanh: Operator {
    public static let kind = "tanh"
    public static let summary = "hyperbolic tangent"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
    ]

    let input: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
    }

    public var outputs: [TensorType] { [input] }

    public func cost(_ context: CostContext) -> OperatorCost {
        .pointwise(input.elements, forward: 1, inputGradient: 3, context)
    }
}

// Memory (README, "Training and inference memory").
extension Tanh {
    /// tanh_backward(grad, result) keeps the output.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.output(0)] : []
    }
}
