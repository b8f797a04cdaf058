/// `mul(x, other)` and `x * y` (and `-x`, which the elaborator writes as `mul(x, -1)`):
/// element-wise product with broadcasting; `other` may be a number.
///
/// Reference algorithm, n = output elements: forward one multiply per output (n).
/// Backward (derivatives.yaml mul.Tensor): the left operand receives dY * other (n muls,
/// the number or the broadcast right operand), plus n adds when it was broadcast; the
/// right operand, when a tensor, receives dY * x (n muls, plus n adds when broadcast).
/// MACs: 0 (no accumulation). Saves the operands it needs for backward.
struct Mul: BroadcastingBinaryOperator {
    public static let kind = "mul"
    public static let summary = "element-wise multiplication with broadcasting"
    static let gradientFLOPsPerElement = (input: 1, other: 1)

    let operands: BinaryOperands

    init(operands: BinaryOperands, _ arguments: BoundArguments) {
        self.operands = operands
    }

    /// mul.Tensor keeps `other` for the input's gradient and `input` for other's; a
    /// number keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard operands.right != nil else { return [] }
        return (context.needsGradient(input: 1) ? [.input(0)] : []) + (context.needsGradient(input: 0) ? [.input(1)] : [])
    }
}
