#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The roofline model (design.md §6, README, "Roofline"): for every operator and phase,
// FLOPs, minimum bytes moved, arithmetic intensity, bound and a lower bound on its time,
// and the sum of those as a lower bound on the step time.

/// What limits an operator on the roofline.
public enum RooflineBound: String, Sendable, Hashable, Codable {
    /// FLOPs / peak >= bytes / bandwidth: the arithmetic units are the bottleneck.
    case compute
    /// Bytes / bandwidth > FLOPs / peak: memory bandwidth is the bottleneck.
    case memory
}

/// Which fp32 matrix work runs on TF32 tensor cores: PyTorch's two switches, one per
/// library (`--tf32 conv|matmul|all|none`). PyTorch's defaults (torch/backends: cudnn
/// `allow_tf32 = True`, cuda.matmul `allow_tf32 = False`, i.e.
/// `torch.get_float32_matmul_precision() == "highest"`): convolutions on TF32, matmuls on
/// the FP32 cores.
public struct TF32Ops: Sendable, Hashable, CustomStringConvertible {
    /// `torch.backends.cudnn.allow_tf32`: cuDNN's convolutions.
    public var convolutions: Bool
    /// `torch.backends.cuda.matmul.allow_tf32`: cuBLAS's matmuls (linear, matmul, attention).
    public var matmuls: Bool

    public init(convolutions: Bool, matmuls: Bool) {
        self.convolutions = convolutions
        self.matmuls = matmuls
    }

    public static let none = TF32Ops(convolutions: false, matmuls: false)
    public static let conv = TF32Ops(convolutions: true, matmuls: false)
    public static let matmul = TF32Ops(convolutions: false, matmuls: true)
    public static let all = TF32Ops(convolutions: true, matmuls: true)
    public static let spellings = ["conv", "matmul", "all", "none"]

    public init?(argument: String) {
        switch argument {
        case "conv": self = .conv
        case "matmul": self = .matmul
        case "all": self = .all
        case "none": self = .none
        default: return nil
        }
    }

    public var description: String {
        switch (convolutions, matmuls) {
        case (true, true): "all"
        case (true, false): "conv"
        case (false, true): "matmul"
        case (false, false): "none"
        }
    }

    public var isEmpty: Bool { !convolutions && !matmuls }

    /// PyTorch's defaults on `gpu`: convolutions on TF32 where it has TF32 tensor cores
    /// (Ampere and newer), nothing on TF32 otherwise (a V100 has none).
    public static func pytorchDefaults(for gpu: GPUProfile) -> TF32Ops { gpu.tf32Tensor == nil ? .none : .conv }

    /// Does fp32 matrix work in `library` run on TF32?
    func applies(to library: MatrixLibrary) -> Bool {
        switch library {
        case .cuDNN: convolutions
        case .cuBLAS: matmuls
        }
    }
}

/// The GPU figures one analysis uses: the roof for matrix (multiply-accumulate) work in
/// each floating-point format, the vector peak for element-wise work, and bandwidth.
public struct Roof: Sendable, Hashable {
    public var gpu: GPUProfile
    /// The fp32 matrix work that runs on TF32 tensor cores (the rest of the fp32 matrix
    /// work runs on the FP32 CUDA cores).
    public var tf32: TF32Ops

    /// - Parameter tf32: nil: PyTorch's defaults on this GPU (`TF32Ops.pytorchDefaults`);
    ///   asking for TF32 on a GPU without TF32 tensor cores is an error.
    public init(gpu: GPUProfile, tf32: TF32Ops? = nil) throws {
        if let tf32, !tf32.isEmpty, gpu.tf32Tensor == nil {
            throw NNFlopsError("\(gpu.name) has no TF32 tensor cores; use --tf32 none",
                               notes: ["note: TF32 tensor cores arrived with the A100 (Ampere)"])
        }
        self.gpu = gpu
        self.tf32 = tf32 ?? .pytorchDefaults(for: gpu)
    }

