/// `nnflops infer`'s report (schema `nnflops.infer/1`, README, "Inference"): prefill,
/// decode, the KV cache, memory and capacity of one request.
public struct InferenceReport: Encodable, Sendable {
    public struct Prefill: Encodable, Sendable {
        /// The model's FLOPs of the prompt's forward pass (the whole batch).
        public var flops: Int
        public var bytes: Int
        /// The roofline lower bound: the time to first token.
        public var timeS: Double
        /// FLOPs of (de)quantising for quantised weights, on top of `flops` (in `time_s`).
        public var quantizationFlops: Int
        /// With `--tp`: the tensor-parallel collectives' time, in `time_s` (0 without).
        public var communicationTimeS: Double
        enum CodingKeys: String, CodingKey {
            case flops, bytes
            case timeS = "time_s"
            case quantizationFlops = "quantization_flops"
            case communicationTimeS = "communication_time_s"
        }
    }

    /// One decode step, per generated token.
    public struct Step: Encodable, Sendable {
        /// The position of the token it decodes; it attends to min(position + 1, window) keys.
        public var position: Int
        public var flopsPerToken: Double
        public var bytesPerToken: Double
        /// The step's bound: every sequence waits this long for its token.
        public var timePerTokenS: Double
        enum CodingKeys: String, CodingKey {
            case position
            case flopsPerToken = "flops_per_token"
            case bytesPerToken = "bytes_per_token"
            case timePerTokenS = "time_per_token_s"
        }
    }

    public struct Decode: Encodable, Sendable {
        /// Means over the G steps, per generated token (a step makes one per sequence).
        public var flopsPerToken: Double
        public var bytesPerToken: Double
        public var timePerTokenS: Double
        /// batch / time_per_token_s.
        public var tokensPerS: Double
        public var steps: Int
        public var first: Step
        public var last: Step
        /// Mean (de)quantisation FLOPs per token, on top of `flops_per_token`.
        public var quantizationFlopsPerToken: Double
        /// With `--tp`: each step's tensor-parallel collectives' time, in `time_per_token_s`
        /// (the same at every position: one token's activations).
        public var communicationTimePerTokenS: Double
        enum CodingKeys: String, CodingKey {
            case communicationTimePerTokenS = "communication_time_per_token_s"
            case flopsPerToken = "flops_per_token"
            case bytesPerToken = "bytes_per_token"
            case timePerTokenS = "time_per_token_s"
            case tokensPerS = "tokens_per_s"
            case steps, first, last
            case quantizationFlopsPerToken = "quantization_flops_per_token"
        }
    }

    public struct Memory: Encodable, Sendable {
        public var buffersBytes: Int
        public var prefillActivationBytes: Int
        public var prefillPeakLayer: String
        public var decodeActivationBytes: Int
        public var decodePeakLayer: String
        /// "prefill" or "decode": where the larger activation set, and so the peak, is.
        public var peakPhase: String
        public var peakLayer: String
        enum CodingKeys: String, CodingKey {
            case buffersBytes = "buffers_bytes"
            case prefillActivationBytes = "prefill_activation_bytes"
            case prefillPeakLayer = "prefill_peak_layer"
            case decodeActivationBytes = "decode_activation_bytes"
            case decodePeakLayer = "decode_peak_layer"
            case peakPhase = "peak_phase"
            case peakLayer = "peak_layer"
        }
    }

    public struct Capacity: Encodable, Sendable {
        public var capacityBytes: Int
        public var reserve: Double
        public var usableBytes: Int
        /// The model's context length when it bounds max_context, else null.
        public var positionLimit: Int?
        enum CodingKeys: String, CodingKey {
            case capacityBytes = "capacity_bytes"
            case reserve
            case usableBytes = "usable_bytes"
            case positionLimit = "position_limit"
        }
    }

    public var schema = "nnflops.infer/1"
    public var model: String
    public var gpu: String
    public var batch: Int
    public var prompt: Int
    public var generate: Int
    public var precision: String
    /// Tensor-parallel ranks: with more than 1, every figure is one GPU's.
    public var tensorParallel: Int
    public var weightPrecision: String
    public var kvPrecision: String
    public var attentionFlops: String
    public var prefill: Prefill
    public var decode: Decode
    public var kvCacheBytes: Int
    public var kvCacheBytesPerToken: Int
    public var weightsBytes: Int
    public var peakBytes: Int
    public var memory: Memory
    /// Largest batch at this context (null: the model has no `batch` param); 0: none fits.
    public var maxBatch: Int?
    /// Longest context P' + G at this batch, the prompt grown (0: none fits).
    public var maxContext: Int
    public var capacity: Capacity
    /// How quantised weights are priced (null without them).
    public var quantization: String?

