/// Shared validation of the loss operators: a float `input` and a `target` of the same
/// shape (element-wise losses). Every loss reduces by the mean to a scalar [] output.
struct ElementwiseLossOperands: Sendable {
    let input: TensorType
    let target: TensorType

    init(_ arguments: BoundArguments, kind: String) throws {
        input = try arguments.tensor("input")
        target = try arguments.tensor("target")
        guard input.dtype.isFloatingPoint else {
            throw OperatorError("input must be a float tensor, got \(input)", argument: "input")
        }
        guard target.dtype.isFloatingPoint else {
            throw OperatorError("target must be a float tensor of the input's shape, got \(target)", argument: "target")
        }
        guard target.shape == input.shape else {
            throw OperatorError("target has shape \(target) but input has shape \(input); they must match", argument: "target")
        }
    }

    /// N, the number of elements averaged.
    var elements: Count { input.elements }
    var output: TensorType { TensorType([], input.dtype) }
}
