/// Training and inference memory (design §5, README, "Training and inference memory"): a pure function of a graph
/// and a run configuration. It never switches on operator kind: every operator declares
/// what it keeps for backward (`savedTensors`), which outputs alias an input
/// (`alias(ofOutput:)`) and how autocast treats it (`autocast`, applied by `RuntimeTypes`
/// in Precision.swift), and this file replays PyTorch eager execution over storages:
///
/// - forward, in node order: cast copies (autocast), outputs, kept extras are allocated;
///   a storage is freed when no later node reads it, no backward keeps it and it is not
///   a graph output;
/// - backward, in reverse: the seed gradient of each output, then per node its input and
///   parameter gradients as produced (accumulated contributions are transient); after the
///   node, what it kept and its output gradients are released. Checkpointed segments
///   (`CheckpointPlan` in Checkpointing.swift) are recomputed (saving) just before the
///   backward of their last node that keeps anything, and their stored inputs released
///   after the backward of their first;
/// - optimizer step: the optimizer's parameter-sized temporaries.
/// - ZeRO (the run's `parallel.zero` over its D data-parallel ranks; Rajbhandari et al.
///   2020, §5): stage 1 keeps 1/D of the optimizer state (and of the fp32 master weights,
///   which are part of it), stage 2 also 1/D of the gradients (a node's whole gradient
///   lives only while its backward runs, then is reduce-scattered), stage 3 also 1/D of
///   the parameters, with the parameters of each top-level unit gathered whole for its
///   forward, its recomputation and its backward (FSDP, one unit at a time).
///
/// Library API for comparisons (the reference executor): `layers[i].keptBytes`
/// / `layers[i].savedBytes` (what node i keeps, per node, and attributed once),
/// `savedActivationsBytes` (live at the end of forward, graph inputs excluded),
/// `peakBytes` (everything, static included) with `peakPhase` / `peakNode`, and
/// `steps` (live bytes after each allocation phase). All bytes are exact integers.
public struct MemoryAnalysis: Sendable {
    public enum Phase: String, Sendable, Codable {
        case forward, backward, recompute, optimizer
    }

    /// One moment of the replay: after a node's (or the step's) allocations, before its frees.
    public struct Step: Sendable {
        public var phase: Phase
        /// Node index (nil for the optimizer step).
        public var node: Int?
        /// Everything live, static memory included.
        public var liveBytes: Int
    }

    public struct LiveTensor: Sendable, Codable, Equatable {
        public var name: String
        public var bytes: Int
    }

    public struct NodeMemory: Sendable {
        public var node: Int
        public var name: String
        /// Bytes of the distinct storages this node keeps for backward (shared ones too).
        public var keptBytes: Int
        /// Bytes attributed to this node: storages it is the first to keep (sums to the
        /// kept total without double counting). Checkpoint segment inputs are attributed
        /// to the segment's first node.
        public var savedBytes: Int
    }

    public var configuration: RunConfiguration
    /// Parameters at the policy's type (inference: at the stored weight precision).
    public var paramsBytes: Int
    /// fp32 master copy of the trainable weights (pure bf16/fp16 policies).
    public var masterParamsBytes: Int
    /// Gradients of the trainable parameters.
    public var gradsBytes: Int
    public var optimizerStateBytes: Int
    public var buffersBytes: Int
    /// The graph inputs (the batch).
    public var inputsBytes: Int
    /// Live at the end of forward, outputs included, graph inputs and parameters excluded.
    public var savedActivationsBytes: Int
    public var peakBytes: Int
    public var peakPhase: Phase
    /// Node at which the peak happens (nil: the optimizer step).
    public var peakNode: Int?
    public var peakLayer: String
    /// The largest tensors live at the peak (static memory in aggregate).
    public var peakLive: [LiveTensor]
    public var layers: [NodeMemory]
    /// Forward work re-run by checkpointing, per micro-step: the cost analysis's forward
    /// over the nodes `CheckpointPlan.recomputed` names.
    public var recompute: Work
    /// Forward FLOPs re-run by checkpointing, per micro-step.
    public var recomputeFLOPs: Count { recompute.flops }
    public var optimizerFLOPs: Count
    /// The checkpointed segments (as node ranges).
    public var checkpointedSegments: [Range<Int>] { checkpoint.segments }
    public var steps: [Step]
    /// PyTorch's CUDA caching allocator over the same run: what it reserves, its rounded
    /// allocated peak and the cuBLAS workspaces (README, "The CUDA caching allocator").
    /// Estimated with the analysis's own two replays when asked for at init
    /// (`estimatingAllocator`, as `analyze` does); otherwise computed on each use, two more
    /// replays, so that searches over the peak (`fit`) do not pay for it.
    public var cudaAllocator: CUDAAllocatorEstimate {
        allocatorEstimate ?? CUDAAllocatorEstimate(plan: plan, cuBLASWorkspaces: cuBLASWorkspaces)
    }
    let allocatorEstimate: CUDAAllocatorEstimate?
    /// cuBLAS handles, each with its workspace: one per thread that runs matrix work in
    /// cuBLAS (forward's, and autograd's device thread in backward).
    let cuBLASWorkspaces: Int
    let plan: MemoryPlan
    /// The runtime types the replay used (the precision policy's rules).
    let types: RuntimeTypes
    /// The checkpointing the replay ran.
    let checkpoint: CheckpointPlan