    /// The numeric format matrix work on tensors of `dtype` runs in, in `library`.
    func matrixFormat(for dtype: DType, library: MatrixLibrary = .cuBLAS) -> NumericFormat {
        switch dtype {
        case .float16: .fp16
        case .bfloat16: .bf16
        default: tf32.applies(to: library) ? .tf32 : .fp32
        }
    }

    /// Dense peak FLOP/s for multiply-accumulate work on tensors of `dtype` in `library`:
    /// the tensor-core figure of its format (TF32 for fp32 where `tf32` applies), or an
    /// error when the GPU lacks the format (bf16 on a V100).
    func matrixPeak(for dtype: DType, library: MatrixLibrary = .cuBLAS) throws -> Double {
        let format = matrixFormat(for: dtype, library: library)
        return try matrixPeak(format)
    }

    /// Dense peak FLOP/s of `format`'s matrix units, or an error when the GPU lacks them.
    public func matrixPeak(_ format: NumericFormat) throws -> Double {
        guard let peak = gpu.matrixPeak(format) else {
            throw NNFlopsError("\(gpu.name) cannot compute in \(format.rawValue): it has no \(format.rawValue) units",
                               notes: gpu.bf16Tensor == nil && format == .bf16
                                   ? ["note: use fp16 (amp-fp16 / fp16) on a \(gpu.formFactor) V100-class GPU; bf16 needs an A100 or newer"] : [])
        }
        return peak
    }

    /// Peak FLOP/s for element-wise work (no multiply-accumulates) on tensors of `dtype`:
    /// the CUDA-core figure. Half-precision tensors use the non-tensor FP16 figure where the
    /// datasheet gives one (packed half2 arithmetic; the higher figure keeps the bound a
    /// lower bound for bf16 too), else the FP32 figure.
    public func vectorPeak(for dtype: DType) throws -> Double {
        switch dtype {
        case .float16, .bfloat16:
            if dtype == .bfloat16, gpu.bf16Tensor == nil {
                throw NNFlopsError("\(gpu.name) cannot compute in bf16: it has no bf16 units",
                                   notes: ["note: use fp16 (amp-fp16 / fp16) on this GPU; bf16 needs an A100 or newer"])
            }
            return max(gpu.fp16NonTensor ?? gpu.fp32, gpu.fp32)
        default:
            return gpu.fp32
        }
    }

    public var bandwidth: Double { gpu.memoryBandwidth }

    /// Ridge point of the roof for matrix work in `dtype`: peak / bandwidth, FLOP/byte.
    func ridge(for dtype: DType, library: MatrixLibrary = .cuBLAS) throws -> Double {
        try matrixPeak(for: dtype, library: library) / bandwidth
    }
}

/// The roofline arithmetic for one piece of work (pure functions of the figures).
public struct RooflineCost: Sendable, Hashable {
    public var flops: Double
    /// The multiply-accumulate part of `flops` (2 per MAC), priced at the matrix peak.
    public var matrixFlops: Double
    public var bytes: Double
    /// (flops - matrixFlops) / vectorPeak + matrixFlops / matrixPeak.
    public var computeTime: Double
    /// bytes / bandwidth.
    public var memoryTime: Double

    public init(flops: Double, matrixFlops: Double, bytes: Double, matrixPeak: Double, vectorPeak: Double, bandwidth: Double) {
        self.flops = flops
        self.matrixFlops = matrixFlops
        self.bytes = bytes
        computeTime = matrixFlops / matrixPeak + max(0, flops - matrixFlops) / vectorPeak
        memoryTime = bytes / bandwidth
        effectivePeak = computeTime > 0 ? flops / computeTime : (matrixFlops > 0 ? matrixPeak : vectorPeak)
        self.bandwidth = bandwidth
    }

    /// The compute roof this mix of work sees (the matrix peak for pure matmul work).
    public var effectivePeak: Double
    public var bandwidth: Double
    /// Lower-bound time: max(FLOPs / peak, bytes / bandwidth).
    public var time: Double { max(computeTime, memoryTime) }
    /// FLOPs per byte moved (infinite when no bytes move).
    public var intensity: Double { bytes > 0 ? flops / bytes : (flops > 0 ? .infinity : 0) }
    /// peak / bandwidth: intensities above it are compute-bound.
    public var ridge: Double { effectivePeak / bandwidth }
    public var bound: RooflineBound { computeTime >= memoryTime ? .compute : .memory }
    /// min(peak, intensity x bandwidth) = flops / time.
    public var attainable: Double { time > 0 ? flops / time : 0 }
}

