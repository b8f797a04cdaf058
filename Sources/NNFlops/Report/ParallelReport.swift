/// The parallel sections of the reports (README, "Training on many GPUs"): `parallel`
/// (the layout, every pipeline stage with its memory and communication) and
/// `totals.communication` in `nnflops.report/1` and `nnflops.roofline/2`.

/// `totals.communication` and each stage's `communication`: per step and per GPU.
public struct CommunicationReport: Encodable, Sendable {
    /// The stage these figures are for (its name).
    public var stage: String?
    public var bytesPerGPU: Int
    /// nil without a GPU's interconnect figures (`analyze`, `check`).
    public var timeS: Double?
    public var exposedTimeS: Double?
    public var collectives: [CommunicationAnalysis.Collective]

    enum CodingKeys: String, CodingKey {
        case stage, collectives
        case bytesPerGPU = "bytes_per_gpu"
        case timeS = "time_s"
        case exposedTimeS = "exposed_time_s"
    }

    public init(_ analysis: CommunicationAnalysis, stage: String?) {
        self.stage = stage
        bytesPerGPU = analysis.bytesPerGPU
        timeS = analysis.time
        exposedTimeS = analysis.exposedTime
        collectives = analysis.collectives
    }
}

/// `parallel`: the layout and every stage.
public struct ParallelReport: Encodable, Sendable {
    public var gpus: Int
    public var tensorParallel: Int
    public var pipelineParallel: Int
    public var dataParallel: Int
    public var zero: Int
    public var sequenceParallel: Bool
    public var pipelineSchedule: String
    public var gpusPerNode: Int
    /// Samples per micro-batch, micro-batches per data-parallel rank and step, and the
    /// global batch (D x m x micro-batch).
    public var microBatch: Int
    public var microBatches: Int
    public var globalBatch: Int
    /// Operators with parameters that every tensor-parallel rank runs whole.
    public var replicated: [String]
    public var replicatedParams: Int
    public var notes: [String]
    /// The pipeline bubble's share of the step (roofline only).
    public var bubbleFraction: Double?
    public var stages: [Stage]

    public struct Stage: Encodable, Sendable {
        /// 1-based.
        public var stage: Int
        public var name: String
        public var firstUnit: String
        public var lastUnit: String
        public var params: Int
        /// FLOPs of one optimizer step on this stage's GPU.
        public var stepFlops: Int
        public var inFlightMicroBatches: Double
        public var peakBytes: Int
        public var memory: AnalysisReport.Memory
        public var communication: CommunicationReport
        /// Roofline only: forward + backward of one micro-batch, and the optimizer step.
        public var computeTimeS: Double?
        public var optimizerTimeS: Double?

        enum CodingKeys: String, CodingKey {
            case stage, name, params, memory, communication
            case firstUnit = "first_unit"
            case lastUnit = "last_unit"
            case stepFlops = "step_flops"
            case inFlightMicroBatches = "in_flight_micro_batches"
            case peakBytes = "peak_bytes"
            case computeTimeS = "micro_batch_compute_time_s"
            case optimizerTimeS = "optimizer_time_s"
        }
    }

    enum CodingKeys: String, CodingKey {
        case gpus, zero, notes, replicated, stages
        case tensorParallel = "tp"
        case pipelineParallel = "pp"
        case dataParallel = "dp"
        case sequenceParallel = "sequence_parallel"
        case pipelineSchedule = "pipeline_schedule"
        case gpusPerNode = "gpus_per_node"
        case microBatch = "micro_batch"
        case microBatches = "micro_batches"
        case globalBatch = "global_batch"
        case replicatedParams = "replicated_params"
        case bubbleFraction = "bubble_fraction"
    }

    public init(_ analysis: ParallelAnalysis, time: ParallelStepTime? = nil) {
        let layout = analysis.layout
        gpus = layout.gpus
        tensorParallel = layout.tensor
        pipelineParallel = layout.pipeline
        dataParallel = layout.data
        zero = layout.zero.rawValue
        sequenceParallel = layout.sequenceParallel
        pipelineSchedule = layout.schedule.description
        gpusPerNode = layout.gpusPerNode
        microBatch = TrainingRun.batch(of: analysis.model)
        microBatches = analysis.microBatches
        globalBatch = microBatch * microBatches * max(1, layout.data)
        replicated = analysis.tensorParallel.replicated
        replicatedParams = analysis.tensorParallel.replicatedParameters
        notes = analysis.tensorParallel.notes
        bubbleFraction = time?.bubbleFraction
        stages = analysis.stages.map { stage in
            let communication = time?.stages[stage.index].communication ?? CommunicationAnalysis(stage: stage, in: analysis)
            return Stage(stage: stage.index + 1, name: stage.name, firstUnit: stage.part.firstUnit, lastUnit: stage.part.lastUnit,
                         params: stage.parameters, stepFlops: analysis.stepFLOPs(stage), inFlightMicroBatches: stage.inFlight,
                         peakBytes: stage.peakBytes, memory: AnalysisReport.Memory(stage: stage),
                         communication: CommunicationReport(communication, stage: stage.name),
                         computeTimeS: time?.stages[stage.index].compute, optimizerTimeS: time?.stages[stage.index].optimizer)
        }
    }

