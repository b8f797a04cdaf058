/// `abs(x)`: |x| element-wise (torch.abs).
///
/// Reference algorithm, n elements: forward one abs per element (n); input gradient
/// (derivatives.yaml `abs`: `grad * self.sgn()`): the sign of x (1: a compare selecting
/// -1, 0 or 1) and a multiply: 2n. MACs: 0. Saved for backward: the input. Autocast:
/// promote.
struct Abs: ElementwiseActivation {
    public static let kind = "abs"
    public static let summary = "absolute value element-wise"
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 2) }
}
