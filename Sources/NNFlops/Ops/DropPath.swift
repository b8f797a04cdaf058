/// `drop_path(input, p, mode="row")`: stochastic depth (Huang et al. 2016), torchvision's
/// `StochasticDepth(p, mode)` / `torchvision.ops.stochastic_depth` in training mode: the
/// whole residual branch of a sample is dropped with probability p and the survivors are
/// scaled by 1 / (1 - p). "row" draws one Bernoulli value per sample (noise [B, 1, ..., 1]),
/// "batch" one for the whole batch (noise [1, ..., 1]). 0 <= p <= 1; p = 0 returns the input
/// itself, as torchvision does.
///
/// Reference algorithm (torchvision: `noise = empty(size).bernoulli_(1 - p)`,
/// `noise.div_(1 - p)` when 1 - p > 0, `input * noise`), n input elements, m noise elements
/// (B for "row", 1 for "batch"): forward m compares (the Bernoulli draw; generating the
/// uniform number is not counted, as for dropout), m divides (none when p = 1) and n
/// multiplies: n + 2m (n + m when p = 1). Input gradient (MulBackward0: dY * noise): n
/// multiplies. MACs: 0. Saved for backward: the noise, in the input's dtype (torchvision
/// makes it `empty(size, dtype=input.dtype)`): 8 bytes per block at batch 2 in fp32.
/// In eval mode (inference, `CostContext.mode`) it returns its input itself
/// (torchvision: `if not training or p == 0.0: return input`): no FLOPs, no new tensor.
struct DropPath: Operator {
    public static let kind = "drop_path"
    public static let summary = "stochastic depth: drop whole samples of a residual branch (training mode)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("p", .float),
        .defaulted("mode", .string, .string("row")),
    ]

    let input: TensorType
    let p: Double
    /// One noise value per sample ("row") or for the batch ("batch").
    let perSample: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        guard input.rank >= 1 else { throw OperatorError("drop_path needs a batch dimension, got \(input)", argument: "input") }
        p = try arguments.float("p")
        guard p >= 0, p <= 1 else { throw OperatorError("p must be in [0, 1], got \(p)", argument: "p") }
        perSample = try arguments.choice("mode", ["row", "batch"]) == "row"
    }

    /// The noise's shape: [B, 1, ..., 1] per sample, [1, ..., 1] for the batch.
    var noiseShape: [Int] { [perSample ? input.shape[0] : 1] + Array(repeating: 1, count: input.rank - 1) }
    var noise: TensorType { TensorType(noiseShape, input.dtype) }

    public var outputs: [TensorType] {
        [p == 0 ? input : .elementwiseResult(input.shape, input.dtype, operands: [input, noise])]
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        guard p > 0, !context.evaluates else { return OperatorCost(forward: .zero) }
        let m = Count.product(noiseShape)
        let noiseFLOPs = p < 1 ? m * 2 : m
        return OperatorCost(forward: .elementwise(input.elements + noiseFLOPs),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(input.elements) : .zero)
    }

    /// p to six decimals (a computed 0.2 * 3 / 16 reads 0.0375).
    public var detail: String { "p=\((p * 1e6).rounded() / 1e6) \(perSample ? "row" : "batch")" }
}

// Memory (README, "Training and inference memory").
extension DropPath {
    /// MulBackward0 keeps `other`, the noise, for the input's gradient (the noise needs no
    /// gradient, so the input is not kept). p = 0: the input itself, nothing kept.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard p > 0, context.needsGradient(input: 0) else { return [] }
        return [.extra("noise", shape: noiseShape, type: .output)]
    }

    public func alias(ofOutput index: Int) -> OutputAlias? { p == 0 ? .view(input: 0) : nil }
    /// Eval mode: the input itself.
    public func alias(ofOutput index: Int, _ context: MemoryContext) -> OutputAlias? {
        context.evaluates ? .view(input: 0) : alias(ofOutput: index)
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension DropPath {
    /// Element by element on its piece (the per-sample noise follows the piece's shape).
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