    enum CodingKeys: String, CodingKey {
        case schema, model, gpu, batch, prompt, generate, precision
        case tensorParallel = "tp"
        case weightPrecision = "weight_precision"
        case kvPrecision = "kv_precision"
        case attentionFlops = "attention_flops"
        case prefill, decode
        case kvCacheBytes = "kv_cache_bytes"
        case kvCacheBytesPerToken = "kv_cache_bytes_per_token"
        case weightsBytes = "weights_bytes"
        case peakBytes = "peak_bytes"
        case memory
        case maxBatch = "max_batch"
        case maxContext = "max_context"
        case capacity, quantization
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(model, forKey: .model)
        try c.encode(gpu, forKey: .gpu)
        try c.encode(batch, forKey: .batch)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(generate, forKey: .generate)
        try c.encode(precision, forKey: .precision)
        try c.encode(tensorParallel, forKey: .tensorParallel)
        try c.encode(weightPrecision, forKey: .weightPrecision)
        try c.encode(kvPrecision, forKey: .kvPrecision)
        try c.encode(attentionFlops, forKey: .attentionFlops)
        try c.encode(prefill, forKey: .prefill)
        try c.encode(decode, forKey: .decode)
        try c.encode(kvCacheBytes, forKey: .kvCacheBytes)
        try c.encode(kvCacheBytesPerToken, forKey: .kvCacheBytesPerToken)
        try c.encode(weightsBytes, forKey: .weightsBytes)
        try c.encode(peakBytes, forKey: .peakBytes)
        try c.encode(memory, forKey: .memory)
        try c.encode(maxBatch, forKey: .maxBatch)
        try c.encode(maxContext, forKey: .maxContext)
        try c.encode(capacity, forKey: .capacity)
        try c.encode(quantization, forKey: .quantization)
    }

    /// The formats `infer` writes.
    public static let formats: [OutputFormat] = [.table, .json]

    /// The GPU's name, for the table's heading.
    var gpuName: String
    var cachingOperators: Int
    var contextLimitedByPositions: Bool
    var positionParam: String?

    public init(_ analysis: InferenceAnalysis) {
        let request = analysis.request
        model = analysis.model
        gpu = request.gpu.id
        gpuName = request.gpu.name
        batch = analysis.batch
        prompt = request.prompt
        generate = request.generate
        precision = request.precision.rawValue
        tensorParallel = request.tensorParallel
        weightPrecision = request.weightPrecision?.rawValue ?? request.precision.rawValue
        kvPrecision = analysis.kvCacheType
        attentionFlops = request.attention.rawValue
        prefill = Prefill(flops: analysis.prefill.flops, bytes: analysis.prefill.bytes, timeS: analysis.prefill.time,
                          quantizationFlops: analysis.prefill.quantizationFlops, communicationTimeS: analysis.prefill.communicationTime)
        let b = Double(analysis.batch)
        func step(_ s: InferenceStep) -> Step {
            Step(position: s.position, flopsPerToken: Double(s.flops) / b, bytesPerToken: Double(s.bytes) / b, timePerTokenS: s.time)
        }
        decode = Decode(flopsPerToken: analysis.flopsPerToken, bytesPerToken: analysis.bytesPerToken,
                        timePerTokenS: analysis.timePerToken, tokensPerS: analysis.tokensPerSecond, steps: request.generate,
                        first: step(analysis.firstStep), last: step(analysis.lastStep),
                        quantizationFlopsPerToken: analysis.decodeQuantizationFlops / Double(request.generate) / b,
                        communicationTimePerTokenS: analysis.firstStep.communicationTime)
        kvCacheBytes = analysis.kvCacheBytes
        kvCacheBytesPerToken = analysis.kvCacheBytesPerToken
        weightsBytes = analysis.weightsBytes
        peakBytes = analysis.peakBytes
        memory = Memory(buffersBytes: analysis.buffersBytes, prefillActivationBytes: analysis.prefillActivationBytes,
                        prefillPeakLayer: analysis.prefillPeakLayer, decodeActivationBytes: analysis.decodeActivationBytes,
                        decodePeakLayer: analysis.decodePeakLayer, peakPhase: analysis.peakDuringPrefill ? "prefill" : "decode",
                        peakLayer: analysis.peakDuringPrefill ? analysis.prefillPeakLayer : analysis.decodePeakLayer)
        maxBatch = analysis.capacity.maxBatch
        maxContext = analysis.capacity.maxContext
        capacity = Capacity(capacityBytes: analysis.capacity.capacityBytes, reserve: request.reserve,
                            usableBytes: analysis.capacity.usableBytes, positionLimit: analysis.positionLimit?.value)
        quantization = analysis.quantization
        cachingOperators = analysis.cachingOperators
        contextLimitedByPositions = analysis.capacity.contextLimitedByPositions
        positionParam = analysis.positionLimit?.name
    }

    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json: return try AnalysisRenderer.json(self)
        default: return InferenceRenderer.table(self)
        }
    }
}

