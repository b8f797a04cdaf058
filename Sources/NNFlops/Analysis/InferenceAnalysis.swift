/// LLM inference (README, "Inference"): the same graph at other shapes plus the KV cache
/// as state. The model is elaborated through its front end at the prefill shape (the
/// `seq` param = the prompt P) and at the decode shape (`seq` = 1, one query over the
/// keys the cache holds); every figure comes from the cost, memory and roofline analyses
/// of those graphs under an inference run that keeps the KV cache
/// (`RunConfiguration.kvCache`), and the cache's size from what each operator declares it
/// keeps per position (`Operator.decodingState`). Nothing here looks at operator kinds or
/// at config keys beyond the model's declared context length.

/// What `nnflops infer` asks.
public struct InferenceRequest: Sendable {
    /// Prompt tokens P (the prefill's sequence).
    public var prompt: Int
    /// Tokens generated G: decode steps at positions P ... P + G - 1.
    public var generate: Int
    /// Sequences decoded together (the `batch` param); nil: the model's own.
    public var batch: Int?
    /// fp32, bf16 or fp16: the model's type (`model.to(dtype)`, a pure precision policy).
    public var precision: PrecisionPolicy
    public var weightPrecision: WeightPrecision?
    public var kvPrecision: KVCachePrecision?
    public var attention: AttentionConvention
    public var gpu: GPUProfile
    /// Fraction of the GPU's memory kept for the framework (capacity: `--reserve`).
    public var reserve: Double
    /// Tensor-parallel ranks (`--tp`): the model's graph rewritten for one rank
    /// (TensorParallelGraph, Megatron's scheme), every figure one GPU's, plus the
    /// tensor-parallel collectives of each forward pass (exposed: the next operator waits).
    public var tensorParallel: Int

    public init(prompt: Int, generate: Int, batch: Int? = nil, precision: PrecisionPolicy = .bf16,
                weightPrecision: WeightPrecision? = nil, kvPrecision: KVCachePrecision? = nil,
                attention: AttentionConvention = .dense, gpu: GPUProfile, reserve: Double = 0, tensorParallel: Int = 1) {
        self.tensorParallel = tensorParallel
        self.prompt = prompt
        self.generate = generate
        self.batch = batch
        self.precision = precision
        self.weightPrecision = weightPrecision
        self.kvPrecision = kvPrecision
        self.attention = attention
        self.gpu = gpu
        self.reserve = reserve
    }

    /// The names of the params that give a model's context length (the rows of a learned
    /// position table, or the positions a rotary model was trained for): the zoo's and
    /// transformers' spellings.
    public static let positionParams = ["positions", "n_positions", "max_position_embeddings", "max_positions"]
}

/// The figures of one pass (the prefill) or one decode step.
struct InferenceStep: Sendable, Equatable {
    /// The context position of the step's token (decode), or the prompt length (prefill).
    public var position: Int
    /// The model's FLOPs (the cost analysis's forward count), for the whole batch.
    public var flops: Int
    /// The (de)quantisation FLOPs quantised weights add (`WeightQuantization`).
    public var quantizationFlops: Int
    /// Minimum bytes moved (the roofline's traffic), for the whole batch.
    public var bytes: Int
    /// The roofline lower bound, seconds, with the tensor-parallel communication.
    public var time: Double
    /// With `--tp`: the tensor-parallel collectives' time (in `time`) and the ring volume
    /// each GPU sends.
    public var communicationTime: Double = 0
    public var communicationBytes: Int = 0
}

public struct InferenceAnalysis: Sendable {
    public var model: String
    public var request: InferenceRequest
    public var batch: Int
    /// The prefill: the graph at sequence P (its time is the time to first token).
    var prefill: InferenceStep
    /// The first and the last decode step (positions P and P + G - 1).
    var firstStep: InferenceStep
    var lastStep: InferenceStep
    /// Sums over the G decode steps.
    public var decodeFlops: Double
    public var decodeQuantizationFlops: Double
    public var decodeBytes: Double
    public var decodeTime: Double
    /// The KV cache after P + G positions, and what one position adds for one sequence.
    public var kvCacheBytes: Int
    public var kvCacheBytesPerToken: Int
    /// Operators that keep a KV cache (the layers' attention).
    public var cachingOperators: Int
    /// Parameters at the stored precision, and the buffers.
    public var weightsBytes: Int
    public var buffersBytes: Int
    /// The largest live activation set (the graph inputs included) of the prefill and of
    /// the decode step at the last position, and where each happens.
    public var prefillActivationBytes: Int
    public var prefillPeakLayer: String
    public var decodeActivationBytes: Int
    public var decodePeakLayer: String
    /// Weights + buffers + the KV cache for P + G positions + the larger activation set.
    public var peakBytes: Int
    public var peakDuringPrefill: Bool
    var capacity: InferenceCapacity
    /// How quantised weights are priced, nil without them.
    public var quantization: String?
    /// The element type of the KV cache.
    public var kvCacheType: String
    /// The model's declared context length and the param that gives it, if any.
    public var positionLimit: (name: String, value: Int)?

