/// `leaky_relu(x, slope=0.01, inplace=false)`: x where x > 0, slope * x elsewhere (torch.nn.LeakyReLU).
///
/// Reference algorithm, n elements: forward one compare and one multiply per element,
/// both executed for every element before the select (2n); input gradient
/// dX = dY where x > 0, else dY * slope: one compare and one multiply (2n).
/// MACs: 0. Saved for backward: the input.
public struct LeakyReLU: Operator {
    public static let kind = "leaky_relu"
    public static let summary = "leaky rectified linear unit"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .optional("slope", .float, .float(0.01)),
        .optional("inplace", .bool, .bool(false)),
    ]

    let input: TensorType
    /// In place (torch's inplace=True): changes memory, not FLOPs.
    let inplace: Bool
    let slope: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        inplace = try arguments.bool("inplace")
        slope = try arguments.float("slope")
        guard slope.isFinite else { throw OperatorError("slope must be a finite number, got \(slope)", argument: "slope") }
    }

    public var outputs: [TensorType] { [input] }

    public func cost(_ context: CostContext) -> OperatorCost {
        .pointwise(input.elements, forward: 2, inputGradient: 2, context)
    }

    public var detail: String { [slope == 0.01 ? "" : "slope \(slope)", inplace ? "inplace" : ""].filter { !$0.isEmpty }.joined(separator: " ") }
}

// Memory (README, "Training and inference memory").
extension LeakyReLU {
    /// leaky_relu_backward keeps the input (in place: the result, which aliases it).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [inplace ? .output(0) : .input(0)] : []
    }
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}
