/// The mixture-of-experts layer, step by step as documented in Ops/MoE.swift: router GEMM,
/// softmax, top-k by k running-maximum passes, renormalisation, the rows sorted by expert
/// and one GEMM per expert and projection (grouped_mm's grouping), the gated activation,
/// the weighting and the per-token sum; the shared expert as three GEMMs. Backward runs
/// the documented algorithm with the same phase charging.
///
/// Routing. Dropless (no capacity_factor), the kernel dispatches by the router's own top-k,
/// as transformers does: every token sends exactly k rows, so the executed work equals
/// the analytic count for whatever experts the data picks. With a capacity factor the
/// count assumes a balanced load, which the router of random weights does not give; the
/// kernel then still runs the router (softmax, top-k, renormalised weights: the token's
/// j-th weight scales its j-th row) but dispatches row (t, j) to expert (t*k + j) mod E,
/// the balanced assignment (S mod E experts receive floor(S/E) + 1 rows, the others
/// floor(S/E)), and each expert takes its first C rows in GShard's priority order (every
/// token's first choice, then the second choices, ...). Executed = analytic exactly, and
/// the gradients are checked against finite differences on that fixed dispatch.
///
/// Memory: the tensors of `keptTensors` are allocated through the context (the row index
/// tensors hold what this kernel needs: each row's token and slot); everything else
/// (logits, the backward's intermediate gradients) is scratch freed before returning.
/// The per-expert row counts travel in `SavedState.flags`, as autograd's per-expert nodes
/// hold their shapes.
extension MoE: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let needs = Needs(CostContext(inputNeedsGradient: context.inputNeedsGradient, parameterTrainable: context.parameterTrainable),
                          shared: sharedIntermediate > 0, gated: sharedGate)
        let keptList = context.needsBackward ? keptTensors(needs) : []
        guard rows < Int(Int32.max), tokens * topK < Int(Int32.max) else {
            throw OperatorError("the reference executor indexes at most 2^31 token-expert rows")
        }
        var store = MoEStore<T>(kept: keptList, layout: layout) { shape, dtype in context.allocate(shape, dtype: dtype) }
        if keptList.contains(.input) { store.tensors[.input] = context.inputs[0] }

        let tCount = tokens, d = hidden, e = experts, k = topK, i = intermediate
        let x = context.inputs[0].values
        let wRouter = context.parameters[Weight.router].values
        let wGateUp = context.parameters[Weight.gateUp].values
        let wDown = context.parameters[Weight.down].values
        let y = context.output(input.shape)
        let out = y.values
        var tally = WorkTally()

        // Router: logits, softmax, top-k, renormalisation.
        let logits = MoEScratch<T>(tCount * e)
        tally += GEMM.multiply(m: tCount, n: e, k: d, a: x, lda: d, transposeA: false,
                               b: wRouter, ldb: d, transposeB: true, c: logits.pointer, ldc: e, accumulate: false)
        let probabilities = store.floats(.probabilities, count: tCount * e)
        for t in 0..<tCount {
            let l = logits.pointer + t * e, p = probabilities + t * e
            var m = -T.infinity
            for j in 0..<e { m = Swift.max(m, l[j]) }
            var sum: T = 0
            for j in 0..<e {
                let v = T.exp(l[j] - m)
                p[j] = v
                sum += v
            }
            for j in 0..<e { p[j] /= sum }
            tally.flops += 5 * e
        }
        let topIndices = store.ints(.topKIndices, count: tCount * k)
        let topValues = store.floats(.topKValues, count: tCount * k)
        let weights = MoEScratch<T>(tCount * k)
        let sums = store.floats(.topKSum, count: tCount)
        var chosen = [Bool](repeating: false, count: e)
        for t in 0..<tCount {
            let p = probabilities + t * e
            for j in 0..<e { chosen[j] = false }
            for j in 0..<k {
                var best = -T.infinity, index = -1
                for c in 0..<e where !chosen[c] {
                    if index < 0 || p[c] > best { best = p[c]; index = c }
                }
                tally.flops += e - j
                chosen[index] = true
                topIndices[t * k + j] = Int32(index)
                topValues[t * k + j] = best
            }
            if normTopK {
                var s: T = 0
                for j in 0..<k { s += topValues[t * k + j] }
                sums[t] = s
                for j in 0..<k { weights.pointer[t * k + j] = topValues[t * k + j] / s }
                tally.flops += 2 * k
            } else {
                for j in 0..<k { weights.pointer[t * k + j] = topValues[t * k + j] }
            }
        }

        // Dispatch: each processed row's slot (t * k + j), grouped by expert.
        let slots = tCount * k
        var perExpert = [[Int]](repeating: [], count: e)
        if let capacity {
            for j in 0..<k {
                for t in 0..<tCount {
                    let slot = t * k + j, expert = slot % e
                    if perExpert[expert].count < capacity { perExpert[expert].append(slot) }
                }
            }
        } else {
            for slot in 0..<slots { perExpert[Int(topIndices[slot])].append(slot) }
        }
        let rowSlot = perExpert.flatMap { $0 }
        let counts = perExpert.map(\.count)
        guard rowSlot.count == rows else { throw OperatorError("moe: \(rowSlot.count) rows dispatched but \(rows) counted") }
        store.recordRows(rowSlot, counts: counts, topK: k)

        // Experts, one GEMM per expert and projection over its rows.
        let gathered = store.floats(.gathered, count: rows * d)
        for (r, slot) in rowSlot.enumerated() { (gathered + r * d).update(from: x + (slot / k) * d, count: d) }
        let gateUp = store.floats(.gateUp, count: rows * 2 * i)
        let activation = store.floats(.activation, count: rows * i)
        let hidden = store.floats(.hidden, count: rows * i)
        let expertOutput = store.floats(.expertOutput, count: rows * d)
        var offset = 0
        for expert in 0..<e where counts[expert] > 0 {
            let n = counts[expert]
            tally += GEMM.multiply(m: n, n: 2 * i, k: d, a: gathered + offset * d, lda: d, transposeA: false,
                                   b: wGateUp + expert * 2 * i * d, ldb: d, transposeB: true,
                                   c: gateUp + offset * 2 * i, ldc: 2 * i, accumulate: false)
            for r in offset..<offset + n {
                let gu = gateUp + r * 2 * i, a = activation + r * i, h = hidden + r * i
                for j in 0..<i {
                    let g = gu[j]
                    a[j] = g / (1 + T.exp(-g))
                    h[j] = a[j] * gu[i + j]
                }
                tally.flops += 5 * i
            }
            tally += GEMM.multiply(m: n, n: d, k: i, a: hidden + offset * i, lda: i, transposeA: false,
                                   b: wDown + expert * d * i, ldb: i, transposeB: true,
                                   c: expertOutput + offset * d, ldc: d, accumulate: false)
            offset += n
        }
        let routingWeights = store.floats(.routingWeights, count: rows)
        let weighted = store.floats(.weightedOutput, count: rows * d)
        for (r, slot) in rowSlot.enumerated() {
            let w = weights.pointer[slot]
            routingWeights[r] = w
            let o = expertOutput + r * d, z = weighted + r * d, row = out + (slot / k) * d
            for j in 0..<d {
                z[j] = o[j] * w
                row[j] += z[j]
            }
            tally.flops += 2 * d
        }

        // Shared expert.
        if sharedIntermediate > 0 {
            let s = sharedIntermediate
            let sg = store.floats(.sharedGateProjection, count: tCount * s)
            let su = store.floats(.sharedUpProjection, count: tCount * s)
            let sa = store.floats(.sharedActivation, count: tCount * s)
            let sh = store.floats(.sharedHidden, count: tCount * s)
            tally += GEMM.multiply(m: tCount, n: s, k: d, a: x, lda: d, transposeA: false,
                                   b: context.parameters[Weight.sharedGate].values, ldb: d, transposeB: true, c: sg, ldc: s, accumulate: false)
            tally += GEMM.multiply(m: tCount, n: s, k: d, a: x, lda: d, transposeA: false,
                                   b: context.parameters[Weight.sharedUp].values, ldb: d, transposeB: true, c: su, ldc: s, accumulate: false)
            for j in 0..<tCount * s {
                let g = sg[j]
                sa[j] = g / (1 + T.exp(-g))
                sh[j] = sa[j] * su[j]
            }
            tally.flops += 5 * tCount * s
            let so = store.floats(.sharedOutput, count: tCount * d)
            tally += GEMM.multiply(m: tCount, n: d, k: s, a: sh, lda: s, transposeA: false,
                                   b: context.parameters[Weight.sharedDown].values, ldb: s, transposeB: true, c: so, ldc: d, accumulate: false)
            if sharedGate {
                let scale = store.floats(.sharedScale, count: tCount)
                tally += GEMM.multiply(m: tCount, n: 1, k: d, a: x, lda: d, transposeA: false,
                                       b: context.parameters[Weight.sharedScale].values, ldb: d, transposeB: true, c: scale, ldc: 1, accumulate: false)
                for t in 0..<tCount {
                    scale[t] = 1 / (1 + T.exp(-scale[t]))
                    let g = scale[t], o = so + t * d, row = out + t * d
                    for j in 0..<d { row[j] += g * o[j] }
                }
                tally.flops += tCount * (4 + 2 * d)
            } else {
                for j in 0..<tCount * d { out[j] += so[j] }
                tally.flops += tCount * d
            }
        }
        context.count(tally)
        return ForwardResult([y], saved: SavedState(keptList.compactMap { store.tensors[$0] }, flags: counts))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let needs = Needs(CostContext(inputNeedsGradient: context.inputNeedsGradient, parameterTrainable: context.parameterTrainable),
                          shared: sharedIntermediate > 0, gated: sharedGate)
        let keptList = keptTensors(needs)
        guard keptList.count == context.saved.tensors.count else { throw OperatorError("moe: saved state does not match the kept tensors") }
        var saved: [Kept: Tensor<T>] = [:]
        for (index, kept) in keptList.enumerated() where index < context.saved.tensors.count { saved[kept] = context.saved.tensors[index] }
        // What backward reads is what forward kept for these needs (keptTensors): a lookup
        // that misses is an internal error, reported as one.
        func tensor(_ kept: Kept) throws -> Tensor<T> {
            guard let tensor = saved[kept] else { throw OperatorError("moe: the saved state lacks \(kept)") }
            return tensor
        }
        func floats(_ kept: Kept) throws -> UnsafeMutablePointer<T> { try tensor(kept).values }

        let tCount = tokens, d = hidden, e = experts, k = topK, i = intermediate
        let dy = context.outputGradients[0].values
        var inputTally = WorkTally(), weightTally = WorkTally()
        func charge(_ work: WorkTally, toWeight: Bool) { if toWeight { weightTally += work } else { inputTally += work } }
        let dx = needs.input ? context.inputGradient(input.shape) : nil
        var gradients = [Tensor<T>?](repeating: nil, count: parameters.count)
        for index in parameters.indices where context.trainable(parameter: index) {
            gradients[index] = context.parameterGradient(parameters[index].shape)
        }

        // Routed rows.
        let counts = context.saved.flags
        if needs.routerPath || needs.expertOutput {
            let rowSlot = try MoEStore<T>.rowSlots(tensor, dispatch: dispatch, rows: rows, topK: k)
            let dSlot = MoEScratch<T>(tCount * k)
            let dOut = MoEScratch<T>(rows * d)
            var step = WorkTally()
            if needs.routerPath {
                let o = try floats(.expertOutput)
                for (r, slot) in rowSlot.enumerated() {
                    let g = dy + (slot / k) * d, row = o + r * d
                    var sum: T = 0
                    for j in 0..<d { sum += g[j] * row[j] }
                    dSlot.pointer[slot] = sum
                }
                step.flops += rows * 2 * d
                charge(step, toWeight: needs.router)
            }
            if needs.expertOutput {
                let w = try floats(.routingWeights)
                step = WorkTally()
                for (r, slot) in rowSlot.enumerated() {
                    let g = dy + (slot / k) * d, row = dOut.pointer + r * d, weight = w[r]
                    for j in 0..<d { row[j] = g[j] * weight }
                }
                step.flops += rows * d
                charge(step, toWeight: needs.down || needs.gateUp)
            }
            let dHidden = MoEScratch<T>(needs.expertHidden ? rows * 2 * i : 0)
            let dGateUp = MoEScratch<T>(needs.expertHidden ? rows * 2 * i : 0)
            let dRows = MoEScratch<T>(needs.input ? rows * d : 0)
            let wGateUp = context.parameters[Weight.gateUp].values, wDown = context.parameters[Weight.down].values
            var offset = 0
            for expert in 0..<e where counts[expert] > 0 {
                let n = counts[expert]
                if let g = gradients[Weight.down] {
                    weightTally += GEMM.multiply(m: d, n: i, k: n, a: dOut.pointer + offset * d, lda: d, transposeA: true,
                                                 b: try floats(.hidden) + offset * i, ldb: i, transposeB: false,
                                                 c: g.values + expert * d * i, ldc: i, accumulate: false)
                }
                if needs.expertHidden {
                    var work = GEMM.multiply(m: n, n: i, k: d, a: dOut.pointer + offset * d, lda: d, transposeA: false,
                                             b: wDown + expert * d * i, ldb: i, transposeB: false,
                                             c: dHidden.pointer + offset * i, ldc: i, accumulate: false)
                    let gateUp = try floats(.gateUp), activation = try floats(.activation)
                    for r in offset..<offset + n {
                        let dh = dHidden.pointer + r * i, gu = gateUp + r * 2 * i, a = activation + r * i, dgu = dGateUp.pointer + r * 2 * i
                        for j in 0..<i {
                            let g = gu[j], s = 1 / (1 + T.exp(-g))
                            dgu[j] = dh[j] * gu[i + j] * s * (1 + g * (1 - s))
                            dgu[i + j] = dh[j] * a[j]
                        }
                    }
                    work.flops += n * 11 * i
                    charge(work, toWeight: needs.gateUp)
                }
                if let g = gradients[Weight.gateUp] {
                    weightTally += GEMM.multiply(m: 2 * i, n: d, k: n, a: dGateUp.pointer + offset * 2 * i, lda: 2 * i, transposeA: true,
                                                 b: try floats(.gathered) + offset * d, ldb: d, transposeB: false,
                                                 c: g.values + expert * 2 * i * d, ldc: d, accumulate: false)
                }
                if needs.input {
                    inputTally += GEMM.multiply(m: n, n: d, k: 2 * i, a: dGateUp.pointer + offset * 2 * i, lda: 2 * i, transposeA: false,
                                                b: wGateUp + expert * 2 * i * d, ldb: d, transposeB: false,
                                                c: dRows.pointer + offset * d, ldc: d, accumulate: false)
                }
                offset += n
            }
            if let dx {
                for (r, slot) in rowSlot.enumerated() {
                    let target = dx.values + (slot / k) * d, row = dRows.pointer + r * d
                    for j in 0..<d { target[j] += row[j] }
                }
                inputTally.flops += rows * d
            }

            // Router.
            if needs.routerPath {
                let indices = try tensor(.topKIndices).indices
                let probabilities = try floats(.probabilities)
                let dLogits = MoEScratch<T>(tCount * e)
                var work = WorkTally()
                for t in 0..<tCount {
                    let dw = dSlot.pointer + t * k, dl = dLogits.pointer + t * e, p = probabilities + t * e
                    if normTopK {
                        let s = try floats(.topKSum)[t], v = try floats(.topKValues) + t * k
                        var c: T = 0
                        for j in 0..<k { c += dw[j] * v[j] }
                        c /= s
                        for j in 0..<k { dl[Int(indices[t * k + j])] = (dw[j] - c) / s }
                        work.flops += 4 * k + 1
                    } else {
                        for j in 0..<k { dl[Int(indices[t * k + j])] = dw[j] }
                    }
                    var total: T = 0
                    for j in 0..<e { total += dl[j] * p[j] }
                    for j in 0..<e { dl[j] = p[j] * (dl[j] - total) }
                    work.flops += 4 * e
                }
                charge(work, toWeight: needs.router)
                if let g = gradients[Weight.router] {
                    weightTally += GEMM.multiply(m: e, n: d, k: tCount, a: dLogits.pointer, lda: e, transposeA: true,
                                                 b: try floats(.input), ldb: d, transposeB: false,
                                                 c: g.values, ldc: d, accumulate: false)
                }
                if let dx {
                    inputTally += GEMM.multiply(m: tCount, n: d, k: e, a: dLogits.pointer, lda: e, transposeA: false,
                                                b: context.parameters[Weight.router].values, ldb: d, transposeB: false,
                                                c: dx.values, ldc: d, accumulate: true)
                }
            }
        }

        // Shared expert.
        if sharedIntermediate > 0 {
            let s = sharedIntermediate
            let x = try needs.keepsInput ? tensor(.input).values : nil
            var dShared = UnsafePointer(dy)
            let scaled = MoEScratch<T>(sharedGate && needs.sharedOutput ? tCount * d : 0)
            if sharedGate {
                let scale = saved[.sharedScale]?.values
                if needs.sharedOutput, let scale {
                    for t in 0..<tCount {
                        let g = dy + t * d, row = scaled.pointer + t * d
                        for j in 0..<d { row[j] = g[j] * scale[t] }
                    }
                    charge(WorkTally(flops: tCount * d), toWeight: needs.sharedDown || needs.sharedGate || needs.sharedUp)
                    dShared = UnsafePointer(scaled.pointer)
                }
                if needs.sharedScalePath, let scale {
                    let so = try floats(.sharedOutput)
                    let dq = MoEScratch<T>(tCount)
                    for t in 0..<tCount {
                        let g = dy + t * d, o = so + t * d
                        var sum: T = 0
                        for j in 0..<d { sum += g[j] * o[j] }
                        dq.pointer[t] = sum * (1 - scale[t]) * scale[t]
                    }
                    charge(WorkTally(flops: tCount * (2 * d + 3)), toWeight: needs.sharedScale)
                    if let g = gradients[Weight.sharedScale], let x {
                        weightTally += GEMM.multiply(m: 1, n: d, k: tCount, a: dq.pointer, lda: 1, transposeA: true,
                                                     b: x, ldb: d, transposeB: false, c: g.values, ldc: d, accumulate: false)
                    }
                    if let dx {
                        inputTally += GEMM.multiply(m: tCount, n: d, k: 1, a: dq.pointer, lda: 1, transposeA: false,
                                                    b: context.parameters[Weight.sharedScale].values, ldb: d, transposeB: false,
                                                    c: dx.values, ldc: d, accumulate: true)
                    }
                }
            }
            if let g = gradients[Weight.sharedDown] {
                weightTally += GEMM.multiply(m: d, n: s, k: tCount, a: dShared, lda: d, transposeA: true,
                                             b: try floats(.sharedHidden), ldb: s, transposeB: false, c: g.values, ldc: s, accumulate: false)
            }
            if needs.sharedHidden {
                let dh = MoEScratch<T>(tCount * s)
                charge(GEMM.multiply(m: tCount, n: s, k: d, a: dShared, lda: d, transposeA: false,
                                     b: context.parameters[Weight.sharedDown].values, ldb: s, transposeB: false,
                                     c: dh.pointer, ldc: s, accumulate: false),
                       toWeight: needs.sharedGate || needs.sharedUp)
                let dGate = MoEScratch<T>(tCount * s), dUp = MoEScratch<T>(tCount * s)
                if needs.sharedGate || needs.input {
                    let sg = try floats(.sharedGateProjection), su = try floats(.sharedUpProjection)
                    for j in 0..<tCount * s {
                        let g = sg[j], sig = 1 / (1 + T.exp(-g))
                        dGate.pointer[j] = dh.pointer[j] * su[j] * sig * (1 + g * (1 - sig))
                    }
                    charge(WorkTally(flops: tCount * 10 * s), toWeight: needs.sharedGate)
                }
                if needs.sharedUp || needs.input {
                    let sa = try floats(.sharedActivation)
                    for j in 0..<tCount * s { dUp.pointer[j] = dh.pointer[j] * sa[j] }
                    charge(WorkTally(flops: tCount * s), toWeight: needs.sharedUp)
                }
                for (index, d_) in [(Weight.sharedGate, dGate), (Weight.sharedUp, dUp)] {
                    if let g = gradients[index], let x {
                        weightTally += GEMM.multiply(m: s, n: d, k: tCount, a: d_.pointer, lda: s, transposeA: true,
                                                     b: x, ldb: d, transposeB: false, c: g.values, ldc: d, accumulate: false)
                    }
                    if let dx {
                        inputTally += GEMM.multiply(m: tCount, n: d, k: s, a: d_.pointer, lda: s, transposeA: false,
                                                    b: context.parameters[index].values, ldb: d, transposeB: false,
                                                    c: dx.values, ldc: d, accumulate: true)
                    }
                }
            }
        }
        context.count(inputTally, .inputGradient)
        context.count(weightTally, .weightGradient)
        return BackwardResult(inputs: [dx], parameters: gradients)
    }
}

