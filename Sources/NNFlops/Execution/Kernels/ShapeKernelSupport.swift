#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Shared loops of the shape, attention and reduction kernels: copies that move elements
/// without arithmetic (0 FLOPs: they count nothing), an axis decomposition, a SIMD dot
/// product, and a counter-based random stream for attention dropout.
///
/// Copies work on any dtype: floating-point tensors hold `T`, integer and boolean tensors
/// `Int32` (see `Tensor`), so they move elements of the tensor's storage size.

/// A tensor viewed as [outer, length, inner] around one axis.
struct AxisLayout: Sendable {
    let outer: Int
    let length: Int
    let inner: Int
    init(_ shape: [Int], axis: Int) {
        outer = shape[..<axis].reduce(1, *)
        length = shape[axis]
        inner = shape[(axis + 1)...].reduce(1, *)
    }
}

extension Tensor {
    /// Bytes of one stored element (T for floating point, Int32 otherwise).
    var storageStride: Int { dtype.isFloatingPoint ? MemoryLayout<T>.stride : MemoryLayout<Int32>.stride }
}

/// Copies `count` elements from element `from` of `source` to element `to` of `destination`.
@inline(__always)
func copyElements<T>(_ source: Tensor<T>, from: Int, to destination: Tensor<T>, at to: Int, count: Int) {
    guard count > 0 else { return }
    let s = source.storageStride
    (destination.raw + to * s).copyMemory(from: source.raw + from * s, byteCount: count * s)
}

/// Copies the [outer, part, inner] block of `source` (a tensor of `layout`) that starts at
/// `start` along the axis into `destination` at `destinationStart` of its own axis of
/// `destinationLength` (concat, split, slice with step 1, select).
func copyAxisBlock<T>(_ source: Tensor<T>, _ layout: AxisLayout, start: Int, part: Int,
                      into destination: Tensor<T>, destinationStart: Int, destinationLength: Int) {
    let run = part * layout.inner
    for o in 0..<layout.outer {
        copyElements(source, from: (o * layout.length + start) * layout.inner,
                     to: destination, at: (o * destinationLength + destinationStart) * layout.inner, count: run)
    }
}

/// destination = source with its dimensions reordered: destination dimension k is source
/// dimension `order[k]`. Copies only.
func permuteCopy<T>(_ source: Tensor<T>, order: [Int], into destination: Tensor<T>) {
    let shape = source.shape, rank = shape.count
    guard rank > 0, source.count > 0 else {
        copyElements(source, from: 0, to: destination, at: 0, count: source.count)
        return
    }
    var strides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
    let outShape = order.map { shape[$0] }
    let outStrides = order.map { strides[$0] }
    let inner = outShape[rank - 1], innerStride = outStrides[rank - 1]
    let rows = source.count / inner
    if source.dtype.isFloatingPoint {
        permuteRows(source.values, destination.values, rows: rows, inner: inner, innerStride: innerStride, shape: outShape, strides: outStrides)
    } else {
        permuteRows(source.indices, destination.indices, rows: rows, inner: inner, innerStride: innerStride, shape: outShape, strides: outStrides)
    }
}

private func permuteRows<E>(_ src: UnsafeMutablePointer<E>, _ dst: UnsafeMutablePointer<E>, rows: Int, inner: Int,
                            innerStride: Int, shape: [Int], strides: [Int]) {
    let rank = shape.count
    var index = [Int](repeating: 0, count: rank)
    var offset = 0
    for row in 0..<rows {
        let out = dst + row * inner, base = src + offset
        if innerStride == 1 {
            out.update(from: base, count: inner)
        } else {
            for j in 0..<inner { out[j] = base[j * innerStride] }
        }
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < shape[axis] { break }
            offset -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// The inverse of a permutation.
func inversePermutation(_ order: [Int]) -> [Int] {
    var inverse = [Int](repeating: 0, count: order.count)
    for (k, axis) in order.enumerated() { inverse[axis] = k }
    return inverse
}

/// sum_k a[k] * b[k] over n contiguous elements, 8 lanes at a time. The caller counts
/// n multiply-accumulates.
@inline(__always)
func dot<T: KernelScalar>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ n: Int) -> T {
    var acc = SIMD8<T>(repeating: 0)
    var k = 0
    while k + 8 <= n {
        let va = UnsafeRawPointer(a + k).loadUnaligned(as: SIMD8<T>.self)
        let vb = UnsafeRawPointer(b + k).loadUnaligned(as: SIMD8<T>.self)
        acc += va * vb
        k += 8
    }
    var sum = acc.sum()
    while k < n {
        sum += a[k] * b[k]
        k += 1
    }
    return sum
}

/// y[k] += alpha * x[k] over n contiguous elements. The caller counts n multiply-accumulates.
@inline(__always)
func axpy<T: KernelScalar>(_ alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
    for k in 0..<n { y[k] += alpha * x[k] }
}

/// A counter-based uniform stream in [0, 1): the value for `index` depends only on
/// (`seed`, `index`), so attention's fused backward regenerates its dropout mask without
/// storing it, as FlashAttention does from the RNG state.
@inline(__always)
func counterUniform(seed: UInt64, index: Int) -> Double {
    var z = seed &+ UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Double(z >> 11) * 0x1p-53
}
