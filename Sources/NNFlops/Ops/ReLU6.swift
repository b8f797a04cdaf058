/// `relu6(x, inplace=false)`: min(max(x, 0), 6) element-wise (torch.nn.ReLU6 = hardtanh(x, 0, 6)).
///
/// Reference algorithm, n elements: forward one max and one min per element (2n);
/// input gradient dX = dY where 0 < x < 6, else 0 (hardtanh_backward): two compares
/// per element select dY or 0 (2n; the select itself is not arithmetic, as for relu).
/// MACs: 0. Saved for backward: the input; in place (torch's ReLU6(inplace=True) runs
/// `hardtanh_(x, 0, 6)`) a clone of the input, as the in-place result is another storage.
public struct ReLU6: ElementwiseActivation {
    public static let kind = "relu6"
    public static let summary = "min(max(x, 0), 6) element-wise"
    static let hasInPlaceVariant = true
    /// hardtanh's formula, `hardtanh_backward(grad, self, min_val, max_val)`, reads the
    /// input, and `hardtanh_` has no derivatives.yaml entry of its own: in place, autograd's
    /// generated code keeps `original_self = self.clone()` (gen_variable_type.py), and the
    /// result (the input's storage, overwritten) is a separate tensor that the next
    /// operator may keep (mobilenet_v2's convolutions do).
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType
    let inplace: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
        self.inplace = inplace
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 2, inputGradient: 2) }
}
