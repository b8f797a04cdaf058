/// The G decode steps of an inference run (README, "Inference"): step p (p = P ... P + G - 1)
/// is the decode graph (one token per sequence) with the KV cache holding p positions. Each
/// step's FLOPs, bytes and bound come from the cost and roofline analyses of that run.
///
/// Summing G analyses would grow with G; instead the sum is exact over pieces where every
/// roofline entry's FLOPs and bytes are affine in p. Between the positions where a
/// cache's window fills (p = W - 1: a sliding-window attention stops reading more past
/// and gets its mask), attention's work and traffic grow by the same amount per position
/// and nothing else changes; the analysis checks that on each piece (every entry's
/// integer FLOPs, matrix FLOPs and bytes at its ends and middle lie on a line, with the
/// same types), and where they do not it halves the piece, down to single positions. On an
/// affine piece each entry's bound max(FLOPs / peak, bytes / bandwidth) is the larger of
/// two affine functions of p, summed in closed form on each side of where they cross.
struct DecodeSteps {
    var first: InferenceStep
    var last: InferenceStep
    /// Sums over the steps (doubles: G x a step's FLOPs may pass 2^63).
    var flops = 0.0
    var quantizationFlops = 0.0
    var bytes = 0.0
    var time = 0.0

    /// One step's analysis: its totals and its entries by node.
    struct Sample {
        var step: InferenceStep
        var entries: [Int: RooflineEntry]
    }

    init(session: InferenceSession, graph: Graph, first p0: Int, last p1: Int) throws {
        var cache: [Int: Sample] = [:]
        func sample(_ p: Int) throws -> Sample {
            if let known = cache[p] { return known }
            let (step, roofline) = try session.step(graph, cachedPositions: p, position: p)
            var entries: [Int: RooflineEntry] = [:]
            for entry in roofline.entries {
                guard let node = entry.node else { continue }
                // One forward entry per node in inference; a second would be summed apart.
                if entries[node] != nil { entries[-1 - entries.count] = entry } else { entries[node] = entry }
            }
            let made = Sample(step: step, entries: entries)
            cache[p] = made
            return made
        }
        let a = try sample(p0), b = try sample(p1)
        first = a.step
        last = b.step
        // Pieces: split where a window fills (positions p = W - 1).
        let states = try session.states(graph, positions: p0)
        var cuts = Set<Int>()
        for (_, state) in states {
            if let window = state.window, window - 1 > p0, window - 1 <= p1 { cuts.insert(window - 1) }
        }
        var bounds = [p0] + cuts.sorted() + [p1 + 1]
        bounds = Array(Set(bounds)).sorted()
        for i in 0..<(bounds.count - 1) {
            let lo = bounds[i], hi = bounds[i + 1] - 1
            try add(lo, hi, try sample(lo), try sample(hi), sample)
        }
    }

    /// Adds the steps lo ... hi, whose ends are sampled.
    mutating func add(_ lo: Int, _ hi: Int, _ a: Sample, _ b: Sample, _ sample: (Int) throws -> Sample) throws {
        if hi == lo {
            include(a, weight: 1)
            return
        }
        if hi == lo + 1 {
            include(a, weight: 1)
            include(b, weight: 1)
            return
        }
        let mid = lo + (hi - lo) / 2
        let m = try sample(mid)
        if Self.affine(a, m, b, lo: lo, mid: mid, hi: hi) {
            let n = Double(hi - lo + 1)
            flops += n * Double(a.step.flops + b.step.flops) / 2
            quantizationFlops += n * Double(a.step.quantizationFlops + b.step.quantizationFlops) / 2
            bytes += n * Double(a.step.bytes + b.step.bytes) / 2
            for (node, ea) in a.entries {
                guard let eb = b.entries[node] else { continue }
                time += Self.sumOfMax(ea.cost.computeTime, ea.cost.memoryTime, eb.cost.computeTime, eb.cost.memoryTime, count: hi - lo + 1)
            }
            // Tensor-parallel collectives: their buffers are one token's activations, the
            // same at every position.
            time += n * (a.step.communicationTime + b.step.communicationTime) / 2
            return
        }
        // Halve: lo ... mid and mid ... hi, mid counted once.
        try add(lo, mid, a, m, sample)
        try add(mid, hi, m, b, sample)
        include(m, weight: -1)
    }

