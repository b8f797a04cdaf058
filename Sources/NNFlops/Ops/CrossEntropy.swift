/// `cross_entropy(input, target, label_smoothing=0.0)`: torch.nn.CrossEntropyLoss on raw
/// scores, mean over the R = N / C positions -> scalar []. The class dimension is 1 for
/// inputs of rank >= 2 ([N, C] or [N, C, d1, ...], as torch) and 0 for a rank-1 input [C].
/// `target` is either an integer tensor of class ids with the input's shape minus the
/// class dimension (hard labels), or a float tensor of the input's shape (soft labels /
/// class probabilities). Constants (1 - eps, eps / C) are not counted.
///
/// Reference algorithm, N = input elements, C classes, R = N / C rows, eps = smoothing:
/// - forward: log_softmax over the classes (5N + R, see log_softmax), then
///   - hard, eps = 0: l_r = -logp[r, t_r] (R negates); sum (R adds); / R (1):
///     5N + 3R + 1.
///   - hard, eps > 0: l_r = -((1-eps)*logp[t_r] + (eps/C)*sum_c logp): C adds, 2
///     multiplies, 1 add, 1 negate per row; sum, divide: 6N + 6R + 1.
///   - soft: t' = (1-eps)*t + eps/C when eps > 0 (2N); l_r = -sum_c t'_c logp_c (C
///     multiplies, C adds, 1 negate); sum, divide: 7N + 3R + 1 (+ 2N when eps > 0).
/// - backward, when any input needs a gradient: h = -dL / R (2). Input gradient:
///   - hard, eps = 0: dlogp = h at the target (a copy), then log_softmax backward 4N:
///     4N.
///   - hard, eps > 0: a = h*(1-eps), b = h*(eps/C) (2); dlogp = b everywhere, + a at the
///     target (R adds); log_softmax backward 4N: 4N + R + 2.
///   - soft: dlogp = h * t' (N; recomputing t' costs 2N more when eps > 0), log_softmax
///     backward 4N: 5N (+ 2N).
///   Target gradient (soft labels only; ids have none): dt' = h * logp (N), times (1-eps)
///   when eps > 0 (N more).
struct CrossEntropy: Operator {
    public static let kind = "cross_entropy"
    public static let summary = "softmax cross-entropy with class ids or soft labels (mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
        .defaulted("label_smoothing", .float, .float(0)),
    ]

    let input: TensorType
    let target: TensorType
    let classAxis: Int
    let smoothing: Double
    let softLabels: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        target = try arguments.tensor("target")
        smoothing = try arguments.float("label_smoothing")
        guard input.dtype.isFloatingPoint, input.rank >= 1 else {
            throw OperatorError("input must be a float tensor of scores [N, C, ...] or [C], got \(input)", argument: "input")
        }
        guard smoothing >= 0 && smoothing <= 1 else {
            throw OperatorError("'label_smoothing' must be in [0, 1], got \(smoothing)", argument: "label_smoothing")
        }
        classAxis = input.rank == 1 ? 0 : 1
        var idShape = input.shape
        idShape.remove(at: classAxis)
        if target.dtype.isFloatingPoint {
            guard target.shape == input.shape else {
                throw OperatorError("soft-label target has shape \(target) but input has shape \(input); they " +
                    "must match (or give integer class ids of shape \(shapeText(idShape)))", argument: "target")
            }
            softLabels = true
        } else {
            guard target.dtype != .bool else { throw OperatorError("target must hold integer class ids or float probabilities, got \(target)", argument: "target") }
            guard target.shape == idShape else {
                throw OperatorError("class-id target has shape \(target) but input has shape \(input); ids need shape " +
                    "\(shapeText(idShape)) (the input without its class dimension \(classAxis))", argument: "target")
            }
            softLabels = false
        }
    }

    public var outputs: [TensorType] { [TensorType([], input.dtype)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        let rows = Count.product(input.shape.enumerated().filter { $0.offset != classAxis }.map(\.element))
        let smoothed = smoothing > 0
        let forward: Count
        if !softLabels {
            forward = smoothed ? n * 6 + rows * 6 + 1 : n * 5 + rows * 3 + 1
        } else {
            forward = n * 7 + rows * 3 + 1 + (smoothed ? n * 2 : .zero)
        }
        var backward = Count.zero
        if context.anyInputNeedsGradient { backward += 2 }
        if context.needsGradient(input: 0) {
            if !softLabels {
                backward += smoothed ? n * 4 + rows + 2 : n * 4
            } else {
                backward += n * 5 + (smoothed ? n * 2 : .zero)
            }
        }
        if softLabels && context.needsGradient(input: 1) { backward += smoothed ? n * 2 : n }
        return OperatorCost(forward: .elementwise(forward), inputGradient: .elementwise(backward))
    }

    public var detail: String {
        (softLabels ? "soft labels" : "class ids") + (smoothing > 0 ? " smoothing \(smoothing)" : "")
    }
}

// Memory (README, "Training and inference memory").
extension CrossEntropy {
    /// cross_entropy = log_softmax (keeps its result, fp32 under autocast) + nll_loss
    /// (keeps the target; the log-probabilities are the same tensor).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient else { return [] }
        return [.extra("log_probabilities", shape: input.shape, type: .autocast(.float32)), .input(1)]
    }
    public var autocast: AutocastClass { .float32 }
}
