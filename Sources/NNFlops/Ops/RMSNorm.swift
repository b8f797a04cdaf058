/// `rmsnorm(x, eps=1e-6, affine=true, impl="fused", offset=0.0)`: root-mean-square
/// normalisation over the last dimension, as in LLaMA: y = x * rsqrt(mean(x^2) + eps) *
/// (offset + weight) (no mean, no bias). `offset = 1.0` is Gemma's GemmaRMSNorm, whose
/// weight starts at zero and scales by (1 + weight).
///
/// `impl`: "fused" is torch's rms_norm; "composite" is the norm written as torch ops, as
/// transformers' LlamaRMSNorm (and Qwen2's, Mistral's, Phi-3's, ...) is:
/// `h = x.to(float32); h = h * rsqrt(h.pow(2).mean(-1, keepdim=True) + eps);
/// weight * h.to(x.dtype)`, or GemmaRMSNorm with `offset = 1.0`:
/// `h = x.float() * rsqrt(...); (h * (1.0 + weight.float())).type_as(x)`. The composite
/// changes what is kept and the types; its FLOPs are the reference algorithm's below,
/// except that its weight gradient reads the kept h instead of recomputing xn (n fewer).
///
/// Parameters (affine): weight [D]. No buffers.
///
/// Reference algorithm, R rows of D values (n = R * D elements):
/// - forward, per row: ms = sum x * x / D (2D: mul, add; + 1 div);
///   r = 1 / sqrt(ms + eps) (3: add, sqrt, div); y = x * r (D) * weight (D, affine);
///   offset != 0: offset + weight once (D). Total 3n + 4R (+ n affine, + D offset): 4
///   FLOPs per element, against 8 for layernorm.
/// - backward (saved: x and r per row): xn = x * r recomputed (n), once, charged to the
///   weight gradient when the weight is trainable, else to the input gradient.
///   Weight gradient dW = sum over rows of dY * xn: 2n (+ n for xn).
///   Input gradient: g = dY * (offset + weight) (n, affine); b = sum g * xn per row (2n);
///   b / D (1 per row); dX = (g - xn * b) * r (3n). Total 5n + R (+ n affine,
///   + n xn when the weight is not trainable).
/// MACs: 0.
struct RMSNorm: Operator {
    public static let kind = "rmsnorm"
    public static let summary = "RMS normalisation over the last dimension (LLaMA)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("eps", .float, .float(1e-6)),
        .defaulted("affine", .bool, .bool(true)),
        .defaulted("impl", .string, .string("fused")),
        .defaulted("offset", .float, .float(0)),
    ]

    let input: TensorType
    let affine: Bool
    let eps: Double
    /// transformers' Python ops rather than torch's fused rms_norm.
    let composite: Bool
    /// Added to the weight before it scales (Gemma: 1).
    let offset: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        affine = try arguments.bool("affine")
        eps = try arguments.float("eps")
        composite = try arguments.choice("impl", ["fused", "composite"]) == "composite"
        offset = try arguments.float("offset")
        guard eps > 0, eps.isFinite else { throw OperatorError("eps must be positive, got \(eps)", argument: "eps") }
        guard offset.isFinite else { throw OperatorError("offset must be a finite number, got \(offset)", argument: "offset") }
        guard offset == 0 || affine else { throw OperatorError("an offset applies to the weight: it needs affine = true", argument: "offset") }
        guard input.rank >= 1 else { throw OperatorError("input must have at least one dimension", argument: "input") }
    }

    var rows: Count { Count.product(input.shape.dropLast()) }

    /// The fused kernel's result is contiguous; the composite's last op is element-wise on x.
    public var outputs: [TensorType] { [composite ? .elementwiseResult(input.shape, input.dtype, operands: [input]) : input.contiguousCopy] }

    public var parameters: [ParameterSpec] { affine ? [ParameterSpec("weight", [input.shape[input.rank - 1]])] : [] }

    var width: Int { input.shape[input.rank - 1] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        var cost = OperatorCost(forward: .elementwise(n * 3 + rows * 4 + (affine ? n : .zero) + Count(offset != 0 ? width : 0)))
        let weightTrainable = affine && context.trainable(parameter: 0)
        // The composite keeps h = xn for the weight gradient; the fused op recomputes it.
        if weightTrainable { cost.weightGradient = .elementwise((composite ? .zero : n) + n * 2) }
        if context.needsGradient(input: 0) {
            cost.inputGradient = .elementwise(n * 5 + rows + (affine ? n : .zero) + (weightTrainable ? .zero : n))
        }
        return cost
    }

    public var detail: String {
        [affine ? "" : "no-affine", composite ? "composite" : "", offset != 0 ? "1+w" : ""].filter { !$0.isEmpty }.joined(separator: " ")
    }
}

// Memory (README, "Training and inference memory").
extension RMSNorm {
    /// torch's fused rms_norm keeps the input and one fp32 rstd per row; fp32 under autocast.
    /// The composite keeps what its ops keep, from derivatives.yaml: for the input's
    /// gradient, pow and x * rstd keep x in fp32 (the input itself when it is fp32, else
    /// the `.to(float32)` copy) and rsqrt its result [.., 1]; for the weight's, the
    /// product keeps the normalised h (LlamaRMSNorm: `h.to(x.dtype)`, in the input's type;
    /// Gemma: fp32). Gemma's `h * (1 + weight)` also keeps the fp32 (1 + weight) [D] for
    /// the input's gradient.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        let needsInput = context.needsGradient(input: 0), weightTrains = affine && context.trainable(parameter: 0)
        guard needsInput || weightTrains else { return [] }
        let rstd = SavedTensor.extra("rstd", shape: Array(input.shape.dropLast()) + (composite ? [1] : []), type: .fixed(.float32))
        guard composite else { return [.input(0), rstd] }
        var saved: [SavedTensor] = []
        if needsInput { saved += [.inputAs(0, .fixed(.float32)), rstd] }
        if weightTrains { saved.append(.extra("normalised", shape: input.shape, type: offset != 0 ? .fixed(.float32) : .input(0))) }
        if needsInput && offset != 0 { saved.append(.extra("offset + weight", shape: [width], type: .fixed(.float32))) }
        return saved
    }
    public var autocast: AutocastClass { .float32 }
    /// The composite computes in fp32 by its own `.to(float32)`; LlamaRMSNorm's result is
    /// `weight * h.to(x.dtype)`, which promotes to the fp32 weight under autocast
    /// (`rsqrt` and `pow` are fp32-listed, then a promoting multiply); Gemma's
    /// `.type_as(x)` gives the input's type back (one promoting op).
    public var autocastPrimitives: [AutocastClass] {
        guard composite else { return [] }
        return offset != 0 ? [.promote] : [.float32, .promote]
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension RMSNorm {
    /// Row by row over the last dimension, as layernorm.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        .elementwise(request, reducedDimensions: [input.rank - 1])
    }
}
