/// `bce_loss(input, target, logits=true)`: binary cross-entropy, mean over N elements ->
/// scalar []. `logits=true` takes raw scores (BCEWithLogitsLoss), `false` probabilities
/// (BCELoss, logs clamped at -100 as torch does).
///
/// Reference algorithm, per element; s = dL / N (1 divide) once when any input needs a
/// gradient:
/// - logits, forward: the stable form max(x,0) - x*t + log(1 + exp(-|x|)): abs, negate,
///   exp, add 1, log, max, multiply, subtract, add = 9; then N adds and 1 divide:
///   10N + 1.
///   dX = (sigmoid(x) - t) * s with sigmoid = 1/(1+exp(-x)) (negate, exp, add, divide):
///   6N. dT = -x * s: 2N.
/// - probabilities, forward: -(t*max(log x, -100) + (1-t)*max(log(1-x), -100)): log, clamp,
///   1-x, log, clamp, t*a, 1-t, multiply, add, negate = 10; N adds, 1 divide: 11N + 1.
///   dX = (x - t) / max((1-x)*x, eps) * s (binary_cross_entropy_backward): subtract, 1-x,
///   multiply, max, divide, multiply = 6N. dT = (log(1-x) clamped - log(x) clamped) * s:
///   1-x, log, clamp, log, clamp, subtract, multiply = 7N.
struct BCELoss: Operator {
    public static let kind = "bce_loss"
    public static let summary = "binary cross-entropy on logits or probabilities (mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
        .defaulted("logits", .bool, .bool(true)),
    ]

    let operands: ElementwiseLossOperands
    let logits: Bool

    public init(_ arguments: BoundArguments) throws {
        operands = try ElementwiseLossOperands(arguments, kind: Self.kind)
        logits = try arguments.bool("logits")
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.elements
        var backward = Count.zero
        if context.anyInputNeedsGradient { backward += 1 }
        if context.needsGradient(input: 0) { backward += n * 6 }
        if context.needsGradient(input: 1) { backward += n * (logits ? 2 : 7) }
        return OperatorCost(forward: .elementwise(n * (logits ? 10 : 11) + 1), inputGradient: .elementwise(backward))
    }

    public var detail: String { logits ? "logits" : "probabilities" }
}

// Memory (README, "Training and inference memory").
extension BCELoss {
    /// binary_cross_entropy(_with_logits) keeps input and target; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.anyInputNeedsGradient ? [.input(0), .input(1)] : []
    }
    public var autocast: AutocastClass { .float32 }
}
