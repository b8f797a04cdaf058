/// `hardswish(x, inplace=false)`: x * min(max(x + 3, 0), 6) / 6 element-wise (torch.nn.Hardswish).
///
/// Reference algorithm (torch's vectorised CPU kernels), n elements:
/// - forward: add, max, min, mul, div = 5n.
/// - input gradient (hardswish_backward): dY * (x / 3 + 0.5) where -3 <= x <= 3, dY
///   where x > 3, 0 where x < -3, computed for every element and then selected:
///   div, add, mul, two compares = 5n.
/// MACs: 0. Saved for backward: the input.
public struct HardSwish: Operator {
    public static let kind = "hardswish"
    public static let summary = "x * relu6(x + 3) / 6 (MobileNetV3)"
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
        .pointwise(input.elements, forward: 5, inputGradient: 5, context)
    }

    public var detail: String { inplace ? "inplace" : "" }
}

// Memory (README, "Training and inference memory").
extension HardSwish {
    /// hardswish_backward(grad, self) keeps the input; in place, a clone of the original input.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.inputOrInPlaceClone(of: input, inplace: inplace)] : []
    }
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}
