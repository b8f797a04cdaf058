/// `attention(q, k, v, heads, kv_heads=none, causal=false, impl="auto", dropout=0.0,
/// scale=none, mask=none, window=none, cache=false, repeat_kv=false, q_layout="bnhd",
/// kv_layout="bnhd", out_layout="bnhd")`: the scaled dot-product attention core (torch's
/// scaled_dot_product_attention, or transformers' eager attention); the q/k/v/output
/// projections are separate `linear`s.
///
/// Shapes: q [B, nq, heads*d], k [B, nk, kv_heads*d], v [B, nk, kv_heads*dv] (or per head,
/// [B, nq, heads, d] and so on) -> output [B, nq, heads*dv]: the heads merged back as the caller does it (transformers'
/// `.transpose(1, 2).contiguous()`, nn.MultiheadAttention's `.permute(2, 0, 1, 3)
/// .contiguous()`). `kv_heads` defaults to `heads`; smaller values (grouped-query,
/// multi-query = 1) must divide `heads`: query head h reads key/value head
/// h / (heads / kv_heads). `scale` defaults to 1/sqrt(d). `causal` uses PyTorch's
/// top-left alignment: query i sees keys j <= i (one query over L cached keys, decode, is
/// `causal = false`, as transformers passes it). nq and nk may differ (cross attention,
/// decode). In a run that keeps the KV cache as state (`CostContext.cachedPositions`,
/// `nnflops infer`), a causal attention attends to the past its cache holds and its own
/// keys, bottom-right causal, and declares the cache (`decodingState`); see `execution`.
/// Dropout is off in eval mode (inference).
///
/// `mask`: an additive float bias or a boolean mask (true = attend) broadcastable to
/// [B, heads, nq, nk] (rank 2 to 4, each dimension 1 or the full size): relative position
/// bias, shifted-window masks. `window = W` (with `causal`): sliding-window attention,
/// query i sees keys j with i - W < j <= i; torch's sdpa has no window of its own, so the
/// caller materialises it as a boolean [B, 1, nq, nk] mask whenever nk >= W
/// (transformers' rule; below that the window changes nothing and `is_causal` is used),
/// except FlashAttention (`impl = "flash"`), which bounds its loops by the window.
///
/// Implementations (`impl`; README, attention): "auto" chooses as torch 2.11 does on an
/// H100 for the dtype the run gives the kernel (`AttentionKernel.choose`), or one of
/// "math", "efficient", "flash", "cudnn" (sdpa's backends), "eager" (transformers'
/// eager_attention_forward: matmul, fp32 softmax, dropout, matmul); "naive" is the old
/// spelling of "eager", "fused" of "flash". What each keeps for backward and allocates is
/// in the memory extension below.
///
/// Counting. Let R = B*heads*nq score rows and E the number of score entries counted:
/// - `dense` convention (the default; PyTorch FlopCounterMode): E = B*heads*nq*nk for
///   every implementation, causal, windowed or not.
/// - `executed` convention: the same, except that a fused kernel that bounds its loops
///   (causal without a mask tensor, or flash's native window) visits only the unmasked
///   entries: E = B*heads*V with V = sum over rows i < nq of the visible keys, min(i+1, nk)
///   causal (nq(nq+1)/2 when nq <= nk, nk(nk+1)/2 + (nq-nk)*nk when nq > nk), and
///   min(i+1, nk) - max(0, i+1-W) with a window. The math and eager paths materialise the
///   full score matrix, and a kernel given a mask tensor computes every entry.
/// Constants that depend only on shapes and arguments (scale = 1/sqrt(d), 1/(1-p)) are
/// not counted; p = 1 when dropout > 0, else 0; c = 1 when an entry is masked by an
/// operation (a mask tensor's add, or causal, except where the loops stop at the diagonal
/// or the window: c = 0 there), else 0. The reference executor's kernels
/// (Execution/Kernels/AttentionKernel.swift) run exactly the `executed` count.
///
/// Forward (every implementation), per counted entry:
/// - S = Q K^T: d MACs; S *= scale: 1; mask (causal compare and select, or the mask
///   tensor's add): c; softmax along the row: max (1 compare), subtract, exp, sum (1 add),
///   divide = 5; dropout as the `dropout` operator counts it: keep = u >= p (1 compare),
///   P * keep * 1/(1-p) (2 multiplies) = 3p; O = P V: dv MACs.
/// - fused kernels (efficient, flash, cudnn) also store the row log-sum-exp for their
///   backward: lse = m + log(l), 2 per row.
/// Forward = 2*E*(d+dv) + E*(6 + c + 3p) [+ 2R fused]; MACs = E*(d+dv).
///
/// Input gradient (inputs q = 0, k = 1, v = 2, mask = 3; each part only when needed), math
/// and eager (the composite of PyTorch's matmul / softmax / mul derivatives; P is saved):
/// - dV = P^T dO: E*dv MACs (GQA: a key/value head's gradient is one dot product over
///   its whole query group, accumulated from zero: still E*dv MACs in total);
/// - for q, k or the mask: dP = dO V^T: E*dv MACs; dropout backward (dP * mask * 1/(1-p)):
///   2p*E; softmax backward dS = P*(dP - sum(P*dP)) = 4 per entry; mask backward (the
///   masked_fill of the gradient): c*E; scale: E;
/// - dQ = dS K: E*d MACs; dK = dS^T Q: E*d MACs; dMask = dS summed over the mask's
///   broadcast dimensions: E adds when it broadcasts, else dS itself (0).
/// Fused (FlashAttention-2 / memory-efficient backward, which recomputes the scores):
/// - when any input needs a gradient, recompute S = Q K^T: E*d MACs; scale: E; mask: c*E;
///   P = exp(S - lse): 2E; regenerate the dropout mask and apply it: 3p*E;
/// - dV = P^T dO: E*dv MACs;
/// - for q, k or the mask: D = rowsum(dO * O): 2*dv per row (R rows); dP = dO V^T: E*dv
///   MACs; dropout backward 2p*E; dS = P*(dP - D): 2E; scale: E;
/// - dQ: E*d MACs; dK: E*d MACs; dMask as above.
/// With d = dv the fused backward's matmuls are 5 E*d MACs = 2.5x the forward's, the
/// figure FlopCounterMode reports for `_scaled_dot_product_efficient_attention_backward`
/// (gpt2: 96.64e9 FLOPs vs 38.65e9 forward). The math path's scaling of q and k by
/// sqrt(scale) is counted as the per-entry scale above; its fp32 upcast of half inputs
/// and the copies (cache, repeat_kv, layout) are data movement: 0 FLOPs.
public struct Attention: Operator {
    public static let kind = "attention"
    public static let summary = "scaled dot-product attention core (sdpa's math/efficient/flash/cuDNN kernels or eager; GQA, masks, windows, KV cache)"
    public var countsUnderAttentionConvention: Bool { true }
    static let signature: [ArgumentSpec] = [
        .required("q", .tensor),
        .required("k", .tensor),
        .required("v", .tensor),
        .required("heads", .int),
        .defaulted("kv_heads", .int, .none),
        .defaulted("causal", .bool, .bool(false)),
        .defaulted("impl", .string, .string("auto")),
        .defaulted("dropout", .float, .float(0)),
        .defaulted("scale", .float, .none),
        .defaulted("mask", .tensor, .none),
        .defaulted("window", .int, .none),
        .defaulted("cache", .bool, .bool(false)),
        .defaulted("repeat_kv", .bool, .bool(false)),
        .defaulted("q_layout", .string, .string("bnhd")),
        .defaulted("kv_layout", .string, .string("bnhd")),
        .defaulted("out_layout", .string, .string("bnhd")),
    ]

