/// `add(x, other, inplace=false)` and `x + y`: element-wise sum with broadcasting; `other`
/// may be a number. `inplace = true` is torch's `x += y` (`add_`), as torchvision's
/// Bottleneck and BasicBlock write `out += identity`: the sum is written into x's storage
/// (x must have the broadcast shape).
///
/// Reference algorithm: forward one add per output element. Backward: the gradient of a
/// sum is the identity, so an operand of the output's shape receives dY as is (0 FLOPs);
/// a broadcast operand receives dY summed over the broadcast dimensions (one add per
/// output element). In place changes memory, not FLOPs: the result allocates nothing (it
/// is x's storage), and nothing is kept either way (add's derivatives.yaml formula reads
/// neither operand, so `add_` needs no clone).
public struct Add: BroadcastingBinaryOperator {
    public static let kind = "add"
    public static let summary = "element-wise addition with broadcasting (in place: x += y)"
    static let gradientFLOPsPerElement = (input: 0, other: 0)
    static let hasInPlaceVariant = true

    let operands: BinaryOperands
    let inplace: Bool

    init(operands: BinaryOperands, _ arguments: BoundArguments) throws {
        self.operands = operands
        inplace = try arguments.bool("inplace")
    }

    /// The gradient of a sum is the identity: add keeps nothing (errata item 5).
    func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
