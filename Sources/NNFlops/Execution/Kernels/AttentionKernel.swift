/// Scaled dot-product attention, the implementations Attention.swift documents, run in the
/// executor's fp32 (no autocast copies). The kernel runs the implementation the operator
/// chooses for the run (`Attention.execution`), and allocates the tensors that
/// implementation allocates in PyTorch, so the executor's memory is comparable with the
/// model's:
///
/// - before either kernel, the KV cache's copies of k and v (`cache`, when the run keeps
///   one; returned as held tensors, which the executor keeps with the outputs) and the
///   repeat_kv expansion of k and v to every query head (`repeat_kv`, or eager with
///   grouped heads), real copies that the kernels then read;
/// - the mask: an additive float bias or a bool mask (true = attend, else -inf), a
///   materialised sliding window (0 inside i - W < j <= i, else -inf), and with `causal`
///   the causal -inf on top; a fully masked row gets zero probabilities (sdpa's safe
///   softmax).
///
/// Naive (the math and eager paths): per (batch, head) S = Q K^T as one GEMM over the full
/// nq x nk matrix (d MACs per entry) into the score tensor, then per entry scale (1), mask
/// (1, when causal or masked: compare and select, or the bias add), softmax (5) into the
/// probabilities, dropout (3, when p > 0: keep = u >= p, P * keep * 1/(1-p)), and O = P V
/// as one GEMM (dv MACs per entry) into the kernel's output, which the merged output
/// copies. Keeps what the path keeps (q and k as the matmuls read them: math's
/// sqrt(scale)-scaled copies, eager's folding copies; the probabilities; with dropout the
/// mask and the dropped probabilities; v as the second matmul reads it). Backward per
/// (batch, key/value head), over the heads of its group, with dP and dS as whole tensors:
/// dV = P^T dO (GEMM), dP = dO V^T (GEMM), dropout backward (2), softmax backward (4),
/// mask backward (1, the masked_fill of the gradient), scale (1), dQ = dS K and
/// dK = dS^T Q (GEMMs), dMask = dS summed over the mask's broadcast dimensions (1 add per
/// entry when it broadcasts). The every-head gradients that torch's repeat_interleave
/// and repeat_kv backward reduce are allocated as torch allocates them; the kernel
/// accumulates into the key/value gradients directly (the same adds as the GEMMs'
/// accumulation).
///
/// Fused (efficient, flash, cudnn: row-wise, FlashAttention-style, no score matrix in
/// memory): per query row, the keys its loops visit — all nk, or min(i+1, nk) when the
/// kernel applies causality itself, or the window's when flash bounds it — so the masked
/// entries are never computed and need no mask operation; d-long dot products for the
/// scores, scale (1), the mask tensor's add (1, when there is one), softmax (5), dropout
/// (3), dv MACs per key into the output row, and the row's log-sum-exp m + log(l) (2).
/// Keeps q, k, v, the output, the log-sum-exp (efficient: rows padded to a multiple of 32)
/// and the kernel's mask; dropout is regenerated in backward from a counter-based stream
/// (the seed is kept as a flag). Backward per row: recompute the scores (d MACs, scale,
/// mask, P = exp(S - lse): 2, dropout 3), dV += P dO (dv MACs), D = rowsum(dO * O) (2 dv
/// per row), dP = dO . V (dv MACs), dropout backward (2), dS = P (dP - D) (2), scale (1),
/// dQ += dS K and dK += dS Q (d MACs each), dMask as above.
///
/// The fused causal kernel therefore executes the `executed` convention's count, not the
/// `dense` one (which prices every masked entry too): the executor compares with the
/// `executed` convention (`ExecutionOptions.attention`).
extension Attention: ExecutableOperator {
    /// Element offsets into [B, n, heads*d] tensors.
    private struct Geometry {
        let b: Int, nq: Int, nk: Int, h: Int, kv: Int, d: Int, dv: Int
        /// Heads of the k / v tensors the kernel reads (kv, or every head after repeat_kv).
        var kernelKV: Int
        var group: Int { h / kernelKV }
        func q(_ bi: Int, _ hi: Int) -> Int { (bi * nq * h + hi) * d }
        func o(_ bi: Int, _ hi: Int) -> Int { (bi * nq * h + hi) * dv }
        func k(_ bi: Int, _ gi: Int) -> Int { (bi * nk * kernelKV + gi) * d }
        func v(_ bi: Int, _ gi: Int) -> Int { (bi * nk * kernelKV + gi) * dv }
        var ldq: Int { h * d }
        var ldo: Int { h * dv }
        var ldk: Int { kernelKV * d }
        var ldv: Int { kernelKV * dv }
    }

