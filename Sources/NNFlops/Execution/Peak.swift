import Foundation

/// Measured arithmetic peaks of this machine for the executor's speed report
/// (`nnflops validate --peak`): every core runs independent SIMD16<Float> chains of
/// fused multiply-adds (`addingProduct`, 2 FLOPs per lane) and, separately, of a
/// multiply followed by an add (what the kernels' `c += a * b` compiles to without
/// FP contraction), and a 512^3 GEMM through the executor's own `GEMM.multiply`.
public struct MeasuredPeak: Sendable {
    public var fmaFLOPsPerSecond: Double
    public var mulAddFLOPsPerSecond: Double
    public var gemmFLOPsPerSecond: Double
    public var threads: Int

    public static func measure(seconds: Double = 0.3) -> MeasuredPeak {
        let fma = parallelRate(seconds: seconds) { iterations in fmaChain(iterations) }
        let mulAdd = parallelRate(seconds: seconds) { iterations in mulAddChain(iterations) }
        // GEMM: 512 x 512 x 512, best of a few runs.
        let n = 512
        var a = [Float](repeating: 0, count: n * n), b = a, c = a
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        var best = 0.0
        for _ in 0..<4 {
            let start = DispatchTime.now().uptimeNanoseconds
            let tally = withElements(&a) { pa in
                withElements(&b) { pb in
                    withElements(&c) { pc in
                        GEMM.multiply(m: n, n: n, k: n, a: pa, lda: n, transposeA: false,
                                      b: pb, ldb: n, transposeB: false, c: pc, ldc: n, accumulate: false)
                    }
                }
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = max(best, Double(tally.flops) / elapsed)
        }
        return MeasuredPeak(fmaFLOPsPerSecond: fma, mulAddFLOPsPerSecond: mulAdd, gemmFLOPsPerSecond: best, threads: executorThreads)
    }

    /// Runs `body(iterations)` (returning FLOPs done) on every thread, doubling the work
    /// until it takes `seconds`; returns total FLOP/s.
    static func parallelRate(seconds: Double, _ body: @escaping @Sendable (Int) -> Double) -> Double {
        var iterations = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            let box = TallyBox()
            let count = iterations
            DispatchQueue.concurrentPerform(iterations: executorThreads) { _ in
                box.add(WorkTally(flops: Int(body(count))))
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if elapsed >= seconds || iterations > 1 << 30 { return Double(box.value.flops) / elapsed }
            iterations *= 2
        }
    }

    @inline(never)
    static func fmaChain(_ iterations: Int) -> Double {
        let a = SIMD16<Float>(repeating: 0.999_999), b = SIMD16<Float>(repeating: 1e-7)
        var acc = (0..<10).map { SIMD16<Float>(repeating: Float($0)) }
        var a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7], a8 = acc[8], a9 = acc[9]
        for _ in 0..<iterations {
            a0 = a0.addingProduct(a, b); a1 = a1.addingProduct(a, b); a2 = a2.addingProduct(a, b); a3 = a3.addingProduct(a, b)
            a4 = a4.addingProduct(a, b); a5 = a5.addingProduct(a, b); a6 = a6.addingProduct(a, b); a7 = a7.addingProduct(a, b)
            a8 = a8.addingProduct(a, b); a9 = a9.addingProduct(a, b)
        }
        acc = [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9]
        let sink = acc.reduce(SIMD16<Float>(), +).sum()
        return Double(iterations) * 10 * 16 * 2 + (sink == .infinity ? 1 : 0)
    }

    @inline(never)
    static func mulAddChain(_ iterations: Int) -> Double {
        let a = SIMD16<Float>(repeating: 0.999_999), b = SIMD16<Float>(repeating: 1e-7)
        var acc = (0..<10).map { SIMD16<Float>(repeating: Float($0)) }
        var a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7], a8 = acc[8], a9 = acc[9]
        for _ in 0..<iterations {
            a0 = a0 * a + b; a1 = a1 * a + b; a2 = a2 * a + b; a3 = a3 * a + b; a4 = a4 * a + b
            a5 = a5 * a + b; a6 = a6 * a + b; a7 = a7 * a + b; a8 = a8 * a + b; a9 = a9 * a + b
        }
        acc = [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9]
        let sink = acc.reduce(SIMD16<Float>(), +).sum()
        return Double(iterations) * 10 * 16 * 2 + (sink == .infinity ? 1 : 0)
    }
}
