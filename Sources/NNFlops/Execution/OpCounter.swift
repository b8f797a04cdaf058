import Foundation

/// Counts the work kernels execute, as they execute it.
///
/// Kernels add to it per executed loop iteration or per executed vectorised inner loop
/// (`tally.mac(k)` after a k-long dot product, `tally.flops += n` after an n-element
/// map), never by evaluating an analytic formula. Parallel kernels keep a local
/// `WorkTally` per chunk and `add` it once, so the counter is thread-safe and cheap.
public final class OpCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var flops: [Int] = Array(repeating: 0, count: Phase.allCases.count)
    private var macs: [Int] = Array(repeating: 0, count: Phase.allCases.count)

    public init() {}

    /// Adds a tally to a phase.
    public func add(_ tally: WorkTally, to phase: Phase) {
        guard tally.flops != 0 || tally.macs != 0 else { return }
        let index = Phase.allCases.firstIndex(of: phase)!
        lock.lock()
        flops[index] += tally.flops
        macs[index] += tally.macs
        lock.unlock()
    }

    /// Adds plain (non-MAC) FLOPs to a phase.
    public func add(flops: Int, to phase: Phase) { add(WorkTally(flops: flops), to: phase) }

    /// Running totals per phase.
    public func snapshot() -> [Phase: WorkTally] {
        lock.lock()
        defer { lock.unlock() }
        var result: [Phase: WorkTally] = [:]
        for (i, phase) in Phase.allCases.enumerated() { result[phase] = WorkTally(flops: flops[i], macs: macs[i]) }
        return result
    }
}

/// A local count of executed work: FLOPs, and the multiply-accumulates among them.
public struct WorkTally: Sendable, Hashable {
    public var flops: Int
    public var macs: Int
    public init(flops: Int = 0, macs: Int = 0) {
        self.flops = flops
        self.macs = macs
    }
    /// Records `n` executed multiply-accumulates (2n FLOPs).
    @inline(__always) public mutating func mac(_ n: Int) {
        macs &+= n
        flops &+= 2 &* n
    }
    public static func + (a: WorkTally, b: WorkTally) -> WorkTally { WorkTally(flops: a.flops + b.flops, macs: a.macs + b.macs) }
    public static func - (a: WorkTally, b: WorkTally) -> WorkTally { WorkTally(flops: a.flops - b.flops, macs: a.macs - b.macs) }
    public static func += (a: inout WorkTally, b: WorkTally) { a = a + b }
}
