/// `div(x, other)` and `x / y`: element-wise quotient with broadcasting; `other` may be a
/// number.
///
/// Reference algorithm, n = output elements: forward one divide per output (n).
/// Backward (derivatives.yaml div.Tensor): the left operand receives dY / other (n divs,
/// plus n adds when it was broadcast); the right operand, when a tensor, receives
/// -dY * ((x / other) / other) (negate, div, div, mul: 4n, plus n adds when broadcast).
/// MACs: 0. Saves the operands it needs for backward.
public struct Div: Operator {
    public static let kind = "div"
    public static let summary = "element-wise division with broadcasting"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("other", .tensorOrNumber),
    ]

    let operands: BinaryOperands

    public init(_ arguments: BoundArguments) throws {
        operands = try BinaryOperands(arguments, kind: Self.kind)
        if operands.right == nil, try arguments.float("other") == 0 {
            throw OperatorError("division by zero", argument: "other")
        }
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.outputElements
        var cost = OperatorCost(forward: .elementwise(n))
        if context.needsGradient(input: 0) {
            cost.inputGradient += .elementwise(n + operands.reductionFLOPs(to: operands.left.shape))
        }
        if let right = operands.right, context.needsGradient(input: 1) {
            cost.inputGradient += .elementwise(n * 4 + operands.reductionFLOPs(to: right.shape))
        }
        return cost
    }
}

// Memory (README, "Training and inference memory").
extension Div {
    /// div.Tensor keeps `other` for the input's gradient and both for other's; dividing
    /// by a number keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard operands.right != nil else { return [] }
        var saved: [SavedTensor] = []
        if context.needsGradient(input: 1) { saved.append(.input(0)) }
        if context.anyInputNeedsGradient { saved.append(.input(1)) }
        return saved
    }
}