/// The table of `nnflops infer`.
enum InferenceRenderer {
    static func table(_ r: InferenceReport) -> String {
        let time = RooflineRenderer.seconds
        let context = r.prompt + r.generate
        var out = "\(r.model) on \(r.gpu) (\(r.gpuName)): batch \(r.batch), prompt \(r.prompt), generate \(r.generate); "
            + "\(r.precision), weights \(r.weightPrecision), KV cache \(r.kvPrecision)"
            + (r.tensorParallel > 1 ? "; tensor parallel over \(r.tensorParallel) GPUs, every figure one GPU's" : "") + "\n\n"

        var table = TextTable(headers: ["", "FLOPs", "bytes", "lower bound"], alignments: [.left, .right, .right, .right])
        table.add(["prefill (time to first token)", Units.flops(r.prefill.flops), Units.bytes(r.prefill.bytes), time(r.prefill.timeS)])
        let perToken = r.batch == 1 ? "" : ", per token"
        table.add(["decode at position \(r.decode.first.position)\(perToken)", Units.flops(r.decode.first.flopsPerToken),
                   Units.bytes(r.decode.first.bytesPerToken), time(r.decode.first.timePerTokenS)])
        if r.generate > 1 {
            table.add(["decode at position \(r.decode.last.position)\(perToken)", Units.flops(r.decode.last.flopsPerToken),
                       Units.bytes(r.decode.last.bytesPerToken), time(r.decode.last.timePerTokenS)])
            table.add(["decode, mean of \(r.decode.steps) steps\(perToken)", Units.flops(r.decode.flopsPerToken),
                       Units.bytes(r.decode.bytesPerToken), time(r.decode.timePerTokenS)])
        }
        out += table.render()
        let rate = r.decode.tokensPerS
        let perSequence = r.batch == 1 ? "" : " (\(Units.count(rate / Double(r.batch))) per sequence)"
        out += "\ndecode throughput   \(Units.count(rate)) tokens/s for the batch of \(r.batch)\(perSequence), at the bound\n"
        if let q = r.quantization { out += "quantisation        \(q)\n" }
        if r.tensorParallel > 1 {
            out += "tensor parallel     all-reduces over \(r.tensorParallel) GPUs, in the bounds above: prefill \(time(r.prefill.communicationTimeS)), "
                + "each decode step \(time(r.decode.communicationTimePerTokenS))\n"
        }

        var lines: [(String, String)] = []
        lines.append(("KV cache", "\(Units.bytes(r.kvCacheBytes)) at \(context) positions (\(Units.bytes(r.kvCacheBytesPerToken)) per token and sequence, "
            + "\(r.cachingOperators) attention layer\(r.cachingOperators == 1 ? "" : "s"), \(r.kvPrecision))"))
        lines.append(("weights", Units.bytes(r.weightsBytes) + (r.memory.buffersBytes > 0 ? ", buffers \(Units.bytes(r.memory.buffersBytes))" : "")))
        lines.append(("activations, prefill", "\(Units.bytes(r.memory.prefillActivationBytes)) at \(r.memory.prefillPeakLayer)"))
        lines.append(("activations, decode", "\(Units.bytes(r.memory.decodeActivationBytes)) at \(r.memory.decodePeakLayer) (step at position \(context - 1))"))
        lines.append(("peak", "\(Units.bytes(r.peakBytes)) during \(r.memory.peakPhase) at \(r.memory.peakLayer): weights + KV cache + activations"))
        // Each label in a 22-column field (cut or padded, as Foundation's padding(toLength:) does).
        let rows = lines.map { label, value -> String in
            let field = String(label.prefix(22))
            return "  " + field + String(repeating: " ", count: 22 - field.count) + value
        }
        out += "\nmemory\n" + rows.joined(separator: "\n") + "\n"

        let reserve = r.capacity.reserve > 0 ? ", \(Units.format(r.capacity.reserve * 100))% reserved" : ""
        out += "\ncapacity on \(r.gpu), \(Units.bytes(r.capacity.usableBytes)) usable\(reserve)\n"
        let batch: String
        switch r.maxBatch {
        case nil: batch = "— (the model has no batch param)"
        case 0?: batch = "none: batch 1 does not fit"
        case let b? where b >= InferenceCapacity.batchLimit: batch = "\(b) or more (the search stops there)"
        case let b?: batch = String(b)
        }
        out += "  largest batch at context \(context): \(batch)\n"
        var longest = r.maxContext == 0 ? "none fits"
            : r.maxContext >= InferenceCapacity.contextLimit ? "\(r.maxContext) positions or more (the search stops there)"
            : "\(r.maxContext) positions (prompt \(r.maxContext - r.generate) + \(r.generate))"
        if r.contextLimitedByPositions, let name = r.positionParam { longest += ", the model's \(name)" }
        out += "  longest context at batch \(r.batch): \(longest)\n"

        out += "\nLower bounds (README, \"Inference\"): peak FLOP/s or full bandwidth per kernel, no launch or host overhead; "
            + "decode reads every weight once per step and the KV cache up to its position.\n"
        return out
    }
}