/// An optimizer step's traffic per trainable parameter, from the run configuration's
/// optimizer and precision policy (its FLOPs are `OptimizerStepFLOPs`).
struct OptimizerTraffic: Sendable, Hashable {
    var name: String
    var flops: OptimizerStepFLOPs
    /// Bytes read and written per parameter: weights (or master weights), gradient,
    /// state; pure half writes the half copy too; clipping reads the gradient once more.
    var bytesPerParameter: Int

    init(_ configuration: RunConfiguration) {
        let optimizer = configuration.optimizer
        name = optimizer.rawValue
        flops = OptimizerStepFLOPs(configuration)
        let states = 4 * optimizer.stateTensors
        let policy = configuration.precision
        let gradient = policy.isPureHalf ? 2 : 4
        // fp32 / autocast: read w, g, state; write w, state. Pure half: read master, g,
        // state; write master, state and the half weights.
        var bytes = 4 + gradient + states + 4 + states + (policy.isPureHalf ? 2 : 0)
        if configuration.gradClip != nil { bytes += gradient }
        bytesPerParameter = bytes
    }
}

/// One operator in one phase on the roofline.
public struct RooflineEntry: Sendable {
    public var node: Int?
    public var name: String
    public var op: String
    public var phase: Phase
    /// Exact FLOPs and the multiply-accumulate part of them (2 per MAC).
    public var flops: Int
    public var matrixFlops: Int
    /// Minimum bytes moved to and from device memory.
    public var bytes: Int
    /// The type its work runs in (decides the peaks).
    public var computeType: DType
    /// The format its matrix work runs in: the type's (TF32 for fp32 where it applies), or
    /// int8 / fp8 when quantised weights put it on those tensor cores.
    public var matrixFormat: NumericFormat
    /// The tensor-core format of its matrix work when quantised weights put it on int8 or
    /// fp8 units (README, "Inference"); nil: `computeType`'s.
    public var quantizedFormat: NumericFormat? = nil
    /// FLOPs of quantising and dequantising for quantised weights, included in `flops`.
    public var quantizationFlops: Int = 0
    public var cost: RooflineCost

    public var time: Double { cost.time }
}

/// Per-operator, per-phase roofline of one training step (or forward pass) on one GPU.
/// A pure function of the graph, its cost analysis, the run configuration and the roof.
public struct RooflineAnalysis: Sendable {
    public var roof: Roof
    public var configuration: RunConfiguration
    /// The entries in execution order: forward of every node, then backward in reverse
    /// order (recomputation of a checkpointed segment before its backward, input
    /// gradient, weight gradient), then the optimizer step. Entries are per micro-batch
    /// except the optimizer's.
    public var entries: [RooflineEntry]
    /// The type of most matrix work.
    public var mainType: DType
    /// The format most matrix work runs in (decides the headline ridge point and peak):
    /// `mainType`'s, or int8 / fp8 when quantised weights put most of it there.
    public var mainFormat: NumericFormat
    /// Matrix peak and ridge point for `mainFormat`.
    public var peak: Double
    public var ridge: Double

    /// The runtime types the entries were priced at (the precision policy's rules).
    let types: RuntimeTypes
    /// The checkpointing whose recomputation the entries include.
    let checkpoint: CheckpointPlan