    /// Static memory: always live.
    public var staticBytes: Int { paramsBytes + masterParamsBytes + optimizerStateBytes + buffersBytes + inputsBytes }

    /// `estimatingAllocator`: also estimate `cudaAllocator` now, on the same two replays
    /// (each step's allocations are the same whether or not a replay captures the peak's
    /// tensors): a third cheaper than estimating it afterwards.
    public init(graph: Graph, costs: CostAnalysis, configuration: RunConfiguration, estimatingAllocator: Bool = false) throws {
        guard configuration.accumulationSteps >= 1 else { throw NNFlopsError("the number of micro-batches must be at least 1") }
        let plan = try MemoryPlan(graph: graph, costs: costs, configuration: configuration)
        var allocatorSteps = estimatingAllocator ? AllocatorSteps(plan: plan) : nil
        func run(_ replay: inout MemoryReplay) {
            if allocatorSteps != nil { allocatorSteps?.run(&replay) } else { replay.run() }
        }
        var first = MemoryReplay(plan: plan, capture: nil)
        run(&first)
        var second = MemoryReplay(plan: plan, capture: first.peakMoment)
        run(&second)

        self.configuration = configuration
        paramsBytes = plan.paramsBytes
        masterParamsBytes = plan.masterBytes
        gradsBytes = plan.gradBytesTotal
        optimizerStateBytes = plan.optimizerStateBytes
        buffersBytes = plan.buffersBytes
        inputsBytes = plan.inputsBytes
        savedActivationsBytes = first.savedAtEndOfForward
        let staticBytes = plan.staticBytes
        peakBytes = staticBytes + first.peak
        peakPhase = first.peakStep.phase
        peakNode = first.peakStep.node
        peakLayer = first.peakStep.node.map { graph.nodes[$0].name } ?? "optimizer step"
        var live = second.captured
        let statics: [(String, Int)] = [("parameters", plan.paramsBytes), ("fp32 master weights", plan.masterBytes),
                                        ("optimizer state", plan.optimizerStateBytes), ("buffers", plan.buffersBytes),
                                        ("inputs", plan.inputsBytes)]
        live += statics.filter { $0.1 > 0 }.map { LiveTensor(name: $0.0, bytes: $0.1) }
        live.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        peakLive = Array(live.prefix(8))
        layers = graph.nodes.indices.map {
            NodeMemory(node: $0, name: graph.nodes[$0].name, keptBytes: first.keptBytes[$0], savedBytes: first.attributedBytes[$0])
        }
        recompute = plan.checkpoint.recomputeWork
        optimizerFLOPs = configuration.optimizerFLOPs(elements: plan.updatedElements, tensors: plan.trainableTensors)
        types = plan.types
        checkpoint = plan.checkpoint
        steps = first.steps.map { Step(phase: $0.phase, node: $0.node, liveBytes: $0.liveBytes + staticBytes) }
        let cuBLAS = graph.nodes.indices.filter { graph.nodes[$0].op.matrixLibrary == .cuBLAS }.map { costs.layers[$0].cost }
        let forwardThread = cuBLAS.contains { $0.forward.macs > .zero }
        let backwardThread = !configuration.inference && cuBLAS.contains { $0.backward.macs > .zero }
        cuBLASWorkspaces = (forwardThread ? 1 : 0) + (backwardThread ? 1 : 0)
        allocatorEstimate = allocatorSteps?.estimate(cuBLASWorkspaces: cuBLASWorkspaces)
        self.plan = plan
        if recompute.overflowed || optimizerFLOPs.overflowed {
            throw NNFlopsError("the model's FLOP count overflows 64 bits; the shapes are too large")
        }
    }
}

