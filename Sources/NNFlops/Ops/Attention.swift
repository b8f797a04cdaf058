/// `attention(q, k, v, heads, kv_heads=none, causal=false, impl="fused", dropout=0.0,
/// scale=none)`: the scaled dot-product attention core (torch's
/// scaled_dot_product_attention); the q/k/v/output projections are separate `linear`s.
///
/// Shapes: q [B, nq, heads*d], k [B, nk, kv_heads*d], v [B, nk, kv_heads*dv] ->
/// output [B, nq, heads*dv]. `kv_heads` defaults to `heads`; smaller values
/// (grouped-query, multi-query = 1) must divide `heads`: query head h reads key/value head
/// h / (heads / kv_heads). `scale` defaults to 1/sqrt(d). `causal` uses PyTorch's
/// top-left alignment: query i sees keys j <= i.
///
/// Counting. Let R = B*heads*nq score rows and E the number of score entries counted:
/// - `dense` convention (the default; PyTorch FlopCounterMode): E = B*heads*nq*nk for
///   every implementation, causal or not.
/// - `executed` convention: the same, except that a fused causal kernel visits only the
///   unmasked entries: E = B*heads*V with V = sum over rows i < nq of min(i+1, nk), i.e.
///   nq(nq+1)/2 when nq <= nk and nk(nk+1)/2 + (nq-nk)*nk when nq > nk. The naive
///   implementation materialises the full score matrix, so it counts E = B*heads*nq*nk.
/// Constants that depend only on shapes and arguments (scale = 1/sqrt(d), 1/(1-p)) are
/// not counted; p = 1 when dropout > 0, else 0; c = 1 when an entry is masked by an
/// operation (causal, except fused causal under `executed`, whose loops stop at the
/// diagonal so no mask operation runs: c = 0 there), else 0. The reference executor's
/// kernels (Execution/Kernels/AttentionKernel.swift) run exactly the `executed` count.
///
/// Forward (both implementations), per counted entry:
/// - S = Q K^T: d MACs; S *= scale: 1; causal mask (compare j <= i, select): c;
///   softmax along the row: max (1 compare), subtract, exp, sum (1 add), divide = 5;
///   dropout as the `dropout` operator counts it: keep = u >= p (1 compare),
///   P * keep * 1/(1-p) (2 multiplies) = 3p;
///   O = P V: dv MACs.
/// - fused also stores the row log-sum-exp for its backward: lse = m + log(l), 2 per row.
/// Forward = 2*E*(d+dv) + E*(6 + c + 3p) [+ 2R fused]; MACs = E*(d+dv).
///
/// Input gradient (inputs q = 0, k = 1, v = 2; each part only when needed), naive (the
/// composite of PyTorch's matmul / softmax / mul derivatives; P is saved):
/// - dV = P^T dO: E*dv MACs (GQA: a key/value head's gradient is one dot product over
///   its whole query group, accumulated from zero: still E*dv MACs in total);
/// - for q or k: dP = dO V^T: E*dv MACs; dropout backward (dP * mask * 1/(1-p)):
///   2p*E; softmax backward dS = P*(dP - sum(P*dP)) = 4 per entry; mask backward
///   (masked_fill of the gradient): c*E; scale: E;
/// - dQ = dS K: E*d MACs; dK = dS^T Q: E*d MACs.
/// Fused (FlashAttention-2 / memory-efficient backward, which recomputes the scores):
/// - when any input needs a gradient, recompute S = Q K^T: E*d MACs; scale: E; mask: c*E;
///   P = exp(S - lse): 2E; regenerate the dropout mask and apply it: 3p*E;
/// - dV = P^T dO: E*dv MACs;
/// - for q or k: D = rowsum(dO * O): 2*dv per row (R rows); dP = dO V^T: E*dv MACs;
///   dropout backward 2p*E; dS = P*(dP - D): 2E; scale: E;
/// - dQ: E*d MACs; dK: E*d MACs.
/// With d = dv the fused backward's matmuls are 5 E*d MACs = 2.5x the forward's, the
/// figure FlopCounterMode reports for `_scaled_dot_product_efficient_attention_backward`
/// (gpt2: 96.64e9 FLOPs vs 38.65e9 forward).
public struct Attention: Operator {
    public static let kind = "attention"
    public static let summary = "scaled dot-product attention core (causal, GQA/MQA, naive or fused)"
    public var countsUnderAttentionConvention: Bool { true }
    public static let signature: [ArgumentSpec] = [
        .required("q", .tensor),
        .required("k", .tensor),
        .required("v", .tensor),
        .required("heads", .int),
        .defaulted("kv_heads", .int, .none),
        .defaulted("causal", .bool, .bool(false)),
        .defaulted("impl", .string, .string("fused")),
        .defaulted("dropout", .float, .float(0)),
        .defaulted("scale", .float, .none),
    ]