/// Zero-filled scratch memory the allocator does not track (freed with the object).
final class MoEScratch<T: KernelScalar> {
    let pointer: UnsafeMutablePointer<T>
    init(_ count: Int) {
        pointer = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, count))
        pointer.initialize(repeating: 0, count: Swift.max(1, count))
    }
    deinit { pointer.deallocate() }
}

/// The forward's buffers: a kept role gets a tracked tensor, any other scratch.
struct MoEStore<T: KernelScalar> {
    var tensors: [MoE.Kept: Tensor<T>] = [:]
    private var scratch: [MoEScratch<T>] = []
    private let kept: Set<MoE.Kept>
    private let layout: (MoE.Kept) -> (shape: [Int], type: DType)
    private let allocate: ([Int], DType) -> Tensor<T>

    init(kept: [MoE.Kept], layout: @escaping (MoE.Kept) -> (shape: [Int], type: DType), allocate: @escaping ([Int], DType) -> Tensor<T>) {
        self.kept = Set(kept)
        self.layout = layout
        self.allocate = allocate
    }

    /// A float buffer of `count` elements for `role`.
    mutating func floats(_ role: MoE.Kept, count: Int) -> UnsafeMutablePointer<T> {
        if kept.contains(role) {
            let (shape, type) = layout(role)
            let tensor = allocate(shape, type)
            tensors[role] = tensor
            return tensor.values
        }
        let buffer = MoEScratch<T>(count)
        scratch.append(buffer)
        return buffer.pointer
    }