    /// The stage that communicates most (analyze, check): the one `totals.communication` shows.
    public var busiestStage: Stage? { stages.max { $0.communication.bytesPerGPU < $1.communication.bytesPerGPU } }

    /// The table lines: the layout, one row per stage, and the busiest stage's collectives.
    public func text(communicationOf shown: Stage?) -> String {
        var out = "Parallel: \(gpus) GPU\(gpus == 1 ? "" : "s") = D \(dataParallel) x T \(tensorParallel) x P \(pipelineParallel)"
        if zero > 0 { out += ", ZeRO-\(zero)\(zero == 3 ? " (FSDP)" : "")" }
        if sequenceParallel { out += ", sequence parallel" }
        if pipelineParallel > 1 { out += ", schedule \(pipelineSchedule)" }
        out += "; global batch \(globalBatch) = D \(dataParallel) x \(microBatches) micro-batch\(microBatches == 1 ? "" : "es") of \(microBatch)"
        out += "; \(gpusPerNode) GPUs per node\n"
        if let bubbleFraction, pipelineParallel > 1 { out += "Pipeline bubble: \(Units.format(bubbleFraction * 100))% of the step's pipeline time\n" }
        if tensorParallel > 1 {
            if replicated.isEmpty {
                out += "Every operator with parameters is split over the \(tensorParallel) tensor-parallel ranks.\n"
            } else {
                let names = replicated.prefix(6).joined(separator: ", ") + (replicated.count > 6 ? ", ... (\(replicated.count) in all)" : "")
                out += "Replicated on every tensor-parallel rank (not annotated, or not splittable): \(names); \(Units.count(replicatedParams)) parameters held whole\n"
            }
        }
        for note in notes { out += "Note: \(note)\n" }
        var table = TextTable(headers: ["stage", "units", "params/GPU", "FLOPs/GPU/step", "in flight", "peak", "peak at", "comm/GPU/step"],
                              alignments: [.right, .left, .right, .right, .right, .right, .left, .right])
        for stage in stages {
            let units = stage.firstUnit == stage.lastUnit ? stage.firstUnit : "\(stage.firstUnit) ... \(stage.lastUnit)"
            table.add([String(stage.stage), units, Units.count(stage.params), Units.flops(stage.stepFlops), Units.format(stage.inFlightMicroBatches),
                       Units.bytes(stage.peakBytes), "\(stage.memory.peak.layer) (\(stage.memory.peak.phase))", Units.bytes(stage.communication.bytesPerGPU)])
        }
        out += "\n" + table.render()
        if let shown, !shown.communication.collectives.isEmpty {
            out += "\nCommunication of \(shown.name), per GPU and step (NCCL ring volumes)\n"
            let timed = shown.communication.timeS != nil
            var calls = TextTable(headers: ["collective", "group", "moves", "calls", "ranks", "nodes", "buffers", "sent/GPU"] + (timed ? ["time", "exposed"] : []),
                                  alignments: [.left, .left, .left, .right, .right, .right, .right, .right] + (timed ? [.right, .right] : []))
            for c in shown.communication.collectives {
                var row = [c.kind.rawValue, c.group.rawValue, c.what, String(c.count), String(c.ranks), String(c.nodes), Units.bytes(c.bufferBytes), Units.bytes(c.bytesPerGPU)]
                if timed { row += [c.time.map(RooflineRenderer.seconds) ?? "", c.exposedTime.map(RooflineRenderer.seconds) ?? ""] }
                calls.add(row)
            }
            out += calls.render()
        }
        return out
    }
}

extension AnalysisReport.Memory {
    /// A pipeline stage's memory: one micro-batch's replay, with the peak of the
    /// micro-batches in flight.
    init(stage: ParallelAnalysis.Stage) {
        let memory = stage.memory
        self.init(paramsBytes: memory.paramsBytes, masterParamsBytes: memory.masterParamsBytes, gradsBytes: memory.gradsBytes,
                  optimizerStateBytes: memory.optimizerStateBytes, buffersBytes: memory.buffersBytes, inputsBytes: memory.inputsBytes,
                  savedActivationsBytes: memory.savedActivationsBytes, peakBytes: stage.peakBytes,
                  peak: .init(layer: memory.peakLayer, phase: memory.peakPhase.rawValue, live: memory.peakLive), cudaAllocator: nil)
        self.stage = stage.name
        inFlightMicroBatches = stage.inFlight
    }
}