/// Everything the replay needs, computed once: runtime types under the precision policy
/// (`RuntimeTypes`), each node's context (the cost analysis's), checkpoint segments
/// (`CheckpointPlan`), static sizes.
struct MemoryPlan {
    let graph: Graph
    let configuration: RunConfiguration
    let needsGradient: [Bool]
    /// Each node's context: the one the cost analysis priced it with (nothing needs a
    /// gradient in inference).
    let contexts: [CostContext]
    let types: RuntimeTypes
    let checkpoint: CheckpointPlan
    let paramsBytes: Int
    let masterBytes: Int
    let optimizerStateBytes: Int
    let buffersBytes: Int
    let inputsBytes: Int
    let gradBytesTotal: Int
    let trainableElements: Int
    let trainableTensors: Int
    /// The ZeRO stage and the data-parallel ranks it shards over (1: nothing sharded).
    let zero: ZeROStage
    let dataRanks: Int
    /// ZeRO-3: the top-level units whose parameters are gathered together, and the bytes
    /// of each unit's parameters, whole.
    let gatherUnits: [Range<Int>]
    let gatherUnitBytes: [Int]
    /// Node index -> its gather unit (ZeRO-3).
    let gatherUnitOf: [Int?]
    /// Each static tensor's bytes (parameters, master weights, buffers, inputs, optimizer
    /// state), one allocation each.
    let staticTensorBytes: [Int]
    /// Per parameter: does it get a gradient (CostAnalysis.parameterReceivesGradient)?
    let receivesGradient: [Bool]
    /// Producer node of each tensor (nil: a graph input).
    let producers: [Int?]
    /// Display name of each tensor: its producer's name (with the output index when it
    /// has several) or the input's name.
    let tensorLabels: [String]

    var staticBytes: Int { paramsBytes + masterBytes + optimizerStateBytes + buffersBytes + inputsBytes }
    var parameterType: DType { types.parameterType }
    /// Does node n record anything for backward (an input needs a gradient or a
    /// parameter is trainable)?
    func recordsForBackward(_ n: Int) -> Bool { contexts[n].recordsForBackward }

    init(graph: Graph, costs: CostAnalysis, configuration: RunConfiguration) throws {
        self.graph = graph
        self.configuration = configuration
        producers = graph.producers()
        var labels = [String](repeating: "", count: graph.tensors.count)
        for input in graph.inputs { labels[input.tensor] = input.name }
        // Fields read in place, not the whole Node copied (CostAnalysis.nodesReachingOutputs).
        for index in graph.nodes.indices {
            let outputs = graph.nodes[index].outputs, name = graph.nodes[index].name
            for (j, t) in outputs.enumerated() { labels[t] = outputs.count > 1 ? "\(name) output \(j)" : name }
        }
        tensorLabels = labels
        let policy = configuration.precision
        let inference = configuration.inference
        needsGradient = costs.tensorNeedsGradient(for: configuration)
        contexts = costs.contexts(for: configuration, graph: graph)
        receivesGradient = costs.parameterReceivesGradient
        let types = costs.runtimeTypes(under: policy, graph: graph)
        self.types = types
        checkpoint = try CheckpointPlan(graph: graph, costs: costs, configuration: configuration)

        // Static memory.
        let parameterType = types.parameterType
        var params = Count.zero, master = Count.zero, trainable = Count.zero, trainableTensors = 0
        var staticTensors: [Count] = []
        for (pid, parameter) in graph.parameters.enumerated() {
            let stored = inference ? configuration.weightPrecision.map { Count($0.bytes(elements: parameter.elements.value)) } : nil
            params += stored ?? parameter.elements * parameterType.bytes
            staticTensors.append(stored ?? parameter.elements * parameterType.bytes)
            // Only parameters a gradient reaches have one, and optimizer state (dead code
            // is not trained: CostAnalysis.parameterReceivesGradient).
            if costs.parameterReceivesGradient[pid] && !inference {
                trainable += parameter.elements
                trainableTensors += 1
                if policy.isPureHalf { master += parameter.elements * 4 }
                // The fp32 state tensors and master copy, one per parameter each.
                let fp32Copies = configuration.optimizer.stateTensors + (policy.isPureHalf ? 1 : 0)
                staticTensors += [Count](repeating: parameter.elements * 4, count: fp32Copies)
            }
        }
        var buffers = Count.zero
        for index in graph.nodes.indices {
            for buffer in graph.nodes[index].op.buffers {
                buffers += buffer.elements * types.buffer(buffer.dtype).bytes
                staticTensors.append(buffer.elements * types.buffer(buffer.dtype).bytes)
            }
        }
        var inputs = Count.zero
        for input in graph.inputs {
            inputs += graph.tensors[input.tensor].elements * types.tensors[input.tensor].bytes
            staticTensors.append(graph.tensors[input.tensor].elements * types.tensors[input.tensor].bytes)
        }
        let state = inference ? Count.zero : trainable * (configuration.optimizer.stateTensors * 4)
        let grads = inference ? Count.zero : trainable * parameterType.bytes
        for c in [params, master, trainable, buffers, inputs, state, grads] where c.overflowed {
            throw NNFlopsError("the model's memory overflows 64 bits; the shapes are too large")
        }
        let layout = configuration.parallel
        let ranks = inference ? 1 : max(1, layout.data)
        let sharded = ranks > 1 ? layout.zero : .none
        zero = sharded
        dataRanks = ranks
        /// One rank's share of a partitioned total (DeepSpeed pads the flat buffer to D pieces).
        let share = { (bytes: Int, stage: ZeROStage) -> Int in sharded >= stage ? (bytes + ranks - 1) / ranks : bytes }
        if sharded == .parameters {
            let units = CheckpointUnits.topLevelSequence(of: graph)
            var unitOf = [Int?](repeating: nil, count: graph.nodes.count)
            var unitBytes: [Int] = []
            for (u, range) in units.enumerated() {
                var seen: Set<Int> = []
                var bytes = 0
                for n in range {
                    unitOf[n] = u
                    for id in graph.nodes[n].parameterIDs where seen.insert(id).inserted {
                        bytes += graph.parameters[id].elements.value * parameterType.bytes
                    }
                }
                unitBytes.append(bytes)
            }
            gatherUnits = units
            gatherUnitBytes = unitBytes
            gatherUnitOf = unitOf
        } else {
            gatherUnits = []
            gatherUnitBytes = []
            gatherUnitOf = []
        }
        paramsBytes = share(params.value, .parameters)
        masterBytes = share(master.value, .optimizerState)
        trainableElements = trainable.value
        self.trainableTensors = trainableTensors
        buffersBytes = buffers.value
        inputsBytes = inputs.value
        optimizerStateBytes = share(state.value, .optimizerState)
        gradBytesTotal = share(grads.value, .gradients)
        staticTensorBytes = staticTensors.map(\.value)
    }

