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
    /// Every transformer block recomputed in backward: the emitted spec's blocks are h.0,
    /// h.1, ... (Hugging Face's `gradient_checkpointing_enable()`, Megatron's full recompute).
    static let everyBlock = CheckpointPolicy.each(NamePattern("h.*")!)

    let graph: Graph
    let options = CountOptions()
    let precision: PrecisionPolicy
    let rank: TensorParallelGraph
    let rankCosts: CostAnalysis

    /// - Throws: the elaborator's or the analyses' located error; one whose message says
    ///   "overflow" when the spec's sizes pass 64-bit counts.
    init(shape: TransformerShape, microBatch: Int, precision: PrecisionPolicy) throws {
        let name = TransformerShape.modelName
        graph = try Elaborator.elaborate(source: shape.spec(modelName: name), file: name + ".spec",
                                         overrides: ["batch": .int(microBatch)])
        self.precision = precision
        let base = RunConfiguration(optimizer: .adam, precision: precision)
        rank = try TensorParallelGraph(graph: graph, degree: 1, sequenceParallel: false)
        rankCosts = try CostAnalysis(graph: rank.graph, options: options.run(base))
    }

    /// The run on `gpus` GPUs, as `analyze SPEC --gpus G --fsdp --optimizer adam
    /// --precision bf16 --batch G x b [--checkpoint each=h.*]` configures it.
    func configuration(gpus: Int, recompute: Bool) -> RunConfiguration {
        var configuration = RunConfiguration(optimizer: .adam, precision: precision, checkpoint: recompute ? Self.everyBlock : .none)
        configuration.parallel = ParallelLayout(gpus: gpus, zero: gpus > 1 ? .parameters : .none)
        return configuration
    }

    func analysis(gpus: Int, recompute: Bool) throws -> ParallelAnalysis {
        try ParallelAnalysis(graph: graph, rank: rank, rankCosts: rankCosts, options: options,
                             configuration: configuration(gpus: gpus, recompute: recompute))
    }

    /// The smallest G whose peak per GPU is at most `capacity` bytes; nil when not even
    /// `largestFleet` GPUs fit. The peak falls as G grows (the sharded state is 1/G of the
    /// whole, rounded up per rank; the activations and the gathered unit stay), so the
    /// answer is searched: G = 1 first; no G below ceil(static(1) / capacity) can fit, since
    /// the state a GPU keeps is at least 1/G of one GPU's static memory; from there the
    /// fleet doubles until it fits, then bisects between the last G that does not and the
    /// first that does. Each probe is one `ParallelAnalysis`.
    func fewestGPUs(capacity: Double, recompute: Bool) throws -> Int? {
        func fits(_ gpus: Int) throws -> Bool { Double(try analysis(gpus: gpus, recompute: recompute).peak.peakBytes) <= capacity }
        let one = try analysis(gpus: 1, recompute: recompute)
        if Double(one.peak.peakBytes) <= capacity { return 1 }
        guard try fits(Self.largestFleet) else { return nil }
        let lowest = Double(one.peak.memory.staticBytes) / capacity
        // G = lowest - 1 or fewer keeps more than `capacity` of state: none of them fits.
        var bad = max(1, min(Self.largestFleet - 1, Int(lowest.rounded(.up)) - 1))
        var good = min(Self.largestFleet, max(2, bad + 1))
        while try !fits(good) {
            bad = good
            good = min(Self.largestFleet, good * 2)
        }
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2
            if try fits(mid) { good = mid } else { bad = mid }
        }
        return good
    }
}
