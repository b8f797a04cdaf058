import Foundation

/// Matrix multiplication for the kernels: C (+)= op(A) * op(B), row-major, with
/// op = identity or transpose. Packs op(A) and op(B) into row-major panels and runs a
/// register-blocked kernel over row blocks on all cores.
///
/// Counting: every executed k-step of the micro-kernel updates an mr x nr block of C
/// with mr * nr multiply-accumulates, and the tally records exactly those, so the total
/// is M * N * K MACs for every shape (tails included).
enum GEMM {
    /// C[M x N] = (accumulate ? C : 0) + op(A)[M x K] * op(B)[K x N].
    /// `a` is M x K (or K x M when `transposeA`), `b` is K x N (or N x K when `transposeB`),
    /// with leading dimensions `lda`, `ldb`, `ldc`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func multiply<T: KernelScalar>(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<T>, lda: Int, transposeA: Bool,
        b: UnsafePointer<T>, ldb: Int, transposeB: Bool,
        c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool,
        cColumnStride: Int = 1, cRowWidth: Int = 0, cSegmentStride: Int = 0, parallel: Bool = true
    ) -> WorkTally {
        guard m > 0, n > 0 else { return WorkTally() }
        // Segmented output columns (the direct scatter over whole images): column
        // j of C lives at (j / cRowWidth) * cSegmentStride + (j % cRowWidth) * cColumnStride.
        let width = cRowWidth > 0 && cRowWidth < n ? cRowWidth : n
        #if NNFLOPS_NATIVE_KERNELS
        // Release builds for the host CPU: float32 through the packed FMA micro-kernel
        // (GEMMPacked.swift). Fewer than 4 rows stream B once through the loop below.
        if T.self == Float.self, k > 0, m >= 4 {
            return PackedGEMM.multiply(m: m, n: n, k: k,
                                       a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda, transposeA: transposeA,
                                       b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb, transposeB: transposeB,
                                       c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc, accumulate: accumulate,
                                       cs: cColumnStride, width: width, segment: cSegmentStride, parallel: parallel)
        }
        #endif
        if width < n {
            // Portable / float64 path: one GEMM per segment of `width` columns.
            var tally = WorkTally()
            var j0 = 0
            while j0 < n {
                let w = min(width, n - j0)
                tally += multiply(m: m, n: w, k: k, a: a, lda: lda, transposeA: transposeA,
                                  b: transposeB ? b + j0 * ldb : b + j0, ldb: ldb, transposeB: transposeB,
                                  c: c + (j0 / width) * cSegmentStride, ldc: ldc, accumulate: accumulate,
                                  cColumnStride: cColumnStride, parallel: parallel)
                j0 += w
            }
            return tally
        }
        if !accumulate {
            for i in 0..<m {
                if cColumnStride == 1 { (c + i * ldc).update(repeating: 0, count: n) } else { for j in 0..<n { c[i * ldc + j * cColumnStride] = 0 } }
            }
        }
        guard k > 0 else { return WorkTally() }
        // Pack op(B) as K x N row-major (contiguous rows for the vector loop). The packed
        // copies are owned here and freed on return (a pointer from allocate always exists,
        // where an empty array's buffer has none).
        var packedB: UnsafeMutablePointer<T>?
        defer { packedB?.deallocate() }
        let bRows: UnsafePointer<T>
        let ldB: Int
        if transposeB {
            let p = UnsafeMutablePointer<T>.allocate(capacity: k * n)
            p.initialize(repeating: 0, count: k * n)
            packedB = p
            for kk in 0..<k {
                for j in 0..<n { p[kk * n + j] = transposeB ? b[j * ldb + kk] : b[kk * ldb + j] }
            }
            bRows = UnsafePointer(p)
            ldB = n
        } else {
            bRows = b
            ldB = ldb
        }
        // Pack op(A) as M x K row-major when transposed.
        var packedA: UnsafeMutablePointer<T>?
        defer { packedA?.deallocate() }
        let aRows: UnsafePointer<T>
        let ldA: Int
        if transposeA {
            let p = UnsafeMutablePointer<T>.allocate(capacity: m * k)
            p.initialize(repeating: 0, count: m * k)
            packedA = p
            for kk in 0..<k { for i in 0..<m { p[i * k + kk] = a[kk * lda + i] } }
            aRows = UnsafePointer(p)
            ldA = k
        } else {
            aRows = a
            ldA = lda
        }
        let counter = TallyBox()
        let blocks = (m + 3) / 4
        let cPointer = SendablePointer(c)
        let aPointer = SendablePointer(UnsafeMutablePointer(mutating: aRows))
        let bPointer = SendablePointer(UnsafeMutablePointer(mutating: bRows))
        let body: (Range<Int>) -> Void = { range in
            var tally = WorkTally()
            for block in range {
                let i0 = block * 4
                let rows = min(4, m - i0)
                tally += rowBlock(rows: rows, n: n, k: k, a: aPointer.pointer + i0 * ldA, lda: ldA,
                                  b: bPointer.pointer, ldb: ldB, c: cPointer.pointer + i0 * ldc, ldc: ldc, cs: cColumnStride)
            }
            counter.add(tally)
        }
        if parallel { parallelFor(blocks, cost: 4 * n * k, body) } else { body(0..<blocks) }
        return counter.value
    }

    /// Up to 4 rows of C: for each k, C[r, :] += A[r, k] * B[k, :] (vectorised over the row).
    @inline(__always)
    static func rowBlock<T: KernelScalar>(rows: Int, n: Int, k: Int, a: UnsafeMutablePointer<T>, lda: Int,
                                          b: UnsafeMutablePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int, cs: Int) -> WorkTally {
        var tally = WorkTally()
        if cs != 1 {
            // Strided output columns (direct-scatter convolution with stride > 1).
            for r in 0..<rows {
                let cr = c + r * ldc
                for kk in 0..<k {
                    let ar = a[r * lda + kk]
                    let bk = b + kk * ldb
                    for j in 0..<n { cr[j * cs] += ar * bk[j] }
                    tally.mac(n)
                }
            }
            return tally
        }
        let tile = 256
        var j0 = 0
        while j0 < n {
            let width = min(tile, n - j0)
            if rows == 4 {
                let c0 = c + j0, c1 = c + ldc + j0, c2 = c + 2 * ldc + j0, c3 = c + 3 * ldc + j0
                for kk in 0..<k {
                    let a0 = a[kk], a1 = a[lda + kk], a2 = a[2 * lda + kk], a3 = a[3 * lda + kk]
                    let bk = b + kk * ldb + j0
                    for j in 0..<width {
                        let bv = bk[j]
                        c0[j] += a0 * bv
                        c1[j] += a1 * bv
                        c2[j] += a2 * bv
                        c3[j] += a3 * bv
                    }
                    tally.mac(4 * width)
                }
            } else {
                for r in 0..<rows {
                    let cr = c + r * ldc + j0
                    for kk in 0..<k {
                        let ar = a[r * lda + kk]
                        let bk = b + kk * ldb + j0
                        for j in 0..<width { cr[j] += ar * bk[j] }
                        tally.mac(width)
                    }
                }
            }
            j0 += width
        }
        return tally
    }
}

/// A thread-safe tally accumulator for parallel loops.
final class TallyBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = WorkTally()
    func add(_ tally: WorkTally) {
        lock.lock()
        value += tally
        lock.unlock()
    }
}
