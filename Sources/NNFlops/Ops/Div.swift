/// `div(x, other)` and `x / y`: element-wise quotient with broadcasting; `other` may be a
/// number.
///
/// Reference algorithm, n = output elements: forward one divide per output (n).
/// Backward (derivatives.yaml div.Tensor): the left operand receives dY / other (n divs,
/// plus n adds when it was broadcast); the right operand, when a tensor, receives
/// -dY * ((x / other) / other) (negate, div, div, mul: 4n, plus n adds when broadcast).
/// MACs: 0. Saves the operands it needs for backward.
struct Div: BroadcastingBinaryOperator {
    public static let kind = "div"
    public static let summary = "element-wise division with broadcasting"
    static let gradientFLOPsPerElement = (input: 1, other: 4)

    let operands: BinaryOperands

    init(operands: BinaryOperands, _ arguments: BoundArguments) throws {
        if case .number(0) = operands.other { throw OperatorError("division by zero", argument: "other") }
        self.operands = operands
    }

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
