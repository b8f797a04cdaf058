#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch

/// The packed, register-blocked float32 GEMM behind `GEMM.multiply` in release builds
/// compiled for the host CPU (`NNFLOPS_NATIVE_KERNELS`, set by Package.swift together
/// with `-target-cpu native`, so `addingProduct` lowers to vfmadd).
///
/// BLIS-style: C is cut into MC x NC blocks (the parallel work items, spread over the
/// cores); for each KC-deep slice of K, op(A)'s MC x KC block is packed into 8-row
/// micro-panels ([k][8]) and op(B)'s KC x NC block into 32-column micro-panels ([k][32]),
/// then an 8 x 32 micro-kernel runs over every (8-row, 32-column) tile with 16
/// SIMD16<Float> accumulators held in registers. Transposed operands are handled by the
/// packing, at no extra arithmetic.
///
/// Counting: each micro-kernel call over a tile with `rows` x `cols` elements of C and a
/// KC slice of depth `kc` executes rows * cols * kc multiply-accumulates of the
/// reference algorithm (each C element gets one MAC per k, the first k-slice starting
/// from 0 or from C), and records exactly those: M * N * K MACs in total, no other adds.
/// Edge tiles run on zero-padded panels in a scratch tile; the padded lanes are not part
/// of the product, are discarded, and are not counted.
enum PackedGEMM {
    typealias V = SIMD16<Float>
    static let mr = 8, nr = 32
    static let kcBlock = 256, mcBlock = 96, ncBlock = 512

