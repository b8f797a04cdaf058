/// `sub(x, other)` and `x - y`: element-wise difference with broadcasting; `other` may be
/// a number.
///
/// Reference algorithm, n = output elements: forward one subtract per output (n).
/// Backward (derivatives.yaml sub.Tensor): the left operand receives dY (0 FLOPs, or n
/// adds to sum it over broadcast dimensions); the right operand receives -dY (n
/// negations, plus n adds when it was broadcast). MACs: 0. Saves nothing.
struct Sub: BroadcastingBinaryOperator {
    public static let kind = "sub"
    public static let summary = "element-wise subtraction with broadcasting"
    static let gradientFLOPsPerElement = (input: 0, other: 1)

    let operands: BinaryOperands

    init(operands: BinaryOperands, _ arguments: BoundArguments) {
        self.operands = operands
    }

    /// sub keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