    /// Bytes of a parameter's gradient a rank keeps: 1/D of it from ZeRO-2 on.
    func keptGradientBytes(_ bytes: Int) -> Int { zero >= .gradients ? (bytes + dataRanks - 1) / dataRanks : bytes }
    /// Elements of the optimizer's update on one rank: 1/D of them from ZeRO-1 on.
    var updatedElements: Int { zero >= .optimizerState ? (trainableElements + dataRanks - 1) / dataRanks : trainableElements }

    func bytes(of tensor: Int) -> Int { graph.tensors[tensor].elements.value * types.tensors[tensor].bytes }
}

/// The replay itself: storages with reference counts.
struct MemoryReplay {
    struct Storage {
        var bytes: Int
        var label: String
        var refs = 0
        var live = true
        var isParameterGrad = false
        /// The caching allocator's blocks holding it (one per tensor it stands for), when
        /// the replay runs over `CUDACachingAllocator`.
        var blocks: [Int] = []
    }
    struct RawStep {
        var phase: MemoryAnalysis.Phase
        var node: Int?
        var liveBytes: Int
    }

    let plan: MemoryPlan
    let capture: Int?
    /// PyTorch's CUDA caching allocator, when the replay estimates what it reserves.
    var allocator: CUDACachingAllocator?
    var storages: [Storage] = []
    var current = 0
    var peak = 0
    var peakMoment = 0
    var peakStep = RawStep(phase: .forward, node: nil, liveBytes: 0)
    var steps: [RawStep] = []
    var captured: [MemoryAnalysis.LiveTensor] = []
    var savedAtEndOfForward = 0
    var keptBytes: [Int]
    var attributedBytes: [Int]
    var attributed: Set<Int> = []
    
    /// Storage of each tensor (nil: static memory, or not allocated).
    var tensorStorage: [Int?]
    var gradStorage: [Int?]
    var parameterGrad: [Int?]
    var parameterCopy: [Int?]
    var saved: [[Int]]
    var segmentSaved: [[Int]]
    /// Per node: the storages of its held tensors (`Operator.heldTensors`), which the
    /// model's outputs keep until they are dropped.
    var held: [[Int]]
    /// ZeRO-3: the unit whose parameters are gathered now, and their storage.
    var gathered: (unit: Int, storage: Int)?

