#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the user asks of the fleet: a GPU model, how many, the model FLOPs utilisation
/// and optionally a price.
public struct FleetRequest: Sendable, Hashable {
    public var gpu: String
    public var gpus: Int
    public var mfu: Double
    public var pricePerGPUHour: Double?
    /// Sequences per GPU per step (one micro-batch each).
    public var microBatch: Int
    /// User profiles (`--hardware`) that `gpu` may name besides the built-ins.
    public var hardware: [GPUProfile]

    public static let defaultMFU = 0.4

    public init(gpu: String, gpus: Int = 1, mfu: Double = FleetRequest.defaultMFU, pricePerGPUHour: Double? = nil, microBatch: Int = 1,
                hardware: [GPUProfile] = []) {
        self.gpu = gpu
        self.hardware = hardware
        self.gpus = gpus
        self.mfu = mfu
        self.pricePerGPUHour = pricePerGPUHour
        self.microBatch = microBatch
    }
}

/// The closed-form estimate of a transformer's training memory, N parameters with Adam in
/// mixed precision, shown beside the graph's figures (`FleetGraph`) for comparison.
///
/// Static: 16 bytes per parameter (half-precision weights 2 + half gradients 2 + fp32
/// master weights 4 + Adam moments 4 + 4; with autocast instead, fp32 weights, gradients
/// and two moments: also 16).
///
/// Activations, per GPU, for b sequences of length s through L layers of width h, with
/// 16-bit activations, dropout on, and fused attention (FlashAttention / PyTorch SDPA,
/// which never stores the s x s scores): 34 s b h bytes per layer (Korthikanti et al.
/// 2022, "Reducing Activation Recomputation in Large Transformer Models", arXiv
/// 2205.05198, §4.1, without its 5 a s^2 b term for the stored scores), plus the fp32
/// logits the loss keeps, 4 s b V. With full activation checkpointing (every layer
/// recomputed in backward) only each layer's input is kept, 2 s b h per layer, plus one
/// layer's full 34 s b h while it is recomputed, plus the logits.
public struct TrainingMemory: Sendable, Hashable, Codable {
    public static let staticBytesPerParameter = 16.0
    public static let activationBytesPerLayerToken = 34.0  // times h
    public static let checkpointBytesPerLayerToken = 2.0  // times h
    public static let logitBytesPerToken = 4.0  // times V

    public var bytesPerParameter: Double
    /// 16 N.
    public var staticBytes: Double
    /// Tokens per GPU per micro-step (b s).
    public var tokensPerGPU: Int
    /// Activations of one micro-step on one GPU, no recomputation.
    public var activationBytes: Double
    /// The same with full activation checkpointing.
    public var checkpointedActivationBytes: Double

    public init(params: Double, shape: TransformerShape, microBatch: Int) {
        let tokens = Double(microBatch * shape.sequence)
        let h = Double(shape.dModel), L = Double(shape.layers), V = Double(shape.vocab)
        bytesPerParameter = Self.staticBytesPerParameter
        staticBytes = Self.staticBytesPerParameter * params
        tokensPerGPU = microBatch * shape.sequence
        let logits = Self.logitBytesPerToken * V * tokens
        activationBytes = Self.activationBytesPerLayerToken * h * L * tokens + logits
        checkpointedActivationBytes = Self.checkpointBytesPerLayerToken * h * L * tokens
            + Self.activationBytesPerLayerToken * h * tokens + logits
    }

    enum CodingKeys: String, CodingKey {
        case bytesPerParameter = "bytes_per_param"
        case staticBytes = "static_bytes"
        case tokensPerGPU = "tokens_per_gpu"
        case activationBytes = "activation_bytes"
        case checkpointedActivationBytes = "checkpointed_activation_bytes"
    }
}

