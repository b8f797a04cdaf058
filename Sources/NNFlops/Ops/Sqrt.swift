/// `sqrt(x)`: the square root element-wise (torch.sqrt).
///
/// Reference algorithm, n elements: forward one sqrt per element (n); input gradient from
/// the output (derivatives.yaml `sqrt`: `grad / (2 * result)`): a multiply and a divide
/// per element (2n). MACs: 0. Saved for backward: the output. Autocast: promote (sqrt is
/// on no autocast list).
struct Sqrt: ElementwiseActivation {
    public static let kind = "sqrt"
    public static let summary = "square root element-wise"
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 2) }
}