    private func geometry(kernelKV: Int) -> Geometry {
        Geometry(b: batch, nq: queries, nk: keys, h: heads, kv: kvHeads, d: headDim, dv: valueDim, kernelKV: kernelKV)
    }

    /// Reads the mask a kernel applies: a [B, heads, nq, nk]-broadcast tensor (float bias
    /// or bool), or the window / causal rule, each optional.
    private struct MaskReader<T: KernelScalar>: @unchecked Sendable {
        var floats: UnsafeMutablePointer<T>?
        var bools: UnsafeMutablePointer<Int32>?
        /// Element strides of the tensor for b, head, i, j (0 where it broadcasts).
        var strides: [Int] = [0, 0, 0, 0]
        var window: Int?
        var causal = false

        func value(_ bi: Int, _ hi: Int, _ i: Int, _ j: Int) -> T {
            if causal && j > i { return -T.infinity }
            if let window, j <= i - window || j > i { return -T.infinity }
            let index = bi * strides[0] + hi * strides[1] + i * strides[2] + j * strides[3]
            if let floats { return floats[index] }
            if let bools { return bools[index] != 0 ? 0 : -T.infinity }
            return 0
        }
    }

    /// Strides of a tensor of `shape` (right-aligned to 4 dims, 1 = broadcast) read as [B, heads, nq, nk].
    private static func broadcastStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: 4)
        var step = 1
        for axis in stride(from: 3, through: 0, by: -1) {
            strides[axis] = shape[axis] == 1 ? 0 : step
            step *= shape[axis]
        }
        return strides
    }

    /// The mask the kernel reads, from a tensor laid out as `shape` (nil: only the rules).
    private func maskReader<T: KernelScalar>(_ tensor: Tensor<T>?, shape: [Int], _ run: Execution) -> MaskReader<T> {
        var reader = MaskReader<T>()
        if let tensor {
            if tensor.dtype.isFloatingPoint { reader.floats = tensor.values } else { reader.bools = tensor.indices }
            reader.strides = Self.broadcastStrides(shape)
        } else if run.windowMask {
            reader.window = window
        }
        // A caller that passes a mask folds causality into it (sdpa takes no is_causal then).
        reader.causal = causal && run.maskTensor
        return reader
    }

    /// Copies a [B, n, kv*w] tensor into a new one with every query head ([B, n, heads*w]).
    private func repeatHeads<T: KernelScalar>(_ x: Tensor<T>, width: Int, into out: Tensor<T>) {
        let group = heads / kvHeads
        for row in 0..<(batch * keys) {
            for hi in 0..<heads {
                let from = x.values + (row * kvHeads + hi / group) * width
                let to = out.values + (row * heads + hi) * width
                to.update(from: from, count: width)
            }
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let run = execution(context.run)
        let training = context.needsBackward && context.inputNeedsGradient.contains(true)
        var k = context.inputs[1], v = context.inputs[2]
        var held: [Tensor<T>] = [], workspace: [Tensor<T>] = []
        if run.cached {
            // DynamicLayer.update: torch.cat([empty, k]) is a new tensor.
            let keyCache = context.allocate([batch, kvHeads, keys, headDim]), valueCache = context.allocate([batch, kvHeads, keys, valueDim])
            keyCache.values.update(from: k.values, count: k.count)
            valueCache.values.update(from: v.values, count: v.count)
            held = [keyCache, valueCache]
            if window != nil { held.append(context.allocate([], dtype: .int64)) }   // the sliding layer's window scalar
            k = keyCache
            v = valueCache
        }
        var kernelKV = kvHeads
        if run.repeated {
            let keysRepeated = context.allocate([batch, heads, keys, headDim]), valuesRepeated = context.allocate([batch, heads, keys, valueDim])
            repeatHeads(k, width: headDim, into: keysRepeated)
            repeatHeads(v, width: valueDim, into: valuesRepeated)
            k = keysRepeated
            v = valuesRepeated
            kernelKV = heads
            // Live while the node runs (and kept, when the kernel keeps what it reads).
            workspace += [keysRepeated, valuesRepeated]
        }
        var result = run.fused
            ? try fusedForward(context, run, k: k, v: v, kernelKV: kernelKV, training: training, workspace: &workspace)
            : try naiveForward(context, run, k: k, v: v, kernelKV: kernelKV, training: training, workspace: &workspace)
        result.held = held
        result.workspace += workspace
        return result
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let run = execution(context.run)
        var result = run.fused ? try fusedBackward(context, run) : try naiveBackward(context, run)
        if run.repeated && context.inputNeedsGradient.contains(true) {
            // repeat_kv's backward sums the every-head gradients torch allocates.
            result.workspace += [context.temporary([batch, heads, keys, headDim]), context.temporary([batch, heads, keys, valueDim])]
        }
        return result
    }

    // MARK: Naive (math, eager)

    private func naiveForward<T: KernelScalar>(_ context: ForwardContext<T>, _ run: Execution, k: Tensor<T>, v: Tensor<T>,
                                               kernelKV: Int, training: Bool, workspace: inout [Tensor<T>]) throws -> ForwardResult<T> {
        let q = context.inputs[0]
        let maskInput: Tensor<T>? = mask == nil ? nil : context.inputs[3]
        let scoreShape = [batch, heads, queries, keys]
        // The operands as the matmuls read them; `made` collects what this node allocates
        // besides its output, for the inference case (nothing kept: all of it workspace).
        var keysRead = k, valuesRead = v, queryRead = q
        var readKV = kernelKV
        var made: [Tensor<T>] = []
        func allocate(_ shape: [Int], dtype: DType = .float32, kept: Bool) -> Tensor<T> {
            let t = context.allocate(shape, dtype: dtype)
            if kept { made.append(t) } else { workspace.append(t) }
            return t
        }
        func copy(_ x: Tensor<T>, _ shape: [Int]) -> Tensor<T> {
            let out = allocate(shape, kept: true)
            out.values.update(from: x.values, count: x.count)
            return out
        }
        if run.kernel == .math {
            queryRead = copy(q, [batch, heads, queries, headDim])                       // q * sqrt(scale)
            if run.groupedInKernel {
                let expanded = allocate([batch, heads, keys, headDim], kept: false)     // repeat_interleave
                repeatHeads(k, width: headDim, into: expanded)
                keysRead = copy(expanded, [batch, heads, keys, headDim])                // * sqrt(scale)
                valuesRead = allocate([batch, heads, keys, valueDim], kept: true)       // repeat_interleave
                repeatHeads(v, width: valueDim, into: valuesRead)
                readKV = heads
            } else {
                keysRead = copy(k, [batch, heads, keys, headDim])                       // * sqrt(scale)
                if !run.keysContiguous { valuesRead = copy(v, [batch, heads, keys, valueDim]) }
            }
            if run.kernelCausal { _ = allocate([queries, keys], kept: false) }          // the converted causal mask
        } else {
            // eager's matmuls fold [B, heads]: operands not laid out per head are copied.
            if qLayout != .bhnd { queryRead = copy(q, [batch, heads, queries, headDim]) }
            if !run.keysContiguous { keysRead = copy(k, [batch, heads, keys, headDim]) }
        }
        // A bool or window mask becomes a float one for math's add.
        let maskShape4 = maskInput == nil ? [batch, 1, queries, keys] : maskShape
        if run.kernel == .math && run.maskTensor && (maskInput.map { $0.dtype == .bool } ?? true) {
            _ = allocate(maskShape4, kept: false)
        }
        let reader = maskReader(maskInput, shape: maskShape4, run)
        let masked = run.maskTensor

        let scoresTensor = allocate(scoreShape, kept: false)
        if run.kernel == .eager {
            _ = allocate(scoreShape, kept: false)                                       // scores * scaling
            if masked || causal { _ = allocate(scoreShape, kept: false) }               // + the mask
        }
        let probabilities = allocate(scoreShape, kept: true)
        let dropMask: Tensor<T>? = dropout > 0 ? allocate(scoreShape, dtype: .bool, kept: true) : nil
        let dropped: Tensor<T>? = dropout > 0 ? allocate(scoreShape, kept: true) : nil
        if run.kernel == .eager && !run.keysContiguous { valuesRead = copy(v, [batch, heads, keys, valueDim]) }
        let out = context.output(outputs[0].shape)
        let kernelOutput = allocate([batch, heads, queries, valueDim], kept: false)      // merged into `out`
        let seed = context.random.next()
        let g = geometry(kernelKV: readKV)
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), p = dropout, causal = self.causal
        let pq = SendablePointer(queryRead.values), pk = SendablePointer(keysRead.values), pv = SendablePointer(valuesRead.values)
        let po = SendablePointer(kernelOutput.values), pp = SendablePointer(probabilities.values), ps = SendablePointer(scoresTensor.values)
        let pm = dropMask.map { SendablePointer($0.indices) }, pd = dropped.map { SendablePointer($0.values) }
        let box = TallyBox()
        let nq = g.nq, nk = g.nk
        parallelFor(g.b * g.h, cost: nq * nk * (g.d + g.dv + 8)) { range in
            var tally = WorkTally()
            for pair in range {
                let bi = pair / g.h, hi = pair % g.h, gi = hi / g.group
                let scores = ps.pointer + pair * nq * nk, probs = pp.pointer + pair * nq * nk
                tally += GEMM.multiply(m: nq, n: nk, k: g.d, a: pq.pointer + g.q(bi, hi), lda: g.ldq, transposeA: false,
                                       b: pk.pointer + g.k(bi, gi), ldb: g.ldk, transposeB: true,
                                       c: scores, ldc: nk, accumulate: false, parallel: false)
                for i in 0..<nq {
                    let row = scores + i * nk, prow = probs + i * nk
                    for j in 0..<nk { prow[j] = row[j] * scale }
                    tally.flops += nk
                    if masked {
                        for j in 0..<nk { prow[j] += reader.value(bi, hi, i, j) }
                        tally.flops += nk
                    } else if causal {
                        for j in 0..<nk { prow[j] = j <= i ? prow[j] : -T.infinity }
                        tally.flops += nk
                    }
                    var m = -T.infinity
                    for j in 0..<nk { m = Swift.max(m, prow[j]) }
                    var l: T = 0
                    for j in 0..<nk {
                        // A row masked everywhere gets zero probabilities (sdpa's safe softmax).
                        let e = m == -T.infinity ? 0 : T.exp(prow[j] - m)
                        prow[j] = e
                        l += e
                    }
                    for j in 0..<nk { prow[j] = l > 0 ? prow[j] / l : 0 }
                    tally.flops += 5 * nk
                    if let pm, let pd {
                        let base = (pair * nq + i) * nk
                        for j in 0..<nk {
                            let keep: T = counterUniform(seed: seed, index: base + j) >= p ? 1 : 0
                            pm.pointer[base + j] = keep == 1 ? 1 : 0
                            pd.pointer[base + j] = prow[j] * keep * keepScale
                        }
                        tally.flops += 3 * nk
                    }
                }
                let weights = pd.map { $0.pointer + pair * nq * nk } ?? probs
                tally += GEMM.multiply(m: nq, n: g.dv, k: nk, a: weights, lda: nk, transposeA: false,
                                       b: pv.pointer + g.v(bi, gi), ldb: g.ldv, transposeB: false,
                                       c: po.pointer + g.o(bi, hi), ldc: g.ldo, accumulate: false, parallel: false)
            }
            box.add(tally)
        }
        context.count(box.value)
        // Merging the heads copies the kernel's [B, heads, nq, dv] output.
        out.values.update(from: kernelOutput.values, count: out.count)
        guard training else { return ForwardResult([out], workspace: made) }
        var saved = [queryRead, keysRead, valuesRead, probabilities]
        if let dropMask, let dropped { saved += [dropMask, dropped] }
        return ForwardResult([out], saved: SavedState(saved, flags: [readKV]))
    }

    private func naiveBackward<T: KernelScalar>(_ context: BackwardContext<T>, _ run: Execution) throws -> BackwardResult<T> {
        let needQ = context.needsGradient(input: 0), needK = context.needsGradient(input: 1), needV = context.needsGradient(input: 2)
        let needMask = mask != nil && context.needsGradient(input: 3)
        let inputCount = mask == nil ? 3 : 4
        guard needQ || needK || needV || needMask else { return BackwardResult(inputs: Array(repeating: nil, count: inputCount)) }
        let saved = context.saved.tensors
        let q = saved[0], k = saved[1], v = saved[2], probabilities = saved[3]
        let dropMask: Tensor<T>? = saved.count > 4 ? saved[4] : nil
        let dropped: Tensor<T>? = saved.count > 5 ? saved[5] : nil
        let readKV = context.saved.flags[0]
        let dO = context.outputGradients[0]
        let g = geometry(kernelKV: readKV)
        let scoreShape = [batch, heads, queries, keys]
        let needScores = needQ || needK || needMask
        let dP = context.temporary(scoreShape), dS = context.temporary(scoreShape)
        var workspace = [dP, dS]
        if run.groupedInKernel {
            // repeat_interleave's backward reduces these every-head gradients.
            workspace += [context.temporary([batch, heads, keys, headDim]), context.temporary([batch, heads, keys, valueDim])]
        }
        let dq = needQ ? context.inputGradient(inputShapes[0]) : nil
        let dk = needK ? context.inputGradient(inputShapes[1]) : nil
        let dvT = needV ? context.inputGradient(inputShapes[2]) : nil
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), causal = self.causal, masked = run.maskTensor
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let pgo = SendablePointer(dO.values), pp = SendablePointer(probabilities.values)
        let pdp = SendablePointer(dP.values), pds = SendablePointer(dS.values)
        let pm = dropMask.map { SendablePointer($0.indices) }
        let pdrop = SendablePointer((dropped ?? probabilities).values)
        let pdq = dq.map { SendablePointer($0.values) }, pdk = dk.map { SendablePointer($0.values) }, pdv = dvT.map { SendablePointer($0.values) }
        let nq = g.nq, nk = g.nk, kv = kvHeads, group = heads / kvHeads
        let ldk = kv * headDim, ldv = kv * valueDim
        let box = TallyBox()
        parallelFor(g.b * kv, cost: group * nq * nk * (2 * g.d + 2 * g.dv + 8)) { range in
            var tally = WorkTally()
            var scaled = [T](repeating: 0, count: needScores ? nq * nk : 0)
            for pair in range {
                let bi = pair / kv, gi = pair % kv
                for hi in (gi * group)..<((gi + 1) * group) {
                    let head = bi * g.h + hi, readHead = readKV == kv ? gi : hi
                    let weights = pdrop.pointer + head * nq * nk, probs = pp.pointer + head * nq * nk
                    let gradOut = pgo.pointer + g.o(bi, hi)
                    if let pdv {
                        tally += GEMM.multiply(m: nk, n: g.dv, k: nq, a: weights, lda: nk, transposeA: true,
                                               b: gradOut, ldb: g.ldo, transposeB: false,
                                               c: pdv.pointer + (bi * nk * kv + gi) * g.dv, ldc: ldv, accumulate: true, parallel: false)
                    }
                    guard needScores else { continue }
                    let dp = pdp.pointer + head * nq * nk, ds = pds.pointer + head * nq * nk
                    tally += GEMM.multiply(m: nq, n: nk, k: g.dv, a: gradOut, lda: g.ldo, transposeA: false,
                                           b: pv.pointer + g.v(bi, readHead), ldb: g.ldv, transposeB: true,
                                           c: dp, ldc: nk, accumulate: false, parallel: false)
                    withElements(&scaled) { s in
                        for i in 0..<nq {
                            let row = dp + i * nk, out = ds + i * nk, prow = probs + i * nk
                            if let pm {
                                let mrow = pm.pointer + head * nq * nk + i * nk
                                for j in 0..<nk { row[j] = row[j] * T(mrow[j]) * keepScale }
                                tally.flops += 2 * nk
                            }
                            var total: T = 0
                            for j in 0..<nk { total += prow[j] * row[j] }
                            for j in 0..<nk { out[j] = prow[j] * (row[j] - total) }
                            tally.flops += 4 * nk
                            if masked {
                                // masked_fill of the gradient where the mask removed the entry (P = 0).
                                for j in 0..<nk { out[j] = prow[j] == 0 ? 0 : out[j] }
                                tally.flops += nk
                            } else if causal {
                                for j in 0..<nk { out[j] = j <= i ? out[j] : 0 }
                                tally.flops += nk
                            }
                            for j in 0..<nk { s[i * nk + j] = out[j] * scale }
                            tally.flops += nk
                        }
                        if let pdq {
                            tally += GEMM.multiply(m: nq, n: g.d, k: nk, a: s, lda: nk, transposeA: false,
                                                   b: pk.pointer + g.k(bi, readHead), ldb: g.ldk, transposeB: false,
                                                   c: pdq.pointer + g.q(bi, hi), ldc: g.ldq, accumulate: false, parallel: false)
                        }
                        if let pdk {
                            tally += GEMM.multiply(m: nk, n: g.d, k: nq, a: s, lda: nk, transposeA: true,
                                                   b: pq.pointer + g.q(bi, hi), ldb: g.ldq, transposeB: false,
                                                   c: pdk.pointer + (bi * nk * kv + gi) * g.d, ldc: ldk, accumulate: true, parallel: false)
                        }
                    }
                }
            }
            box.add(tally)
        }
        context.count(box.value, .inputGradient)
        var inputs: [Tensor<T>?] = [dq, dk, dvT]
        if let mask { inputs.append(needMask ? maskGradient(context, of: mask, from: dS.values, visible: nil) : nil) }
        return BackwardResult(inputs: inputs, workspace: workspace)
    }

    /// dMask: the gradient of the masked logits ([B, heads, nq, nk], the entries in
    /// `visible` rows only when given) summed into the mask's shape: one add per entry
    /// when the mask broadcasts, else the gradient itself.
    private func maskGradient<T: KernelScalar>(_ context: BackwardContext<T>, of mask: TensorType, from logits: UnsafeMutablePointer<T>,
                                               visible: ((Int) -> Range<Int>)?) -> Tensor<T> {
        let gradient = context.inputGradient(mask.shape)
        let strides = Self.broadcastStrides(maskShape)
        let nq = queries, nk = keys
        var adds = 0
        for bi in 0..<batch {
            for hi in 0..<heads {
                for i in 0..<nq {
                    let range = visible?(i) ?? 0..<nk
                    let row = logits + ((bi * heads + hi) * nq + i) * nk
                    for j in range {
                        gradient.values[bi * strides[0] + hi * strides[1] + i * strides[2] + j * strides[3]] += row[j]
                    }
                    adds += range.count
                }
            }
        }
        if maskBroadcasts { context.count(WorkTally(flops: adds), .inputGradient) }
        return gradient
    }

    // MARK: Fused (efficient, flash, cudnn)

    /// The keys query row i visits (all of them unless the loops are bounded).
    private func keyRange(_ i: Int, _ run: Execution) -> Range<Int> {
        guard run.kernelCausal || run.nativeWindow else { return 0..<keys }
        let upper = Swift.min(i + 1, keys)
        guard run.nativeWindow, let window else { return 0..<upper }
        return Swift.min(upper, Swift.max(0, i + 1 - window))..<upper
    }

    private func fusedForward<T: KernelScalar>(_ context: ForwardContext<T>, _ run: Execution, k: Tensor<T>, v: Tensor<T>,
                                               kernelKV: Int, training: Bool, workspace: inout [Tensor<T>]) throws -> ForwardResult<T> {
        let q = context.inputs[0]
        let maskInput: Tensor<T>? = mask == nil ? nil : context.inputs[3]
        let g = geometry(kernelKV: kernelKV)
        let out = context.output(outputs[0].shape)
        let kernelOutput = run.copiesOutput ? context.allocate([batch, heads, queries, valueDim]) : out
        let rows = run.kernel == .efficient ? (queries + 31) / 32 * 32 : queries
        let lse: Tensor<T>? = training ? context.allocate([batch, heads, rows]) : nil
        // The kernel's mask: a bool or window mask converted to float per call; efficient
        // pads a last dimension that is not a multiple of 16.
        var keptMask: Tensor<T>?, keptMaskShape: [Int] = []
        var made: [Tensor<T>] = run.copiesOutput ? [kernelOutput] : []
        let maskShape4 = maskInput == nil ? [batch, 1, queries, keys] : maskShape
        let source = maskReader(maskInput, shape: maskShape4, run)
        if run.maskTensor {
            var plain = source
            plain.causal = false
            let padded = run.kernel == .efficient && keys % 16 != 0
            if maskInput.map({ $0.dtype == .bool }) ?? true {
                let converted = context.allocate(maskShape4)
                let s = Self.broadcastStrides(maskShape4)
                for bi in 0..<maskShape4[0] { for hi in 0..<maskShape4[1] { for i in 0..<maskShape4[2] { for j in 0..<maskShape4[3] {
                    converted.values[bi * s[0] + hi * s[1] + i * s[2] + j * s[3]] = plain.value(bi, hi, i, j)
                } } } }
                if padded { workspace.append(converted) } else { keptMask = converted; keptMaskShape = maskShape4; made.append(converted) }
            } else if !padded {
                keptMask = maskInput
                keptMaskShape = maskShape4
            }
            if padded {
                let width = (keys + 15) / 16 * 16
                let pad = context.allocate([batch, heads, queries, width])
                for bi in 0..<batch { for hi in 0..<heads { for i in 0..<queries { for j in 0..<keys {
                    pad.values[((bi * heads + hi) * queries + i) * width + j] = plain.value(bi, hi, i, j)
                } } } }
                keptMask = pad
                keptMaskShape = [batch, heads, queries, width]
                made.append(pad)
            }
        }
        let seed = context.random.next()
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), p = dropout, withDropout = dropout > 0, masked = run.maskTensor
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let po = SendablePointer(kernelOutput.values), pl = lse.map { SendablePointer($0.values) }
        let nq = g.nq, nk = g.nk
        let box = TallyBox()
        parallelFor(g.b * g.h, cost: nq * nk * (g.d + g.dv + 8)) { range in
            var tally = WorkTally()
            var row = [T](repeating: 0, count: nk)
            withElements(&row) { s in
                for pair in range {
                    let bi = pair / g.h, hi = pair % g.h, gi = hi / g.group
                    let keysBase = pk.pointer + g.k(bi, gi), valuesBase = pv.pointer + g.v(bi, gi)
                    for i in 0..<nq {
                        let visible = keyRange(i, run)
                        let n = visible.count, lo = visible.lowerBound
                        let qi = pq.pointer + g.q(bi, hi) + i * g.ldq
                        for j in visible { s[j - lo] = dot(qi, keysBase + j * g.ldk, g.d) }
                        tally.mac(n * g.d)
                        for t in 0..<n { s[t] *= scale }
                        if masked {
                            for t in 0..<n { s[t] += source.value(bi, hi, i, lo + t) }
                            tally.flops += n
                        }
                        var m = -T.infinity
                        for t in 0..<n { m = Swift.max(m, s[t]) }
                        var l: T = 0
                        for t in 0..<n {
                            let e = m == -T.infinity ? 0 : T.exp(s[t] - m)
                            s[t] = e
                            l += e
                        }
                        for t in 0..<n { s[t] = l > 0 ? s[t] / l : 0 }
                        tally.flops += 6 * n
                        if withDropout {
                            let base = (pair * nq + i) * nk + lo
                            for t in 0..<n { s[t] = s[t] * (counterUniform(seed: seed, index: base + t) >= p ? 1 : 0) * keepScale }
                            tally.flops += 3 * n
                        }
                        let oi = po.pointer + g.o(bi, hi) + i * g.ldo
                        for t in 0..<n { axpy(s[t], valuesBase + (lo + t) * g.ldv, oi, g.dv) }
                        tally.mac(n * g.dv)
                        // A row masked everywhere: +inf makes the recomputed P zero.
                        if let pl { pl.pointer[pair * rows + i] = l > 0 ? m + T.log(l) : T.infinity }
                        tally.flops += 2
                    }
                }
            }
            box.add(tally)
        }
        context.count(box.value)
        if run.copiesOutput { out.values.update(from: kernelOutput.values, count: out.count) }
        guard training, let lse else { return ForwardResult([out], workspace: made) }
        var saved = [q, k, v, kernelOutput, lse]
        if let keptMask { saved.append(keptMask) }
        return ForwardResult([out], saved: SavedState(saved, flags: [Int(bitPattern: UInt(seed)), kernelKV, rows] + keptMaskShape))
    }

    private func fusedBackward<T: KernelScalar>(_ context: BackwardContext<T>, _ run: Execution) throws -> BackwardResult<T> {
        let needQ = context.needsGradient(input: 0), needK = context.needsGradient(input: 1), needV = context.needsGradient(input: 2)
        let needMask = mask != nil && context.needsGradient(input: 3)
        let inputCount = mask == nil ? 3 : 4
        guard needQ || needK || needV || needMask else { return BackwardResult(inputs: Array(repeating: nil, count: inputCount)) }
        let saved = context.saved.tensors
        let q = saved[0], k = saved[1], v = saved[2], out = saved[3], lse = saved[4]
        let flags = context.saved.flags
        let seed = UInt64(UInt(bitPattern: flags[0])), readKV = flags[1], rows = flags[2]
        let keptMask: Tensor<T>? = saved.count > 5 ? saved[5] : nil
        let reader = maskReader(keptMask, shape: Array(flags.dropFirst(3)), run)
        let dO = context.outputGradients[0]
        let g = geometry(kernelKV: readKV)
        let dq = needQ ? context.inputGradient(inputShapes[0]) : nil
        let dk = needK ? context.inputGradient(inputShapes[1]) : nil
        let dvT = needV ? context.inputGradient(inputShapes[2]) : nil
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), p = dropout, withDropout = dropout > 0, masked = run.maskTensor
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let po = SendablePointer(out.values), pl = SendablePointer(lse.values), pgo = SendablePointer(dO.values)
        let pdq = dq.map { SendablePointer($0.values) }, pdk = dk.map { SendablePointer($0.values) }, pdv = dvT.map { SendablePointer($0.values) }
        let needScores = needQ || needK || needMask
        let nq = g.nq, nk = g.nk, kv = kvHeads, group = heads / kvHeads
        let ldk = kv * headDim, ldv = kv * valueDim
        // The logits' gradient, for the mask's (a scratch of the kernel, not a tensor).
        var logits = [T](repeating: 0, count: needMask ? batch * heads * nq * nk : 0)
        let box = TallyBox()
        logits.withUnsafeMutableBufferPointer { logitsBuffer in
            let plg = needMask ? logitsBuffer.baseAddress.map { SendablePointer($0) } : nil
            parallelFor(g.b * kv, cost: group * nq * nk * (2 * g.d + 2 * g.dv + 8)) { range in
                var tally = WorkTally()
                var scratch = [T](repeating: 0, count: 3 * nk)
                withElements(&scratch) { prob in
                    let keepMask = prob + nk, dropped = prob + 2 * nk
                    for pair in range {
                        let bi = pair / kv, gi = pair % kv
                        for hi in (gi * group)..<((gi + 1) * group) {
                            let head = bi * g.h + hi, readHead = readKV == kv ? gi : hi
                            let keysBase = pk.pointer + g.k(bi, readHead), valuesBase = pv.pointer + g.v(bi, readHead)
                            for i in 0..<nq {
                                let visible = keyRange(i, run)
                                let n = visible.count, lo = visible.lowerBound
                                let qi = pq.pointer + g.q(bi, hi) + i * g.ldq
                                let doi = pgo.pointer + g.o(bi, hi) + i * g.ldo
                                // Recompute P = exp(scale * q.k + mask - lse) for the visited keys.
                                let rowLSE = pl.pointer[head * rows + i]
                                for t in 0..<n { prob[t] = dot(qi, keysBase + (lo + t) * g.ldk, g.d) }
                                tally.mac(n * g.d)
                                if masked {
                                    for t in 0..<n { prob[t] = prob[t] * scale + reader.value(bi, hi, i, lo + t) }
                                    tally.flops += n
                                } else {
                                    for t in 0..<n { prob[t] *= scale }
                                }
                                for t in 0..<n { prob[t] = T.exp(prob[t] - rowLSE) }
                                tally.flops += 3 * n
                                // With dropout, regenerate the mask and apply it: P_dropped = P * keep / (1 - p).
                                var weights = prob
                                if withDropout {
                                    let base = (head * nq + i) * nk + lo
                                    for t in 0..<n {
                                        keepMask[t] = counterUniform(seed: seed, index: base + t) >= p ? 1 : 0
                                        dropped[t] = prob[t] * keepMask[t] * keepScale
                                    }
                                    tally.flops += 3 * n
                                    weights = dropped
                                }
                                if let pdv {
                                    // dV_j += P_dropped[j] * dO_i.
                                    for t in 0..<n { axpy(weights[t], doi, pdv.pointer + (bi * nk * kv + gi) * g.dv + (lo + t) * ldv, g.dv) }
                                    tally.mac(n * g.dv)
                                }
                                guard needScores else { continue }
                                let oi = po.pointer + g.o(bi, hi) + i * g.ldo
                                let rowD = dot(doi, oi, g.dv)
                                tally.flops += 2 * g.dv
                                let dqi = pdq.map { $0.pointer + g.q(bi, hi) + i * g.ldq }
                                for t in 0..<n {
                                    var dp = dot(doi, valuesBase + (lo + t) * g.ldv, g.dv)
                                    if withDropout { dp = dp * keepMask[t] * keepScale }
                                    let logit = prob[t] * (dp - rowD)
                                    if let plg { plg.pointer[(head * nq + i) * nk + lo + t] = logit }
                                    let ds = logit * scale
                                    if let dqi { axpy(ds, keysBase + (lo + t) * g.ldk, dqi, g.d) }
                                    if let pdk { axpy(ds, qi, pdk.pointer + (bi * nk * kv + gi) * g.d + (lo + t) * ldk, g.d) }
                                }
                                tally.mac(n * g.dv)
                                tally.flops += (withDropout ? 5 : 3) * n
                                if dqi != nil { tally.mac(n * g.d) }
                                if pdk != nil { tally.mac(n * g.d) }
                            }
                        }
                    }
                }
                box.add(tally)
            }
        }
        context.count(box.value, .inputGradient)
        var inputs: [Tensor<T>?] = [dq, dk, dvT]
        if let mask {
            inputs.append(needMask ? withElements(&logits) { maskGradient(context, of: mask, from: $0, visible: { self.keyRange($0, run) }) } : nil)
        }
        return BackwardResult(inputs: inputs)
    }
}