    init(plan: MemoryPlan, capture: Int?) {
        self.plan = plan
        self.capture = capture
        let g = plan.graph
        keptBytes = [Int](repeating: 0, count: g.nodes.count)
        attributedBytes = keptBytes
        tensorStorage = [Int?](repeating: nil, count: g.tensors.count)
        gradStorage = tensorStorage
        parameterGrad = [Int?](repeating: nil, count: g.parameters.count)
        parameterCopy = parameterGrad
        saved = [[Int]](repeating: [], count: g.nodes.count)
        held = saved
        segmentSaved = [[Int]](repeating: [], count: plan.checkpoint.segments.count)
    }

    // MARK: storage primitives

    /// - Parameter pieces: the tensors one aggregate storage stands for (their bytes sum
    ///   to `bytes`), each its own request to the allocator.
    mutating func allocate(_ bytes: Int, _ label: String, pieces: [Int]? = nil) -> Int {
        var storage = Storage(bytes: bytes, label: label)
        if allocator != nil {
            if let pieces {
                for piece in pieces { if let block = allocator?.malloc(piece) { storage.blocks.append(block) } }
            } else if let block = allocator?.malloc(bytes) {
                storage.blocks.append(block)
            }
        }
        storages.append(storage)
        current += bytes
        return storages.count - 1
    }

    mutating func retain(_ s: Int?) { if let s { storages[s].refs += 1 } }

    mutating func release(_ s: Int?) {
        guard let s else { return }
        storages[s].refs -= 1
        freeIfUnused(s)
    }

    mutating func freeIfUnused(_ s: Int?) {
        guard let s, storages[s].live, storages[s].refs <= 0 else { return }
        storages[s].live = false
        current -= storages[s].bytes
        for block in storages[s].blocks { allocator?.free(block) }
    }

    mutating func moment(_ phase: MemoryAnalysis.Phase, _ node: Int?) {
        let index = steps.count
        let step = RawStep(phase: phase, node: node, liveBytes: current)
        steps.append(step)
        if current > peak || index == 0 {
            peak = current
            peakMoment = index
            peakStep = step
        }
        if index == capture {
            captured = storages.filter(\.live).map { MemoryAnalysis.LiveTensor(name: $0.label, bytes: $0.bytes) }
        }
    }

    // MARK: the run

    mutating func run() {
        let g = plan.graph
        let config = plan.configuration
        let training = !config.inference

        // Gradient accumulation: the parameter gradients exist before the forward.
        if training && config.accumulationSteps > 1 {
            for (pid, parameter) in g.parameters.enumerated() where plan.receivesGradient[pid] {
                let s = allocate(plan.keptGradientBytes(parameter.elements.value * plan.parameterType.bytes), "grad " + parameter.name)
                storages[s].isParameterGrad = true
                retain(s)
                parameterGrad[pid] = s
            }
        }

        // Forward reads of each tensor, over the whole graph.
        var reads = [Int](repeating: 0, count: g.tensors.count)
        for node in g.nodes { for t in node.inputs { reads[t] += 1 } }
        let outputs = Set(g.outputs)

        forwardPass(nodes: 0..<g.nodes.count, reads: reads, pinOutputs: outputs, saving: training)

        savedAtEndOfForward = storages.filter { $0.live && !$0.isParameterGrad }.reduce(0) { $0 + $1.bytes }
        guard training else {
            for t in g.outputs { release(tensorStorage[t]) }
            releaseHeld()
            return
        }

        // Backward: seed gradients of the outputs (loss = output.sum(): a gradient of the
        // output's shape).
        for t in g.outputs where plan.needsGradient[t] && gradStorage[t] == nil {
            let s = allocate(plan.bytes(of: t), "grad of output \(label(t))")
            retain(s)
            gradStorage[t] = s
        }
        for n in g.nodes.indices.reversed() {
            if let s = plan.checkpoint.segmentRecomputed(before: n) { recompute(segment: s) }
            backward(n)
            if let s = plan.checkpoint.segmentReleasingInputs(after: n) {
                for storage in segmentSaved[s] { release(storage) }
                segmentSaved[s] = []
            }
        }
        for t in g.outputs {
            release(tensorStorage[t])
            if let s = gradStorage[t] { release(s); gradStorage[t] = nil }
        }
        releaseHeld()

        // Optimizer step: its temporaries (fp32), and with pure half the fp32 copy of the
        // gradients the master weights are updated from.
        var temporaries = config.optimizer.temporaries(weightDecay: config.weightDecay) * plan.updatedElements * 4
        if config.precision.isPureHalf { temporaries += plan.updatedElements * 4 }
        // torch.optim's foreach implementations make each temporary per parameter tensor;
        // under ZeRO the rank updates one flat shard, one allocation.
        var pieces: [Int]? = nil
        if plan.updatedElements == plan.trainableElements {
            var perTensor: [Int] = []
            for (pid, parameter) in g.parameters.enumerated() where plan.receivesGradient[pid] {
                perTensor += [Int](repeating: parameter.elements.value * 4, count: config.optimizer.temporaries(weightDecay: config.weightDecay))
                if config.precision.isPureHalf { perTensor.append(parameter.elements.value * 4) }
            }
            pieces = perTensor
        }
        let t = allocate(temporaries, "optimizer temporaries", pieces: pieces)
        moment(.optimizer, nil)
        release(t)
    }