    /// The `impl` spellings: each kernel's name, "auto", and the old "naive" and "fused".
    static let spellings: [String: AttentionKernel?] = [
        "auto": nil, "math": .math, "efficient": .efficient, "flash": .flash, "cudnn": .cudnn, "eager": .eager,
        "naive": .eager, "fused": .flash,
    ]

    let batch: Int
    let queries: Int
    let keys: Int
    let heads: Int
    let kvHeads: Int
    let headDim: Int
    let valueDim: Int
    let causal: Bool
    /// The implementation asked for; nil: chosen per run (`AttentionKernel.choose`).
    let requested: AttentionKernel?
    let dropout: Double
    let scale: Double
    let dtype: DType
    let outputWidth: Int
    /// The mask tensor (input 3), and its shape right-aligned to [B, heads, nq, nk].
    let mask: TensorType?
    let maskShape: [Int]
    let window: Int?
    /// k and v go through transformers' DynamicCache.update (when the run keeps a cache).
    let cache: Bool
    /// The caller expands k and v to every query head (transformers' repeat_kv) before sdpa.
    let repeatKV: Bool
    let qLayout: HeadLayout
    let kvLayout: HeadLayout
    let outLayout: HeadLayout
    /// q, k and v as given ([B, n, heads*d] or per head [B, n, heads, d]).
    let inputShapes: [[Int]]