/// Training time, GPU-hours, cost and memory on a fleet, from the emitted spec's graph
/// (`FleetGraph`; README, "Planning", "Fleet"):
///
/// - a step is one micro-batch of b sequences of s tokens on each of the G GPUs, G b s
///   tokens; the run is D / (G b s) steps, fractional (a last partial step counts pro
///   rata, as `roofline --tokens` counts it: `TrainingRun`);
/// - a step's FLOPs per GPU are the graph's (`TrainingStepFLOPs`: forward + backward of its
///   micro-batch, attention's s^2 terms included, + its 1/G of the Adam step);
/// - the time at the MFU is steps x step FLOPs per GPU / (peak x MFU);
/// - the bound is the layout's step time on the roofline (`ParallelStepTime`: compute plus
///   the FSDP gathers and reduce-scatters it waits for), x steps; the MFU it implies is the
///   most any run of this layout reaches.
///
/// C / (G x peak x MFU) with the plan's C = 6ND stays beside them for comparison.
struct FleetEstimate: Sendable, Hashable, Codable {
    public var gpu: String
    public var gpuName: String
    public var gpus: Int
    public var mfu: Double
    /// Format whose dense tensor peak is used: bf16 (fp16 on the V100).
    public var precision: String
    /// Dense tensor-core peak of one GPU in that format, FLOP/s.
    public var peakFlopsPerGPU: Double
    /// gpus x peak x mfu.
    public var sustainedFlops: Double
    public var microBatch: Int
    /// The emitted spec's shape.
    public var shape: TransformerShape
    /// G x b x s.
    public var tokensPerStep: Double
    /// D / tokens per step, fractional.
    public var steps: Double
    /// False when the spec's sizes pass 64-bit counts (`--emit-spec` refuses it too): then
    /// every graph figure below is null and only the closed forms remain.
    public var graphAvailable: Bool
    /// One step's FLOPs on one GPU, from the graph (no recompute).
    public var stepFlopsPerGPU: Double?
    /// steps x G x step FLOPs per GPU: the run's compute by the graph (6ND leaves out
    /// attention's s^2 terms, the layernorms, the activations and the optimizer).
    public var trainingFlops: Double?
    /// At the MFU: steps x step FLOPs per GPU / (peak x MFU).
    public var trainingSeconds: Double?
    public var trainingDays: Double?
    public var gpuHours: Double?
    public var pricePerGPUHour: Double?
    public var cost: Double?
    /// The bound: one step on the fleet's roofline (compute + exposed communication).
    public var boundStepSeconds: Double?
    public var boundComputeSeconds: Double?
    public var boundExposedCommunicationSeconds: Double?
    /// The checkpointing of the bound's run: none, or every block when only that fits.
    public var boundCheckpoint: String?
    /// steps x bound step time.
    public var boundTrainingSeconds: Double?
    public var boundTrainingDays: Double?
    /// The MFU at the bound: G x step FLOPs per GPU / (G x peak x bound step time).
    public var boundMFU: Double?
    /// For comparison: C / (G x peak x MFU) with the plan's C = 6ND.
    public var sixNDTrainingSeconds: Double
    public var sixNDTrainingDays: Double
    public var gpuMemoryBytes: Double
    /// Bytes per GPU on this fleet: the graph's peak, no recompute, as `analyze` reports it.
    public var bytesPerGPU: Double?
    /// The same with every block recomputed.
    public var checkpointedBytesPerGPU: Double?
    /// Whether `bytesPerGPU` fits one GPU's memory (null without the graph).
    public var fits: Bool?
    /// ceil(16 N / GPU memory): the static state alone (a bound, not a fit).
    public var minGPUsStatic: Int
    /// Fewest GPUs whose graph peak fits, no recompute / every block recomputed (null:
    /// not even `FleetGraph.largestFleet` GPUs, or no graph).
    public var minGPUs: Int?
    public var minGPUsCheckpointed: Int?
    /// The closed-form estimate, for comparison: static / G + activations (no recompute).
    public var estimatedBytesPerGPU: Double
    public var memory: TrainingMemory