    func label(_ tensor: Int) -> String { plan.tensorLabels[tensor] }

    /// The model's outputs are dropped: so are the tensors they hold.
    mutating func releaseHeld() {
        for n in held.indices {
            for s in held[n] { release(s) }
            held[n] = []
        }
    }

    /// Runs nodes forward. `reads` counts the reads each tensor will get in this pass;
    /// `saving` is false inside checkpointed segments on the first forward.
    mutating func forwardPass(nodes: Range<Int>, reads: [Int], pinOutputs: Set<Int>, saving: Bool, recomputing: Bool = false) {
        let g = plan.graph
        var copiesThisPass: [Int] = []
        for n in nodes {
            // The fields it reads, not the whole Node (CostAnalysis.nodesReachingOutputs).
            let inputs = g.nodes[n].inputs, outputs = g.nodes[n].outputs, op = g.nodes[n].op
            gatherUnit(startingAt: n, forward: true)
            let inSegment = plan.checkpoint.segment(of: n)
            let keeps = saving && plan.recordsForBackward(n) && (recomputing || inSegment == nil)
            // Checkpoint: a segment keeps the tensors it reads from outside itself (when
            // anything in it keeps anything).
            if !recomputing, saving, let s = plan.checkpoint.segmentStarting(at: n), plan.checkpoint.storesInputs(s) {
                let segment = plan.checkpoint.segments[s]
                var inputs: Set<Int> = []
                for m in segment {
                    for t in g.nodes[m].inputs where !segment.contains(producer(t) ?? -1) {
                        if let st = tensorStorage[t], !inputs.contains(st) {
                            inputs.insert(st)
                            retain(st)
                            if !attributed.contains(st) {
                                attributed.insert(st)
                                attributedBytes[n] += storages[st].bytes
                            }
                        }
                    }
                }
                segmentSaved[s] = Array(inputs)
            }

            // Autocast copies of inputs and (cached for the pass) of parameters.
            var consumed: [Int?] = inputs.map { tensorStorage[$0] }
            var fresh: [Int] = []
            for (i, t) in inputs.enumerated() {
                if let type = plan.types.inputCast(node: n, input: i) {
                    let s = allocate(g.tensors[t].elements.value * type.bytes, "\(label(t)) (\(type.rawValue) copy for \(g.nodes[n].name))")
                    consumed[i] = s
                    fresh.append(s)
                }
            }
            var parameterUsed = [Int?](filling: nil, count: g.nodes[n].parameterIDs.count)
            for (k, pid) in g.nodes[n].parameterIDs.enumerated() {
                guard let type = plan.types.parameterCast(node: n, local: k) else { continue }
                if parameterCopy[pid] == nil {
                    let parameter = g.parameters[pid]
                    let s = allocate(parameter.elements.value * type.bytes, "\(parameter.name) (\(type.rawValue) copy)")
                    retain(s)               // autocast's cache holds it for the pass
                    parameterCopy[pid] = s
                    copiesThisPass.append(pid)
                }
                parameterUsed[k] = parameterCopy[pid]
            }

            // Tensors the model's outputs will hold (made once, in the first forward).
            if !recomputing {
                for item in op.heldTensors(plan.contexts[n]) {
                    let dtype = plan.types.saved(item.type, node: n, in: g)
                    let s = allocate(Count.product(item.shape).value * dtype.bytes, "\(g.nodes[n].name) \(item.name)")
                    retain(s)
                    held[n].append(s)
                }
            }

            // Outputs.
            for (j, t) in outputs.enumerated() {
                switch op.alias(ofOutput: j, plan.contexts[n]) {
                case .view(let i)?, .inPlace(let i)?:
                    tensorStorage[t] = i < consumed.count ? consumed[i] : nil
                case .parameter?:
                    tensorStorage[t] = nil
                case nil:
                    let s = allocate(plan.bytes(of: t), label(t))
                    tensorStorage[t] = s
                    fresh.append(s)
                }
                if let s = tensorStorage[t] {
                    storages[s].refs += reads[t]
                    if pinOutputs.contains(t) { retain(s) }
                }
            }

            // What backward keeps.
            var kept: [Int] = []
            if keeps {
                for item in op.savedTensors(plan.contexts[n]) {
                    var storage: Int?
                    switch item {
                    case .input(let i): storage = i < consumed.count ? consumed[i] : nil
                    case .output(let j): storage = j < outputs.count ? tensorStorage[outputs[j]] : nil
                    case .parameter(let k): storage = k < parameterUsed.count ? parameterUsed[k] : nil
                    case .extra(let name, let shape, let type):
                        let dtype = plan.types.saved(type, node: n, in: g)
                        let s = allocate(Count.product(shape).value * dtype.bytes, "\(g.nodes[n].name) \(name)")
                        storage = s
                        fresh.append(s)
                    case .inputAs(let i, let type):
                        guard i < inputs.count else { break }
                        let dtype = plan.types.saved(type, node: n, in: g)
                        let t = inputs[i]
                        if plan.types.tensors[t] == dtype {
                            storage = consumed[i]
                        } else {
                            let s = allocate(g.tensors[t].elements.value * dtype.bytes, "\(label(t)) (\(dtype.rawValue) copy in \(g.nodes[n].name))")
                            storage = s
                            fresh.append(s)
                        }
                    case .held(let i):
                        if !recomputing, i < held[n].count {
                            storage = held[n][i]
                        } else {
                            // A recomputed segment makes the tensor anew; backward keeps that copy.
                            let items = op.heldTensors(plan.contexts[n])
                            guard i < items.count else { break }
                            let dtype = plan.types.saved(items[i].type, node: n, in: g)
                            let s = allocate(Count.product(items[i].shape).value * dtype.bytes, "\(g.nodes[n].name) \(items[i].name)")
                            storage = s
                            fresh.append(s)
                        }
                    }
                    if let storage, !kept.contains(storage) { kept.append(storage) }
                }
            }
            // Workspace live only while the node runs.
            for item in op.forwardWorkspace(plan.contexts[n]) {
                let dtype = plan.types.saved(item.type, node: n, in: g)
                fresh.append(allocate(Count.product(item.shape).value * dtype.bytes, "\(g.nodes[n].name) \(item.name)"))
            }
            for s in kept {
                retain(s)
                if !recomputing {
                    keptBytes[n] += storages[s].bytes
                    if !attributed.contains(s) {
                        attributed.insert(s)
                        attributedBytes[n] += storages[s].bytes
                    }
                }
            }
            saved[n] = kept

            moment(recomputing ? .recompute : .forward, n)

            // Reads done.
            for t in inputs { release(tensorStorage[t]) }
            for s in fresh { freeIfUnused(s) }
            releaseUnit(endingAt: n, forward: true)
        }
        // Autocast's cache is dropped at the end of the pass.
        for pid in copiesThisPass {
            release(parameterCopy[pid])
            parameterCopy[pid] = nil
        }
    }

