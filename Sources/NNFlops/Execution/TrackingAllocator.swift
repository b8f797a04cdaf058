import Foundation

/// Where the executor is: which node and phase is running. Used to say where the
/// memory peak happens.
struct ExecutionPoint: Sendable, Hashable, Codable {
    public var node: Int?
    public var name: String
    public var phase: ExecutionPhase
    public init(node: Int?, name: String, phase: ExecutionPhase) {
        self.node = node
        self.name = name
        self.phase = phase
    }
}

/// The phases of one training step as the executor runs them.
enum ExecutionPhase: String, Sendable, Hashable, Codable, CaseIterable {
    case initialisation
    case forward
    case loss
    case backward
    /// A checkpointed segment's forward, re-run during backward.
    case recompute
    case optimizer
}

/// Every tensor of a run is allocated through this allocator. It records live and peak
/// bytes (total and per `MemoryCategory`), where the peak happened, and what is live by
/// category at the peak. Frees happen in `Tensor.deinit`.
///
/// The peak is sampled at the memory model's moments (`moment()`, called by the executor
/// after every node's forward or backward kernel and in the optimizer step), so executed
/// and analytic peaks are the same quantity; `instantaneousPeakBytes` also counts
/// tensors a kernel allocates and frees internally.
///
/// Workspace buffers that a kernel uses internally and frees before returning (im2col
/// columns, GEMM panels) are ordinary Swift arrays and are not tracked: they correspond
/// to library workspaces, not to tensors in PyTorch's memory accounting.
final class TrackingAllocator: @unchecked Sendable {
    private let lock = NSLock()
    public private(set) var liveBytes = 0
    public private(set) var peakBytes = 0
    public private(set) var live: [MemoryCategory: Int] = [:]
    /// Live bytes per category at the moment of the peak.
    public private(set) var liveAtPeak: [MemoryCategory: Int] = [:]
    public private(set) var peakPoint: ExecutionPoint?
    public private(set) var allocations = 0
    /// Set by the executor as it moves through the graph.
    public var point = ExecutionPoint(node: nil, name: "", phase: .initialisation)
    /// While true, new tensors are not accounted (physical copies standing for a view or
    /// an in-place result; zero gradients materialised for an unused output).
    public var suspended = false
    /// Peak of live bytes over every allocation, including tensors a kernel allocates and
    /// frees before it returns (the memory model's moments do not see those).
    public private(set) var instantaneousPeakBytes = 0

    public init() {}

    /// Allocates a zero-filled tensor.
    public func tensor<T: KernelScalar>(_ shape: [Int], dtype: DType = .float32, _ category: MemoryCategory = .activation, as: T.Type = T.self) -> Tensor<T> {
        Tensor<T>(shape: shape, dtype: dtype, category: category, allocator: self)
    }

    func didAllocate(_ bytes: Int, _ category: MemoryCategory) {
        lock.lock()
        liveBytes += bytes
        allocations += 1
        live[category, default: 0] += bytes
        if liveBytes > instantaneousPeakBytes { instantaneousPeakBytes = liveBytes }
        lock.unlock()
    }

    /// Samples live bytes at one of the memory model's moments: after a node's kernel has
    /// returned (its outputs, saved state, gradients allocated), before the executor
    /// releases what the node no longer needs. `peakBytes` is the largest sample.
    public func moment() {
        lock.lock()
        if liveBytes > peakBytes || peakPoint == nil {
            peakBytes = liveBytes
            liveAtPeak = live
            peakPoint = point
        }
        lock.unlock()
    }

    func didFree(_ bytes: Int, _ category: MemoryCategory) {
        lock.lock()
        liveBytes -= bytes
        live[category, default: 0] -= bytes
        lock.unlock()
    }
}
