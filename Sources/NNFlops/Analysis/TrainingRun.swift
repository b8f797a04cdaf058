#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a whole training run asks for (the seeds' "five numbers", 002 §17.4): how much
/// data, and optionally on what fleet at what utilisation.
public struct TrainingRunRequest: Sendable, Hashable {
    /// Dataset size in samples and passes over it (`--samples N --epochs E`).
    public var samples: Double?
    public var epochs: Double
    /// Or the total number of tokens processed (`--tokens D`, sequence models).
    public var tokens: Double?
    public var gpus: Int
    /// Fraction of the precision's dense matrix peak the run sustains (`--utilization`).
    public var utilization: Double

    public static let defaultUtilization = 0.5

    public init(samples: Double? = nil, epochs: Double = 1, tokens: Double? = nil, gpus: Int = 1,
                utilization: Double = TrainingRunRequest.defaultUtilization) {
        self.samples = samples
        self.epochs = epochs
        self.tokens = tokens
        self.gpus = gpus
        self.utilization = utilization
    }

    public func validate() throws {
        if samples != nil && tokens != nil { throw NNFlopsError("give either --samples (with --epochs) or --tokens, not both") }
        if samples == nil && tokens == nil { throw NNFlopsError("a training run needs --samples N (with --epochs E) or --tokens D") }
        if let samples, !(samples.isFinite && samples >= 1) { throw NNFlopsError("--samples must be at least 1 (got \(samples))") }
        if let tokens, !(tokens.isFinite && tokens >= 1) { throw NNFlopsError("--tokens must be at least 1 (got \(tokens))") }
        if !(epochs.isFinite && epochs > 0) { throw NNFlopsError("--epochs must be positive (got \(epochs))") }
        if tokens != nil && epochs != 1 { throw NNFlopsError("--epochs goes with --samples; --tokens already counts every token processed") }
        if gpus < 1 { throw NNFlopsError("--gpus must be at least 1 (got \(gpus))") }
        if !(utilization.isFinite && utilization > 0 && utilization <= 1) {
            throw NNFlopsError("--utilization must be in (0, 1] (got \(utilization))",
                               notes: ["note: it is the fraction of the dense peak the run sustains; 0.3-0.6 is typical (seeds 002 §19.3)"])
        }
    }
}

/// Total training compute and time of a run: C = train-step FLOPs x steps, and on a fleet
/// T = C / (gpus x peak x utilization), beside the roofline's lower bound.
public struct TrainingRun: Sendable, Codable {
    /// Samples per optimizer step (the spec's `batch` x accumulation steps).
    public var samplesPerStep: Int
    /// Elements of the token input per step (with `--tokens`).
    public var tokensPerStep: Int?
    /// Samples (or tokens) processed in all: N x E, or D.
    public var processed: Double
    /// Optimizer steps: processed / per step (fractional: a last partial batch counts pro rata).
    public var steps: Double
    /// FLOPs of one optimizer step: forward + backward (+ recompute) per micro-batch, times
    /// the micro-batches, + the optimizer step.
    public var stepFlops: Double
    /// C = stepFlops x steps.
    public var totalFlops: Double
    /// Forward FLOPs per sample (the seeds' F), for comparison with 3 x F x N x E.
    public var forwardFlopsPerSample: Double

    public var gpu: String?
    public var gpus: Int
    public var utilization: Double
    /// Dense matrix peak of the run's precision on that GPU.
    public var peakFlopsPerGPU: Double?
    /// C / (gpus x peak x utilization).
    public var wallTimeSeconds: Double?
    public var gpuHours: Double?
    /// Roofline step lower bound x steps / gpus (data parallel; the bound at the full batch
    /// divided by n never exceeds the bound at batch / n, so this stays a lower bound).
    public var rooflineTimeSeconds: Double?
    public var rooflineGPUHours: Double?
    /// True when the utilisation estimate is faster than the roofline allows: that
    /// utilisation is unreachable for this model on this GPU.
    public var utilizationEstimateBelowBound: Bool {
        guard let wall = wallTimeSeconds, let bound = rooflineTimeSeconds else { return false }
        return wall < bound
    }

    enum CodingKeys: String, CodingKey {
        case samplesPerStep = "samples_per_step", tokensPerStep = "tokens_per_step", processed, steps
        case stepFlops = "step_flops", totalFlops = "total_flops", forwardFlopsPerSample = "forward_flops_per_sample"
        case gpu, gpus, utilization, peakFlopsPerGPU = "peak_flops_per_gpu"
        case wallTimeSeconds = "wall_time_s", gpuHours = "gpu_hours"
        case rooflineTimeSeconds = "roofline_time_s", rooflineGPUHours = "roofline_gpu_hours"
    }