    /// An integer buffer (the top-k indices): tracked when kept, else scratch.
    mutating func ints(_ role: MoE.Kept, count: Int) -> UnsafeMutablePointer<Int32> {
        if kept.contains(role) {
            let (shape, type) = layout(role)
            let tensor = allocate(shape, type)
            tensors[role] = tensor
            return tensor.indices
        }
        let buffer = MoEScratch<T>(count)
        scratch.append(buffer)
        return UnsafeMutableRawPointer(buffer.pointer).bindMemory(to: Int32.self, capacity: count)
    }

    /// Fills the kept index tensors of the dispatch from each row's slot (t * k + j): the
    /// row's token, its slot, the groups' end offsets (grouped_mm), or (j, t) per row (eager).
    mutating func recordRows(_ rowSlot: [Int], counts: [Int], topK k: Int) {
        if kept.contains(.rowTokens) {
            let p = allocateInts(.rowTokens)
            for (r, slot) in rowSlot.enumerated() { p[r] = Int32(slot / k) }
        }
        if kept.contains(.rowSlots) {
            let p = allocateInts(.rowSlots)
            for (r, slot) in rowSlot.enumerated() { p[r] = Int32(slot) }
        }
        if kept.contains(.offsets) {
            let p = allocateInts(.offsets)
            var end = 0
            for (expert, n) in counts.enumerated() {
                end += n
                p[expert] = Int32(end)
            }
        }
        if kept.contains(.inversePermutation) {
            let p = allocateInts(.inversePermutation)
            for (r, slot) in rowSlot.enumerated() { p[r] = Int32(slot) }
        }
        if kept.contains(.expertTokenIndex) {
            let p = allocateInts(.expertTokenIndex)
            for (r, slot) in rowSlot.enumerated() {
                p[2 * r] = Int32(slot % k)
                p[2 * r + 1] = Int32(slot / k)
            }
        }
    }

    private mutating func allocateInts(_ role: MoE.Kept) -> UnsafeMutablePointer<Int32> {
        let (shape, type) = layout(role)
        let tensor = allocate(shape, type)
        tensors[role] = tensor
        return tensor.indices
    }

    /// Each processed row's slot, read back from the kept dispatch tensors.
    static func rowSlots(_ saved: (MoE.Kept) throws -> Tensor<T>, dispatch: MoE.Dispatch, rows: Int, topK k: Int) throws -> [Int] {
        switch dispatch {
        case .groupedMM:
            let p = try saved(.inversePermutation).indices
            return (0..<rows).map { Int(p[$0]) }
        case .eager:
            let p = try saved(.expertTokenIndex).indices
            return (0..<rows).map { Int(p[2 * $0 + 1]) * k + Int(p[2 * $0]) }
        }
    }
}
