/// `erf(x)`: the Gauss error function element-wise (torch.erf; ONNX Erf).
///
/// Reference algorithm, n elements: forward one erf per element (n); input gradient
/// (derivatives.yaml `erf`: `2 / sqrt(pi) * exp(-x^2) * grad`, the constant not counted):
/// x * x, negate, exp, times 2/sqrt(pi), times dY: 5n. MACs: 0. Saved for backward: the
/// input. Autocast: promote (erf is on no autocast list; erfinv is).
struct Erf: ElementwiseActivation {
    public static let kind = "erf"
    public static let summary = "Gauss error function element-wise"
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 5) }
}
