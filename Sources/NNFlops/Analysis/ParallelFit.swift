#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nnflops fit` on many GPUs (README, "Training on many GPUs"): the largest micro-batch
/// per GPU whose worst pipeline stage fits, for one layout; and, given only the GPU count,
/// every layout (T, P, ZeRO stage) that fits, fastest first. The memory and the step time
/// are `ParallelAnalysis` and `ParallelStepTime`, as `analyze` and `roofline` report them.
public enum ParallelFit {
    public struct Row: Sendable, Encodable {
        public var gpus: Int
        public var tensorParallel: Int
        public var pipelineParallel: Int
        public var dataParallel: Int
        public var zero: Int
        public var sequenceParallel: Bool
        public var precision: String
        public var checkpoint: String
        /// Samples per micro-batch on one GPU; 0 when not even 1 fits.
        public var maxMicroBatch: Int
        /// Micro-batches per data-parallel rank and step at that micro-batch.
        public var microBatches: Int
        /// The worst stage's peak at `maxMicroBatch` (at 1 when nothing fits), and its name.
        public var peakBytes: Int
        public var peakStage: String
        /// With a GPU: the step time at `maxMicroBatch` (README, "Step time").
        public var stepTimeS: Double?

        enum CodingKeys: String, CodingKey {
            case gpus, zero, precision, checkpoint
            case tensorParallel = "tp"
            case pipelineParallel = "pp"
            case dataParallel = "dp"
            case sequenceParallel = "sequence_parallel"
            case maxMicroBatch = "max_micro_batch"
            case microBatches = "micro_batches"
            case peakBytes = "peak_bytes"
            case peakStage = "peak_stage"
            case stepTimeS = "step_time_s"
        }
    }

    /// The micro-batches per step at micro-batch `b`: the global batch's share of one
    /// data-parallel rank over b, or without a global batch P (the fewest that fill the
    /// pipeline: 1F1B holds no more than P - i of them, and GPipe is priced at that many).
    static func microBatches(_ b: Int, layout: ParallelLayout, globalBatch: Int?) -> Int? {
        guard let globalBatch else { return max(1, layout.pipeline) }
        let perRank = globalBatch / max(1, layout.data)
        return perRank % b == 0 ? perRank / b : nil
    }

    /// Graphs of one tensor-parallel rank per (T, sequence parallel, micro-batch), shared
    /// by the layouts a search tries.
    final class RankCache: @unchecked Sendable {
        var graphs: [Int: Graph] = [:]
        var ranks: [String: (TensorParallelGraph, CostAnalysis)] = [:]
    }

    /// The largest micro-batch for `configuration.parallel` whose worst stage's peak is at
    /// most `capacity`. With `globalBatch` the micro-batch divides its share of one
    /// data-parallel rank.
    public static func largestMicroBatch(model: ModelRequest, capacity: Int, configuration: RunConfiguration, globalBatch: Int?,
                                         attention: AttentionConvention = .dense, roof: Roof? = nil, limit: Int = Limits.standard.batchSearch) throws -> Row {
        try largestMicroBatch(model: model, capacity: capacity, configuration: configuration, globalBatch: globalBatch, attention: attention,
                              roof: roof, limit: limit, cache: RankCache())
    }