    enum CodingKeys: String, CodingKey {
        case gpu
        case gpuName = "gpu_name"
        case gpus, mfu, precision
        case peakFlopsPerGPU = "peak_flops_per_gpu"
        case sustainedFlops = "sustained_flops"
        case microBatch = "micro_batch"
        case shape
        case tokensPerStep = "tokens_per_step"
        case steps
        case graphAvailable = "graph_available"
        case stepFlopsPerGPU = "step_flops_per_gpu"
        case trainingFlops = "training_flops"
        case trainingSeconds = "training_seconds"
        case trainingDays = "training_days"
        case gpuHours = "gpu_hours"
        case pricePerGPUHour = "price_per_gpu_hour"
        case cost
        case boundStepSeconds = "bound_step_seconds"
        case boundComputeSeconds = "bound_compute_seconds"
        case boundExposedCommunicationSeconds = "bound_exposed_communication_seconds"
        case boundCheckpoint = "bound_checkpoint"
        case boundTrainingSeconds = "bound_training_seconds"
        case boundTrainingDays = "bound_training_days"
        case boundMFU = "bound_mfu"
        case sixNDTrainingSeconds = "six_nd_training_seconds"
        case sixNDTrainingDays = "six_nd_training_days"
        case gpuMemoryBytes = "gpu_memory_bytes"
        case bytesPerGPU = "bytes_per_gpu"
        case checkpointedBytesPerGPU = "checkpointed_bytes_per_gpu"
        case fits
        case minGPUsStatic = "min_gpus_static"
        case minGPUs = "min_gpus"
        case minGPUsCheckpointed = "min_gpus_checkpointed"
        case estimatedBytesPerGPU = "estimated_bytes_per_gpu"
        case memory
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(gpu, forKey: .gpu)
        try c.encode(gpuName, forKey: .gpuName)
        try c.encode(gpus, forKey: .gpus)
        try c.encode(mfu, forKey: .mfu)
        try c.encode(precision, forKey: .precision)
        try c.encode(peakFlopsPerGPU, forKey: .peakFlopsPerGPU)
        try c.encode(sustainedFlops, forKey: .sustainedFlops)
        try c.encode(microBatch, forKey: .microBatch)
        try c.encode(shape, forKey: .shape)
        try c.encode(tokensPerStep, forKey: .tokensPerStep)
        try c.encode(steps, forKey: .steps)
        try c.encode(graphAvailable, forKey: .graphAvailable)
        try c.encode(stepFlopsPerGPU, forKey: .stepFlopsPerGPU)
        try c.encode(trainingFlops, forKey: .trainingFlops)
        try c.encode(trainingSeconds, forKey: .trainingSeconds)
        try c.encode(trainingDays, forKey: .trainingDays)
        try c.encode(gpuHours, forKey: .gpuHours)
        try c.encode(pricePerGPUHour, forKey: .pricePerGPUHour)
        try c.encode(cost, forKey: .cost)
        try c.encode(boundStepSeconds, forKey: .boundStepSeconds)
        try c.encode(boundComputeSeconds, forKey: .boundComputeSeconds)
        try c.encode(boundExposedCommunicationSeconds, forKey: .boundExposedCommunicationSeconds)
        try c.encode(boundCheckpoint, forKey: .boundCheckpoint)
        try c.encode(boundTrainingSeconds, forKey: .boundTrainingSeconds)
        try c.encode(boundTrainingDays, forKey: .boundTrainingDays)
        try c.encode(boundMFU, forKey: .boundMFU)
        try c.encode(sixNDTrainingSeconds, forKey: .sixNDTrainingSeconds)
        try c.encode(sixNDTrainingDays, forKey: .sixNDTrainingDays)
        try c.encode(gpuMemoryBytes, forKey: .gpuMemoryBytes)
        try c.encode(bytesPerGPU, forKey: .bytesPerGPU)
        try c.encode(checkpointedBytesPerGPU, forKey: .checkpointedBytesPerGPU)
        try c.encode(fits, forKey: .fits)
        try c.encode(minGPUsStatic, forKey: .minGPUsStatic)
        try c.encode(minGPUs, forKey: .minGPUs)
        try c.encode(minGPUsCheckpointed, forKey: .minGPUsCheckpointed)
        try c.encode(estimatedBytesPerGPU, forKey: .estimatedBytesPerGPU)
        try c.encode(memory, forKey: .memory)
    }

