/// `sub(x, other)` and `x - y`: element-wise difference with broadcasting; `other` may be
/// a number.
///
/// Reference algorithm, n = output elements: forward one subtract per output (n).
/// Backward (derivatives.yaml sub.Tensor): the left operand receives dY (0 FLOPs, or n
/// adds to sum it over broadcast dimensions); the right operand receives -dY (n
/// negations, plus n adds when it was broadcast). MACs: 0. Saves nothing.
public struct Sub: Operator {
    public static let kind = "sub"
    public static let summary = "element-wise subtraction with broadcasting"
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
        if context.needsGradient(input: 0) { cost.inputGradient += .elementwise(operands.reductionFLOPs(to: operands.left.shape)) }
        if let right = operands.right, context.needsGradient(input: 1) {
            cost.inputGradient += .elementwise(n + operands.reductionFLOPs(to: right.shape))
        }
        return cost
    }
}

// Memory (README, "Training and inference memory").
extension Sub {
    /// sub keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