    static func largestMicroBatch(model: ModelRequest, capacity: Int, configuration: RunConfiguration, globalBatch: Int?,
                                  attention: AttentionConvention, roof: Roof?, limit: Int, cache: RankCache) throws -> Row {
        let layout = configuration.parallel
        try layout.validate()
        let options = CountOptions(attention: attention)
        func analysis(_ b: Int) throws -> ParallelAnalysis {
            var run = configuration
            run.accumulationSteps = microBatches(b, layout: layout, globalBatch: globalBatch) ?? 1
            let graph = try cache.graphs[b] ?? model.graph(batch: b)
            cache.graphs[b] = graph
            let key = "\(layout.tensor) \(layout.sequenceParallel) \(b)"
            let rank: (TensorParallelGraph, CostAnalysis)
            if let cached = cache.ranks[key] {
                rank = cached
            } else {
                let sharded = try TensorParallelGraph(graph: graph, degree: layout.tensor, sequenceParallel: layout.sequenceParallel)
                rank = (sharded, try CostAnalysis(graph: sharded.graph, options: options.run(run)))
                cache.ranks[key] = rank
            }
            return try ParallelAnalysis(graph: graph, rank: rank.0, rankCosts: rank.1, options: options, configuration: run)
        }
        // Candidates in increasing order; peak memory grows with the micro-batch.
        var candidates: [Int]?
        if let globalBatch {
            let d = max(1, layout.data)
            guard globalBatch % d == 0 else {
                throw NNFlopsError("--global-batch \(globalBatch) must be a multiple of the \(d) data-parallel ranks")
            }
            let perRank = globalBatch / d
            candidates = (1...perRank).filter { perRank % $0 == 0 }
        }
        func row(_ b: Int, _ a: ParallelAnalysis, fits: Bool) throws -> Row {
            let time = try fits ? roof.map { try ParallelStepTime(analysis: a, roof: $0).stepTime } : nil
            return Row(gpus: layout.gpus, tensorParallel: layout.tensor, pipelineParallel: layout.pipeline, dataParallel: layout.data,
                       zero: layout.zero.rawValue, sequenceParallel: layout.sequenceParallel, precision: configuration.precision.rawValue,
                       checkpoint: configuration.checkpoint.description, maxMicroBatch: fits ? b : 0, microBatches: a.microBatches,
                       peakBytes: a.peak.peakBytes, peakStage: a.peak.name, stepTimeS: time)
        }
        let first = try analysis(1)
        guard first.peak.peakBytes <= capacity else { return try row(1, first, fits: false) }
        var good = 1, goodAnalysis = first
        if let candidates {
            var low = 0, high = candidates.count - 1   // candidates[low] fits
            while low < high {
                let mid = (low + high + 1) / 2
                let a = try analysis(candidates[mid])
                if a.peak.peakBytes <= capacity { low = mid; goodAnalysis = a } else { high = mid - 1 }
            }
            good = candidates[low]
            if good != 1 && goodAnalysis.microBatches != microBatches(good, layout: layout, globalBatch: globalBatch) { goodAnalysis = try analysis(good) }
        } else {
            var bad: Int?
            while bad == nil && good < limit {
                let next = min(limit, good * 2)
                let a = try analysis(next)
                if a.peak.peakBytes <= capacity { good = next; goodAnalysis = a } else { bad = next }
            }
            if var high = bad {
                while high - good > 1 {
                    let mid = good + (high - good) / 2
                    let a = try analysis(mid)
                    if a.peak.peakBytes <= capacity { good = mid; goodAnalysis = a } else { high = mid }
                }
            }
        }
        return try row(good, goodAnalysis, fits: true)
    }

    /// What a search tried and could not use.
    public struct Refusal: Sendable, Encodable {
        public var tensorParallel: Int
        public var pipelineParallel: Int
        public var reason: String
        enum CodingKeys: String, CodingKey {
            case reason
            case tensorParallel = "tp"
            case pipelineParallel = "pp"
        }
    }

    /// Every layout of `gpus` GPUs: T dividing N and at most a node's GPUs (tensor
    /// parallelism inside a node, as Megatron-LM runs it), P dividing N / T, every ZeRO stage
    /// when D > 1; the ones whose largest micro-batch (dividing the global batch's share of a
    /// data-parallel rank) fits, fastest step first. Layouts the model refuses (T not
    /// dividing its heads, more stages than layers) are listed with the reason.
    public static func search(model: ModelRequest, capacity: Int, base: RunConfiguration, gpus: Int, globalBatch: Int, roof: Roof,
                              attention: AttentionConvention = .dense) throws -> (fits: [Row], tried: Int, refused: [Refusal]) {
        guard gpus >= 1 else { throw NNFlopsError("--gpus must be at least 1") }
        let gpusPerNode = base.parallel.gpusPerNode
        let cache = RankCache()
        var fits: [Row] = []
        var refused: [Refusal] = []
        var tried = 0
        for t in 1...min(gpus, gpusPerNode) where gpus % t == 0 {
            for p in 1...(gpus / t) where (gpus / t) % p == 0 {
                let d = gpus / (t * p)
                guard globalBatch % d == 0 else {
                    refused.append(Refusal(tensorParallel: t, pipelineParallel: p, reason: "the global batch \(globalBatch) does not divide over D = \(d)"))
                    continue
                }
                for zero in ZeROStage.allCases where d > 1 || zero == .none {
                    var configuration = base
                    let schedule: PipelineSchedule = p > 1 ? base.parallel.schedule : .oneForwardOneBackward
                    configuration.parallel = ParallelLayout(gpus: gpus, tensor: t, pipeline: p, zero: zero,
                                                            sequenceParallel: base.parallel.sequenceParallel && t > 1,
                                                            schedule: schedule, gpusPerNode: gpusPerNode)
                    tried += 1
                    do {
                        let row = try largestMicroBatch(model: model, capacity: capacity, configuration: configuration, globalBatch: globalBatch,
                                                        attention: attention, roof: roof, limit: Limits.standard.batchSearch, cache: cache)
                        if row.maxMicroBatch > 0 { fits.append(row) }
                    } catch let error as NNFlopsError {
                        refused.append(Refusal(tensorParallel: t, pipelineParallel: p, reason: error.message))
                        break   // the same for every ZeRO stage
                    }
                }
            }
        }
        fits.sort { a, b in
            (a.stepTimeS ?? .infinity, a.tensorParallel * a.pipelineParallel, a.zero) < (b.stepTimeS ?? .infinity, b.tensorParallel * b.pipelineParallel, b.zero)
        }
        return (fits, tried, refused)
    }
}
