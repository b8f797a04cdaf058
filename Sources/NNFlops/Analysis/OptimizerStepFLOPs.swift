/// The FLOPs of one optimizer step (README, "The rules", "Optimizer step FLOPs per
/// parameter"): the one place they are computed. The memory analysis asks for the whole
/// step, the roofline for each operator's share (its own parameters, the per-step part on
/// the first one); the reference executor counts what its update kernels run and is
/// compared with the whole step.
///
/// For N trainable parameter elements in T tensors:
/// - the optimizer's count per element (`Optimizer.flopsPerParameter`) and per tensor
///   (`Optimizer.flopsPerTensor`: LAMB's and LARS's trust ratio);
/// - coupled weight decay (g += wd*p, not AdamW/LAMB/LARS, whose decay is in their count):
///   2 per element;
/// - gradient clipping (clip_grad_norm_): squares and sums for the norm (2 per element),
///   one sqrt per tensor, the total over tensors (2 per tensor: square, add), its sqrt,
///   the coefficient max_norm / (norm + eps) (2) and its clamp (1), g *= coef (1 per
///   element): 3N + 3T + 4.
struct OptimizerStepFLOPs: Sendable, Hashable {
    public let perElement: Int
    public let perTensor: Int
    /// FLOPs that happen once per step whatever the parameters (clipping's 4).
    public let perStep: Int
    /// False in inference: no step at all.
    public let runs: Bool

    public init(_ configuration: RunConfiguration) {
        let optimizer = configuration.optimizer
        var perElement = optimizer.flopsPerParameter
        var perTensor = optimizer.flopsPerTensor
        var perStep = 0
        if configuration.weightDecay > 0 && optimizer.decayIsCoupled { perElement += 2 }
        if configuration.gradClip != nil {
            perElement += 3
            perTensor += 3
            perStep += 4
        }
        self.perElement = perElement
        self.perTensor = perTensor
        self.perStep = perStep
        runs = !configuration.inference
    }

    /// The per-element and per-tensor FLOPs of `elements` elements in `tensors` tensors
    /// (the per-step part excluded).
    public func flops(elements: Count, tensors: Int) -> Count {
        guard runs else { return .zero }
        return elements * perElement + Count(tensors) * perTensor
    }

    /// The whole step over `elements` trainable elements in `tensors` tensors; zero when
    /// nothing trains.
    public func step(elements: Count, tensors: Int) -> Count {
        guard runs, elements.value > 0 || elements.overflowed else { return .zero }
        return flops(elements: elements, tensors: tensors) + perStep
    }
}
