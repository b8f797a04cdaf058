/// `add(x, other)` and `x + y`: element-wise sum with broadcasting; `other` may be a number.
///
/// Reference algorithm: forward one add per output element. Backward: the gradient of a
/// sum is the identity, so an operand of the output's shape receives dY as is (0 FLOPs);
/// a broadcast operand receives dY summed over the broadcast dimensions (one add per
/// output element).
public struct Add: Operator {
    public static let kind = "add"
    public static let summary = "element-wise addition with broadcasting"
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
        var cost = OperatorCost(forward: .elementwise(operands.outputElements))
        if context.needsGradient(input: 0) { cost.inputGradient += .elementwise(operands.reductionFLOPs(to: operands.left.shape)) }
        if let right = operands.right, context.needsGradient(input: 1) {
            cost.inputGradient += .elementwise(operands.reductionFLOPs(to: right.shape))
        }
        return cost
    }
}

// Memory (README, "Training and inference memory").
extension Add {
    /// The gradient of a sum is the identity: add keeps nothing (errata item 5).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
