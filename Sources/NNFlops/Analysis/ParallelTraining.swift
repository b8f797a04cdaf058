/// A run on many GPUs (README, "Training on many GPUs"): the model's graph split over T
/// tensor-parallel ranks (`TensorParallelGraph`), that rank's graph cut into P pipeline
/// stages (`PipelineStages`), and each stage's GPU analysed by the same cost and memory
/// analyses as one GPU is, under the run's ZeRO stage over D data-parallel ranks
/// (`MemoryAnalysis`). A pure function of the model's graph (one micro-batch), the
/// counting options and the run configuration, whose `parallel` layout it reads; the
/// communication analysis and the step time read it in turn.
public struct ParallelAnalysis: Sendable {
    public var configuration: RunConfiguration
    public var layout: ParallelLayout { configuration.parallel }
    /// The model's graph at one micro-batch.
    public var model: Graph
    public var tensorParallel: TensorParallelGraph
    /// The cost analysis of one tensor-parallel rank's whole graph (every stage).
    public var rankCosts: CostAnalysis
    /// One entry per pipeline stage, in pipeline order.
    public var stages: [Stage]
    /// The stage with the highest peak memory (the one `totals.memory` reports).
    public var peakStage: Int
    /// Micro-batches per optimizer step on each data-parallel rank (m).
    public var microBatches: Int { configuration.inference ? 1 : max(1, configuration.accumulationSteps) }

    /// One pipeline stage: its GPU's graph and what the analyses find for it.
    public struct Stage: Sendable {
        /// 0-based position in the pipeline.
        public var index: Int
        public var part: PipelinePart
        public var costs: CostAnalysis
        /// One micro-batch's replay (static memory included).
        public var memory: MemoryAnalysis
        /// Micro-batches whose activations the stage holds at its peak (the schedule's
        /// warm-up; fractional with interleaving, in units of the whole stage).
        public var inFlight: Double
        /// What one more micro-batch in flight adds: what a micro-batch holds at the end of
        /// its forward (its kept tensors and outputs) and the activations it received.
        public var heldPerMicroBatch: Int
        /// memory.peakBytes + (inFlight - 1) x heldPerMicroBatch.
        public var peakBytes: Int

        /// `stage 1 (wte ... h.5)`.
        public var name: String { "stage \(index + 1) (\(part.firstUnit)\(part.firstUnit == part.lastUnit ? "" : " ... \(part.lastUnit)"))" }
        public var parameters: Int { part.graph.parameterCount.value }
    }

    public init(graph: Graph, options: CountOptions, configuration: RunConfiguration) throws {
        let layout = configuration.parallel
        try layout.validate()
        let rank = try TensorParallelGraph(graph: graph, degree: layout.tensor, sequenceParallel: layout.sequenceParallel)
        let costs = try CostAnalysis(graph: rank.graph, options: options.run(configuration))
        try self.init(graph: graph, rank: rank, rankCosts: costs, options: options, configuration: configuration)
    }

    /// The same from one tensor-parallel rank's graph and its costs, made once for several
    /// layouts that share T (`fit`'s search).
    public init(graph: Graph, rank: TensorParallelGraph, rankCosts costs: CostAnalysis, options: CountOptions,
                configuration: RunConfiguration) throws {
        let layout = configuration.parallel
        try layout.validate()
        self.configuration = configuration
        model = graph
        let counting = options.run(configuration)
        tensorParallel = rank
        rankCosts = costs
        let pieces = try PipelineStages.pieces(of: rank.graph, costs: costs, count: layout.pipelineChunks, splitPoints: layout.splitPoints)
        let p = layout.pipeline, v = layout.schedule.chunks
        let m = configuration.inference ? 1 : max(1, configuration.accumulationSteps)
        var stages: [Stage] = []
        for i in 0..<p {
            // Interleaved: GPU i runs pieces i, i + P, i + 2P, ...
            let ranges = (0..<v).map { pieces[$0 * p + i] }
            let part = PipelineStages.part(of: rank.graph, ranges: ranges, costs: costs, index: i)
            let stageCosts = try CostAnalysis(graph: part.graph, options: counting)
            let memory = try MemoryAnalysis(graph: part.graph, costs: stageCosts, configuration: configuration)
            let inFlight = Self.inFlight(stage: i, pipeline: p, microBatches: m, schedule: layout.schedule, inference: configuration.inference)
            let held = memory.savedActivationsBytes + memory.inputsBytes
            let extra = Int((Double(held) * max(0, inFlight - 1)).rounded(.up))
            stages.append(Stage(index: i, part: part, costs: stageCosts, memory: memory, inFlight: inFlight,
                                heldPerMicroBatch: held, peakBytes: memory.peakBytes + extra))
        }
        self.stages = stages
        peakStage = stages.indices.max { stages[$0].peakBytes < stages[$1].peakBytes || (stages[$0].peakBytes == stages[$1].peakBytes && $0 > $1) } ?? 0
    }

    /// Micro-batches stage i holds activations for at its peak. 1F1B (PipeDream-Flush,
    /// Narayanan et al. 2021 §2.2.1): P - i, at most m. GPipe: all m. Interleaved
    /// (Megatron's schedules.py): 2 (P - i - 1) + (V - 1) P warm-up chunks plus the one in
    /// its steady state, at most V m, each 1/V of the stage: (2 (P - i - 1) + (V - 1) P + 1) / V.
    /// Inference: one.
    public static func inFlight(stage i: Int, pipeline p: Int, microBatches m: Int, schedule: PipelineSchedule, inference: Bool) -> Double {
        guard !inference else { return 1 }
        switch schedule {
        case .oneForwardOneBackward: return Double(min(p - i, m))
        case .gpipe: return Double(m)
        case .interleaved(let v):
            let chunks = min(2 * (p - i - 1) + (v - 1) * p + 1, v * m)
            return Double(chunks) / Double(v)
        }
    }

    public var peak: Stage { stages[peakStage] }
    /// Training FLOPs of one optimizer step on each stage's GPU: (forward + backward +
    /// recompute) x m + the optimizer's step.
    public func stepFLOPs(_ stage: Stage) -> Int {
        TrainingStepFLOPs.flops(costs: stage.costs, memory: stage.memory, microBatches: microBatches).value
    }
}

extension RunConfiguration {
    /// The same run on one GPU: the whole model's own figures (its FLOPs, its optimizer step)
    /// beside a layout's per-GPU ones.
    public var onOneGPU: RunConfiguration {
        var configuration = self
        configuration.parallel = ParallelLayout()
        return configuration
    }
}

extension RunMetrics {
    /// Memory budgets on a parallel layout are one GPU's: the stage with the highest peak,
    /// and its activations (all its micro-batches in flight).
    public mutating func perGPU(_ parallel: ParallelAnalysis) {
        let stage = parallel.peak
        peakMemory = stage.peakBytes
        activationMemory = parallel.configuration.inference
            ? stage.peakBytes - stage.memory.staticBytes
            : Int((Double(stage.memory.savedActivationsBytes) * stage.inFlight).rounded(.up))
    }
}
