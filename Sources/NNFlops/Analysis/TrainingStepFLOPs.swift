/// The FLOPs of one optimizer step of a run, the one rule every report and budget uses
/// (README, "Conventions"): training, (forward + backward + checkpoint recompute) per
/// micro-batch times the micro-batches, plus the optimizer's own step once; inference,
/// the forward per micro-batch times the micro-batches. MACs count the matrix work of
/// the same passes without recompute or the optimizer (which has none). `Count`
/// arithmetic, so a total past 2^63 is flagged, never wrapped or trapped.
enum TrainingStepFLOPs {
    static func flops(costs: CostAnalysis, memory: MemoryAnalysis, microBatches: Int) -> Count {
        if memory.configuration.inference { return costs.forward.flops * microBatches }
        return (costs.trainStep.flops + memory.recomputeFLOPs) * microBatches + memory.optimizerFLOPs
    }

    static func macs(costs: CostAnalysis, memory: MemoryAnalysis, microBatches: Int) -> Count {
        (memory.configuration.inference ? costs.forward.macs : costs.trainStep.macs) * microBatches
    }
}