    /// Decode per generated token, averaged over the G steps: a step makes one token for
    /// each of the batch's sequences.
    public var flopsPerToken: Double { decodeFlops / Double(request.generate) / Double(batch) }
    public var bytesPerToken: Double { decodeBytes / Double(request.generate) / Double(batch) }
    /// The mean step time: each sequence waits this long per token.
    public var timePerToken: Double { decodeTime / Double(request.generate) }
    /// Tokens per second for the whole batch.
    public var tokensPerSecond: Double { timePerToken > 0 ? Double(batch) / timePerToken : 0 }
    /// Context after the run: P + G positions.
    public var context: Int { request.prompt + request.generate }

    public init(model: ModelRequest, request: InferenceRequest) throws {
        let session = try InferenceSession(model: model, request: request)
        self.request = request
        self.model = session.modelName
        batch = session.batch
        positionLimit = session.positionLimit

        let prefillRun = try session.prefill(prompt: request.prompt, batch: batch, withTime: true)
        prefill = prefillRun.step
        prefillActivationBytes = prefillRun.activationBytes
        prefillPeakLayer = prefillRun.peakLayer
        weightsBytes = prefillRun.weightsBytes
        buffersBytes = prefillRun.buffersBytes

        let decode = try session.decodeGraph(batch: batch)
        let states = try session.states(decode, positions: request.prompt)
        cachingOperators = states.count
        let context = request.prompt + request.generate
        kvCacheBytes = try session.kvCacheBytes(states, positions: context)
        kvCacheBytesPerToken = try session.kvCacheBytes(states, positions: 1) / batch

        let steps = try DecodeSteps(session: session, graph: decode, first: request.prompt, last: context - 1)
        firstStep = steps.first
        lastStep = steps.last
        decodeFlops = steps.flops
        decodeQuantizationFlops = steps.quantizationFlops
        decodeBytes = steps.bytes
        decodeTime = steps.time

        let lastMemory = try session.activations(decode, cachedPositions: context - 1)
        decodeActivationBytes = lastMemory.bytes
        decodePeakLayer = lastMemory.layer

        peakDuringPrefill = prefillActivationBytes >= decodeActivationBytes
        peakBytes = weightsBytes + buffersBytes + kvCacheBytes + max(prefillActivationBytes, decodeActivationBytes)
        capacity = try InferenceCapacity(session: session, prompt: request.prompt, generate: request.generate, batch: batch,
                                         peakAtRequest: peakBytes)
        quantization = WeightQuantization(session.configuration(cachedPositions: 0), gpu: request.gpu)?.statement(gpu: request.gpu)
        kvCacheType = request.kvPrecision?.rawValue ?? session.kvTypeName(states)
    }
}

/// The largest batch at the request's context and the longest context at its batch that
/// fit the GPU's memory (less the reserve), by the same peak as the request's.
struct InferenceCapacity: Sendable {
    /// The GPU's capacity (the total its driver reports where known, else the datasheet).
    public var capacityBytes: Int
    public var usableBytes: Int
    /// 0 when not even batch 1 fits; nil when the model has no `batch` param to vary.
    public var maxBatch: Int?
    /// Prompt grown, `generate` kept: the longest P' + G that fits (0: none fits).
    public var maxContext: Int
    /// The model's context length bounds `maxContext` (rather than memory).
    public var contextLimitedByPositions: Bool

    /// Searches stop here: 2^20 sequences, 2^22 positions (README, "Limits").
    public static let batchLimit = Limits.standard.inferenceBatchSearch
    public static let contextLimit = Limits.standard.inferenceContextSearch