    init(_ arguments: BoundArguments) throws {
        heads = try arguments.int("heads", atLeast: 1)
        kvHeads = try arguments.optionalInt("kv_heads") ?? heads
        // Per-head inputs [B, n, heads, d] are the same elements as [B, n, heads*d].
        func merged(_ name: String, heads expected: Int) throws -> TensorType {
            let t = try arguments.tensor(name)
            guard t.rank == 4 else { return t }
            guard t.shape[2] == expected else {
                throw OperatorError("\(name) has shape \(t): its heads dimension must be \(name == "q" ? "heads" : "kv_heads") = \(expected)", argument: name)
            }
            let (width, overflow) = t.shape[2].multipliedReportingOverflow(by: t.shape[3])
            guard !overflow else { throw OperatorError("\(name) has too many elements", argument: name) }
            return TensorType([t.shape[0], t.shape[1], width], t.dtype)
        }
        let q = try merged("q", heads: heads), k = try merged("k", heads: kvHeads), v = try merged("v", heads: kvHeads)
        inputShapes = try ["q", "k", "v"].map { try arguments.tensor($0).shape }
        causal = try arguments.bool("causal")
        let spelling = try arguments.choice("impl", ["auto", "math", "efficient", "flash", "cudnn", "eager", "naive", "fused"])
        requested = Self.spellings[spelling] ?? nil
        dropout = try arguments.float("dropout")
        cache = try arguments.bool("cache")
        repeatKV = try arguments.bool("repeat_kv")
        qLayout = try HeadLayout(try arguments.choice("q_layout", ["bnhd", "bhnd", "nbhd"]))
        kvLayout = try HeadLayout(try arguments.choice("kv_layout", ["bnhd", "bhnd"]))
        outLayout = try HeadLayout(try arguments.choice("out_layout", ["bnhd", "nbhd"]))
        guard q.rank == 3 else { throw OperatorError("q must be [B, nq, heads*d] or [B, nq, heads, d], got \(q)", argument: "q") }
        guard k.rank == 3 else { throw OperatorError("k must be [B, nk, kv_heads*d] or [B, nk, kv_heads, d], got \(k)", argument: "k") }
        guard v.rank == 3 else { throw OperatorError("v must be [B, nk, kv_heads*dv] or [B, nk, kv_heads, dv], got \(v)", argument: "v") }
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

        mask = try arguments.optionalTensor("mask")
        if let mask {
            guard mask.dtype.isFloatingPoint || mask.dtype == .bool else {
                throw OperatorError("the mask must be a float bias or a bool mask, got \(mask)", argument: "mask")
            }
            guard (2...4).contains(mask.rank) else {
                throw OperatorError("the mask must be broadcastable to [B, heads, nq, nk] = [\(batch), \(heads), \(queries), \(keys)] (rank 2 to 4), got \(mask)", argument: "mask")
            }
            let full = [batch, heads, queries, keys]
            let shape = Array(repeating: 1, count: 4 - mask.rank) + mask.shape
            for axis in 0..<4 where shape[axis] != 1 && shape[axis] != full[axis] {
                throw OperatorError("the mask \(mask) does not broadcast to [B, heads, nq, nk] = [\(batch), " +
                    "\(heads), \(queries), \(keys)]: each dimension must be 1 or the full size", argument: "mask")
            }
            maskShape = shape
        } else {
            maskShape = []
        }
        window = try arguments.optionalInt("window")
        if let window {
            guard window >= 1 else { throw OperatorError("'window' must be at least 1, got \(window)", argument: "window") }
            guard causal else { throw OperatorError("a sliding window needs causal = true (query i sees keys i - window < j <= i)", argument: "window") }
        }
        let grouped = kvHeads < heads
        switch requested {
        case .flash? where mask != nil:
            throw OperatorError("impl = \"flash\" takes no mask: torch's flash kernel refuses attn_mask (use \"efficient\", \"cudnn\" or \"math\")", argument: "mask")
        case .efficient? where grouped && !repeatKV, .cudnn? where grouped && !repeatKV:
            throw OperatorError("impl = \"\(spelling)\" needs as many key/value heads as query heads: torch's kernel refuses " +
                "grouped heads (repeat_kv = true expands k and v first, or use \"flash\" or \"math\")", argument: "impl")
        default: break
        }
    }

    public var outputs: [TensorType] { [TensorType([batch, queries, outputWidth], dtype)] }

    // MARK: The run's kernel

    /// What runs for this node in a run: the kernel and the features it sees.
    struct Execution: Sendable, Hashable {
        var kernel: AttentionKernel
        /// The keys the kernel attends to: the node's own, after the past positions the KV
        /// cache holds in a run that keeps it as state (`past`).
        var keys: Int
        /// Positions read from the KV cache state (0 without state, and in the prefill).
        var past: Int
        /// The run keeps the KV cache as state (`CostContext.cachedPositions`): k and v are
        /// written into it, the kernel reads them from it, laid out per head.
        var stateful: Bool
        /// Dropout runs (p > 0 in training mode; eval mode turns it off).
        var dropping: Bool
        /// The kernel's inputs are half (bf16 / fp16).
        var half: Bool
        /// k and v are concatenated onto the KV cache first (new tensors, held by the output).
        var cached: Bool
        /// k and v are expanded to every query head before the kernel (repeat_kv: asked
        /// for, or what eager attention always does).
        var repeated: Bool
        /// The kernel gets fewer key/value heads than query heads (enable_gqa).
        var groupedInKernel: Bool
        /// The sliding window reaches the kernel as a materialised mask.
        var windowMask: Bool
        /// Flash bounds its loops by the window: no mask.
        var nativeWindow: Bool
        /// A mask tensor (the mask argument or the window's) reaches the kernel.
        var maskTensor: Bool
        /// The kernel applies causality itself (is_causal).
        var kernelCausal: Bool
        /// The merged output is a copy of the kernel's (the layouts differ).
        var copiesOutput: Bool
        /// The kernel's k and v are laid out per head ([B, heads, nk, d] contiguous).
        var keysContiguous: Bool

