/// The step time of a run on many GPUs (README, "Step time"): a lower bound from the
/// roofline of each stage's GPU (its sharded graph, `RooflineAnalysis`), the pipeline
/// bubble, and the communication the step waits for (`CommunicationAnalysis` and its
/// overlap rule):
///
///   step = (m + bubble) x slot + tail,
///
/// where a slot is the slowest stage's forward and backward of one micro-batch plus the
/// exposed communication that comes with every micro-batch (tensor-parallel collectives,
/// pipeline sends, ZeRO-3's gathers), the bubble is (P - 1) slots (GPipe and 1F1B,
/// Narayanan et al. 2021 §2.2) or (P - 1) / V with V interleaved chunks, and the tail is
/// the slowest stage's optimizer step plus what it waits for once per step (the
/// data-parallel gradient reduction beyond the last backward, ZeRO's parameter gathers,
/// the tied embedding's gradient).
public struct ParallelStepTime: Sendable {
    public struct Stage: Sendable {
        public var index: Int
        public var roofline: RooflineAnalysis
        public var communication: CommunicationAnalysis
        /// Forward + backward (recompute included) of one micro-batch.
        public var compute: Double
        /// Exposed communication per micro-batch.
        public var exposedPerMicroBatch: Double
        /// The optimizer step (its share under ZeRO) and the exposed once-per-step communication.
        public var optimizer: Double
        public var exposedPerStep: Double
        public var slot: Double { compute + exposedPerMicroBatch }
        public var tail: Double { optimizer + exposedPerStep }
    }

    public var stages: [Stage]
    /// The stage whose slot (or, when slots tie, tail) sets the step: the one the report
    /// shows.
    public var critical: Int
    public var microBatches: Int
    /// Pipeline slots of idle time: (P - 1) / V.
    public var bubbleSlots: Double
    public var slot: Double
    public var tail: Double
    public var stepTime: Double { (Double(microBatches) + bubbleSlots) * slot + tail }
    public var bubbleTime: Double { bubbleSlots * slot }
    /// The bubble's share of the pipeline's time: (P - 1) / (m + P - 1) for 1F1B and GPipe.
    public var bubbleFraction: Double { bubbleSlots > 0 ? bubbleSlots / (Double(microBatches) + bubbleSlots) : 0 }
    /// The critical stage's compute: m x (forward + backward) + its optimizer step.
    public var computeTime: Double { Double(microBatches) * stages[critical].compute + stages[critical].optimizer }
    /// The critical stage's communication, all of it and the part the step waits for.
    public var communicationTime: Double { stages[critical].communication.time ?? 0 }
    public var exposedCommunicationTime: Double {
        Double(microBatches) * stages[critical].exposedPerMicroBatch + stages[critical].exposedPerStep
    }

    public init(analysis: ParallelAnalysis, roof: Roof) throws {
        let configuration = analysis.configuration
        let layout = analysis.layout
        let m = analysis.microBatches
        let interconnect = CommunicationAnalysis.Interconnect(gpu: roof.gpu)
        var stages: [Stage] = []
        for stage in analysis.stages {
            let roofline = try RooflineAnalysis(graph: stage.part.graph, costs: stage.costs, roof: roof, configuration: configuration)
            let compute = CommunicationAnalysis.ComputeTimes(forward: roofline.forwardTime, backward: roofline.backwardTime)
            let communication = CommunicationAnalysis(stage: stage, in: analysis, interconnect: interconnect, compute: compute)
            var perMicroBatch = 0.0, perStep = 0.0
            for collective in communication.collectives {
                let exposed = collective.exposedTime ?? 0
                if collective.perMicroBatch { perMicroBatch += exposed / Double(m) } else { perStep += exposed }
            }
            // ZeRO-1 on: each rank updates its 1/D of the parameters (the roofline's
            // optimizer entries are linear in the elements they update).
            let shards = layout.zero >= .optimizerState && !configuration.inference ? Double(max(1, layout.data)) : 1
            stages.append(Stage(index: stage.index, roofline: roofline, communication: communication,
                                compute: roofline.forwardTime + roofline.backwardTime, exposedPerMicroBatch: perMicroBatch,
                                optimizer: roofline.optimizerTime / shards, exposedPerStep: perStep))
        }
        self.stages = stages
        microBatches = m
        bubbleSlots = layout.pipeline > 1 ? Double(layout.pipeline - 1) / Double(layout.schedule.chunks) : 0
        slot = stages.map(\.slot).max() ?? 0
        tail = stages.map(\.tail).max() ?? 0
        let slowest = stages.indices.max { stages[$0].slot < stages[$1].slot || (stages[$0].slot == stages[$1].slot && stages[$0].tail < stages[$1].tail) } ?? 0
        critical = slowest
    }
}