    init(session: InferenceSession, prompt: Int, generate: Int, batch: Int, peakAtRequest: Int) throws {
        capacityBytes = Int(session.request.gpu.usableMemoryBytes)
        usableBytes = Int((Double(capacityBytes) * (1 - session.request.reserve)).rounded(.down))
        let usable = usableBytes
        if session.hasBatchParam {
            maxBatch = try Self.largest(from: 1, limit: Self.batchLimit, known: (batch, peakAtRequest <= usable)) { b in
                try session.peak(prompt: prompt, generate: generate, batch: b) <= usable
            }
        } else {
            maxBatch = nil
        }
        // The prompt grows, --generate stays: contexts G + 1 ... the model's positions.
        let positions = session.positionLimit?.value
        let cap = min(positions ?? Self.contextLimit, Self.contextLimit)
        let context = prompt + generate
        let longest = try Self.largest(from: generate + 1, limit: cap, known: (context, peakAtRequest <= usable)) { t in
            try session.peak(prompt: t - generate, generate: generate, batch: batch) <= usable
        }
        maxContext = longest > generate ? longest : 0
        contextLimitedByPositions = positions.map { longest == $0 } ?? false
    }

    /// The largest n in [start, limit] with fits(n) (fits is monotone: true, then false),
    /// start - 1 when none fits; `known` is one value already evaluated. Doubling from the
    /// largest known fit, then bisection.
    static func largest(from start: Int, limit: Int, known: (Int, Bool), _ fits: (Int) throws -> Bool) throws -> Int {
        guard start <= limit else { return start - 1 }
        var good = start - 1
        var bad: Int? = nil
        if known.0 >= start && known.0 <= limit {
            if known.1 { good = known.0 } else { bad = known.0 }
        }
        if good < start {
            guard try fits(start) else { return start - 1 }
            good = start
        }
        if bad == nil {
            while good < limit {
                let next = min(limit, good * 2)
                if try fits(next) { good = next } else { bad = next; break }
            }
        }
        if var high = bad {
            while high - good > 1 {
                let mid = good + (high - good) / 2
                if try fits(mid) { good = mid } else { high = mid }
            }
        }
        return good
    }
}

/// The model, read once, and how each of the request's runs is elaborated and analysed.
struct InferenceSession {
    let model: ModelRequest
    let request: InferenceRequest
    let modelName: String
    let batch: Int
    let hasBatchParam: Bool
    let positionLimit: (name: String, value: Int)?
    let roof: Roof