        var fused: Bool { kernel.isFused }
    }

    /// The run's shape and kernel. With the KV cache as state (an inference run that
    /// decodes, `CostContext.cachedPositions` = c), a causal attention attends to the past
    /// its cache holds, c positions or, with a window W, the last min(c, W - 1) (the cache
    /// keeps W positions, Mistral's rolling buffer; transformers' DynamicSlidingWindowLayer
    /// returns the same W - 1 + nq keys), then its own nk: the keys are past + nk. Causality
    /// is bottom-right then: query i sees the past and its own keys j <= i. One query (a
    /// decode step) sees every key, as transformers passes it (is_causal = false, no mask);
    /// several queries over a past need a materialised mask (sdpa's is_causal is
    /// top-left). The window reaches the kernel as a mask once the keys reach W, by
    /// transformers' rule, at decode too.
    func execution(_ context: CostContext) -> Execution {
        let half = context.computesInHalf
        let grouped = kvHeads < heads
        let stateful = causal && context.cachedPositions != nil
        let cachedPositions = Swift.max(0, context.cachedPositions ?? 0)
        let past = stateful ? (window.map { Swift.min(cachedPositions, $0 - 1) } ?? cachedPositions) : 0
        let (sum, overflow) = keys.addingReportingOverflow(past)
        let runKeys = overflow ? Int.max : sum
        let shiftedCausalMask = past > 0 && causal && queries > 1
        let windowMatters = window.map { runKeys >= $0 } ?? false
        let dropping = dropout > 0 && !context.evaluates
        let kernel = requested ?? AttentionKernel.choose(
            half: half, headDim: headDim, valueDim: valueDim, queries: queries, keys: runKeys,
            sameHeads: !grouped || repeatKV, maskTensor: mask != nil || windowMatters || shiftedCausalMask,
            causal: causal && past == 0 && mask == nil && !windowMatters, dropout: dropping)
        let nativeWindow = kernel == .flash && window != nil && past == 0
        let windowMask = windowMatters && !(kernel == .flash && window != nil)
        let maskTensor = mask != nil || windowMask || shiftedCausalMask
        let repeated = grouped && (repeatKV || kernel == .eager)
        let cached = cache && context.useCache && !stateful
        let kernelLayout: HeadLayout
        switch kernel {
        case .efficient: kernelLayout = .bnhd
        case .flash, .cudnn: kernelLayout = qLayout
        case .math, .eager: kernelLayout = .bhnd
        }
        return Execution(kernel: kernel, keys: runKeys, past: past, stateful: stateful, dropping: dropping,
                         half: half, cached: cached, repeated: repeated,
                         groupedInKernel: grouped && !repeated, windowMask: windowMask, nativeWindow: nativeWindow,
                         maskTensor: maskTensor, kernelCausal: causal && past == 0 && !maskTensor,
                         copiesOutput: kernelLayout != outLayout,
                         keysContiguous: cached || stateful || repeated || kvLayout == .bhnd)
    }

    /// The mask tensor the kernel gets, right-aligned to [B, heads, nq, keys]: the mask
    /// argument's shape (its key dimension over the run's keys when it spans them: the
    /// model builds it at the current key count), else the window's or the shifted
    /// causal mask, [B, 1, nq, keys].
    func maskTensorShape(_ run: Execution) -> [Int] {
        guard mask != nil else { return [batch, 1, queries, run.keys] }
        return [maskShape[0], maskShape[1], maskShape[2], maskShape[3] == 1 ? 1 : run.keys]
    }

    /// Does a fused kernel of this run bound its loops (causal, or flash's window) under
    /// `convention`?
    /// (With a past from the KV cache every key left is visible to a single query: no.)
    func skipsMasked(_ run: Execution, _ convention: AttentionConvention) -> Bool {
        convention == .executed && run.fused && run.past == 0 && (run.kernelCausal || run.nativeWindow)
    }

    /// Score entries counted under `convention`.
    func entries(_ run: Execution, _ convention: AttentionConvention) -> Count {
        let heads = Count(batch) * self.heads
        guard skipsMasked(run, convention) else { return heads * queries * run.keys }
        // sum_{i < m} min(i+1, nk), m = the rows that see any key.
        func causalSum(_ m: Int) -> Count {
            m <= keys ? halve(Count(m) * (m + 1)) : halve(Count(keys) * (keys + 1)) + Count(m - keys) * keys
        }
        guard run.nativeWindow, let window else { return heads * causalSum(queries) }
        // Rows i >= nk + W - 1 see nothing; below, subtract sum max(0, i+1-W).
        let (limit, overflow) = keys.addingReportingOverflow(window - 1)
        let m = overflow ? queries : Swift.min(queries, limit)
        let hidden = m >= window ? halve(Count(m - window) * (m - window + 1)) : .zero
        return heads * (causalSum(m) - hidden)
    }

