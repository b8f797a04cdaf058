/// `add(x, other)` and `x + y`: element-wise sum with broadcasting; `other` may be a number.
///
/// Reference algorithm: forward one add per output element. Backward: the gradient of a
/// sum is the identity, so an operand of the output's shape receives dY as is (0 FLOPs);
/// a broadcast operand receives dY summed over the broadcast dimensions (one add per
/// output element).
public struct Add: BroadcastingBinaryOperator {
    public static let kind = "add"
    public static let summary = "element-wise addition with broadcasting"
    static let gradientFLOPsPerElement = (input: 0, other: 0)

    let operands: BinaryOperands

    init(operands: BinaryOperands, _ arguments: BoundArguments) {
        self.operands = operands
    }

    /// The gradient of a sum is the identity: add keeps nothing (errata item 5).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