    init(model: ModelRequest, request: InferenceRequest) throws {
        guard request.prompt >= 1 else { throw NNFlopsError("--prompt must be at least 1, got \(request.prompt)") }
        guard request.generate >= 1 else {
            throw NNFlopsError("--generate must be at least 1, got \(request.generate): decode makes at least one token")
        }
        guard [.fp32, .bf16, .fp16].contains(request.precision) else {
            throw NNFlopsError("infer runs the model in fp32, bf16 or fp16 (model.to(dtype)), not \(request.precision.rawValue)")
        }
        guard request.reserve >= 0 && request.reserve < 1 else {
            throw NNFlopsError("--reserve must be at least 0 and below 1, got \(request.reserve)")
        }
        if let batch = request.batch, batch < 1 { throw NNFlopsError("--batch must be at least 1, got \(batch)") }
        guard request.tensorParallel >= 1, request.tensorParallel <= ParallelLayout.defaultGPUsPerNode else {
            throw NNFlopsError("--tp must be from 1 to \(ParallelLayout.defaultGPUsPerNode) (one node's GPUs: infer serves on one node), got \(request.tensorParallel)")
        }
        try request.gpu.check(request.precision)
        self.model = model
        self.request = request
        roof = try Roof(gpu: request.gpu)
        if let given = model.overrides["seq"] {
            throw NNFlopsError("--set seq=\(given): infer sets seq itself, to the prompt's length for the prefill and to 1 for each decode step: drop the --set")
        }
        let base: Graph
        do {
            base = try model.graph()
        } catch {
            // A `seq` with no value of its own (an ONNX export's symbolic dimension): infer
            // gives it one, as it does for every graph it elaborates.
            guard let withPrompt = try? model.graph(setting: ["seq": .int(request.prompt)]) else { throw error }
            base = withPrompt
        }
        modelName = base.model
        // Something must keep state between decoding steps (causal attention's KV cache).
        let probe = try CostAnalysis(graph: base, options: CountOptions(attention: request.attention, precision: request.precision,
                                                                         mode: .inference, cachedPositions: 0))
        guard base.nodes.indices.contains(where: { base.nodes[$0].op.decodingState(probe.layers[$0].context) != nil }) else {
            throw NNFlopsError("\(base.model) keeps no KV cache: none of its operators keeps state from one decoding step to the next, as causal attention does, so it has no decode phase",
                               notes: ["note: infer sizes autoregressive models (causal attention); an encoder, or a model without attention, only has a forward pass: see `nnflops roofline --inference`"])
        }
        let settings = Dictionary(base.settings.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard settings["seq"] != nil else {
            throw NNFlopsError("\(model.reference) has no `seq` param: infer elaborates the model at the prompt's length and at one token through it",
                               notes: ["note: declare `param seq = N` and use it for the token input's length"])
        }
        hasBatchParam = settings["batch"] != nil
        if let batch = request.batch {
            guard hasBatchParam else { throw NNFlopsError("\(model.reference) has no `batch` param for --batch \(batch)") }
            self.batch = batch
        } else if case .int(let b)? = settings["batch"] {
            self.batch = b
        } else {
            self.batch = 1
        }
        var limit: (String, Int)? = nil
        for name in InferenceRequest.positionParams {
            if case .int(let value)? = settings[name] { limit = (name, value); break }
        }
        positionLimit = limit
        let context = request.prompt.addingReportingOverflow(request.generate)
        if let (name, value) = limit {
            guard request.prompt <= value else {
                throw NNFlopsError("--prompt \(request.prompt) is beyond the model's positions: \(name) = \(value)")
            }
            guard !context.overflow, context.partialValue <= value else {
                let positions = context.overflow ? "too many" : String(context.partialValue)
                throw NNFlopsError("--prompt \(request.prompt) + --generate \(request.generate) = \(positions) positions are beyond the model's positions: \(name) = \(value)",
                                   notes: ["note: the last token decoded sits at position P + G - 1 = \(context.overflow ? "?" : String(context.partialValue - 1)); at most \(value) positions fit"])
            }
        }
        guard !context.overflow else { throw NNFlopsError("--prompt + --generate overflows") }
    }

    func graph(seq: Int, batch: Int) throws -> Graph {
        var settings: [String: Value] = ["seq": .int(seq)]
        if hasBatchParam { settings["batch"] = .int(batch) }
        let whole = try model.graph(setting: settings)
        guard request.tensorParallel > 1 else { return whole }
        return try TensorParallelGraph(graph: whole, degree: request.tensorParallel).graph
    }
    func decodeGraph(batch: Int) throws -> Graph { try graph(seq: 1, batch: batch) }

    /// The run: inference in the request's precision, weights and KV cache type, the cache
    /// holding `cachedPositions` before the step.
    func configuration(cachedPositions: Int) -> RunConfiguration {
        RunConfiguration(precision: request.precision, inference: true, weightPrecision: request.weightPrecision,
                         kvCache: KVCacheState(cachedPositions: cachedPositions, precision: request.kvPrecision))
    }

    func costs(_ graph: Graph, cachedPositions: Int) throws -> (CostAnalysis, RunConfiguration) {
        let configuration = configuration(cachedPositions: cachedPositions)
        return (try CostAnalysis(graph: graph, options: CountOptions(attention: request.attention).run(configuration)), configuration)
    }

    /// One step's figures: the cost analysis's FLOPs, the roofline's bytes and time.
    func step(_ graph: Graph, cachedPositions: Int, position: Int) throws -> (InferenceStep, RooflineAnalysis) {
        let (costs, configuration) = try costs(graph, cachedPositions: cachedPositions)
        let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: configuration)
        let quantization = roofline.entries.map(\.quantizationFlops).reduce(0, &+)
        let bytes = roofline.entries.map(\.bytes).reduce(0, &+)
        var step = InferenceStep(position: position, flops: costs.forward.flops.value, quantizationFlops: quantization, bytes: bytes,
                                 time: roofline.forwardTime)
        if request.tensorParallel > 1 {
            let communication = CommunicationAnalysis(tensorParallelForward: graph, costs: costs, configuration: configuration,
                                                      degree: request.tensorParallel, interconnect: .init(gpu: request.gpu))
            step.communicationTime = communication.time ?? 0
            step.communicationBytes = communication.bytesPerGPU
            step.time += step.communicationTime
        }
        return (step, roofline)
    }

