/// `kl_div(input, target, log_target=false)`: torch.nn.KLDivLoss with `input` holding
/// log-probabilities, mean over all N elements (torch's reduction="mean", not
/// "batchmean": divide by the batch size yourself if you want the latter) -> scalar [].
///
/// Reference algorithm; s = dL / N (1 divide) once when any input needs a gradient:
/// - log_target=false: l = xlogy(t, t) - t*x, xlogy as a branch-free select
///   (compare t == 0, log, multiply) = 3, then multiply, subtract: 5 per element; N adds,
///   1 divide: 6N + 1. dX = -t * s: 2N. dT = (log t + 1 - x) * s: 4N.
/// - log_target=true: l = exp(t) * (t - x): 3 per element: 4N + 1.
///   dX = -exp(t) * s: 3N. dT = exp(t) * (t - x + 1) * s: 5N.
struct KLDiv: Operator {
    public static let kind = "kl_div"
    public static let summary = "Kullback-Leibler divergence on log-probabilities (mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
        .defaulted("log_target", .bool, .bool(false)),
    ]

    let operands: ElementwiseLossOperands
    let logTarget: Bool

    public init(_ arguments: BoundArguments) throws {
        operands = try ElementwiseLossOperands(arguments, kind: Self.kind)
        logTarget = try arguments.bool("log_target")
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.elements
        var backward = Count.zero
        if context.anyInputNeedsGradient { backward += 1 }
        if context.needsGradient(input: 0) { backward += n * (logTarget ? 3 : 2) }
        if context.needsGradient(input: 1) { backward += n * (logTarget ? 5 : 4) }
        return OperatorCost(forward: .elementwise(n * (logTarget ? 4 : 6) + 1), inputGradient: .elementwise(backward))
    }

    public var detail: String { logTarget ? "log target" : "" }
}

// Memory (README, "Training and inference memory").
extension KLDiv {
    /// kl_div keeps input and target; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.anyInputNeedsGradient ? [.input(0), .input(1)] : []
    }
    public var autocast: AutocastClass { .float32 }
}
