/// `mse_loss(input, target)`: mean((input - target)^2) over all N elements -> scalar [].
///
/// Reference algorithm:
/// - forward: N subtracts, N multiplies (squares), N adds (sum from zero), 1 divide: 3N + 1.
/// - backward (mse_loss_backward): s = dL * (2/N), 1 multiply (2/N is a constant), when any
///   input needs a gradient; dX = (x - t) * s: 2N; dT = (t - x) * s: 2N (each when needed).
struct MSELoss: Operator {
    public static let kind = "mse_loss"
    public static let summary = "mean squared error (mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
    ]

    let operands: ElementwiseLossOperands

    public init(_ arguments: BoundArguments) throws { operands = try ElementwiseLossOperands(arguments, kind: Self.kind) }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.elements
        var backward = Count.zero
        if context.anyInputNeedsGradient { backward += 1 }
        if context.needsGradient(input: 0) { backward += n * 2 }
        if context.needsGradient(input: 1) { backward += n * 2 }
        return OperatorCost(forward: .elementwise(n * 3 + 1), inputGradient: .elementwise(backward))
    }
}

// Memory (README, "Training and inference memory").
extension MSELoss {
    /// mse_loss keeps input and target; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.anyInputNeedsGradient ? [.input(0), .input(1)] : []
    }
    public var autocast: AutocastClass { .float32 }
}