    mutating func include(_ s: Sample, weight: Double) {
        flops += weight * Double(s.step.flops)
        quantizationFlops += weight * Double(s.step.quantizationFlops)
        bytes += weight * Double(s.step.bytes)
        time += weight * s.step.time
    }

    /// Do the three samples lie on one line in every entry's integers, with the same
    /// entries and types?
    static func affine(_ a: Sample, _ m: Sample, _ b: Sample, lo: Int, mid: Int, hi: Int) -> Bool {
        guard Set(a.entries.keys) == Set(m.entries.keys), Set(a.entries.keys) == Set(b.entries.keys) else { return false }
        func line(_ fa: Int, _ fm: Int, _ fb: Int) -> Bool {
            // fm (hi - lo) == fa (hi - mid) + fb (mid - lo), in 128 bits.
            let left = Int128(fm) * Int128(hi - lo)
            let right = Int128(fa) * Int128(hi - mid) + Int128(fb) * Int128(mid - lo)
            return left == right
        }
        guard a.step.communicationTime == m.step.communicationTime, a.step.communicationTime == b.step.communicationTime,
              line(a.step.flops, m.step.flops, b.step.flops), line(a.step.bytes, m.step.bytes, b.step.bytes),
              line(a.step.quantizationFlops, m.step.quantizationFlops, b.step.quantizationFlops) else { return false }
        for (node, ea) in a.entries {
            guard let em = m.entries[node], let eb = b.entries[node] else { return false }
            guard ea.computeType == em.computeType, ea.computeType == eb.computeType,
                  ea.quantizedFormat == em.quantizedFormat, ea.quantizedFormat == eb.quantizedFormat,
                  line(ea.flops, em.flops, eb.flops), line(ea.matrixFlops, em.matrixFlops, eb.matrixFlops),
                  line(ea.bytes, em.bytes, eb.bytes) else { return false }
        }
        return true
    }

    /// The sum over `count` equally spaced points (t = 0 ... count - 1) of max(c(t), m(t)),
    /// c and m affine with c(0) = c0, c(count - 1) = c1 (m likewise).
    static func sumOfMax(_ c0: Double, _ m0: Double, _ c1: Double, _ m1: Double, count: Int) -> Double {
        guard count > 1 else { return max(c0, m0) }
        let last = Double(count - 1)
        /// The sum of the affine f (f(0) = f0, f(last) = f1) over the points i ... j.
        func sum(_ f0: Double, _ f1: Double, _ i: Int, _ j: Int) -> Double {
            guard j >= i else { return 0 }
            let fi = f0 + (f1 - f0) * Double(i) / last, fj = f0 + (f1 - f0) * Double(j) / last
            return Double(j - i + 1) * (fi + fj) / 2
        }
        let d0 = c0 - m0, d1 = c1 - m1
        if d0 >= 0 && d1 >= 0 { return sum(c0, c1, 0, count - 1) }
        if d0 <= 0 && d1 <= 0 { return sum(m0, m1, 0, count - 1) }
        // They cross at t* = d0 / (d0 - d1) x last: points up to floor(t*) on d0's side.
        let crossing = d0 / (d0 - d1) * last
        let k = min(count - 1, max(0, Int(crossing.rounded(.down))))
        if d0 > 0 { return sum(c0, c1, 0, k) + sum(m0, m1, k + 1, count - 1) }
        return sum(m0, m1, 0, k) + sum(c0, c1, k + 1, count - 1)
    }
}
