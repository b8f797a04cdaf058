/// `mul(x, other)` and `x * y` (and `-x`, which the elaborator writes as `mul(x, -1)`):
/// element-wise product with broadcasting; `other` may be a number.
///
/// Reference algorithm, n = output elements: forward one multiply per output (n).
/// Backward (derivatives.yaml mul.Tensor): the left operand receives dY * other (n muls,
/// the number or the broadcast right operand), plus n adds when it was broadcast; the
/// right operand, when a tensor, receives dY * x (n muls, plus n adds when broadcast).
/// MACs: 0 (no accumulation). Saves the operands it needs for backward.
public struct Mul: Operator {
    public static let kind = "mul"
    public static let summary = "element-wise multiplication with broadcasting"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("other", .tensorOrNumber),
    ]

    let operands: BinaryOperands

    public init(_ arguments: BoundArguments) throws {
        operands = try BinaryOperands(arguments, kind: Self.kind)
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.outputElements
        var cost = OperatorCost(forward: .elementwise(n))
        if context.needsGradient(input: 0) {
            cost.inputGradient += .elementwise(n + operands.reductionFLOPs(to: operands.left.shape))
        }
        if let right = operands.right, context.needsGradient(input: 1) {
            cost.inputGradient += .elementwise(n + operands.reductionFLOPs(to: right.shape))
        }
        return cost
    }
}

// Memory (README, "Training and inference memory").
extension Mul {
    /// mul.Tensor keeps `other` for the input's gradient and `input` for other's; a
    /// number keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard operands.right != nil else { return [] }
        return (context.needsGradient(input: 1) ? [.input(0)] : []) + (context.needsGradient(input: 0) ? [.input(1)] : [])
    }
}