    func producer(_ tensor: Int) -> Int? { plan.producers[tensor] }

    /// ZeRO-3: the parameters of node n's unit, gathered whole when the pass enters the
    /// unit (its first node forward, its last node backward).
    mutating func gatherUnit(startingAt n: Int, forward: Bool) {
        guard plan.zero == .parameters, let u = plan.gatherUnitOf[n], gathered?.unit != u else { return }
        if let (_, other) = gathered {
            release(other)
            gathered = nil
        }
        let s = allocate(plan.gatherUnitBytes[u], "parameters of \(unitLabel(u)) (gathered)")
        retain(s)
        gathered = (u, s)
    }

    /// ... and released when the pass leaves it.
    mutating func releaseUnit(endingAt n: Int, forward: Bool) {
        guard let (u, s) = gathered, plan.gatherUnitOf[n] == u else { return }
        let range = plan.gatherUnits[u]
        guard n == (forward ? range.upperBound - 1 : range.lowerBound) else { return }
        release(s)
        gathered = nil
    }

    func unitLabel(_ u: Int) -> String {
        let first = plan.graph.nodes[plan.gatherUnits[u].lowerBound].name
        return first.split(separator: ".").prefix(2).joined(separator: ".")
    }

    /// Recomputes a checkpointed segment, saving, over the nodes the checkpoint plan says
    /// it re-runs (up to its last node that keeps anything).
    mutating func recompute(segment s: Int) {
        let g = plan.graph
        let range = plan.checkpoint.segments[s]
        let nodes = plan.checkpoint.recomputed[s]
        guard !nodes.isEmpty else { return }
        var reads = [Int](repeating: 0, count: g.tensors.count)
        for n in nodes { for t in g.nodes[n].inputs { reads[t] += 1 } }
        // Tensors from outside the segment are read through the checkpoint's own reference.
        for n in nodes { for t in g.nodes[n].inputs where !range.contains(producer(t) ?? -1) { retain(tensorStorage[t]) } }
        // The recomputed tensors are new storages; the forward's own (a graph output the
        // user still holds, a segment output a later segment stored) keep their names.
        let originals = nodes.flatMap { g.nodes[$0].outputs }.map { ($0, tensorStorage[$0]) }
        forwardPass(nodes: nodes, reads: reads, pinOutputs: [], saving: true, recomputing: true)
        for (t, storage) in originals { tensorStorage[t] = storage }
    }

