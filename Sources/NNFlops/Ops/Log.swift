/// `log(x)`: the natural logarithm element-wise (torch.log; x <= 0 gives -inf or NaN, as
/// in torch).
///
/// Reference algorithm, n elements: forward one log per element (n); input gradient
/// (derivatives.yaml `log`: `grad.div(self)`): n divides. MACs: 0. Saved for backward: the
/// input. Under autocast `log` is on CUDA's fp32 list: the kept input is the fp32 copy.
struct Log: ElementwiseActivation {
    public static let kind = "log"
    public static let summary = "natural logarithm element-wise"
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 1) }

    /// torch.autocast's CUDA fp32 list (aten/src/ATen/autocast_mode.cpp): half inputs are
    /// cast up, the result is fp32.
    public var autocast: AutocastClass { .float32 }
}
