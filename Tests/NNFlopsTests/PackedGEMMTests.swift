import Testing
@testable import NNFlops

/// The packed FMA GEMM is what release builds run for float32 (GEMM.swift routes to it
/// under NNFLOPS_NATIVE_KERNELS), but debug test builds take the portable loop. So it is
/// tested here directly: against a float64 reference product, and for its exact count
/// of M*N*K multiply-accumulates.
@Suite struct PackedGEMMTests {
    /// Deterministic values in [-1, 1).
    func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(((($0 &* 7919 &+ seed &* 104729) % 1000) - 500)) / 500 }
    }

    func check(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, accumulate: Bool) {
        let a = values(m * k, seed: 1), b = values(k * n, seed: 2)
        let initial = values(m * n, seed: 3)
        var c = initial
        // Row-major; a transposed operand is stored as its transpose.
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        // The arrays pass as pointers to their elements for the call.
        let tally = PackedGEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA,
                                        b: b, ldb: ldb, transposeB: transposeB,
                                        c: &c, ldc: n, accumulate: accumulate,
                                        cs: 1, width: n, segment: 0, parallel: true)
        #expect(tally.macs == m * n * k, "m=\(m) n=\(n) k=\(k)")
        #expect(tally.flops == 2 * m * n * k)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = accumulate ? Double(initial[i * n + j]) : 0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p]
                    let y = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += Double(x) * Double(y)
                }
                worst = max(worst, abs(Double(c[i * n + j]) - sum) / max(1, abs(sum)))
            }
        }
        #expect(worst < 1e-5, "m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) acc=\(accumulate): \(worst)")
    }

    @Test(arguments: [(8, 32, 16), (13, 45, 7), (4, 1, 300), (97, 33, 257), (9, 530, 3)])
    func matchesReference(shape: (Int, Int, Int)) {
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                check(m: shape.0, n: shape.1, k: shape.2, transposeA: transposeA, transposeB: transposeB, accumulate: shape.0 % 2 == 1)
            }
        }
    }
}
