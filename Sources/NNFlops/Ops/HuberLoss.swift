/// `huber_loss(input, target, delta=1.0)`: mean over N elements of
/// 0.5*z^2 if |z| < delta else delta*(|z| - 0.5*delta), z = input - target -> scalar [].
///
/// Reference algorithm (0.5*delta is a constant):
/// - forward per element: subtract, abs, compare with delta, then either branch costs 2
///   (z*z, *0.5 or |z| - 0.5*delta, *delta): 5; N adds, 1 divide: 6N + 1.
/// - backward: s = dL / N (1) when any input needs a gradient; dX = clamp(z, -delta,
///   delta) * s: subtract, min, max, multiply = 4N; dT likewise with t - x: 4N.
struct HuberLoss: Operator {
    public static let kind = "huber_loss"
    public static let summary = "Huber loss (mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
        .defaulted("delta", .float, .float(1)),
    ]

    let operands: ElementwiseLossOperands
    let delta: Double

    public init(_ arguments: BoundArguments) throws {
        operands = try ElementwiseLossOperands(arguments, kind: Self.kind)
        delta = try arguments.float("delta")
        guard delta.isFinite && delta > 0 else { throw OperatorError("'delta' must be positive, got \(delta)", argument: "delta") }
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.elements
        var backward = Count.zero
        if context.anyInputNeedsGradient { backward += 1 }
        if context.needsGradient(input: 0) { backward += n * 4 }
        if context.needsGradient(input: 1) { backward += n * 4 }
        return OperatorCost(forward: .elementwise(n * 6 + 1), inputGradient: .elementwise(backward))
    }

    public var detail: String { "delta \(delta)" }
}

// Memory (README, "Training and inference memory").
extension HuberLoss {
    /// huber_loss keeps input and target; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.anyInputNeedsGradient ? [.input(0), .input(1)] : []
    }
    public var autocast: AutocastClass { .float32 }
}
