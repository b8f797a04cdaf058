/// `hardsigmoid(x, inplace=false)`: min(max(x + 3, 0), 6) / 6 element-wise (torch.nn.Hardsigmoid).
///
/// Reference algorithm, n elements: forward add, max, min, div = 4n; input gradient
/// (hardsigmoid_backward) dY / 6 where -3 < x < 3, else 0: two compares and one div = 3n.
/// MACs: 0. Saved for backward: the input.
public struct HardSigmoid: Operator {
    public static let kind = "hardsigmoid"
    public static let summary = "relu6(x + 3) / 6"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .optional("inplace", .bool, .bool(false)),
    ]

    let input: TensorType
    /// In place (torch's inplace=True): changes memory, not FLOPs.
    let inplace: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        inplace = try arguments.bool("inplace")
    }

    public var outputs: [TensorType] { [input] }

    public func cost(_ context: CostContext) -> OperatorCost {
        .pointwise(input.elements, forward: 4, inputGradient: 3, context)
    }

    public var detail: String { inplace ? "inplace" : "" }
}

// Memory (README, "Training and inference memory").
extension HardSigmoid {
    /// hardsigmoid_backward(grad, self) keeps the input; in place, a clone of the original input.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.inputOrInPlaceClone(of: input, inplace: inplace)] : []
    }
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}