    private func halve(_ c: Count) -> Count {
        // c is a product of consecutive integers (even); keep the overflow flag.
        c.overflowed ? c : Count(c.value / 2)
    }

    /// The mask broadcasts over some dimension of the scores (its gradient is a sum).
    var maskBroadcasts: Bool { maskShape != [batch, heads, queries, keys] }
    /// The same in a run (over the run's keys).
    func maskBroadcasts(in run: Execution) -> Bool { maskTensorShape(run) != [batch, heads, queries, run.keys] }

    func cost(_ context: CostContext) -> OperatorCost {
        let run = execution(context)
        let e = entries(run, context.attention)
        let rows = Count(batch) * heads * queries
        let bounded = skipsMasked(run, context.attention)
        let c = run.maskTensor || (run.kernelCausal && !bounded) ? 1 : 0, p = run.dropping ? 1 : 0
        let d = headDim, dv = valueDim

        let forwardMACs = e * (d + dv)
        var forwardFLOPs = forwardMACs * 2 + e * (6 + c + 3 * p)
        if run.fused { forwardFLOPs += rows * 2 }
        var cost = OperatorCost(forward: Work(flops: forwardFLOPs, macs: forwardMACs))

        let needQ = context.needsGradient(input: 0), needK = context.needsGradient(input: 1), needV = context.needsGradient(input: 2)
        let needMask = mask != nil && context.needsGradient(input: 3)
        let needScores = needQ || needK || needMask
        var macs = Count.zero, elementwise = Count.zero
        if run.fused {
            if needQ || needK || needV || needMask {
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
        if needMask && maskBroadcasts(in: run) { elementwise += e }
        cost.inputGradient = Work(flops: macs * 2 + elementwise, macs: macs)
        return cost
    }

    public var detail: String {
        var text = "h\(heads)"
        if kvHeads != heads { text += "/kv\(kvHeads)" }
        text += " d\(headDim)"
        if causal { text += " causal" }
        if let window { text += " w\(window)" }
        if mask != nil { text += " mask" }
        text += " " + (requested?.rawValue ?? "auto")
        if cache { text += " cache" }
        if dropout > 0 { text += " p\(dropout)" }
        return text
    }
}

/// The kernels torch's `scaled_dot_product_attention` dispatches to (its `SDPBackend`s),
/// and transformers' eager attention.
enum AttentionKernel: String, Sendable, CaseIterable {
    /// sdpa's composite (`_scaled_dot_product_attention_math`): matmul, softmax, matmul.
    case math
    /// The memory-efficient kernel (xFormers' cutlass kernel).
    case efficient
    /// FlashAttention-2.
    case flash
    /// cuDNN's fused attention.
    case cudnn
    /// transformers' `eager_attention_forward`: repeat_kv, matmul, softmax in fp32,
    /// dropout, matmul.
    case eager

    public var isFused: Bool { self == .efficient || self == .flash || self == .cudnn }

    /// torch 2.11's choice on an H100 (sm90, cuDNN 9.19): select_sdp_backend in
    /// aten/src/ATen/native/transformers/cuda/sdp_utils.cpp tries cuDNN first on sm90
    /// (check_prefer_cudnn_attention), then flash, then the memory-efficient kernel, and
    /// falls back to math; each is taken when its checks pass:
    /// - cuDNN: half inputs, as many key/value heads as query heads, head dims <= 128 and
    ///   multiples of 8, more than one key, no dropout with a single query;
    /// - flash: half inputs, no mask tensor, d == dv <= 256, grouped heads allowed, causal
    ///   only with nq == nk;
    /// - memory-efficient: fp32 or half, as many key/value heads as query heads, head dims
    ///   multiples of 4 (fp32) or 8 (half), masks allowed;
    /// - math: everything else (fp32 with grouped heads, for instance).
    /// `causal` is is_causal as the kernel sees it (false when a mask tensor carries it).
    public static func choose(half: Bool, headDim: Int, valueDim: Int, queries: Int, keys: Int, sameHeads: Bool,
                              maskTensor: Bool, causal: Bool, dropout: Bool) -> AttentionKernel {
        if half && sameHeads && headDim <= 128 && valueDim <= 128 && headDim % 8 == 0 && valueDim % 8 == 0
            && keys > 1 && !(dropout && queries == 1) {
            return .cudnn
        }
        if half && !maskTensor && headDim == valueDim && headDim <= 256 && !(causal && queries != keys) {
            return .flash
        }
        let alignment = half ? 8 : 4
        if sameHeads && headDim % alignment == 0 && valueDim % alignment == 0 { return .efficient }
        return .math
    }
}

/// The memory order of a [B, heads, n, d] tensor: bnhd, a [B, n, heads*d] projection
/// viewed per head (transformers' `.view(...).transpose(1, 2)`; elementwise ops such as
/// rotary keep it); bhnd, materialised per head (torch.cat, the KV cache, `.contiguous()`);
/// nbhd, sequence first (nn.MultiheadAttention).
enum HeadLayout: String, Sendable, Hashable {
    case bnhd, bhnd, nbhd

    init(_ text: String) throws {
        guard let layout = HeadLayout(rawValue: text) else { throw OperatorError("unknown layout \"\(text)\"") }
        self = layout
    }
}

// Memory (README, "Training and inference memory").
extension Attention {
    /// What one run of the node allocates besides its output: what backward keeps, what the
    /// returned output holds, and what lives only while it runs.
    struct Inventory {
        var saved: [SavedTensor] = []
        var held: [WorkspaceTensor] = []
        var workspace: [WorkspaceTensor] = []
        var backward: [WorkspaceTensor] = []
    }

    /// The tensors of one run, path by path (torch 2.11's kernels; the fixtures of
    /// scripts/measure_saved.py measure them):
    /// - the KV cache (`cache`, when the run keeps one): DynamicLayer.update's torch.cat
    ///   copies of k and v [B, kv_heads, nk, d], in their producers' type (fp32 when rotary
    ///   promoted k under autocast), held by the returned output until after backward;
    /// - repeat_kv (asked for, or eager with grouped heads): k and v expanded to every
    ///   head, new [B, heads, nk, d] tensors;
    /// - under autocast sdpa casts q, k, v and a float mask to half: new tensors when they
    ///   are not half already;
    /// - fused kernels keep q, k, v as they receive them, their output [B, heads, nq, dv],
    ///   the fp32 log-sum-exp (efficient: [B, heads, nq] padded to a multiple of 32;
    ///   flash and cuDNN: [B, heads, nq]) and the kernel's mask (efficient, cuDNN): a
    ///   boolean mask converted to a float one in the kernel's type, per call; efficient
    ///   pads a mask whose last dimension is not a multiple of 16 to a new
    ///   [B, heads, nq, ceil16(nk)]. Dropout is regenerated from the RNG state;
    /// - the output layout: efficient allocates [B, nq, heads, dv], flash and cuDNN follow
    ///   q's layout, math and eager give [B, heads, nq, dv]; merging the heads
    ///   (`out_layout`) copies exactly when the layouts differ, and the merged copy is the
    ///   node's output (fused kernels then keep their own output besides);
    /// - math (`_scaled_dot_product_attention_math`): half inputs are computed in fp32
    ///   (copies); q * sqrt(scale) and k * sqrt(scale) are new tensors it keeps (k
    ///   repeat_interleave'd to every head first when grouped), the probabilities P
    ///   [B, heads, nq, nk], with dropout its bool mask and the dropped P, and v as the
    ///   second matmul reads it (expanded when grouped, the fp32 copy of half inputs, or a
    ///   copy when v is not laid out per head); the score matrix S lives next to P while
    ///   it runs; backward holds dP and dS [B, heads, nq, nk] at once besides P;
    /// - eager: the matmuls fold [B, heads] into one batch dimension, so q and k^T are
    ///   copied unless they are laid out per head; softmax in fp32 (kept), `.to(q.dtype)`,
    ///   dropout (mask and dropped P kept), the second matmul keeps its operands (half
    ///   copies under autocast); backward holds dP and dS at once.
    func inventory(_ context: CostContext) -> Inventory {
        let run = execution(context)
        let training = context.anyInputNeedsGradient
        var items = Inventory()
        let b = batch, h = heads, kv = kvHeads, nq = queries, nk = run.keys, d = headDim, dv = valueDim
        let scores = [b, h, nq, nk]
        let kernelKV = run.repeated ? h : kv
        /// A new tensor: kept for backward when `kept` in training, else live only while the node runs.
        func new(_ name: String, _ shape: [Int], _ type: SavedElementType, kept: Bool) {
            if kept && training { items.saved.append(.extra(name, shape: shape, type: type)) }
            else { items.workspace.append(WorkspaceTensor(name, shape, type)) }
        }
        func keep(_ tensor: SavedTensor) { if training { items.saved.append(tensor) } }
        /// Does autocast cast input i to the half type before the kernel (a new tensor)?
        func cast(_ i: Int) -> Bool {
            context.precision.isAutocast && run.half && context.inputType(i).isFloatingPoint && context.inputType(i) != context.computeType
        }
        // Dropout runs whenever p > 0 in training mode (as the `dropout` operator); fused
        // kernels keep no mask.
        let dropping = run.dropping

        if run.cached {
            items.held = [WorkspaceTensor("key cache", [b, kv, nk, d], .input(1)),
                          WorkspaceTensor("value cache", [b, kv, nk, dv], .input(2))]
            // DynamicSlidingWindowLayer also holds its window as an int64 scalar tensor.
            if window != nil { items.held.append(WorkspaceTensor("cache window", [], .fixed(.int64))) }
        }
        /// The key (1) or value (2) operand as the kernel receives it, before layout copies:
        /// `keptAsIs` keeps it as it is (when no cast follows).
        func operand(_ i: Int, _ name: String, width: Int, keptAsIs: Bool) {
            let shape = [b, kernelKV, nk, width]
            if run.repeated {
                if cast(i) {
                    new("\(name) (repeat_kv)", shape, .input(i), kept: false)
                    new("\(name) (repeat_kv, half copy)", shape, .compute, kept: keptAsIs)
                } else {
                    new("\(name) (repeat_kv)", shape, .input(i), kept: keptAsIs)
                }
            } else if run.cached {
                if cast(i) { new("\(name) cache (half copy)", shape, .compute, kept: keptAsIs) }
                else if keptAsIs { keep(.held(i - 1)) }
            } else {
                if training && keptAsIs { items.saved.append(.inputAs(i, .compute)) }
                else if cast(i) { new("\(name) (half copy)", shape, .compute, kept: false) }
            }
        }

        switch run.kernel {
        case .efficient, .flash, .cudnn:
            if training { items.saved.append(.inputAs(0, .compute)) } else if cast(0) { new("query (half copy)", [b, h, nq, d], .compute, kept: false) }
            operand(1, "key", width: d, keptAsIs: true)
            operand(2, "value", width: dv, keptAsIs: true)
            if run.copiesOutput { new("kernel output", [b, h, nq, dv], .compute, kept: true) } else { keep(.output(0)) }
            if training {
                let rows = run.kernel == .efficient ? (nq + 31) / 32 * 32 : nq
                items.saved.append(.extra("logsumexp", shape: [b, h, rows], type: .fixed(.float32)))
            }
            if run.maskTensor {
                let source = maskTensorShape(run)
                let isBool = mask.map { $0.dtype == .bool } ?? true
                let padded = run.kernel == .efficient && nk % 16 != 0
                let converted = isBool || cast(3)
                if converted { new(isBool ? "mask (float)" : "mask (half copy)", source, .compute, kept: !padded) }
                else if !padded { keep(.input(3)) }
                if padded { new("mask (padded)", [b, h, nq, (nk + 15) / 16 * 16], .compute, kept: true) }
            }
        case .math:
            // Half inputs are computed in fp32.
            let math: SavedElementType = run.half ? .fixed(.float32) : .compute
            if cast(0) { new("query (half copy)", [b, h, nq, d], .compute, kept: false) }
            if run.half { new("query (fp32)", [b, h, nq, d], .fixed(.float32), kept: false) }
            new("query * sqrt(scale)", [b, h, nq, d], math, kept: true)
            // k: the cache / repeat_kv copies reach the kernel; then fp32, repeat_interleave, scale.
            operand(1, "key", width: d, keptAsIs: false)
            if run.half { new("key (fp32)", [b, kernelKV, nk, d], .fixed(.float32), kept: false) }
            if run.groupedInKernel { new("key (repeat_interleave)", [b, h, nk, d], math, kept: false) }
            new("key * sqrt(scale)", [b, h, nk, d], math, kept: true)
            // v as the second matmul reads it.
            if run.groupedInKernel {
                operand(2, "value", width: dv, keptAsIs: false)
                if run.half { new("value (fp32)", [b, kernelKV, nk, dv], .fixed(.float32), kept: false) }
                new("value (repeat_interleave)", [b, h, nk, dv], math, kept: true)
            } else if run.half {
                operand(2, "value", width: dv, keptAsIs: false)
                new("value (fp32)", [b, h, nk, dv], .fixed(.float32), kept: true)
            } else if run.keysContiguous {
                operand(2, "value", width: dv, keptAsIs: true)
            } else {
                new("value (copy)", [b, h, nk, dv], math, kept: true)
            }
            new("scores", scores, math, kept: false)
            if run.kernelCausal { new("causal mask", [nq, nk], math, kept: false) }
            if run.maskTensor && (mask.map { $0.dtype == .bool } ?? true) {
                new("mask (float)", maskTensorShape(run), math, kept: false)
            }
            new("probabilities", scores, math, kept: true)
            if dropping {
                new("dropout mask", scores, .fixed(.bool), kept: true)
                new("dropped probabilities", scores, math, kept: true)
            }
            if run.half { new("output (fp32)", [b, h, nq, dv], .fixed(.float32), kept: false) }
            new("kernel output", [b, h, nq, dv], .compute, kept: false)
            items.backward = [WorkspaceTensor("dP", scores, math), WorkspaceTensor("dS", scores, math)]
            if run.groupedInKernel {
                items.backward += [WorkspaceTensor("dK (every head)", [b, h, nk, d], math),
                                   WorkspaceTensor("dV (every head)", [b, h, nk, dv], math)]
            }
        case .eager:
            // matmul(q, k^T) folds [B, heads]: q is copied unless laid out per head.
            let perHead = qLayout == .bhnd
            if cast(0) {
                new("query (half copy)", [b, h, nq, d], .compute, kept: perHead)
                if !perHead { new("query (copy)", [b, h, nq, d], .compute, kept: true) }
            } else if perHead {
                if training { items.saved.append(.input(0)) }
            } else {
                new("query (copy)", [b, h, nq, d], .compute, kept: true)
            }
            operand(1, "key", width: d, keptAsIs: run.keysContiguous)
            if !run.keysContiguous { new("key (copy)", [b, h, nk, d], .compute, kept: true) }
            new("scores", scores, .compute, kept: false)
            new("scaled scores", scores, .compute, kept: false)
            if run.maskTensor || causal { new("masked scores", scores, .compute, kept: false) }
            new("probabilities (fp32)", scores, .fixed(.float32), kept: true)
            // .to(query.dtype) (a new tensor unless q is fp32), dropout, and the second
            // matmul's (autocast) half copy of whichever reaches it.
            if context.inputType(0) != .float32 { new("probabilities", scores, .input(0), kept: !dropping && !cast(0)) }
            if dropping {
                new("dropout mask", scores, .fixed(.bool), kept: true)
                new("dropped probabilities", scores, .input(0), kept: !cast(0))
            }
            if cast(0) { new("probabilities (half copy)", scores, .compute, kept: true) }
            operand(2, "value", width: dv, keptAsIs: run.keysContiguous)
            if !run.keysContiguous { new("value (copy)", [b, h, nk, dv], .compute, kept: true) }
            new("kernel output", [b, h, nq, dv], .compute, kept: false)
            items.backward = [WorkspaceTensor("dP", scores, .compute), WorkspaceTensor("dS", scores, .autocast(.float32))]
        }
        if run.repeated && training {
            items.backward += [WorkspaceTensor("dK (repeat_kv)", [b, h, nk, d], .input(1)),
                               WorkspaceTensor("dV (repeat_kv)", [b, h, nk, dv], .input(2))]
        }
        if !training { items.backward = [] }
        return items
    }

    func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient else { return [] }
        return inventory(context).saved
    }
    func heldTensors(_ context: MemoryContext) -> [WorkspaceTensor] { inventory(context).held }

    /// The KV cache, in a run that keeps it as state (`CostContext.cachedPositions`): a
    /// causal attention keeps, per position, its key [B, kv_heads, d] and value
    /// [B, kv_heads, dv] in the type k and v have (grouped-query and multi-query attention
    /// cache their kv_heads, before any repeat_kv), at most the last `window` positions.
    /// A step reads the past it attends to and writes its own nk positions (the last W of
    /// them with a window). Non-causal attention (an encoder, cross attention) keeps none.
    func decodingState(_ context: CostContext) -> DecodingState? {
        guard causal, context.cachedPositions != nil else { return nil }
        let run = execution(context)
        return DecodingState(perPosition: [WorkspaceTensor("key cache", [batch, kvHeads, headDim], .input(1)),
                                           WorkspaceTensor("value cache", [batch, kvHeads, valueDim], .input(2))],
                             window: window, read: run.past, written: window.map { Swift.min(keys, $0) } ?? keys)
    }
    func forwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] { inventory(context).workspace }
    func backwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] { inventory(context).backward }

    /// sdpa is on autocast's lower-precision list: it casts its inputs to half itself, and
    /// the node declares those copies (`inventory`), so it is a one-op composite: no casts
    /// of the inputs as a whole, a half result.
    var autocast: AutocastClass { .lowerPrecision }
    var autocastPrimitives: [AutocastClass] { [.lowerPrecision] }
}

