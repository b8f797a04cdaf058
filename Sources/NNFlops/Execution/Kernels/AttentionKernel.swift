/// Scaled dot-product attention, the two implementations Attention.swift documents.
///
/// Naive (the math composite): per (batch, head) S = Q K^T as one GEMM over the full
/// nq x nk matrix (d MACs per entry), then per entry scale (1), causal mask (compare and
/// select, 1, only when causal), softmax (5), dropout (3, when p > 0: keep = u >= p,
/// P * keep * 1/(1-p)), and O = P V as one GEMM (dv MACs per entry). Keeps q, k, v, the
/// probabilities and, with dropout, the mask and the dropped probabilities. Backward per
/// (batch, key/value head), over the heads of its group: dV = P^T dO (GEMM), dP = dO V^T
/// (GEMM), dropout backward (2), softmax backward (4), mask backward (1, causal), scale
/// (1), dQ = dS K and dK = dS^T Q (GEMMs).
///
/// Fused (row-wise, FlashAttention-style: no score matrix in memory): per query row, the
/// visible keys only — all nk, or min(i+1, nk) when causal, so the masked entries are
/// never computed and need no mask operation — d-long dot products for the scores, scale
/// (1), softmax (5), dropout (3), dv MACs per key into the output row, and the row's
/// log-sum-exp m + log(l) (2). Keeps q, k, v, the output and the log-sum-exp; dropout is
/// regenerated in backward from a counter-based stream (the seed is kept as a flag).
/// Backward per row: recompute the scores (d MACs, scale, P = exp(S - lse): 2, dropout
/// 3), dV += P dO (dv MACs), D = rowsum(dO * O) (2 dv per row), dP = dO . V (dv MACs),
/// dropout backward (2), dS = P (dP - D) (2), scale (1), dQ += dS K and dK += dS Q (d MACs
/// each).
///
/// The fused causal kernel therefore executes the `executed` convention's count, not the
/// `dense` one (which prices every masked entry too): the executor compares with the
/// `executed` convention (`ExecutionOptions.attention`).
extension Attention: ExecutableOperator {
    private struct Geometry {
        let b: Int, nq: Int, nk: Int, h: Int, kv: Int, d: Int, dv: Int
        var group: Int { h / kv }
        /// Element offsets of row 0 of (batch, head) in q / out and of (batch, kv head) in k / v.
        func q(_ bi: Int, _ hi: Int) -> Int { (bi * nq * h + hi) * d }
        func o(_ bi: Int, _ hi: Int) -> Int { (bi * nq * h + hi) * dv }
        func k(_ bi: Int, _ gi: Int) -> Int { (bi * nk * kv + gi) * d }
        func v(_ bi: Int, _ gi: Int) -> Int { (bi * nk * kv + gi) * dv }
        var ldq: Int { h * d }
        var ldo: Int { h * dv }
        var ldk: Int { kv * d }
        var ldv: Int { kv * dv }
    }

    private var geometry: Geometry {
        Geometry(b: batch, nq: queries, nk: keys, h: heads, kv: kvHeads, d: headDim, dv: valueDim)
    }

