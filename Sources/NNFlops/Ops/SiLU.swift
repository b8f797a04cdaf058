/// `silu(x, inplace=false)`: x * sigmoid(x) = x / (1 + exp(-x)) element-wise (torch.nn.SiLU, swish).
///
/// Reference algorithm (torch's CPU kernel), n elements:
/// - forward y = x / (1 + exp(-x)): negate, exp, add, div = 4n.
/// - input gradient (silu_backward): s = 1 / (1 + exp(-x)) (4),
///   dX = dY * s * (1 + x * (1 - s)) (5: sub, mul, add, mul, mul) = 9n.
/// MACs: 0. Saved for backward: the input.
struct SiLU: ElementwiseActivation {
    public static let kind = "silu"
    public static let summary = "x * sigmoid(x) (swish)"
    static let hasInPlaceVariant = true
    /// silu_backward(grad, self) keeps the input; in place, a clone of the original input.
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType
    let inplace: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
        self.inplace = inplace
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 4, inputGradient: 9) }
}
