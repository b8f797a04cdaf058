/// `rsqrt(x)`: 1 / sqrt(x) element-wise (torch.rsqrt).
///
/// Reference algorithm, n elements: forward a sqrt and a divide per element (2n); input
/// gradient from the output (derivatives.yaml `rsqrt`: `-0.5 * grad * result.pow(3)`):
/// y^3 = y * y * y (2 multiplies), times dY, times -0.5: 4n. MACs: 0. Saved for backward:
/// the output. Under autocast `rsqrt` is on CUDA's fp32 list: the result is fp32.
struct Rsqrt: ElementwiseActivation {
    public static let kind = "rsqrt"
    public static let summary = "reciprocal square root element-wise"
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 2, inputGradient: 4) }

    /// torch.autocast's CUDA fp32 list (aten/src/ATen/autocast_mode.cpp): half inputs are
    /// cast up, the result is fp32.
    public var autocast: AutocastClass { .float32 }
}