    let batch: Int
    let queries: Int
    let keys: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let valueDim: Int
    let causal: Bool
    let fused: Bool
    let dropout: Double
    let scale: Double
    let dtype: DType
    let outputWidth: Int

    public init(_ arguments: BoundArguments) throws {
        let q = try arguments.tensor("q"), k = try arguments.tensor("k"), v = try arguments.tensor("v")
        heads = try arguments.int("heads", atLeast: 1)
        kvHeads = try arguments.optionalInt("kv_heads") ?? heads
        causal = try arguments.bool("causal")
        fused = try arguments.choice("impl", ["fused", "naive"]) == "fused"
        dropout = try arguments.float("dropout")
        guard q.rank == 3 else { throw OperatorError("q must be [B, nq, heads*d], got \(q)", argument: "q") }
        guard k.rank == 3 else { throw OperatorError("k must be [B, nk, kv_heads*d], got \(k)", argument: "k") }
        guard v.rank == 3 else { throw OperatorError("v must be [B, nk, kv_heads*dv], got \(v)", argument: "v") }
        guard q.dtype.isFloatingPoint, q.dtype == k.dtype, q.dtype == v.dtype else {
            throw OperatorError("q, k and v must have the same floating-point dtype, got \(q), \(k), \(v)", argument: "q")
        }
        guard k.shape[0] == q.shape[0] else {
            throw OperatorError("k has shape \(k) but q has shape \(q): batch sizes differ", argument: "k")
        }
        guard v.shape[0] == q.shape[0], v.shape[1] == k.shape[1] else {
            throw OperatorError("v has shape \(v) but k has shape \(k): batch and key counts must match", argument: "v")
        }
        guard kvHeads >= 1 else { throw OperatorError("'kv_heads' must be at least 1, got \(kvHeads)", argument: "kv_heads") }
        guard heads % kvHeads == 0 else {
            throw OperatorError("kv_heads = \(kvHeads) must divide heads = \(heads)", argument: "kv_heads")
        }
        guard q.shape[2] % heads == 0 else {
            throw OperatorError("q has shape \(q): its last dimension \(q.shape[2]) is not divisible by heads = \(heads)", argument: "heads")
        }
        headDim = q.shape[2] / heads
        guard k.shape[2] == kvHeads * headDim else {
            throw OperatorError("k has shape \(k) but q has shape \(q): k's last dimension must be kv_heads * d = \(kvHeads) * \(headDim) = \(kvHeads * headDim)", argument: "k")
        }
        guard v.shape[2] % kvHeads == 0 else {
            throw OperatorError("v has shape \(v): its last dimension is not divisible by kv_heads = \(kvHeads)", argument: "v")
        }
        valueDim = v.shape[2] / kvHeads
        guard dropout >= 0 && dropout < 1 else {
            throw OperatorError("'dropout' must be in [0, 1), got \(dropout)", argument: "dropout")
        }
        if let given = try arguments.optionalFloat("scale") {
            guard given.isFinite && given != 0 else { throw OperatorError("'scale' must be a finite non-zero number", argument: "scale") }
            scale = given
        } else {
            scale = 1 / Double(headDim).squareRoot()
        }
        batch = q.shape[0]
        queries = q.shape[1]
        keys = k.shape[1]
        dtype = q.dtype
        let (width, overflow) = heads.multipliedReportingOverflow(by: valueDim)
        guard !overflow else { throw OperatorError("the output width heads * dv overflows", argument: "v") }
        outputWidth = width
    }

