/// `hardsigmoid(x, inplace=false)`: min(max(x + 3, 0), 6) / 6 element-wise (torch.nn.Hardsigmoid).
///
/// Reference algorithm, n elements: forward add, max, min, div = 4n; input gradient
/// (hardsigmoid_backward) dY / 6 where -3 < x < 3, else 0: two compares and one div = 3n.
/// MACs: 0. Saved for backward: the input.
struct HardSigmoid: ElementwiseActivation {
    public static let kind = "hardsigmoid"
    public static let summary = "relu6(x + 3) / 6"
    static let hasInPlaceVariant = true
    /// hardsigmoid_backward(grad, self) keeps the input; in place, a clone of the original input.
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType
    let inplace: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
        self.inplace = inplace
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 4, inputGradient: 3) }
}
