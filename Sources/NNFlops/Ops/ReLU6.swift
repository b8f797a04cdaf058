/// `relu6(x, inplace=false)`: min(max(x, 0), 6) element-wise (torch.nn.ReLU6 = hardtanh(x, 0, 6)).
///
/// Reference algorithm, n elements: forward one max and one min per element (2n);
/// input gradient dX = dY where 0 < x < 6, else 0 (hardtanh_backward): two compares
/// per element select dY or 0 (2n; the select itself is not arithmetic, as for relu).
/// MACs: 0. Saved for backward: the input.
public struct ReLU6: Operator {
    public static let kind = "relu6"
    public static let summary = "min(max(x, 0), 6) element-wise"
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
        .pointwise(input.elements, forward: 2, inputGradient: 2, context)
    }

    public var detail: String { inplace ? "inplace" : "" }
}

// Memory (README, "Training and inference memory").
extension ReLU6 {
    /// hardtanh_backward keeps the input (in place: the result, which aliases it).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [inplace ? .output(0) : .input(0)] : []
    }
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}