    @inline(__always) static func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func ld(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func st(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }

    /// The 8 x 32 micro-kernel: C[0..<8, 0..<32] (+)= Ap * Bp over `kc` steps, with
    /// Ap packed as [kc][8] and Bp as [kc][32]; 16 SIMD16<Float> accumulators stay in
    /// registers and every step is 16 fused multiply-adds. `load`: start from C (else 0).
    @inline(__always)
    static func micro(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                      c: UnsafeMutablePointer<Float>, ldc: Int, load: Bool) {
        var c00 = V(), c01 = V()
        var c10 = V(), c11 = V()
        var c20 = V(), c21 = V()
        var c30 = V(), c31 = V()
        var c40 = V(), c41 = V()
        var c50 = V(), c51 = V()
        var c60 = V(), c61 = V()
        var c70 = V(), c71 = V()
        if load {
            c00 = ld(c + 0 * ldc + 0); c01 = ld(c + 0 * ldc + 16)
            c10 = ld(c + 1 * ldc + 0); c11 = ld(c + 1 * ldc + 16)
            c20 = ld(c + 2 * ldc + 0); c21 = ld(c + 2 * ldc + 16)
            c30 = ld(c + 3 * ldc + 0); c31 = ld(c + 3 * ldc + 16)
            c40 = ld(c + 4 * ldc + 0); c41 = ld(c + 4 * ldc + 16)
            c50 = ld(c + 5 * ldc + 0); c51 = ld(c + 5 * ldc + 16)
            c60 = ld(c + 6 * ldc + 0); c61 = ld(c + 6 * ldc + 16)
            c70 = ld(c + 7 * ldc + 0); c71 = ld(c + 7 * ldc + 16)
        }
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = ld(pb + 0); let b1 = ld(pb + 16)
            let a0 = V(repeating: pa[0]); c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1)
            let a1 = V(repeating: pa[1]); c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1)
            let a2 = V(repeating: pa[2]); c20 = c20.addingProduct(a2, b0); c21 = c21.addingProduct(a2, b1)
            let a3 = V(repeating: pa[3]); c30 = c30.addingProduct(a3, b0); c31 = c31.addingProduct(a3, b1)
            let a4 = V(repeating: pa[4]); c40 = c40.addingProduct(a4, b0); c41 = c41.addingProduct(a4, b1)
            let a5 = V(repeating: pa[5]); c50 = c50.addingProduct(a5, b0); c51 = c51.addingProduct(a5, b1)
            let a6 = V(repeating: pa[6]); c60 = c60.addingProduct(a6, b0); c61 = c61.addingProduct(a6, b1)
            let a7 = V(repeating: pa[7]); c70 = c70.addingProduct(a7, b0); c71 = c71.addingProduct(a7, b1)
            pa += 8; pb += 32
        }
        st(c00, c + 0 * ldc + 0); st(c01, c + 0 * ldc + 16)
        st(c10, c + 1 * ldc + 0); st(c11, c + 1 * ldc + 16)
        st(c20, c + 2 * ldc + 0); st(c21, c + 2 * ldc + 16)
        st(c30, c + 3 * ldc + 0); st(c31, c + 3 * ldc + 16)
        st(c40, c + 4 * ldc + 0); st(c41, c + 4 * ldc + 16)
        st(c50, c + 5 * ldc + 0); st(c51, c + 5 * ldc + 16)
        st(c60, c + 6 * ldc + 0); st(c61, c + 6 * ldc + 16)
        st(c70, c + 7 * ldc + 0); st(c71, c + 7 * ldc + 16)
    }

    /// C[M x N] = (accumulate ? C : 0) + op(A) * op(B); see `GEMM.multiply`. Column j of C
    /// is at (j / width) * segment + (j % width) * cs. Returns the executed MACs (M * N * K).
    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                         b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                         c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
                         cs: Int, width: Int, segment: Int, parallel: Bool) -> WorkTally {
        let mBlocks = (m + mcBlock - 1) / mcBlock
        // Narrow the column blocks when there are too few items for both cores.
        var nc = ncBlock
        if parallel && executorThreads > 1 {
            while nc > nr && mBlocks * ((n + nc - 1) / nc) < 2 * executorThreads { nc /= 2 }
        }
        let nBlocks = (n + nc - 1) / nc
        let items = mBlocks * nBlocks
        let counter = TallyBox()
        let pa = SendablePointer(UnsafeMutablePointer(mutating: a))
        let pb = SendablePointer(UnsafeMutablePointer(mutating: b))
        let pc = SendablePointer(c)
        let body: (Range<Int>) -> Void = { range in
            let kcMax = min(kcBlock, k)
            // Packing panels and the edge tile in one reused scratch buffer (no fresh pages per call).
            let aCount = mcBlock * kcMax, bCount = kcMax * ((nc + nr - 1) / nr) * nr
            let tally = ScratchPool.shared.with(Float.self, count: aCount + bCount + mr * nr) { scratch -> WorkTally in
            let aPack = scratch, bPack = scratch + aCount, tile = scratch + aCount + bCount
            var tally = WorkTally()
            for item in range {
                let i0 = (item / nBlocks) * mcBlock, j0 = (item % nBlocks) * nc
                let mc = min(mcBlock, m - i0), ncur = min(nc, n - j0)
                var p0 = 0
                while p0 < k {
                    let kc = min(kcBlock, k - p0)
                    packA(a: pa.pointer, lda: lda, transposed: transposeA, i0: i0, rows: mc, p0: p0, kc: kc, into: aPack)
                    packB(b: pb.pointer, ldb: ldb, transposed: transposeB, j0: j0, cols: ncur, p0: p0, kc: kc, into: bPack)
                    let load = accumulate || p0 > 0
                    var jr = 0
                    while jr < ncur {
                        let cols = min(nr, ncur - jr)
                        let bPanel = bPack + (jr / nr) * nr * kc
                        var ir = 0
                        while ir < mc {
                            let rows = min(mr, mc - ir)
                            let aPanel = aPack + (ir / mr) * mr * kc
                            let jt = j0 + jr, inRow = jt % width
                            let cRows = pc.pointer + (i0 + ir) * ldc
                            if rows == mr && cols == nr && cs == 1 && inRow + nr <= width {
                                micro(kc: kc, a: aPanel, b: bPanel, c: cRows + (jt / width) * segment + inRow, ldc: ldc, load: load)
                            } else {
                                // Edge, strided or segment-crossing tile: through the scratch tile.
                                if load {
                                    tile.update(repeating: 0, count: mr * nr)
                                    for r in 0..<rows {
                                        var seg = jt / width, col = inRow
                                        for j in 0..<cols {
                                            tile[r * nr + j] = cRows[r * ldc + seg * segment + col * cs]
                                            col += 1; if col == width { col = 0; seg += 1 }
                                        }
                                    }
                                }
                                micro(kc: kc, a: aPanel, b: bPanel, c: tile, ldc: nr, load: load)
                                for r in 0..<rows {
                                    var seg = jt / width, col = inRow
                                    for j in 0..<cols {
                                        cRows[r * ldc + seg * segment + col * cs] = tile[r * nr + j]
                                        col += 1; if col == width { col = 0; seg += 1 }
                                    }
                                }
                            }
                            tally.mac(rows * cols * kc)
                            ir += mr
                        }
                        jr += nr
                    }
                    p0 += kc
                }
            }
            return tally
            }
            counter.add(tally)
        }
        if parallel && items > 1 && executorThreads > 1 && m * n * k >= 1 << 16 {
            nonisolated(unsafe) let body = body
            let chunks = min(items, executorThreads)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                body((items * chunk / chunks)..<(items * (chunk + 1) / chunks))
            }
        } else {
            body(0..<items)
        }
        return counter.value
    }

    /// Packs op(A)[i0..<i0+rows, p0..<p0+kc] as 8-row micro-panels [k][8], zero-padded.
    @inline(__always)
    static func packA(a: UnsafeMutablePointer<Float>, lda: Int, transposed: Bool, i0: Int, rows: Int, p0: Int, kc: Int,
                      into out: UnsafeMutablePointer<Float>) {
        var ir = 0
        while ir < rows {
            let panel = out + (ir / mr) * mr * kc
            let r = min(mr, rows - ir)
            if transposed {
                // op(A)[i, p] = a[p * lda + i]: rows of a are contiguous in i.
                for p in 0..<kc {
                    let src = a + (p0 + p) * lda + i0 + ir, dst = panel + p * mr
                    for q in 0..<r { dst[q] = src[q] }
                    for q in r..<mr { dst[q] = 0 }
                }
            } else {
                for q in 0..<r {
                    let src = a + (i0 + ir + q) * lda + p0
                    for p in 0..<kc { panel[p * mr + q] = src[p] }
                }
                for q in r..<mr { for p in 0..<kc { panel[p * mr + q] = 0 } }
            }
            ir += mr
        }
    }

    /// Packs op(B)[p0..<p0+kc, j0..<j0+cols] as 32-column micro-panels [k][32], zero-padded.
    @inline(__always)
    static func packB(b: UnsafeMutablePointer<Float>, ldb: Int, transposed: Bool, j0: Int, cols: Int, p0: Int, kc: Int,
                      into out: UnsafeMutablePointer<Float>) {
        var jr = 0
        while jr < cols {
            let panel = out + (jr / nr) * nr * kc
            let w = min(nr, cols - jr)
            if transposed {
                // op(B)[p, j] = b[j * ldb + p]: rows of b are contiguous in p.
                for q in 0..<w {
                    let src = b + (j0 + jr + q) * ldb + p0
                    for p in 0..<kc { panel[p * nr + q] = src[p] }
                }
                if w < nr { for p in 0..<kc { for q in w..<nr { panel[p * nr + q] = 0 } } }
            } else if w == nr {
                for p in 0..<kc {
                    let src = b + (p0 + p) * ldb + j0 + jr
                    st(ld(src), panel + p * nr)
                    st(ld(src + 16), panel + p * nr + 16)
                }
            } else {
                for p in 0..<kc {
                    let src = b + (p0 + p) * ldb + j0 + jr, dst = panel + p * nr
                    for q in 0..<w { dst[q] = src[q] }
                    for q in w..<nr { dst[q] = 0 }
                }
            }
            jr += nr
        }
    }
}