    /// Keys row i attends to.
    @inline(__always)
    private func visible(_ i: Int) -> Int { causal ? Swift.min(i + 1, keys) : keys }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        fused ? try fusedForward(context) : try naiveForward(context)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        fused ? try fusedBackward(context) : try naiveBackward(context)
    }

    // MARK: Naive

    private func naiveForward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let q = context.inputs[0], k = context.inputs[1], v = context.inputs[2]
        let g = geometry
        let out = context.output(outputs[0].shape)
        let scoreShape = [batch, heads, queries, keys]
        let probabilities = context.allocate(scoreShape)
        let withDropout = dropout > 0
        let mask: Tensor<T>? = withDropout ? context.allocate(scoreShape, dtype: .bool) : nil
        let dropped: Tensor<T>? = withDropout ? context.allocate(scoreShape) : nil
        let seed = context.random.next()
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), p = dropout, causal = self.causal
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let po = SendablePointer(out.values), pp = SendablePointer(probabilities.values)
        let pm = mask.map { SendablePointer($0.indices) }, pd = dropped.map { SendablePointer($0.values) }
        let box = TallyBox()
        let nq = g.nq, nk = g.nk
        parallelFor(g.b * g.h, cost: nq * nk * (g.d + g.dv + 8)) { range in
            var tally = WorkTally()
            for pair in range {
                let bi = pair / g.h, hi = pair % g.h, gi = hi / g.group
                let scores = pp.pointer + pair * nq * nk
                tally += GEMM.multiply(m: nq, n: nk, k: g.d, a: pq.pointer + g.q(bi, hi), lda: g.ldq, transposeA: false,
                                       b: pk.pointer + g.k(bi, gi), ldb: g.ldk, transposeB: true,
                                       c: scores, ldc: nk, accumulate: false, parallel: false)
                for i in 0..<nq {
                    let row = scores + i * nk
                    for j in 0..<nk { row[j] *= scale }
                    tally.flops += nk
                    if causal {
                        for j in 0..<nk { row[j] = j <= i ? row[j] : -T.infinity }
                        tally.flops += nk
                    }
                    var m = -T.infinity
                    for j in 0..<nk { m = Swift.max(m, row[j]) }
                    var l: T = 0
                    for j in 0..<nk {
                        let e = T.exp(row[j] - m)
                        row[j] = e
                        l += e
                    }
                    for j in 0..<nk { row[j] /= l }
                    tally.flops += 5 * nk
                    if let pm, let pd {
                        let base = (pair * nq + i) * nk
                        for j in 0..<nk {
                            let keep: T = counterUniform(seed: seed, index: base + j) >= p ? 1 : 0
                            pm.pointer[base + j] = keep == 1 ? 1 : 0
                            pd.pointer[base + j] = row[j] * keep * keepScale
                        }
                        tally.flops += 3 * nk
                    }
                }
                let weights = pd.map { $0.pointer + pair * nq * nk } ?? scores
                tally += GEMM.multiply(m: nq, n: g.dv, k: nk, a: weights, lda: nk, transposeA: false,
                                       b: pv.pointer + g.v(bi, gi), ldb: g.ldv, transposeB: false,
                                       c: po.pointer + g.o(bi, hi), ldc: g.ldo, accumulate: false, parallel: false)
            }
            box.add(tally)
        }
        context.count(box.value)
        guard context.needsBackward && context.inputNeedsGradient.contains(true) else { return ForwardResult([out]) }
        var saved = [q, k, v, probabilities]
        if let mask, let dropped { saved += [mask, dropped] }
        return ForwardResult([out], saved: SavedState(saved))
    }

    private func naiveBackward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let needQ = context.needsGradient(input: 0), needK = context.needsGradient(input: 1), needV = context.needsGradient(input: 2)
        guard needQ || needK || needV else { return BackwardResult(inputs: [nil, nil, nil]) }
        let saved = context.saved.tensors
        let q = saved[0], k = saved[1], v = saved[2], probabilities = saved[3]
        let mask: Tensor<T>? = saved.count > 4 ? saved[4] : nil
        let dropped: Tensor<T>? = saved.count > 5 ? saved[5] : nil
        let dO = context.outputGradients[0]
        let g = geometry
        let dq = needQ ? context.inputGradient(q.shape) : nil
        let dk = needK ? context.inputGradient(k.shape) : nil
        let dvT = needV ? context.inputGradient(v.shape) : nil
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), causal = self.causal
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let pgo = SendablePointer(dO.values), pp = SendablePointer(probabilities.values)
        let pm = mask.map { SendablePointer($0.indices) }
        let pdrop = SendablePointer((dropped ?? probabilities).values)
        let pdq = dq.map { SendablePointer($0.values) }, pdk = dk.map { SendablePointer($0.values) }, pdv = dvT.map { SendablePointer($0.values) }
        let needScores = needQ || needK
        let nq = g.nq, nk = g.nk
        let box = TallyBox()
        parallelFor(g.b * g.kv, cost: g.group * nq * nk * (2 * g.d + 2 * g.dv + 8)) { range in
            var tally = WorkTally()
            var ds = [T](repeating: 0, count: needScores ? nq * nk : 0)
            for pair in range {
                let bi = pair / g.kv, gi = pair % g.kv
                for hi in (gi * g.group)..<((gi + 1) * g.group) {
                    let head = bi * g.h + hi
                    let weights = pdrop.pointer + head * nq * nk, probs = pp.pointer + head * nq * nk
                    let gradOut = pgo.pointer + g.o(bi, hi)
                    if let pdv {
                        tally += GEMM.multiply(m: nk, n: g.dv, k: nq, a: weights, lda: nk, transposeA: true,
                                               b: gradOut, ldb: g.ldo, transposeB: false,
                                               c: pdv.pointer + g.v(bi, gi), ldc: g.ldv, accumulate: true, parallel: false)
                    }
                    guard needScores else { continue }
                    ds.withUnsafeMutableBufferPointer { buffer in
                        let s = buffer.baseAddress!
                        tally += GEMM.multiply(m: nq, n: nk, k: g.dv, a: gradOut, lda: g.ldo, transposeA: false,
                                               b: pv.pointer + g.v(bi, gi), ldb: g.ldv, transposeB: true,
                                               c: s, ldc: nk, accumulate: false, parallel: false)
                        for i in 0..<nq {
                            let row = s + i * nk, prow = probs + i * nk
                            if let pm {
                                let mrow = pm.pointer + head * nq * nk + i * nk
                                for j in 0..<nk { row[j] = row[j] * T(mrow[j]) * keepScale }
                                tally.flops += 2 * nk
                            }
                            var total: T = 0
                            for j in 0..<nk { total += prow[j] * row[j] }
                            for j in 0..<nk { row[j] = prow[j] * (row[j] - total) }
                            tally.flops += 4 * nk
                            if causal {
                                for j in 0..<nk { row[j] = j <= i ? row[j] : 0 }
                                tally.flops += nk
                            }
                            for j in 0..<nk { row[j] *= scale }
                            tally.flops += nk
                        }
                        if let pdq {
                            tally += GEMM.multiply(m: nq, n: g.d, k: nk, a: s, lda: nk, transposeA: false,
                                                   b: pk.pointer + g.k(bi, gi), ldb: g.ldk, transposeB: false,
                                                   c: pdq.pointer + g.q(bi, hi), ldc: g.ldq, accumulate: false, parallel: false)
                        }
                        if let pdk {
                            tally += GEMM.multiply(m: nk, n: g.d, k: nq, a: s, lda: nk, transposeA: true,
                                                   b: pq.pointer + g.q(bi, hi), ldb: g.ldq, transposeB: false,
                                                   c: pdk.pointer + g.k(bi, gi), ldc: g.ldk, accumulate: true, parallel: false)
                        }
                    }
                }
            }
            box.add(tally)
        }
        context.count(box.value, .inputGradient)
        return BackwardResult(inputs: [dq, dk, dvT])
    }

    // MARK: Fused

    private func fusedForward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let q = context.inputs[0], k = context.inputs[1], v = context.inputs[2]
        let g = geometry
        let out = context.output(outputs[0].shape)
        let lse = context.allocate([batch, heads, queries])
        let seed = context.random.next()
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), p = dropout, withDropout = dropout > 0
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let po = SendablePointer(out.values), pl = SendablePointer(lse.values)
        let nq = g.nq, nk = g.nk
        let box = TallyBox()
        parallelFor(g.b * g.h, cost: nq * nk * (g.d + g.dv + 8)) { range in
            var tally = WorkTally()
            var row = [T](repeating: 0, count: nk)
            row.withUnsafeMutableBufferPointer { buffer in
                let s = buffer.baseAddress!
                for pair in range {
                    let bi = pair / g.h, hi = pair % g.h, gi = hi / g.group
                    let keysBase = pk.pointer + g.k(bi, gi), valuesBase = pv.pointer + g.v(bi, gi)
                    for i in 0..<nq {
                        let n = visible(i)
                        let qi = pq.pointer + g.q(bi, hi) + i * g.ldq
                        for j in 0..<n { s[j] = dot(qi, keysBase + j * g.ldk, g.d) }
                        tally.mac(n * g.d)
                        for j in 0..<n { s[j] *= scale }
                        var m = -T.infinity
                        for j in 0..<n { m = Swift.max(m, s[j]) }
                        var l: T = 0
                        for j in 0..<n {
                            let e = T.exp(s[j] - m)
                            s[j] = e
                            l += e
                        }
                        for j in 0..<n { s[j] /= l }
                        tally.flops += 6 * n
                        if withDropout {
                            let base = (pair * nq + i) * nk
                            for j in 0..<n { s[j] = s[j] * (counterUniform(seed: seed, index: base + j) >= p ? 1 : 0) * keepScale }
                            tally.flops += 3 * n
                        }
                        let oi = po.pointer + g.o(bi, hi) + i * g.ldo
                        for j in 0..<n { axpy(s[j], valuesBase + j * g.ldv, oi, g.dv) }
                        tally.mac(n * g.dv)
                        pl.pointer[pair * nq + i] = m + T.log(l)
                        tally.flops += 2
                    }
                }
            }
            box.add(tally)
        }
        context.count(box.value)
        guard context.needsBackward && context.inputNeedsGradient.contains(true) else { return ForwardResult([out]) }
        return ForwardResult([out], saved: SavedState([q, k, v, out, lse], flags: [Int(bitPattern: UInt(seed))]))
    }

    private func fusedBackward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let needQ = context.needsGradient(input: 0), needK = context.needsGradient(input: 1), needV = context.needsGradient(input: 2)
        guard needQ || needK || needV else { return BackwardResult(inputs: [nil, nil, nil]) }
        let saved = context.saved.tensors
        let q = saved[0], k = saved[1], v = saved[2], out = saved[3], lse = saved[4]
        let seed = UInt64(UInt(bitPattern: context.saved.flags[0]))
        let dO = context.outputGradients[0]
        let g = geometry
        let dq = needQ ? context.inputGradient(q.shape) : nil
        let dk = needK ? context.inputGradient(k.shape) : nil
        let dvT = needV ? context.inputGradient(v.shape) : nil
        let scale = T(self.scale), keepScale = T(1 / (1 - dropout)), p = dropout, withDropout = dropout > 0
        let pq = SendablePointer(q.values), pk = SendablePointer(k.values), pv = SendablePointer(v.values)
        let po = SendablePointer(out.values), pl = SendablePointer(lse.values), pgo = SendablePointer(dO.values)
        let pdq = dq.map { SendablePointer($0.values) }, pdk = dk.map { SendablePointer($0.values) }, pdv = dvT.map { SendablePointer($0.values) }
        let needScores = needQ || needK
        let nq = g.nq, nk = g.nk
        let box = TallyBox()
        parallelFor(g.b * g.kv, cost: g.group * nq * nk * (2 * g.d + 2 * g.dv + 8)) { range in
            var tally = WorkTally()
            var scratch = [T](repeating: 0, count: 3 * nk)
            scratch.withUnsafeMutableBufferPointer { buffer in
                let prob = buffer.baseAddress!, keepMask = prob + nk, dropped = prob + 2 * nk
                for pair in range {
                    let bi = pair / g.kv, gi = pair % g.kv
                    let keysBase = pk.pointer + g.k(bi, gi), valuesBase = pv.pointer + g.v(bi, gi)
                    for hi in (gi * g.group)..<((gi + 1) * g.group) {
                        let head = bi * g.h + hi
                        for i in 0..<nq {
                            let n = visible(i)
                            let qi = pq.pointer + g.q(bi, hi) + i * g.ldq
                            let doi = pgo.pointer + g.o(bi, hi) + i * g.ldo
                            // Recompute P = exp(scale * q.k - lse) for the visible keys.
                            let rowLSE = pl.pointer[head * nq + i]
                            for j in 0..<n { prob[j] = dot(qi, keysBase + j * g.ldk, g.d) }
                            tally.mac(n * g.d)
                            for j in 0..<n { prob[j] = T.exp(prob[j] * scale - rowLSE) }
                            tally.flops += 3 * n
                            // With dropout, regenerate the mask and apply it: P_dropped = P * keep / (1 - p).
                            var weights = prob
                            if withDropout {
                                let base = (head * nq + i) * nk
                                for j in 0..<n {
                                    keepMask[j] = counterUniform(seed: seed, index: base + j) >= p ? 1 : 0
                                    dropped[j] = prob[j] * keepMask[j] * keepScale
                                }
                                tally.flops += 3 * n
                                weights = dropped
                            }
                            if let pdv {
                                // dV_j += P_dropped[j] * dO_i.
                                for j in 0..<n { axpy(weights[j], doi, pdv.pointer + g.v(bi, gi) + j * g.ldv, g.dv) }
                                tally.mac(n * g.dv)
                            }
                            guard needScores else { continue }
                            let oi = po.pointer + g.o(bi, hi) + i * g.ldo
                            let rowD = dot(doi, oi, g.dv)
                            tally.flops += 2 * g.dv
                            let dqi = pdq.map { $0.pointer + g.q(bi, hi) + i * g.ldq }
                            for j in 0..<n {
                                var dp = dot(doi, valuesBase + j * g.ldv, g.dv)
                                if withDropout { dp = dp * keepMask[j] * keepScale }
                                let ds = prob[j] * (dp - rowD) * scale
                                if let dqi { axpy(ds, keysBase + j * g.ldk, dqi, g.d) }
                                if let pdk { axpy(ds, qi, pdk.pointer + g.k(bi, gi) + j * g.ldk, g.d) }
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
        context.count(box.value, .inputGradient)
        return BackwardResult(inputs: [dq, dk, dvT])
    }
}
