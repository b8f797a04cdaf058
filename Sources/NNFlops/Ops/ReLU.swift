/// `relu(x, inplace=false)`: max(x, 0) element-wise.
///
/// Reference algorithm: forward one compare per element (n FLOPs); input gradient
/// dX = dY * [y > 0], one select per element (n FLOPs). `inplace` changes memory
/// (the output aliases the input), not FLOPs.
struct ReLU: ElementwiseActivation {
    public static let kind = "relu"
    public static let summary = "rectified linear unit, optionally in place"
    static let hasInPlaceVariant = true
    /// torch.relu takes integer tensors too.
    static let needsFloatingPoint = false
    /// threshold_backward(grad, result, 0): relu keeps its output; in place the output
    /// is the input's storage, so nothing new is kept.
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType
    let inplace: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
        self.inplace = inplace
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 1, inputGradient: 1) }
}
