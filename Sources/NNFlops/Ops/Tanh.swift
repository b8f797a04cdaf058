/// `tanh(x)`: hyperbolic tangent element-wise.
///
/// Reference algorithm, n elements: forward one tanh per element (n; a tanh counts as
/// one FLOP, design §4); input gradient from the output (tanh_backward):
/// dX = dY * (1 - y * y) = 3n. MACs: 0. Saved for backward: the output.
struct Tanh: ElementwiseActivation {
    public static let kind = "tanh"
    public static let summary = "hyperbolic tangent"
    /// tanh_backward(grad, result) keeps the output.
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 3) }
}
