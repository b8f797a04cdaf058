/// `exp(x)`: e^x element-wise (torch.exp).
///
/// Reference algorithm, n elements: forward one exp per element (n); input gradient from
/// the output (derivatives.yaml `exp`: `grad * result`): n multiplies. MACs: 0. Saved for
/// backward: the output. Under autocast `exp` is on CUDA's fp32 list: a half input is cast
/// up and the result (the kept tensor) is fp32.
struct Exp: ElementwiseActivation {
    public static let kind = "exp"
    public static let summary = "e^x element-wise"
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 1) }

    /// torch.autocast's CUDA fp32 list (aten/src/ATen/autocast_mode.cpp): half inputs are
    /// cast up, the result is fp32.
    public var autocast: AutocastClass { .float32 }
}
