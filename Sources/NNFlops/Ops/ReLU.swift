/// `relu(x, inplace=false)`: max(x, 0) element-wise.
///
/// Reference algorithm: forward one compare per element (n FLOPs); input gradient
/// dX = dY * [y > 0], one select per element (n FLOPs). `inplace` changes memory
/// (the output aliases the input), not FLOPs.
public struct ReLU: Operator {
    public static let kind = "relu"
    public static let summary = "rectified linear unit, optionally in place"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .optional("inplace", .bool, .bool(false)),
    ]

    let input: TensorType
    let inplace: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        inplace = try arguments.bool("inplace")
    }

    public var outputs: [TensorType] { [input] }

    public func cost(_ context: CostContext) -> OperatorCost {
        OperatorCost(forward: .elementwise(input.elements),
                     inputGradient: context.needsGradient(input: 0) ? .elementwise(input.elements) : .zero)
    }

    public var detail: String { inplace ? "inplace" : "" }
}

// Memory (README, "Training and inference memory").
extension ReLU {
    /// threshold_backward(grad, result, 0): relu keeps its output; in place the output
    /// is the input's storage, so nothing new is kept.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.output(0)] : []
    }
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}