    /// Each node is priced with the context the cost analysis built for it (its attention
    /// convention included), at the precision policy's runtime types.
    public init(graph: Graph, costs: CostAnalysis, roof: Roof, configuration: RunConfiguration = RunConfiguration()) throws {
        let types = costs.runtimeTypes(under: configuration.precision, graph: graph)
        let checkpoint = try CheckpointPlan(graph: graph, costs: costs, configuration: configuration)
        let contexts = costs.contexts(for: configuration, graph: graph)
        let layerCosts = costs.costs(for: contexts, graph: graph)
        let needsGradient = costs.tensorNeedsGradient(for: configuration)
        let quantization = WeightQuantization(configuration, gpu: roof.gpu)
        let cachePrecision = configuration.kvCache?.precision
        self.types = types
        self.checkpoint = checkpoint
        let training = !configuration.inference
        let optimizer = training ? OptimizerTraffic(configuration) : nil
        self.roof = roof
        self.configuration = configuration
        var forwardEntries: [RooflineEntry] = []
        /// Per node, its backward entries in execution order (input, then weight gradient).
        var backwardOf = [[RooflineEntry]](repeating: [], count: graph.nodes.count)
        var optimizerEntries: [RooflineEntry] = []
        var forwardOf = [RooflineEntry?](repeating: nil, count: graph.nodes.count)
        var seenParameter = [Bool](repeating: false, count: graph.parameters.count)
        var matrixByFormat: [NumericFormat: (type: DType, flops: Int)] = [:]
        var perStepPending = true

        for (index, node) in graph.nodes.enumerated() {
            // A collective's time is the communication analysis's, not HBM traffic.
            if node.op.isCollective { continue }
            let cost = layerCosts[index]
            let op = node.op
            let context = contexts[index]
            let computeType = Self.computeType(node: node, types: types)
            let library = op.matrixLibrary
            func tensorBytes(_ id: Int) -> Count { graph.tensors[id].elements * types.tensors[id].bytes }

            // Views (reshape, transpose, split pieces) move nothing in forward.
            let aliases = node.outputs.indices.map { op.alias(ofOutput: $0, context) }
            let allViews = !aliases.isEmpty && aliases.allSatisfy {
                switch $0 { case .view, .parameter: true; default: false }
            }
            var traffic = Traffic()
            if !allViews {
                for input in node.inputs { traffic.add(.tensor(input), tensorBytes(input)) }
                for (local, id) in node.parameterIDs.enumerated() {
                    let elements = op.elementsRead(ofParameter: local)
                    traffic.add(.parameter(id), quantization.map { $0.bytes(elements: elements) } ?? elements * types.parameterRead(node: index, local: local).bytes)
                }
                for (position, output) in node.outputs.enumerated() {
                    switch aliases[position] {
                    case .view, .parameter: continue
                    case .inPlace, nil: traffic.add(.output(output), tensorBytes(output))
                    }
                }
            }
            let saved = training ? op.savedTensors(context) : []
            for case .extra(let name, let shape, let type) in saved {
                traffic.add(.extra(name), Count.product(shape) * types.saved(type, node: index, in: graph).bytes)
            }
            // Kept copies of inputs in another type, and what the outputs hold (the KV cache): written.
            for case .inputAs(let i, let type) in saved where i < node.inputs.count {
                let dtype = types.saved(type, node: index, in: graph)
                if types.tensors[node.inputs[i]] != dtype {
                    traffic.add(.extra("input \(i) as \(dtype.rawValue)"), graph.tensors[node.inputs[i]].elements * dtype.bytes)
                }
            }
            for item in op.heldTensors(context) {
                traffic.add(.extra(item.name), Count.product(item.shape) * types.saved(item.type, node: index, in: graph).bytes)
            }
            // The KV cache as state: the past this step reads, the positions it writes.
            if let state = op.decodingState(context) {
                let perPosition = state.bytesPerPosition(node: index, graph: graph, types: types, precision: cachePrecision)
                traffic.add(.extra("KV cache read"), perPosition * state.read)
                traffic.add(.extra("KV cache write"), perPosition * state.written)
            }
            try Self.check(traffic.total, node)
            // Quantised weights: the matrix work's tensor cores and the (de)quantisation FLOPs.
            var forwardWork = cost.forward
            var quantized: (format: NumericFormat?, flops: Count) = (nil, .zero)
            if let quantization {
                let weights = Count.sum(node.parameterIDs.indices.map { op.elementsRead(ofParameter: $0) })
                let floating = { (ids: [Int]) in Count.sum(ids.filter { graph.tensors[$0].dtype.isFloatingPoint }.map { graph.tensors[$0].elements }) }
                quantized = quantization.execution(work: forwardWork, weightElements: weights,
                                                   inputElements: floating(node.inputs), outputElements: floating(node.outputs))
                forwardWork.flops += quantized.flops
                try Self.check(forwardWork.flops, node)
            }
            let forward = try Self.entry(node: index, name: node.name, op: node.kind, phase: .forward, work: forwardWork,
                                         bytes: traffic.total, type: computeType, library: library, roof: roof, quantized: quantized.format,
                                         quantizationFlops: quantized.flops.value)
            if let forward {
                forwardEntries.append(forward)
                forwardOf[index] = forward
                matrixByFormat[forward.matrixFormat, default: (computeType, 0)].flops &+= forward.matrixFlops
            }
            guard training else { continue }

            // Backward: the gradient of a view with the same element count is a view too.
            let gradientIsView = allViews && node.outputs.count == 1 && node.inputs.count >= 1
                && graph.tensors[node.outputs[0]].elements == graph.tensors[node.inputs[0]].elements
            func savedBytes(_ tensor: SavedTensor, into traffic: inout Traffic) {
                switch tensor {
                case .input(let i) where i < node.inputs.count: traffic.add(.tensor(node.inputs[i]), tensorBytes(node.inputs[i]))
                case .output(let i) where i < node.outputs.count: traffic.add(.output(node.outputs[i]), tensorBytes(node.outputs[i]))
                case .parameter(let i) where i < node.parameterIDs.count:
                    let id = node.parameterIDs[i]
                    traffic.add(.parameter(id), graph.parameters[id].elements * types.parameterRead(node: index, local: i).bytes)
                case .extra(let name, let shape, let type): traffic.add(.extra(name), Count.product(shape) * types.saved(type, node: index, in: graph).bytes)
                case .inputAs(let i, let type) where i < node.inputs.count:
                    let dtype = types.saved(type, node: index, in: graph)
                    if types.tensors[node.inputs[i]] == dtype {
                        traffic.add(.tensor(node.inputs[i]), tensorBytes(node.inputs[i]))
                    } else {
                        traffic.add(.extra("input \(i) as \(dtype.rawValue)"), graph.tensors[node.inputs[i]].elements * dtype.bytes)
                    }
                case .held(let i):
                    let items = op.heldTensors(context)
                    if i < items.count {
                        traffic.add(.extra(items[i].name), Count.product(items[i].shape) * types.saved(items[i].type, node: index, in: graph).bytes)
                    }
                default: break
                }
            }
            func outputGradients(into traffic: inout Traffic) {
                for output in node.outputs where graph.tensors[output].dtype.isFloatingPoint && needsGradient[output] {
                    traffic.add(.gradient(output), tensorBytes(output))
                }
            }
            var phaseEntries: [RooflineEntry] = []
            if context.anyInputNeedsGradient && !gradientIsView {
                var traffic = Traffic()
                outputGradients(into: &traffic)
                for tensor in op.backwardReads(.inputGradient, context) { savedBytes(tensor, into: &traffic) }
                for (i, input) in node.inputs.enumerated() where context.needsGradient(input: i) {
                    traffic.add(.inputGradient(input), tensorBytes(input))
                }
                try Self.check(traffic.total, node)
                if let entry = try Self.entry(node: index, name: node.name, op: node.kind, phase: .inputGradient,
                                              work: cost.inputGradient, bytes: traffic.total, type: computeType, library: library, roof: roof) {
                    phaseEntries.append(entry)
                }
            }
            let trainable = node.parameterIDs.indices.filter { context.trainable(parameter: $0) }
            if !trainable.isEmpty {
                var traffic = Traffic()
                outputGradients(into: &traffic)
                for tensor in op.backwardReads(.weightGradient, context) { savedBytes(tensor, into: &traffic) }
                for local in trainable {
                    let id = node.parameterIDs[local]
                    traffic.add(.parameterGradient(id), graph.parameters[id].elements * types.parameterType.bytes)
                }
                try Self.check(traffic.total, node)
                if let entry = try Self.entry(node: index, name: node.name, op: node.kind, phase: .weightGradient,
                                              work: cost.weightGradient, bytes: traffic.total, type: computeType, library: library, roof: roof) {
                    phaseEntries.append(entry)
                }
            }
            for entry in phaseEntries { matrixByFormat[entry.matrixFormat, default: (entry.computeType, 0)].flops &+= entry.matrixFlops }
            backwardOf[index] = phaseEntries

            // Optimizer step for the trainable parameters this node owns (tied ones once):
            // their share of OptimizerStepFLOPs (the per-step part on the first entry) and
            // the optimizer's traffic per element.
            if let optimizer {
                var elements = Count.zero
                var tensors = 0
                for id in node.parameterIDs where !seenParameter[id] {
                    seenParameter[id] = true
                    if costs.parameterReceivesGradient[id] {
                        elements += graph.parameters[id].elements
                        tensors += 1
                    }
                }
                if elements.value > 0 {
                    var flops = optimizer.flops.flops(elements: elements, tensors: tensors)
                    if perStepPending {
                        flops += optimizer.flops.perStep
                        perStepPending = false
                    }
                    let bytes = elements * optimizer.bytesPerParameter
                    try Self.check(flops + bytes, node)
                    if let entry = try Self.entry(node: index, name: node.name, op: optimizer.name, phase: .optimizer,
                                                  work: .elementwise(flops), bytes: bytes, type: .float32, roof: roof) {
                        optimizerEntries.append(entry)
                    }
                }
            }
        }
        // Backward in reverse node order. Checkpointing: a checkpointed segment's forward runs
        // again, over the nodes CheckpointPlan.recomputed names (those the memory replay and
        // the executor re-run: up to the segment's last node that keeps anything), just
        // before the backward of that node.
        var backwardEntries: [RooflineEntry] = []
        for index in graph.nodes.indices.reversed() {
            if training, let s = checkpoint.segmentRecomputed(before: index) {
                for n in checkpoint.recomputed[s] {
                    guard var again = forwardOf[n] else { continue }
                    again.phase = .recompute
                    backwardEntries.append(again)
                }
            }
            backwardEntries.append(contentsOf: backwardOf[index])
        }
        entries = forwardEntries + backwardEntries + optimizerEntries
        // Headline format: the one most matrix FLOPs run in (fp32 when there are none).
        let main = matrixByFormat.max { $0.value.flops < $1.value.flops || ($0.value.flops == $1.value.flops && $0.key.rawValue > $1.key.rawValue) }
        mainFormat = main?.key ?? roof.matrixFormat(for: .float32)
        mainType = main?.value.type ?? .float32
        peak = try roof.matrixPeak(mainFormat)
        ridge = peak / roof.bandwidth
    }

