/// `focal_loss(input, target, gamma=2.0, alpha=0.25)`: sigmoid focal loss as
/// torchvision.ops.sigmoid_focal_loss, mean over N elements -> scalar []. `input` holds
/// logits, `target` binary labels of the same shape; alpha < 0 disables the weighting.
///
/// Reference algorithm, executed as torchvision writes it, per element:
/// - forward: p = sigmoid(x) (negate, exp, add, divide: 4); ce = BCE with logits (the
///   9-FLOP stable form of bce_loss); p_t = p*t + (1-p)*(1-t) (5); loss = ce * (1-p_t)^gamma
///   (subtract, pow, multiply: 3); with alpha >= 0: alpha_t = alpha*t + (1-alpha)*(1-t)
///   (multiply, 1-t, multiply, add: 4; 1-alpha is a constant) and alpha_t*loss (1): 21 or
///   26 per element; N adds, 1 divide: 22N + 1, or 27N + 1 with alpha.
/// - input gradient, from the saved p, ce, q = 1 - p_t, f = q^gamma (the modulating
///   factor the composite keeps for its `ce * f` product: read back, not recomputed) and
///   alpha_t; s = dL / N (1): (p - t)*f (2); dp_t = p*(1-p)*(2t - 1) (5);
///   gamma*ce*q^(gamma-1)*dp_t (4); subtract (1); times alpha_t (1, with alpha); times s
///   (1): 13N + 1, or 14N + 1 with alpha.
/// The target is treated as labels: no gradient is counted for it.
struct FocalLoss: Operator {
    public static let kind = "focal_loss"
    public static let summary = "sigmoid focal loss (torchvision; mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
        .defaulted("gamma", .float, .float(2)),
        .defaulted("alpha", .float, .float(0.25)),
    ]

    let operands: ElementwiseLossOperands
    let gamma: Double
    let alpha: Double

    public init(_ arguments: BoundArguments) throws {
        operands = try ElementwiseLossOperands(arguments, kind: Self.kind)
        gamma = try arguments.float("gamma")
        alpha = try arguments.float("alpha")
        guard gamma.isFinite && gamma >= 0 else { throw OperatorError("'gamma' must be non-negative, got \(gamma)", argument: "gamma") }
        guard alpha.isFinite && alpha <= 1 else { throw OperatorError("'alpha' must be at most 1 (negative disables it), got \(alpha)", argument: "alpha") }
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.elements
        let weighted = alpha >= 0
        let backward: Count = context.needsGradient(input: 0) ? n * (weighted ? 14 : 13) + 1 : .zero
        return OperatorCost(forward: .elementwise(n * (weighted ? 27 : 22) + 1), inputGradient: .elementwise(backward))
    }

    public var detail: String { "gamma \(gamma)" + (alpha >= 0 ? " alpha \(alpha)" : "") }
}

// Memory (README, "Training and inference memory").
extension FocalLoss {
    /// torchvision's sigmoid_focal_loss is a composite of torch ops; the ones that keep
    /// tensors: sigmoid (p), binary_cross_entropy_with_logits (input, target),
    /// p_t arithmetic (target), (1 - p_t) ** gamma (1 - p_t), ce * modulating (ce and the
    /// modulating factor), alpha_t * loss (alpha_t).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient else { return [] }
        let shape = operands.input.shape
        var saved: [SavedTensor] = [.input(0), .input(1),
                                    .extra("p", shape: shape, type: .output),
                                    .extra("ce", shape: shape, type: .autocast(.float32)),
                                    .extra("one_minus_p_t", shape: shape, type: .output),
                                    .extra("modulating", shape: shape, type: .autocast(.float32))]
        if alpha >= 0 { saved.append(.extra("alpha_t", shape: shape, type: .output)) }
        return saved
    }
    public var autocast: AutocastClass { .float32 }
}
