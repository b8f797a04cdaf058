import Foundation
import Dispatch

/// Pointers captured by parallel loop bodies (kernels guarantee disjoint writes).
struct SendablePointer<T>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<T>
    public init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
}

/// Number of worker threads the kernels use (both cores on the reference machine).
let executorThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)

/// Runs `body` over `0..<count` split into contiguous chunks on all cores. `cost` is the
/// rough work per item: small loops run inline, without dispatch overhead.
@inline(__always)
func parallelFor(_ count: Int, cost: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let total = count * max(1, cost)
    let chunks = total < 32_768 || executorThreads == 1 ? 1 : min(count, executorThreads * 4)
    if chunks == 1 {
        body(0..<count)
        return
    }
    // Kernels write disjoint ranges; the body is only called during this call.
    nonisolated(unsafe) let body = body
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let start = count * chunk / chunks
        let end = count * (chunk + 1) / chunks
        if start < end { body(start..<end) }
    }
}
