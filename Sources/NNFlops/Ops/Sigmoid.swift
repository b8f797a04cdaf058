/// `sigmoid(x)`: 1 / (1 + exp(-x)) element-wise.
///
/// Reference algorithm, n elements: forward negate, exp, add, div = 4n; input gradient
/// from the output (sigmoid_backward in derivatives.yaml): dX = dY * (1 - y) * y = 3n.
/// MACs: 0. Saved for backward: the output.
struct Sigmoid: ElementwiseActivation {
    public static let kind = "sigmoid"
    public static let summary = "logistic sigmoid 1 / (1 + exp(-x))"
    /// sigmoid_backward(grad, result) keeps the output.
    static let backwardReads = ElementwiseBackwardInput.output

    let input: TensorType

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) {
        self.input = input
    }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: 4, inputGradient: 3) }
}