    /// - Parameters:
    ///   - stepFlops: FLOPs of one optimizer step on `samplesPerStep` samples.
    ///   - forwardFlops: forward FLOPs of one micro-batch of `microBatch` samples.
    ///   - tokensPerStep: token-input elements per optimizer step (needed for `tokens`).
    ///   - peak: the precision's dense matrix peak per GPU (nil: no fleet figures).
    ///   - rooflineStepTime: the roofline's step lower bound on one GPU.
    ///   - fleetStepTime: instead, the bound of one step on the whole fleet (a parallel
    ///     layout's `ParallelStepTime`, communication and bubble included).
    public init(request: TrainingRunRequest, samplesPerStep: Int, tokensPerStep: Int?, stepFlops: Double,
                forwardFlops: Double, microBatch: Int, gpu: String? = nil, peak: Double? = nil,
                rooflineStepTime: Double? = nil, fleetStepTime: Double? = nil) throws {
        try request.validate()
        guard samplesPerStep >= 1 else { throw NNFlopsError("the batch must be at least 1") }
        self.samplesPerStep = samplesPerStep
        self.tokensPerStep = tokensPerStep
        if let tokens = request.tokens {
            guard let tokensPerStep, tokensPerStep >= 1 else {
                throw NNFlopsError("--tokens needs a model whose input is token ids (an integer input such as `input ids: [batch, seq] int`)",
                                   notes: ["note: use --samples N --epochs E for other models"])
            }
            processed = tokens
            steps = tokens / Double(tokensPerStep)
        } else if let samples = request.samples {
            processed = samples * request.epochs
            steps = processed / Double(samplesPerStep)
        } else {
            throw NNFlopsError("a training run needs --samples N (with --epochs E) or --tokens D")
        }
        self.stepFlops = stepFlops
        totalFlops = stepFlops * steps
        forwardFlopsPerSample = forwardFlops / Double(max(1, microBatch))
        self.gpu = gpu
        gpus = request.gpus
        utilization = request.utilization
        peakFlopsPerGPU = peak
        if let peak {
            let seconds = totalFlops / (Double(request.gpus) * peak * request.utilization)
            wallTimeSeconds = seconds
            gpuHours = seconds * Double(request.gpus) / 3600
        }
        if let rooflineStepTime {
            let seconds = rooflineStepTime * steps / Double(request.gpus)
            rooflineTimeSeconds = seconds
            rooflineGPUHours = seconds * Double(request.gpus) / 3600
        }
        if let fleetStepTime {
            let seconds = fleetStepTime * steps
            rooflineTimeSeconds = seconds
            rooflineGPUHours = seconds * Double(request.gpus) / 3600
        }
    }

    /// The run's figures for a graph and its roofline analysis (samples per step from the
    /// spec's `batch` param, else the first input's leading dimension; tokens per step from
    /// the first integer input).
    public init(request: TrainingRunRequest, graph: Graph, costs: CostAnalysis, roofline: RooflineAnalysis) throws {
        let microBatch = Self.batch(of: graph)
        let accumulation = roofline.microSteps
        var tokens: Int? = nil
        if let input = graph.inputs.first(where: { !graph.tensors[$0.tensor].dtype.isFloatingPoint }) {
            tokens = graph.tensors[input.tensor].elements.value &* accumulation
        }
        try self.init(request: request, samplesPerStep: microBatch &* accumulation, tokensPerStep: tokens,
                      stepFlops: Double(roofline.stepFlops), forwardFlops: Double(costs.forward.flops.value),
                      microBatch: microBatch, gpu: roofline.roof.gpu.id, peak: roofline.peak,
                      rooflineStepTime: roofline.stepTime)
    }

    /// The run's figures on a parallel layout (README, "Training on many GPUs"): a step is
    /// the global batch (D x m micro-batches), its FLOPs the model's over every GPU
    /// (`modelCosts` and `modelMemory`: one micro-batch of the whole model on one GPU), and
    /// its roofline bound the layout's step time.
    public init(request: TrainingRunRequest, parallel: ParallelAnalysis, time: ParallelStepTime, modelCosts: CostAnalysis,
                modelMemory: MemoryAnalysis, roof: Roof, peak: Double) throws {
        let graph = parallel.model
        let microBatch = Self.batch(of: graph)
        let steps = parallel.microBatches * max(1, parallel.layout.data)
        var tokens: Int? = nil
        if let input = graph.inputs.first(where: { !graph.tensors[$0.tensor].dtype.isFloatingPoint }) {
            tokens = graph.tensors[input.tensor].elements.value &* steps
        }
        let perMicroBatch = Double(modelCosts.trainStep.flops.value) + Double(modelMemory.recomputeFLOPs.value)
        try self.init(request: request, samplesPerStep: microBatch &* steps, tokensPerStep: tokens,
                      stepFlops: perMicroBatch * Double(steps) + Double(modelMemory.optimizerFLOPs.value),
                      forwardFlops: Double(modelCosts.forward.flops.value), microBatch: microBatch, gpu: roof.gpu.id, peak: peak,
                      fleetStepTime: time.stepTime)
    }

    /// Samples per micro-batch: the spec's `batch` param, else the first input's leading
    /// dimension, else 1.
    public static func batch(of graph: Graph) -> Int {
        if let setting = graph.settings.first(where: { $0.name == "batch" }), case .int(let b) = setting.value, b >= 1 { return b }
        if let input = graph.inputs.first, let first = graph.tensors[input.tensor].shape.first, first >= 1 { return first }
        return 1
    }
}
