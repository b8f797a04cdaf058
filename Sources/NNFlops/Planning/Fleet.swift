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
    /// Sequences per GPU per micro-step, for the activation estimate.
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

/// Training memory of a transformer of N parameters, Adam in mixed precision.
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

    /// Fewest GPUs of `memory` bytes that hold the static memory fully sharded
    /// (ZeRO-3 / FSDP: static / G per GPU) next to `perGPU` bytes of activations;
    /// nil when the activations alone do not fit.
    public static func minimumGPUs(staticBytes: Double, perGPU: Double, memory: Double) -> Int? {
        let room = memory - perGPU
        guard room > 0 else { return nil }
        return max(1, Int((staticBytes / room).rounded(.up)))
    }
}

/// Training time, GPU-hours, cost and memory on a fleet.
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
    public var trainingSeconds: Double
    public var trainingDays: Double
    public var gpuHours: Double
    public var pricePerGPUHour: Double?
    public var cost: Double?
    public var gpuMemoryBytes: Double
    public var memory: TrainingMemory
    /// The shape the activation estimate uses.
    public var shape: TransformerShape
    public var microBatch: Int
    /// ceil(16 N / GPU memory): static memory only.
    public var minGPUsStatic: Int
    /// Static sharded plus one micro-step of activations, no recompute (nil: never fits).
    public var minGPUs: Int?
    /// Static sharded plus activations with full checkpointing (nil: never fits).
    public var minGPUsCheckpointed: Int?
    /// Bytes per GPU on this fleet, from the emitted spec's graph (README, "Training on
    /// many GPUs"): its peak with FSDP (ZeRO-3) over the GPUs, Adam, pure half (the format
    /// above) and no recompute, one micro-batch per GPU, as `analyze` reports it; nil when
    /// the spec's sizes pass 64-bit counts (`--emit-spec` refuses it too).
    public var bytesPerGPU: Double?
    /// The same closed form as `minGPUs`: static / gpus + activations (no recompute).
    public var estimatedBytesPerGPU: Double
    /// Whether `bytesPerGPU` (without it, the estimate) fits one GPU's memory.
    public var fits: Bool

    enum CodingKeys: String, CodingKey {
        case gpu
        case gpuName = "gpu_name"
        case gpus, mfu, precision
        case peakFlopsPerGPU = "peak_flops_per_gpu"
        case sustainedFlops = "sustained_flops"
        case trainingSeconds = "training_seconds"
        case trainingDays = "training_days"
        case gpuHours = "gpu_hours"
        case pricePerGPUHour = "price_per_gpu_hour"
        case cost
        case gpuMemoryBytes = "gpu_memory_bytes"
        case memory, shape
        case microBatch = "micro_batch"
        case minGPUsStatic = "min_gpus_static"
        case minGPUs = "min_gpus"
        case minGPUsCheckpointed = "min_gpus_checkpointed"
        case bytesPerGPU = "bytes_per_gpu"
        case estimatedBytesPerGPU = "estimated_bytes_per_gpu"
        case fits
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
        try c.encode(trainingSeconds, forKey: .trainingSeconds)
        try c.encode(trainingDays, forKey: .trainingDays)
        try c.encode(gpuHours, forKey: .gpuHours)
        try c.encode(pricePerGPUHour, forKey: .pricePerGPUHour)
        try c.encode(cost, forKey: .cost)
        try c.encode(gpuMemoryBytes, forKey: .gpuMemoryBytes)
        try c.encode(memory, forKey: .memory)
        try c.encode(shape, forKey: .shape)
        try c.encode(microBatch, forKey: .microBatch)
        try c.encode(minGPUsStatic, forKey: .minGPUsStatic)
        try c.encode(minGPUs, forKey: .minGPUs)
        try c.encode(minGPUsCheckpointed, forKey: .minGPUsCheckpointed)
        try c.encode(bytesPerGPU, forKey: .bytesPerGPU)
        try c.encode(estimatedBytesPerGPU, forKey: .estimatedBytesPerGPU)
        try c.encode(fits, forKey: .fits)
    }

    public init(request: FleetRequest, compute: Double, params: Double, shape: TransformerShape) throws {
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
        gpu = profile.id
        gpuName = profile.name
        gpus = request.gpus
        mfu = request.mfu
        precision = format.rawValue
        peakFlopsPerGPU = peak
        sustainedFlops = Double(request.gpus) * peak * request.mfu
        trainingSeconds = compute / sustainedFlops
        trainingDays = trainingSeconds / 86_400
        let hours = Double(request.gpus) * trainingSeconds / 3_600
        gpuHours = hours
        pricePerGPUHour = request.pricePerGPUHour
        cost = request.pricePerGPUHour.map { $0 * hours }
        gpuMemoryBytes = profile.memoryBytes
        let memory = TrainingMemory(params: params, shape: shape, microBatch: request.microBatch)
        self.memory = memory
        self.shape = shape
        microBatch = request.microBatch
        minGPUsStatic = max(1, Int((memory.staticBytes / profile.memoryBytes).rounded(.up)))
        minGPUs = TrainingMemory.minimumGPUs(staticBytes: memory.staticBytes, perGPU: memory.activationBytes, memory: profile.memoryBytes)
        minGPUsCheckpointed = TrainingMemory.minimumGPUs(staticBytes: memory.staticBytes, perGPU: memory.checkpointedActivationBytes, memory: profile.memoryBytes)
        estimatedBytesPerGPU = memory.staticBytes / Double(request.gpus) + memory.activationBytes
        // The emitted spec itself, one micro-batch on each of the GPUs, its state sharded by
        // FSDP: the memory model of every other command.
        let name = TransformerShape.modelName
        var configuration = RunConfiguration(optimizer: .adam, precision: format == .bf16 ? .bf16 : .fp16)
        configuration.parallel = ParallelLayout(gpus: request.gpus, zero: request.gpus > 1 ? .parameters : .none)
        do {
            let graph = try Elaborator.elaborate(source: shape.spec(modelName: name), file: name + ".spec",
                                                 overrides: ["batch": .int(request.microBatch)])
            let analysis = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: configuration)
            bytesPerGPU = Double(analysis.peak.peakBytes)
        } catch let error as NNFlopsError where error.message.contains("overflow") {
            // Sizes beyond 64-bit counts: the spec cannot be built; the estimate stands alone.
            bytesPerGPU = nil
        }
        fits = (bytesPerGPU ?? estimatedBytesPerGPU) <= profile.memoryBytes
    }
}