    /// The type a node's work runs in: the runtime type of its first floating-point
    /// output (autocast's lower-precision ops produce half outputs), else of its first
    /// floating-point input, else fp32.
    static func computeType(node: Node, types: RuntimeTypes) -> DType {
        for id in node.outputs + node.inputs {
            let dtype = types.tensors[id]
            if dtype.isFloatingPoint { return dtype }
        }
        return .float32
    }

    static func check(_ bytes: Count, _ node: Node) throws {
        if bytes.overflowed {
            throw NNFlopsError("the bytes moved by '\(node.name)' (\(node.kind)) overflow 64 bits; the shapes are too large", at: node.location)
        }
    }

    /// `quantized`: the tensor-core format of the matrix work when it is not `type`'s (int8
    /// or fp8 for quantised weights, which the GPU has: `WeightQuantization`).
    static func entry(node: Int?, name: String, op: String, phase: Phase, work: Work, bytes: Count,
                      type: DType, library: MatrixLibrary = .cuBLAS, roof: Roof, quantized: NumericFormat? = nil,
                      quantizationFlops: Int = 0) throws -> RooflineEntry? {
        guard work.flops.value > 0 || bytes.value > 0 else { return nil }
        let matrixFlops = work.macs.value &* 2
        let format = quantized ?? roof.matrixFormat(for: type, library: library)
        // Only the peaks this work needs are looked up (a bf16 memory-only op on a V100
        // still needs bf16 units to exist, so it errs through vectorPeak).
        let matrixPeak = matrixFlops > 0 ? try roof.matrixPeak(format) : 1
        let vectorPeak = try roof.vectorPeak(for: type)
        let cost = RooflineCost(flops: Double(work.flops.value), matrixFlops: Double(matrixFlops), bytes: Double(bytes.value),
                                matrixPeak: matrixPeak, vectorPeak: vectorPeak, bandwidth: roof.bandwidth)
        return RooflineEntry(node: node, name: name, op: op, phase: phase, flops: work.flops.value, matrixFlops: matrixFlops,
                             bytes: bytes.value, computeType: type, matrixFormat: format, quantizedFormat: quantized,
                             quantizationFlops: quantizationFlops, cost: cost)
    }