// Checkpointing (README, "Checkpointing"): the core `--checkpoint selective` recomputes.
extension Attention {
    public var isAttentionCore: Bool { true }
}

// Tensor parallelism (README, "Training on many GPUs"; Shoeybi et al. 2019, §3).
extension Attention {
    /// Sharded by heads: when q arrives split along its heads (the output of a
    /// column-parallel projection, [B, n, heads*d] or [B, n, heads, d], dimension 2), every
    /// rank runs heads / T query heads over kv_heads / T key/value heads, which T must divide
    /// (Megatron's rule); k, v and a mask with a heads dimension are read in pieces too.
    /// Its output is split along its features, for a row-parallel projection.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard case .sharded(2)? = request.inputs.first else { return .replicated(request) }
        let ranks = request.degree
        guard heads % ranks == 0 else {
            throw OperatorError("--tp \(ranks) does not divide its \(heads) heads: tensor parallelism gives every rank heads / T heads")
        }
        guard kvHeads % ranks == 0 else {
            throw OperatorError("--tp \(ranks) does not divide its \(kvHeads) key/value heads: every rank needs kv_heads / T of them")
        }
        var inputs: [TensorParallelRule.Input] = [.sharded(2), .sharded(2), .sharded(2)]
        if let mask {
            let headsDim = mask.rank - 3
            inputs.append(headsDim >= 0 && heads > 1 && mask.shape[headsDim] == heads ? .sharded(headsDim) : .replicated)
        }
        return TensorParallelRule(inputs: inputs, outputs: [.sharded(2)],
                                  arguments: ["heads": .int(heads / ranks), "kv_heads": .int(kvHeads / ranks)])
    }
}
