/// `silu(x, inplace=false)`: x * sigmoid(x) = x / (1 + exp(-x)) element-wise (torch.nn.SiLU, swish).
///
/// Reference algorithm (torch's CPU kernel), n elements:
/// - forward y = x / (1 + exp(-x)): negate, exp, add, div = 4n.
/// - input gradient (silu_backward): s = 1 / (1 + exp(-x)) (4),
///   dX = dY * s * (1 + x * (1 - s)) (5: sub, mul, add, mul, mul) = 9n.
/// MACs: 0. Saved for backward: the input.
public struct SiLU: Operator {
    public static let kind = "silu"
    public static let summary = "x * sigmoid(x) (swish)"
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
        .pointwise(input.elements, forward: 4, inputGradient: 9, context)
    }

    public var detail: String { inplace ? "inplace" : "" }
}

// Memory (README, "Training and inference memory").
extension SiLU {
    /// silu_backward(grad, self) keeps the input; in place, a clone of the original input.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.inputOrInPlaceClone(of: input, inplace: inplace)] : []
    }
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}
