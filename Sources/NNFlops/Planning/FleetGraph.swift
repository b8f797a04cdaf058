/// The emitted spec's graph on a fleet (README, "Planning", "Fleet"): the transformer that
/// `--emit-spec` writes, elaborated once at one micro-batch per GPU and trained as every
/// other command trains a layout (README, "Training on many GPUs"): FSDP (ZeRO-3) over the
/// G GPUs (plain data parallelism has nothing to shard on one), Adam, pure half precision
/// (bf16, fp16 on a V100), one micro-batch per step, with no recompute or with every
/// transformer block recomputed (`--checkpoint each=h.*` on the emitted spec). Only the
/// layout's GPU count and the checkpointing vary between the analyses it makes, so the
/// tensor-parallel rank's graph (the whole model: T = 1) and its costs are made once.
struct FleetGraph {
    /// The largest fleet the fewest-GPU search tries: 2^20 GPUs. A model that does not fit
    /// one GPU of that many never fits: what is left per GPU is its activations.
    static let largestFleet = 1 << 20
    /// The emitted spec's transformer blocks, h.0, h.1, ...: each recomputed in backward on
    /// its own is full activation checkpointing (Hugging Face's
    /// `gradient_checkpointing_enable()`, Megatron's full recompute).
    static let blocks = "h.*"

    let graph: Graph
    let options = CountOptions()
    let precision: PrecisionPolicy
    let rank: TensorParallelGraph
    let rankCosts: CostAnalysis
    /// `--checkpoint each=h.*`.
    let everyBlock: CheckpointPolicy

    /// - Throws: the elaborator's or the analyses' located error; one whose message says
    ///   "overflow" when the spec's sizes pass 64-bit counts.
    init(shape: TransformerShape, microBatch: Int, precision: PrecisionPolicy) throws {
        let name = TransformerShape.modelName
        graph = try Elaborator.elaborate(source: shape.spec(modelName: name), file: name + ".spec",
                                         overrides: ["batch": .int(microBatch)])
        self.precision = precision
        guard let blocks = NamePattern(Self.blocks) else { throw NNFlopsError("'\(Self.blocks)' is not a name pattern") }
        everyBlock = .each(blocks)
        let base = RunConfiguration(optimizer: .adam, precision: precision)
        rank = try TensorParallelGraph(graph: graph, degree: 1, sequenceParallel: false)
        rankCosts = try CostAnalysis(graph: rank.graph, options: options.run(base))
    }

    /// The run on `gpus` GPUs, as `analyze SPEC --gpus G --fsdp --optimizer adam
    /// --precision bf16 --batch G x b [--checkpoint each=h.*]` configures it.
    func configuration(gpus: Int, recompute: Bool) -> RunConfiguration {
        var configuration = RunConfiguration(optimizer: .adam, precision: precision, checkpoint: recompute ? everyBlock : .none)
        configuration.parallel = ParallelLayout(gpus: gpus, zero: gpus > 1 ? .parameters : .none)
        return configuration
    }

    func analysis(gpus: Int, recompute: Bool) throws -> ParallelAnalysis {
        try ParallelAnalysis(graph: graph, rank: rank, rankCosts: rankCosts, options: options,
                             configuration: configuration(gpus: gpus, recompute: recompute))
    }

    /// One GPU's static memory (its whole state: no G below static / capacity can fit).
    func staticBytesOnOneGPU(known: ParallelAnalysis? = nil) throws -> Int {
        let one = try known.flatMap { $0.layout.gpus == 1 ? $0 : nil } ?? analysis(gpus: 1, recompute: false)
        return one.peak.memory.staticBytes
    }

    /// The smallest G whose peak per GPU is at most `capacity` bytes; nil when not even
    /// `largestFleet` GPUs fit. The peak falls as G grows (the sharded state is 1/G of the
    /// whole, rounded up per rank; the activations and the gathered unit stay), so the
    /// answer is searched. No G below ceil(S / capacity), S the static memory of one GPU
    /// (`staticBytes`), can fit: the state a GPU keeps is at least S / G. From that G the
    /// fleet doubles until it fits (up to a G known to fit: `known`, an analysis already
    /// made, when it fits, else `largestFleet`), then bisects between the last G that does
    /// not fit and the first that does. Each probe is one `ParallelAnalysis`.
    func fewestGPUs(capacity: Double, recompute: Bool, staticBytes: Int, known: ParallelAnalysis? = nil) throws -> Int? {
        func fits(_ gpus: Int) throws -> Bool {
            let a = try known.flatMap { $0.layout.gpus == gpus ? $0 : nil } ?? analysis(gpus: gpus, recompute: recompute)
            return Double(a.peak.peakBytes) <= capacity
        }
        let lowest = max(1, min(Self.largestFleet, Int((Double(staticBytes) / capacity).rounded(.up))))
        // Every G below `lowest` keeps more than `capacity` of state.
        if lowest == 1, try fits(1) { return 1 }
        var bad = max(1, lowest - 1)
        let limit: Int
        if let known, try fits(known.layout.gpus) {
            guard known.layout.gpus > bad else { return known.layout.gpus }
            limit = known.layout.gpus
        } else {
            if let known { bad = max(bad, min(known.layout.gpus, Self.largestFleet - 1)) }
            guard try fits(Self.largestFleet) else { return nil }
            limit = Self.largestFleet
        }
        var good = min(limit, bad + 1)
        while try good < limit && !fits(good) {
            bad = good
            good = min(limit, good * 2)
        }
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2
            if try fits(mid) { good = mid } else { bad = mid }
        }
        return good
    }
}
