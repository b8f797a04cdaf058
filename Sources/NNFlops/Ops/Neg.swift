/// `neg(x)`: -x element-wise (torch.neg; ONNX Neg). The spec's `-x` is `mul(x, -1)`,
/// which counts the same (one operation per element each way) but keeps nothing either.
///
/// Reference algorithm, n elements: forward one negation per element (n); input gradient
/// (derivatives.yaml `neg`: `grad.neg()`): n negations. MACs: 0. Saved for backward:
/// nothing. Autocast: promote.
struct Neg: ElementwiseActivation {
    public static let kind = "neg"
    public static let summary = "negation element-wise"
    static let backwardReads = ElementwiseBackwardInput.nothing

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 1) }
}
