#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Shared pieces of the convolution kernels.
///
/// - `im2col`: the columns of a (virtually zero-padded) stack of planes, one row per
///   (channel, tap), one column per output position; padded taps are explicit zeros,
///   so the GEMM over them executes every tap, as the reference algorithm counts.
/// - `scatter`: the direct scatter of `conv_transpose2d` (and of conv2d's input
///   gradient): dst[c, i*s + a*d, j*s + b*d] += sum_k A_tap[c, k] * src[k, i, j] for
///   every tap (a, b) and source position (i, j), run as one GEMM per tap over all
///   source positions that accumulates straight into the padded destination: every executed MAC is one
///   term of the sum, with no separate col2im adds.
enum Conv {
    /// cols[(c * kh + a) * kw + b, i * ow + j] = src[c, i*s + a*d - p, j*s + b*d - p] (0 outside).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func im2col<T: KernelScalar>(_ src: UnsafePointer<T>, channels: Int, height h: Int, width w: Int,
                                        kernel: [Int], stride: [Int], dilation: [Int], padding: [Int],
                                        outHeight oh: Int, outWidth ow: Int, into cols: UnsafeMutablePointer<T>) {
        let (kh, kw) = (kernel[0], kernel[1])
        let rows = channels * kh * kw
        let ps = SendablePointer(UnsafeMutablePointer(mutating: src)), pc = SendablePointer(cols)
        parallelFor(rows, cost: oh * ow) { range in
            for row in range {
                let c = row / (kh * kw), a = (row / kw) % kh, b = row % kw
                let plane = ps.pointer + c * h * w
                let out = pc.pointer + row * oh * ow
                for i in 0..<oh {
                    let r = i * stride[0] + a * dilation[0] - padding[0]
                    let line = out + i * ow
                    guard r >= 0 && r < h else { line.update(repeating: 0, count: ow); continue }
                    let source = plane + r * w
                    let offset = b * dilation[1] - padding[1]
                    if stride[1] == 1 {
                        for j in 0..<ow {
                            let col = j + offset
                            line[j] = col >= 0 && col < w ? source[col] : 0
                        }
                    } else {
                        for j in 0..<ow {
                            let col = j * stride[1] + offset
                            line[j] = col >= 0 && col < w ? source[col] : 0
                        }
                    }
                }
            }
        }
    }

    /// dst[c, i*s + a*d, j*s + b*d] += sum_k taps[(a*kw + b)][c, k] * src[k, i, j] over
    /// c in `rows` (dst planes of dh x dw), k < depth, i < sh, j < sw. Returns the tally.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func scatter<T: KernelScalar>(taps: UnsafePointer<T>, rows: Range<Int>, outChannels: Int, depth: Int,
                                         src: UnsafePointer<T>, sourceHeight sh: Int, sourceWidth sw: Int,
                                         kernel: [Int], stride: [Int], dilation: [Int],
                                         dst: UnsafeMutablePointer<T>, dstHeight dh: Int, dstWidth dw: Int,
                                         parallel: Bool = false) -> WorkTally {
        var tally = WorkTally()
        let (kh, kw) = (kernel[0], kernel[1])
        for a in 0..<kh {
            for b in 0..<kw {
                // One GEMM per tap over every source position: column (i, j) of the
                // product lands at dst[., i*s + a*d, j*s + b*d] (segments of sw columns).
                let tap = taps + (a * kw + b) * outChannels * depth + rows.lowerBound * depth
                let target = dst + rows.lowerBound * dh * dw + a * dilation[0] * dw + b * dilation[1]
                tally += GEMM.multiply(m: rows.count, n: sh * sw, k: depth, a: tap, lda: depth, transposeA: false,
                                       b: src, ldb: sh * sw, transposeB: false,
                                       c: target, ldc: dh * dw, accumulate: true, cColumnStride: stride[1],
                                       cRowWidth: sw, cSegmentStride: stride[0] * dw, parallel: parallel)
            }
        }
        return tally
    }
}

/// Reusable scratch memory for the kernels (im2col columns, padded gradients, GEMM
/// packing panels): buffers are kept after use and handed out again, so repeated calls
/// do not pay for fresh allocations and their page faults. Contents are uninitialised;
/// callers write (or zero) what they read. Not part of the tracked tensor memory.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    private let lock = Lock()
    private var free: [(pointer: UnsafeMutableRawPointer, bytes: Int)] = []
    private let keep = 16

    /// Runs `body` with `count` uninitialised elements of `T` (64-byte aligned).
    @inline(__always)
    func with<T, R>(_: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) throws -> R) rethrows -> R {
        let bytes = max(64, count * MemoryLayout<T>.stride)
        let buffer = take(bytes)
        defer { give(buffer) }
        return try body(buffer.pointer.bindMemory(to: T.self, capacity: count))
    }

    private func take(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int) {
        lock.lock()
        // The smallest free buffer that fits; else replace the largest one.
        var best = -1
        for (i, b) in free.enumerated() where b.bytes >= bytes && (best < 0 || b.bytes < free[best].bytes) { best = i }
        if best >= 0 {
            let b = free.remove(at: best)
            lock.unlock()
            return b
        }
        var victim: (pointer: UnsafeMutableRawPointer, bytes: Int)?
        if let largest = free.indices.max(by: { free[$0].bytes < free[$1].bytes }) { victim = free.remove(at: largest) }
        lock.unlock()
        victim?.pointer.deallocate()
        return (UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64), bytes)
    }

    private func give(_ buffer: (pointer: UnsafeMutableRawPointer, bytes: Int)) {
        lock.lock()
        free.append(buffer)
        var dropped: (pointer: UnsafeMutableRawPointer, bytes: Int)?
        if free.count > keep, let smallest = free.indices.min(by: { free[$0].bytes < free[$1].bytes }) { dropped = free.remove(at: smallest) }
        lock.unlock()
        dropped?.pointer.deallocate()
    }
}
