/// `relu6(x, inplace=false)`: min(max(x, 0), 6) element-wise (torch.nn.ReLU6 = hardtanh(x, 0, 6)).
///
/// Reference algorithm, n elements: forward one max and one min per element (2n);
/// input gradient dX = dY where 0 < x < 6, else 0 (hardtanh_backward): two compares
/// per element select dY or 0 (2n; the select itself is not arithmetic, as for relu).
/// MACs: 0. Saved for backward: the input.
public struct ReLU6: ElementwiseActivation {
    public static let kind = "relu6"
    public static let summary = "min(max(x, 0), 6) element-wise"
    static let hasInPlaceVariant = true
    /// hardtanh_backward keeps the input (in place: the result, which aliases it).
    static let backwardReads = ElementwiseBackwardInput.inputOrResult

    let input: TensorType
    let inplace: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
        self.inplace = inplace
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 2, inputGradient: 2) }
}