    /// For callers that still name the convention: it must be the one `costs` was priced
    /// with (a second, different convention would price attention's bytes and its FLOPs
    /// under different rules).
    @available(*, deprecated, message: "the attention convention comes from the cost analysis; drop `attention:`")
    public init(graph: Graph, costs: CostAnalysis, roof: Roof, configuration: RunConfiguration = RunConfiguration(),
                attention: AttentionConvention) throws {
        guard attention == costs.attention else {
            throw NNFlopsError("the roofline prices attention under the cost analysis's convention (\(costs.attention.rawValue)), not \(attention.rawValue)")
        }
        try self.init(graph: graph, costs: costs, roof: roof, configuration: configuration)
    }

    // MARK: Totals

    public func time(_ phases: Set<Phase>) -> Double {
        entries.lazy.filter { phases.contains($0.phase) }.map(\.time).reduce(0, +)
    }
    public func flops(_ phases: Set<Phase>) -> Int {
        entries.lazy.filter { phases.contains($0.phase) }.map(\.flops).reduce(0, &+)
    }
    public var forwardTime: Double { time([.forward]) }
    /// Backward, recomputation included.
    public var backwardTime: Double { time([.inputGradient, .weightGradient, .recompute]) }
    public var recomputeTime: Double { time([.recompute]) }
    public var optimizerTime: Double { time([.optimizer]) }
    /// Step-time lower bound: the sum over operators and phases, times the micro-batches
    /// accumulated per step, plus the optimizer step.
    public var stepTime: Double { Double(microSteps) * (forwardTime + backwardTime) + optimizerTime }
    public var stepFlops: Int {
        microSteps &* flops([.forward, .inputGradient, .weightGradient, .recompute]) &+ flops([.optimizer])
    }
    /// Bytes moved in one optimizer step (micro-batches x their bytes + the optimizer's).
    public var stepBytes: Int {
        var perMicroStep = 0, optimizer = 0
        for entry in entries {
            if entry.phase == .optimizer { optimizer &+= entry.bytes } else { perMicroStep &+= entry.bytes }
        }
        return microSteps &* perMicroStep &+ optimizer
    }
    /// Micro-batches per optimizer step (1 without gradient accumulation; 1 in inference).
    public var microSteps: Int { configuration.inference ? 1 : max(1, configuration.accumulationSteps) }
    /// FLOPs / (step lower bound x the headline peak): the best fraction of peak the step
    /// can reach (memory-bound and element-wise work pull it below 1).
    public var achievedFractionOfPeak: Double { stepTime > 0 ? Double(stepFlops) / stepTime / peak : 0 }
}

/// Bytes one phase of one operator moves, each distinct tensor counted once.
struct Traffic {
    enum Key: Hashable {
        case tensor(Int), output(Int), gradient(Int), inputGradient(Int), parameter(Int), parameterGradient(Int), extra(String)
    }
    private var seen: Set<Key> = []
    private(set) var total = Count.zero

    mutating func add(_ key: Key, _ bytes: Count) {
        // An input that is also an output (in place) is one tensor read and written:
        // reads and writes are keyed apart, so both count.
        if seen.insert(key).inserted { total += bytes }
    }
}