    mutating func backward(_ n: Int) {
        gatherUnit(startingAt: n, forward: false)
        defer { releaseUnit(endingAt: n, forward: false) }
        let g = plan.graph
        let inputs = g.nodes[n].inputs, outputs = g.nodes[n].outputs, op = g.nodes[n].op  // not the whole Node
        let hasOutputGrad = outputs.contains { gradStorage[$0] != nil }
        if plan.recordsForBackward(n) && hasOutputGrad {
            var transient: [Int] = []
            for (i, t) in inputs.enumerated() where plan.needsGradient[t] {
                // A view's input gradient is a view of the output's gradient.
                var viewed: Int?
                for (j, out) in outputs.enumerated() {
                    if case .view(let v)? = op.alias(ofOutput: j, plan.contexts[n]), v == i,
                       g.tensors[out].elements == g.tensors[t].elements, let gs = gradStorage[out] { viewed = gs }
                }
                if let viewed {
                    if gradStorage[t] == nil { gradStorage[t] = viewed; retain(viewed) }
                    continue
                }
                if let type = plan.types.inputCast(node: n, input: i) {
                    transient.append(allocate(g.tensors[t].elements.value * type.bytes, "grad of \(label(t)) (\(type.rawValue))"))
                }
                if gradStorage[t] == nil {
                    let s = allocate(plan.bytes(of: t), "grad of \(label(t))")
                    retain(s)
                    gradStorage[t] = s
                } else {
                    transient.append(allocate(plan.bytes(of: t), "grad of \(label(t)) (contribution)"))
                }
            }
            for (k, pid) in g.nodes[n].parameterIDs.enumerated() where plan.contexts[n].trainable(parameter: k) {
                let parameter = g.parameters[pid]
                if let type = plan.types.parameterCast(node: n, local: k) {
                    transient.append(allocate(parameter.elements.value * type.bytes, "grad \(parameter.name) (\(type.rawValue))"))
                }
                let bytes = parameter.elements.value * plan.parameterType.bytes
                if parameterGrad[pid] == nil {
                    // ZeRO-2/3: the whole gradient lives while the node's backward makes it;
                    // the rank keeps its reduce-scattered piece.
                    if plan.zero >= .gradients { transient.append(allocate(bytes, "grad \(parameter.name) (whole, before its reduce-scatter)")) }
                    let s = allocate(plan.keptGradientBytes(bytes), "grad " + parameter.name)
                    storages[s].isParameterGrad = true
                    retain(s)
                    parameterGrad[pid] = s
                } else {
                    transient.append(allocate(bytes, "grad \(parameter.name) (contribution)"))
                }
            }
            for item in op.backwardWorkspace(plan.contexts[n]) {
                let dtype = plan.types.saved(item.type, node: n, in: g)
                transient.append(allocate(Count.product(item.shape).value * dtype.bytes, "\(g.nodes[n].name) \(item.name)"))
            }
            moment(.backward, n)
            for s in transient { freeIfUnused(s) }
        }
        for s in saved[n] { release(s) }
        saved[n] = []
        for out in outputs {
            if let s = gradStorage[out] {
                release(s)
                gradStorage[out] = nil
            }
        }
    }
}
