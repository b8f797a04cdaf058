/// `hardswish(x, inplace=false)`: x * min(max(x + 3, 0), 6) / 6 element-wise (torch.nn.Hardswish).
///
/// Reference algorithm (torch's vectorised CPU kernels), n elements:
/// - forward: add, max, min, mul, div = 5n.
/// - input gradient (hardswish_backward): dY * (x / 3 + 0.5) where -3 <= x <= 3, dY
///   where x > 3, 0 where x < -3, computed for every element and then selected:
///   div, add, mul, two compares = 5n.
/// MACs: 0. Saved for backward: the input.
struct HardSwish: ElementwiseActivation {
    public static let kind = "hardswish"
    public static let summary = "x * relu6(x + 3) / 6 (MobileNetV3)"
    static let hasInPlaceVariant = true
    /// hardswish_backward(grad, self) keeps the input; in place, a clone of the original input.
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType
    let inplace: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
        self.inplace = inplace
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 5, inputGradient: 5) }
}