    public var outputs: [TensorType] { [TensorType([batch, queries, outputWidth], dtype)] }

    /// Score entries counted under `convention`.
    func entries(_ convention: AttentionConvention) -> Count {
        let heads = Count(batch) * self.heads
        if convention == .executed && fused && causal {
            // nq(nq+1)/2 needs the halving; compute it exactly on the even product.
            let visible: Count = queries <= keys
                ? halve(Count(queries) * (queries + 1))
                : halve(Count(keys) * (keys + 1)) + Count(queries - keys) * keys
            return heads * visible
        }
        return heads * queries * keys
    }

    private func halve(_ c: Count) -> Count {
        // c is a product of consecutive integers (even); keep the overflow flag.
        c.overflowed ? c : Count(c.value / 2)
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let e = entries(context.attention)
        let rows = Count(batch) * heads * queries
        // A fused causal kernel under `executed` never visits masked entries: no mask op.
        let skipsMasked = fused && causal && context.attention == .executed
        let c = causal && !skipsMasked ? 1 : 0, p = dropout > 0 ? 1 : 0
        let d = headDim, dv = valueDim

        let forwardMACs = e * (d + dv)
        var forwardFLOPs = forwardMACs * 2 + e * (6 + c + 3 * p)
        if fused { forwardFLOPs += rows * 2 }
        var cost = OperatorCost(forward: Work(flops: forwardFLOPs, macs: forwardMACs))

        let needQ = context.needsGradient(input: 0), needK = context.needsGradient(input: 1), needV = context.needsGradient(input: 2)
        let needScores = needQ || needK
        var macs = Count.zero, elementwise = Count.zero
        if fused {
            if needQ || needK || needV {
                macs += e * d
                elementwise += e * (1 + c + 2 + 3 * p)
            }
            if needV { macs += e * dv }
            if needScores {
                elementwise += rows * 2 * dv
                macs += e * dv
                elementwise += e * (2 * p + 2 + 1)
            }
        } else {
            if needV { macs += e * dv }
            if needScores {
                macs += e * dv
                elementwise += e * (2 * p + 4 + c + 1)
            }
        }
        if needQ { macs += e * d }
        if needK { macs += e * d }
        cost.inputGradient = Work(flops: macs * 2 + elementwise, macs: macs)
        return cost
    }

    public var detail: String {
        var text = "h\(heads)"
        if kvHeads != heads { text += "/kv\(kvHeads)" }
        text += " d\(headDim)"
        if causal { text += " causal" }
        text += fused ? " fused" : " naive"
        if dropout > 0 { text += " p\(dropout)" }
        return text
    }
}

// Memory (README, "Training and inference memory").
extension Attention {
    /// Fused (torch's _scaled_dot_product_efficient/flash_attention): keeps q, k, v, the
    /// output and the fp32 row log-sum-exp [B, heads, nq]; dropout is regenerated from
    /// the RNG state, no mask. Naive (the math composite: matmul, softmax, dropout,
    /// matmul): keeps q and k (scores matmul), the probabilities (softmax result: fp32
    /// under autocast), with dropout the bool mask and the dropped probabilities (kept by
    /// the second matmul, in its half type under autocast), and v.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient else { return [] }
        if fused {
            return [.input(0), .input(1), .input(2), .output(0),
                    .extra("logsumexp", shape: [batch, heads, queries], type: .fixed(.float32))]
        }
        let scores = [batch, heads, queries, keys]
        var saved: [SavedTensor] = [.input(0), .input(1), .input(2),
                                    .extra("probabilities", shape: scores, type: .autocast(.float32))]
        if dropout > 0 {
            saved.append(.extra("dropout_mask", shape: scores, type: .fixed(.bool)))
            saved.append(.extra("dropped_probabilities", shape: scores, type: .autocast(.lowerPrecision)))
        }
        return saved
    }
    public var autocast: AutocastClass { .lowerPrecision }
}
