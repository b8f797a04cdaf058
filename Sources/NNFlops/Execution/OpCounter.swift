import Foundation

/// Counts the work kernels execute, as they execute it.
///
/// Kernels add to it per executed loop iteration or per executed vectorised inner loop
/// (`tally.mac(k)` after a k-long dot product, `tally.flops += n` after an n-element
/// map), never by evaluating an analytic formula. Parallel kernels keep a local
/// `WorkTally` per chunk and `add` it once, so the counter is thread-safe and cheap.
final class OpCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var totals = PhaseTallies()

    public init() {}

    /// Adds a tally to a phase.
    public func add(_ tally: WorkTally, to phase: Phase) {
        guard tally.flops != 0 || tally.macs != 0 else { return }
        lock.lock()
        totals[phase] += tally
        lock.unlock()
    }

    /// Adds plain (non-MAC) FLOPs to a phase.
    public func add(flops: Int, to phase: Phase) { add(WorkTally(flops: flops), to: phase) }

    /// Running totals per phase.
    public func snapshot() -> PhaseTallies {
        lock.lock()
        defer { lock.unlock() }
        return totals
    }
}

/// One executed tally per phase; a phase nothing was added to has executed no work.
struct PhaseTallies: Sendable, Hashable {
    private var tallies: [Phase: WorkTally] = [:]
    public init() {}
    public subscript(phase: Phase) -> WorkTally {
        get { tallies[phase, default: WorkTally()] }
        set { tallies[phase] = newValue }
    }
    /// The work of each phase since `earlier`.
    public static func - (later: PhaseTallies, earlier: PhaseTallies) -> [Phase: WorkTally] {
        Dictionary(uniqueKeysWithValues: Phase.allCases.map { ($0, later[$0] - earlier[$0]) })
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