    public init(request: FleetRequest, compute: Double, params: Double, tokens: Double, shape: TransformerShape) throws {
        let profile = try GPUProfile.named(request.gpu, extra: request.hardware)
        guard request.gpus >= 1 else { throw NNFlopsError("--gpus must be at least 1 (got \(request.gpus))") }
        guard request.mfu.isFinite, request.mfu > 0, request.mfu <= 1 else {
            throw NNFlopsError("--mfu must be in (0, 1] (got \(request.mfu))",
                               notes: ["note: MFU is the fraction of the dense peak the run sustains; 0.3-0.5 is typical for large runs"])
        }
        if let price = request.pricePerGPUHour, !(price.isFinite && price >= 0) {
            throw NNFlopsError("--price-per-gpu-hour must be a non-negative number (got \(price))")
        }
        guard request.microBatch >= 1 else { throw NNFlopsError("--micro-batch must be at least 1 (got \(request.microBatch))") }
        let format = profile.trainingHalfFormat
        guard let peak = profile.matrixPeak(format) else { throw NNFlopsError("\(profile.name) has no \(format.rawValue) peak") }
        let g = Double(request.gpus)
        gpu = profile.id
        gpuName = profile.name
        gpus = request.gpus
        mfu = request.mfu
        precision = format.rawValue
        peakFlopsPerGPU = peak
        sustainedFlops = g * peak * request.mfu
        microBatch = request.microBatch
        self.shape = shape
        pricePerGPUHour = request.pricePerGPUHour
        tokensPerStep = g * Double(request.microBatch) * Double(shape.sequence)
        steps = tokens / tokensPerStep
        sixNDTrainingSeconds = compute / sustainedFlops
        sixNDTrainingDays = sixNDTrainingSeconds / 86_400
        gpuMemoryBytes = profile.memoryBytes
        let memory = TrainingMemory(params: params, shape: shape, microBatch: request.microBatch)
        self.memory = memory
        minGPUsStatic = max(1, Int((memory.staticBytes / profile.memoryBytes).rounded(.up)))
        estimatedBytesPerGPU = memory.staticBytes / g + memory.activationBytes

        // The emitted spec itself on the fleet; sizes past 64-bit counts leave no graph,
        // and the report says so instead of answering with the closed forms.
        let fleet: FleetGraph
        let plain: ParallelAnalysis, recomputed: ParallelAnalysis
        let stepFlops: Count
        do {
            fleet = try FleetGraph(shape: shape, microBatch: request.microBatch, precision: format == .bf16 ? .bf16 : .fp16)
            plain = try fleet.analysis(gpus: request.gpus, recompute: false)
            recomputed = try fleet.analysis(gpus: request.gpus, recompute: true)
            let stage = plain.peak
            stepFlops = TrainingStepFLOPs.flops(costs: stage.costs, memory: stage.memory, microBatches: plain.microBatches)
        } catch let error as NNFlopsError where error.message.contains("overflow") {
            graphAvailable = false
            return
        }
        guard !stepFlops.overflowed else {
            graphAvailable = false
            return
        }
        graphAvailable = true
        let capacity = profile.memoryBytes
        bytesPerGPU = Double(plain.peak.peakBytes)
        checkpointedBytesPerGPU = Double(recomputed.peak.peakBytes)
        let fits = Double(plain.peak.peakBytes) <= capacity
        self.fits = fits
        let oneGPU = try fleet.staticBytesOnOneGPU(known: plain)
        minGPUs = try fleet.fewestGPUs(capacity: capacity, recompute: false, staticBytes: oneGPU, known: plain)
        minGPUsCheckpointed = try fleet.fewestGPUs(capacity: capacity, recompute: true, staticBytes: oneGPU, known: recomputed)

        // The time: the graph's steps at the MFU, and the layout's roofline bound (of the
        // run that fits: no recompute, else every block recomputed), as `roofline --tokens
        // D --gpus G --fsdp` totals a run (README, "Training-run totals").
        let perGPU = Double(stepFlops.value)
        stepFlopsPerGPU = perGPU
        let boundRun = fits || Double(recomputed.peak.peakBytes) > capacity ? plain : recomputed
        let time = try ParallelStepTime(analysis: boundRun, roof: try Roof(gpu: profile))
        trainingFlops = steps * g * perGPU
        let seconds = steps * perGPU / (peak * request.mfu)
        trainingSeconds = seconds
        trainingDays = seconds / 86_400
        gpuHours = g * seconds / 3_600
        cost = request.pricePerGPUHour.map { $0 * g * seconds / 3_600 }
        boundStepSeconds = time.stepTime
        boundComputeSeconds = time.computeTime
        boundExposedCommunicationSeconds = time.exposedCommunicationTime
        boundCheckpoint = boundRun.configuration.checkpoint.description
        boundTrainingSeconds = steps * time.stepTime
        boundTrainingDays = steps * time.stepTime / 86_400
        boundMFU = perGPU / (peak * time.stepTime)
    }
}
