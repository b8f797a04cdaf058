/// The parallel layout of a training (or inference) run on many GPUs (README, "Training
/// on many GPUs"): N GPUs = D data-parallel ranks x T tensor-parallel ranks x P pipeline
/// stages, the ZeRO stage of the data-parallel group, sequence parallelism, the pipeline
/// schedule and how many GPUs share a node. Part of the run configuration: every analysis
/// that reads a `RunConfiguration` reads the layout from it.

/// ZeRO (Rajbhandari et al. 2020, "ZeRO: Memory Optimizations Toward Training Trillion
/// Parameter Models", arXiv 1910.02054, §5): what the data-parallel ranks partition.
public enum ZeROStage: Int, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Plain data parallelism: every rank holds everything.
    case none = 0
    /// P_os: the optimizer state (Adam's moments and, with pure half, the fp32 master weights).
    case optimizerState = 1
    /// P_os+g: also the gradients (each rank keeps the reduced shard of its partition).
    case gradients = 2
    /// P_os+g+p (FSDP's FULL_SHARD): also the parameters, all-gathered per unit for its
    /// forward and its backward.
    case parameters = 3

    public static func < (a: ZeROStage, b: ZeROStage) -> Bool { a.rawValue < b.rawValue }
}

/// How a pipeline schedules its micro-batches (Narayanan et al. 2021, "Efficient
/// Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", arXiv
/// 2104.04473, §2.2).
public enum PipelineSchedule: Sendable, Hashable, CustomStringConvertible {
    /// PipeDream-Flush: stage i (from 0) holds at most P - i micro-batches' activations.
    case oneForwardOneBackward
    /// GPipe: every micro-batch's forward, then every backward: all m held at once.
    case gpipe
    /// Megatron's interleaved 1F1B: V model chunks per GPU; the bubble shrinks by V.
    case interleaved(Int)

    public init?(argument: String) {
        switch argument.lowercased() {
        case "1f1b": self = .oneForwardOneBackward
        case "gpipe": self = .gpipe
        default:
            let prefix = "interleaved="
            guard argument.lowercased().hasPrefix(prefix), let v = Int(argument.dropFirst(prefix.count)), v >= 2 else { return nil }
            self = .interleaved(v)
        }
    }

    public var description: String {
        switch self {
        case .oneForwardOneBackward: "1f1b"
        case .gpipe: "gpipe"
        case .interleaved(let v): "interleaved=\(v)"
        }
    }

    public static let spellings = ["1f1b", "gpipe", "interleaved=V"]

    /// Model chunks per GPU (V; 1 unless interleaved).
    public var chunks: Int {
        if case .interleaved(let v) = self { v } else { 1 }
    }
}

public struct ParallelLayout: Sendable, Hashable {
    /// N: GPUs in all.
    public var gpus: Int
    /// T: tensor-parallel ranks (Megatron-LM's intra-layer model parallelism).
    public var tensor: Int
    /// P: pipeline stages.
    public var pipeline: Int
    public var zero: ZeROStage
    /// Megatron's sequence parallelism (Korthikanti et al. 2022, arXiv 2205.05198, §4.2.2):
    /// the norms and dropouts between tensor-parallel regions run on 1/T of the sequence.
    public var sequenceParallel: Bool
    public var schedule: PipelineSchedule
    /// G: GPUs per node, joined by NVLink (or PCIe); nodes are joined by the network.
    public var gpusPerNode: Int
    /// Where the stages begin (torchtitan's pipeline_parallel_split_points): the names of
    /// the top-level units that start stages 2, 3, ...; nil: stages balanced by FLOPs.
    public var splitPoints: [String]?

    public static let defaultGPUsPerNode = 8

    public init(gpus: Int = 1, tensor: Int = 1, pipeline: Int = 1, zero: ZeROStage = .none, sequenceParallel: Bool = false,
                schedule: PipelineSchedule = .oneForwardOneBackward, gpusPerNode: Int = ParallelLayout.defaultGPUsPerNode,
                splitPoints: [String]? = nil) {
        self.gpus = gpus
        self.tensor = tensor
        self.pipeline = pipeline
        self.zero = zero
        self.sequenceParallel = sequenceParallel
        self.schedule = schedule
        self.gpusPerNode = gpusPerNode
        self.splitPoints = splitPoints
    }

    /// D = N / (T x P): data-parallel ranks (0 when the layout does not divide; `validate`
    /// refuses it).
    public var data: Int { tensor * pipeline > 0 && gpus % (tensor * pipeline) == 0 ? gpus / (tensor * pipeline) : 0 }
    /// One GPU holding everything: the analyses run as they do without a layout.
    public var isSingleGPU: Bool { gpus == 1 }
    /// Stages x chunks per GPU: the model pieces the pipeline cuts.
    public var pipelineChunks: Int { pipeline * schedule.chunks }

    /// Checks the layout on its own (the model's checks, heads and layers, come later):
    /// N a multiple of T x P, ZeRO and sequence parallelism only where they mean something.
    public func validate() throws {
        for (flag, value) in [("--gpus", gpus), ("--tp", tensor), ("--pp", pipeline), ("--gpus-per-node", gpusPerNode)] where value < 1 {
            throw NNFlopsError("\(flag) must be at least 1, got \(value)")
        }
        guard gpus % (tensor * pipeline) == 0 else {
            throw NNFlopsError("--gpus \(gpus) is not a multiple of --tp \(tensor) x --pp \(pipeline) = \(tensor * pipeline)",
                               notes: ["note: the data-parallel degree is N / (T x P), so N must be a multiple of T x P"])
        }
        if sequenceParallel && tensor == 1 {
            throw NNFlopsError("--sequence-parallel needs --tp 2 or more: it splits the sequence over the tensor-parallel ranks")
        }
        if case .interleaved = schedule, pipeline == 1 {
            throw NNFlopsError("--pipeline-schedule \(schedule) needs --pp 2 or more")
        }
        if splitPoints != nil && pipeline == 1 {
            throw NNFlopsError("--pipeline-split needs --pp 2 or more")
        }
        if let splitPoints, splitPoints.count != pipelineChunks - 1 {
            throw NNFlopsError("--pipeline-split names \(splitPoints.count) split point\(splitPoints.count == 1 ? "" : "s"); \(pipelineChunks) pipeline pieces need \(pipelineChunks - 1)",
                               notes: ["note: each split point names the top-level unit that starts a stage, e.g. h.6"])
        }
    }

    /// A short description: `N=64 (D=4 x T=8 x P=2), ZeRO-1, SP, 1f1b`.
    public var summary: String {
        var parts = ["\(gpus) GPU\(gpus == 1 ? "" : "s") (D=\(data) x T=\(tensor) x P=\(pipeline))"]
        if zero != .none { parts.append(zero == .parameters ? "ZeRO-3 (FSDP)" : "ZeRO-\(zero.rawValue)") }
        if sequenceParallel { parts.append("sequence parallel") }
        if pipeline > 1 { parts.append(schedule.description) }
        return parts.joined(separator: ", ")
    }
}
