/// `reciprocal(x)`: 1 / x element-wise (torch.reciprocal; ONNX Reciprocal).
///
/// Reference algorithm, n elements: forward one divide per element (n); input gradient
/// from the output (derivatives.yaml `reciprocal`: `-grad * (result * result)`): y * y,
/// times dY, negated: 3n. MACs: 0. Saved for backward: the output. Under autocast
/// `reciprocal` is on CUDA's fp32 list: the result is fp32.
struct Reciprocal: ElementwiseActivation {
    public static let kind = "reciprocal"
    public static let summary = "1 / x element-wise"
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 3) }

    /// torch.autocast's CUDA fp32 list (aten/src/ATen/autocast_mode.cpp): half inputs are
    /// cast up, the result is fp32.
    public var autocast: AutocastClass { .float32 }
}
