import Foundation

/// What a reference run needs, checked before it allocates anything (README, "Limits"):
/// memory the machine has and FLOPs that finish in sensible time. A run that needs more
/// fails with the figures and how to shrink it, instead of being killed mid-allocation or
/// running for hours.
public struct ExecutionNeeds: Sendable, Equatable {
    /// The memory model's fp32 peak of the run (what the tracking allocator reaches).
    public var peakBytes: Int
    /// Forward, backward, recomputation and the optimizer step.
    public var flops: Int

    public init(peakBytes: Int, flops: Int) {
        self.peakBytes = peakBytes
        self.flops = flops
    }

    /// The needs of running `graph` under `options`.
    public init(graph: Graph, options: ExecutionOptions) throws {
        let costs = try CostAnalysis(graph: graph, options: CountOptions(attention: options.attention).run(options.runConfiguration))
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: options.runConfiguration)
        try self.init(costs: costs, memory: memory)
    }

    init(costs: CostAnalysis, memory: MemoryAnalysis) throws {
        let flops = costs.trainStep.flops + memory.recomputeFLOPs + memory.optimizerFLOPs
        guard !flops.overflowed else { throw NNFlopsError("the run's FLOP count overflows 64 bits; the shapes are too large") }
        self.init(peakBytes: memory.peakBytes, flops: flops.value)
    }

    /// Why the run cannot go ahead under `options`, nil when it can.
    public func refusal(_ options: ExecutionOptions) -> NNFlopsError? {
        let available = options.memoryBytes.map { ($0, "the memory the run was given") } ?? MachineMemory.available
        if let (bytes, source) = available, peakBytes > bytes {
            return NNFlopsError("validate needs \(Units.bytes(peakBytes)) (the run's fp32 peak), more than this machine has "
                                + "(\(Units.bytes(bytes)), \(source)); shrink the run with --scale or a smaller --batch")
        }
        if Double(flops) > options.maxFLOPs {
            let standard = options.maxFLOPs == Limits.standard.executedFLOPs ? ", minutes of the CPU executor" : ""
            return NNFlopsError("validate would execute \(PlanQuantity.scientific(Double(flops))) FLOPs, more than the limit of "
                                + "\(PlanQuantity.scientific(options.maxFLOPs)) (--max-flops\(standard)); shrink the run with "
                                + "--scale or a smaller --batch, or raise the limit")
        }
        return nil
    }

    /// Whether the run fits `options`.
    public func fits(_ options: ExecutionOptions) -> Bool { refusal(options) == nil }
}

/// The memory this process can have: the machine's physical memory, lowered by a cgroup
/// limit (a container) and by the address-space limit (`ulimit -v`), whichever is least,
/// with what it is.
enum MachineMemory {
    public static let available: (bytes: Int, source: String)? = {
        var limits: [(bytes: Int, source: String)] = []
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        if pages > 0 && pageSize > 0 {
            let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
            if !overflow { limits.append((bytes, "its physical memory")) }
        }
        // cgroup v2, then v1: "max", or v1's huge "no limit" value, is no limit.
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes > 0, bytes < 1 << 60 {
                limits.append((bytes, "its container's memory limit"))
                break
            }
        }
        var addressSpace = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
        #else
        let resource = RLIMIT_AS
        #endif
        // RLIM_INFINITY is all ones, past Int.max.
        if getrlimit(resource, &addressSpace) == 0, addressSpace.rlim_cur < UInt64(Int.max) {
            limits.append((Int(addressSpace.rlim_cur), "the address-space limit, ulimit -v"))
        }
        return limits.min { $0.bytes < $1.bytes }
    }()
}
