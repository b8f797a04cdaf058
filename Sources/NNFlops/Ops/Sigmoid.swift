/// `sigmoid(x)`: 1 / (1 + exp(-x)) element-wise.
///
/// Reference algorithm, n elements: forward negate, exp, add, div = 4n; input gradient
/// from the output (sigmoid_backward in derivatives.yaml): dX = dY * (1 - y) * y = 3n.
/// MACs: 0. Saved for backward: the output.
public struct Sigmoid: Operator {
    public static let kind = "sigmoid"
    public static let summary = "logistic sigmoid 1 / (1 + exp(-x))"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
    ]

    let input: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
    }

    public var outputs: [TensorType] { [input] }

    public func cost(_ context: CostContext) -> OperatorCost {
        .pointwise(input.elements, forward: 4, inputGradient: 3, context)
    }
}

// Memory (README, "Training and inference memory").
extension Sigmoid {
    /// sigmoid_backward(grad, result) keeps the output.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.output(0)] : []
    }
}