    /// The largest live set of a forward pass beyond the weights and buffers, and where.
    func activations(_ graph: Graph, cachedPositions: Int) throws -> (bytes: Int, layer: String, weights: Int, buffers: Int) {
        let (costs, configuration) = try costs(graph, cachedPositions: cachedPositions)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
        return (memory.peakBytes - memory.paramsBytes - memory.buffersBytes, memory.peakLayer, memory.paramsBytes, memory.buffersBytes)
    }

    struct PrefillRun {
        var step: InferenceStep
        var activationBytes: Int
        var peakLayer: String
        var weightsBytes: Int
        var buffersBytes: Int
    }

    func prefill(prompt: Int, batch: Int, withTime: Bool) throws -> PrefillRun {
        let graph = try graph(seq: prompt, batch: batch)
        let memory = try activations(graph, cachedPositions: 0)
        var step = InferenceStep(position: prompt, flops: 0, quantizationFlops: 0, bytes: 0, time: 0)
        if withTime { step = try self.step(graph, cachedPositions: 0, position: prompt).0 }
        return PrefillRun(step: step, activationBytes: memory.bytes, peakLayer: memory.layer, weightsBytes: memory.weights,
                          buffersBytes: memory.buffers)
    }

    /// The decoding state every operator of `graph` declares in a run whose cache holds
    /// `positions` (node index, state).
    func states(_ graph: Graph, positions: Int) throws -> [(node: Int, state: DecodingState)] {
        let (costs, configuration) = try costs(graph, cachedPositions: positions)
        let contexts = costs.contexts(for: configuration, graph: graph)
        return graph.nodes.indices.compactMap { index in graph.nodes[index].op.decodingState(contexts[index]).map { (index, $0) } }
    }

    /// Bytes of the KV cache once `positions` positions have gone through it.
    func kvCacheBytes(_ states: [(node: Int, state: DecodingState)], graph: Graph? = nil, positions: Int) throws -> Int {
        let g = try graph ?? decodeGraph(batch: batch)
        let types = RuntimeTypes(graph: g, policy: request.precision)
        var total = Count.zero
        for (node, state) in states {
            total += state.bytesPerPosition(node: node, graph: g, types: types, precision: request.kvPrecision) * state.positionsKept(after: positions)
        }
        guard !total.overflowed else { throw NNFlopsError("the KV cache's size overflows 64 bits; the shapes are too large") }
        return total.value
    }

    /// The cache's element type when no --kv-precision is given: k's and v's runtime type.
    func kvTypeName(_ states: [(node: Int, state: DecodingState)]) -> String {
        guard let graph = try? decodeGraph(batch: batch), let (node, state) = states.first, let tensor = state.perPosition.first else {
            return request.precision.rawValue
        }
        let dtype = RuntimeTypes(graph: graph, policy: request.precision).saved(tensor.type, node: node, in: graph)
        return dtype == .float32 ? "fp32" : dtype == .float16 ? "fp16" : dtype.rawValue
    }

    /// The request's memory peak at another prompt or batch (capacity): weights, buffers,
    /// the KV cache for P + G positions and the larger of the prefill's and the last decode
    /// step's activation sets.
    func peak(prompt: Int, generate: Int, batch: Int) throws -> Int {
        let prefill = try self.prefill(prompt: prompt, batch: batch, withTime: false)
        let decode = try decodeGraph(batch: batch)
        let context = prompt + generate
        let states = try states(decode, positions: prompt)
        let cache = try kvCacheBytes(states, graph: decode, positions: context)
        let last = try activations(decode, cachedPositions: context - 1)
        let (sum, overflow) = (prefill.weightsBytes + prefill.buffersBytes).addingReportingOverflow(cache)
        guard !overflow else { return Int.max }
        let (peak, overflow2) = sum.addingReportingOverflow(max(prefill.activationBytes, last.bytes))
        return overflow2 ? Int.max : peak
    }
}
