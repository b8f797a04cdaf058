import Foundation

/// Options of a reference run.
public struct ExecutionOptions: Sendable {
    /// Seed of parameter, input and dropout initialisation.
    public var seed: UInt64 = 0
    public var learningRate: Double = 0.01
    /// The attention convention the analytic side is priced under. `.executed`: the
    /// kernels run what an implementation executes (a fused causal kernel skips the
    /// masked entries), so only this convention can equal the executed count; under
    /// `.dense` fused causal attention's analytic count exceeds it.
    public var attention: AttentionConvention = .executed
    /// Weights of the "sum of outputs" loss: all ones (the calibration's `out.sum()`),
    /// or seeded random weights (gradient checks: makes every output matter).
    public var randomLossWeights = false
    /// The optimizer whose update step runs (default plain SGD).
    public var optimizer: Optimizer = .sgd
    /// Weight decay of the optimizer step (0: off).
    public var weightDecay: Double = 0
    /// clip_grad_norm_'s max norm before the step (nil: off).
    public var gradClip: Double?
    /// Activation checkpointing, executed as configured (segment inputs stored, segments
    /// recomputed during backward).
    public var checkpoint: CheckpointPolicy = .none
    /// transformers' `use_cache`: attention marked `cache = true` makes (and the outputs
    /// hold) copies of k and v.
    public var useCache = true
    /// The memory the run may use, nil: this machine's (`MachineMemory`); checked, with
    /// `maxFLOPs`, before anything is allocated (`ExecutionNeeds`).
    public var memoryBytes: Int?
    /// The most FLOPs the run may execute (README, "Limits").
    public var maxFLOPs: Double = Limits.standard.executedFLOPs
    /// What the sequence of `sqrt` / `segments=K` is made of (`--checkpoint-units`).
    public var checkpointUnits: CheckpointUnits = .inferred
    /// Called after each node of the forward and of the backward pass:
    /// (steps done, total steps, node name).
    public var progress: (@Sendable (Int, Int, String) -> Void)?
    public init(seed: UInt64 = 0, learningRate: Double = 0.01, attention: AttentionConvention = .executed,
                optimizer: Optimizer = .sgd, weightDecay: Double = 0, gradClip: Double? = nil, checkpoint: CheckpointPolicy = .none) {
        self.seed = seed
        self.learningRate = learningRate
        self.attention = attention
        self.optimizer = optimizer
        self.weightDecay = weightDecay
        self.gradClip = gradClip
        self.checkpoint = checkpoint
    }

    /// The memory model's configuration of this run: fp32, the optimizer and checkpointing.
    public var runConfiguration: RunConfiguration {
        RunConfiguration(optimizer: optimizer, precision: .fp32, checkpoint: checkpoint, weightDecay: weightDecay, gradClip: gradClip,
                         useCache: useCache, checkpointUnits: checkpointUnits)
    }
}

/// Analytic vs executed work of one node in one phase.
public struct PhaseComparison: Sendable, Hashable {
    public var node: Int?
    public var name: String
    public var kind: String
    public var phase: Phase
    public var analyticFLOPs: Int
    public var executedFLOPs: Int
    public var analyticMACs: Int
    public var executedMACs: Int
    /// Bytes attributed to the node's saved-for-backward state (forward rows only): the
    /// storages it is the first to keep, graph inputs and parameters excluded, each once;
    /// a checkpointed segment's stored inputs are attributed to its first node.
    public var executedSavedBytes: Int?
    /// The memory model's figure (`MemoryAnalysis.layers[i].savedBytes`).
    public var analyticSavedBytes: Int?
    /// Bytes of the distinct storages the node keeps (shared ones too): executed and
    /// the memory model's `keptBytes`. Compared, not printed.
    public var executedKeptBytes: Int?
    public var analyticKeptBytes: Int?
    public var flopsMatch: Bool { analyticFLOPs == executedFLOPs && analyticMACs == executedMACs }
    public var savedMatch: Bool { analyticSavedBytes == executedSavedBytes && analyticKeptBytes == executedKeptBytes }
    public var matches: Bool { flopsMatch && savedMatch }
}

/// What the tracking allocator saw during the run.
public struct ExecutedMemory: Sendable {
    /// Largest live bytes at the memory model's moments (static memory included).
    public var peakBytes: Int
    var peakPoint: ExecutionPoint?
    public var liveAtPeak: [MemoryCategory: Int]
    /// Largest live bytes over every allocation (kernel-internal tensors included).
    public var instantaneousPeakBytes: Int
    /// Bytes of parameters, buffers (static).
    public var parameterBytes: Int
    public var bufferBytes: Int
    /// Optimizer state allocated through the tracking allocator, and the memory model's.
    public var optimizerStateBytes: Int
    public var analyticOptimizerStateBytes: Int
    /// Saved-for-backward bytes live at the end of the forward pass (each storage once).
    public var savedBytesAfterForward: Int
    /// The memory model's peak (fp32, the run's optimizer and checkpointing).
    public var analyticPeakBytes: Int
    /// Where the memory model puts its peak: phase and node name.
    public var analyticPeakPhase: String
    public var analyticPeakLayer: String
    public var matches: Bool { peakBytes == analyticPeakBytes && optimizerStateBytes == analyticOptimizerStateBytes }
}

/// The result of `ReferenceExecutor.run`.
public struct ExecutionReport: Sendable {
    public var model: String
    public var rows: [PhaseComparison]
    public var memory: ExecutedMemory
    public var loss: Double
    /// Parameters the executor allocated (each tied parameter once).
    public var allocatedParameterElements: Int
    /// Adds executed to accumulate activation gradients of tensors used by several
    /// nodes (autograd's accumulation; no operator's phase, so not compared).
    public var gradientAccumulationFLOPs: Int
    /// Wall time and executed FLOPs per operator kind (forward + backward kernels).
    public var kernelTime: [String: (flops: Int, seconds: Double)]
    /// Checkpointed segments (node ranges) that were recomputed.
    public var checkpointedSegments: [Range<Int>]
    public var ok: Bool { rows.allSatisfy(\.matches) && memory.matches }
    public var mismatches: [PhaseComparison] { rows.filter { !$0.matches } }
}

/// The reference CPU executor (design §8): seeded initialisation, forward, a loss,
/// backward and one optimizer step over any graph whose operators all have kernels, with
/// every FLOP counted as executed and every tensor allocated through a `TrackingAllocator`.
public enum ReferenceExecutor {
    /// Runs one training step in float32 and compares executed with analytic FLOPs,
    /// saved bytes and peak memory.
    public static func run(_ graph: Graph, options: ExecutionOptions = ExecutionOptions()) throws -> ExecutionReport {
        let engine = try ExecutionEngine<Float>(graph: graph, options: options)
        return try engine.trainStep()
    }

    /// Operator kinds in the graph that have no kernel.
    public static func missingKernels(in graph: Graph) -> [String] {
        var seen = Set<String>(), missing: [String] = []
        for node in graph.nodes where !(node.op is any ExecutableOperator) {
            if seen.insert(node.kind).inserted { missing.append(node.kind) }
        }
        return missing
    }
}

/// The executor proper, generic over the scalar so tests can run it in Double.
final class ExecutionEngine<T: KernelScalar> {
    let graph: Graph
    let options: ExecutionOptions
    let analysis: CostAnalysis
    let kernels: [any ExecutableOperator]
    let allocator = TrackingAllocator()
    let counter = OpCounter()
    /// Parameter tensors by graph parameter id.
    var parameters: [Tensor<T>] = []
    /// Buffers per node, in `op.buffers` order.
    var buffers: [[Tensor<T>]] = []
    /// Graph input values by input index.
    var inputValues: [Tensor<T>] = []
    /// First live node using each parameter (the owner of its gradient, as in CostAnalysis;
    /// a dead node's use gets no gradient).
    var owner: [Int] = []
    /// Does node i run backward?
    var nodeNeedsBackward: [Bool] = []
    /// Kernel wall time per node (forward + backward).
    var nodeSeconds: [Double] = []
    /// The memory model of this run (fp32, the run's optimizer and checkpointing).
    let memory: MemoryAnalysis
    /// The checkpointing this run executes: the memory model's.
    var checkpoint: CheckpointPlan { memory.checkpoint }
    /// Checkpointed segments (node ranges).
    var segments: [Range<Int>] { checkpoint.segments }
    /// The runtime types of the run (fp32): what parameters, buffers and inputs are allocated as.
    var types: RuntimeTypes { memory.types }
    /// Optimizer state tensors per parameter id (empty for frozen ones / SGD).
    var optimizerState: [[Tensor<T>]] = []

    init(graph: Graph, options: ExecutionOptions) throws {
        self.graph = graph
        self.options = options
        analysis = try CostAnalysis(graph: graph, options: CountOptions(attention: options.attention).run(options.runConfiguration))
        memory = try MemoryAnalysis(graph: graph, costs: analysis, configuration: options.runConfiguration)
        if let refusal = try ExecutionNeeds(costs: analysis, memory: memory).refusal(options) { throw refusal }
        var kernels: [any ExecutableOperator] = []
        for node in graph.nodes {
            guard let kernel = node.op as? any ExecutableOperator else {
                let missing = ReferenceExecutor.missingKernels(in: graph)
                throw NNFlopsError("the reference executor has no kernel for \(missing.map { "'\($0)'" }.joined(separator: ", ")) (first used by '\(node.name)')", at: node.location)
            }
            kernels.append(kernel)
        }
        self.kernels = kernels
        nodeSeconds = Array(repeating: 0, count: graph.nodes.count)
        owner = Array(repeating: -1, count: graph.parameters.count)
        for (i, node) in graph.nodes.enumerated() {
            for id in node.parameterIDs where owner[id] < 0 && analysis.reachesOutput[i] { owner[id] = i }
            nodeNeedsBackward.append(analysis.layers[i].context.recordsForBackward)
        }
        allocator.point = ExecutionPoint(node: nil, name: "", phase: .initialisation)
        initialise()
    }

    // MARK: Initialisation

    private func initialise() {
        var random = SeededRandom(seed: options.seed)
        parameters = graph.parameters.map { parameter in
            let tensor: Tensor<T> = allocator.tensor(parameter.shape, dtype: types.parameterType, .parameter)
            let fanIn = parameter.shape.count >= 2 ? parameter.shape.dropFirst().reduce(1, *) : max(1, parameter.shape.first ?? 1)
            let isScale = parameter.shape.count == 1 && parameter.name.hasSuffix("weight")
            let bound = parameter.shape.count >= 2 ? 1 / Double(fanIn).squareRoot() : 0.1
            for i in 0..<tensor.count {
                let u = random.uniform(-bound, bound)
                tensor[i] = T(isScale ? 1 + u : u)
            }
            return tensor
        }
        allocateOptimizerState()
        buffers = zip(graph.nodes, kernels).map { node, kernel in
            node.op.buffers.enumerated().map { index, spec in
                let tensor: Tensor<T> = allocator.tensor(spec.shape, dtype: types.buffer(spec.dtype), .buffer)
                let value = kernel.bufferInitialValue(index)
                if spec.dtype.isFloatingPoint { tensor.fill(T(value)) } else { tensor.indices.update(repeating: Int32(value), count: tensor.count) }
                return tensor
            }
        }
        // Graph inputs: the domain a consumer asks for, else uniform values.
        var consumers: [Int: [(node: Int, slot: Int)]] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for (slot, tensor) in node.inputs.enumerated() { consumers[tensor, default: []].append((i, slot)) }
        }
        inputValues = graph.inputs.map { input in
            let tensor: Tensor<T> = allocator.tensor(graph.tensors[input.tensor].shape, dtype: types.tensors[input.tensor], .input)
            var domain = InputDomain.any
            for use in consumers[input.tensor] ?? [] {
                let d = kernels[use.node].inputDomain(use.slot)
                if d != .any { domain = d; break }
            }
            fillInput(tensor, domain: domain, random: &random)
            return tensor
        }
    }

    private func fillInput(_ tensor: Tensor<T>, domain: InputDomain, random: inout SeededRandom) {
        if !tensor.dtype.isFloatingPoint {
            let bound: Int
            switch domain {
            case .integers(let upper): bound = max(1, upper)
            default: bound = 2
            }
            for i in 0..<tensor.count { tensor.indices[i] = Int32(random.next() % UInt64(bound)) }
            return
        }
        switch domain {
        case .unitInterval:
            for i in 0..<tensor.count { tensor[i] = T(random.uniform(0.05, 0.95)) }
        case .distribution:
            let last = max(1, tensor.shape.last ?? 1)
            for row in 0..<(tensor.count / last) {
                var total = 0.0
                var values: [Double] = []
                for _ in 0..<last { let v = random.uniform(0.1, 1); values.append(v); total += v }
                for j in 0..<last { tensor[row * last + j] = T(values[j] / total) }
            }
        case .integers(let upper):
            for i in 0..<tensor.count { tensor[i] = T(Int(random.next() % UInt64(max(1, upper)))) }
        case .any:
            for i in 0..<tensor.count { tensor[i] = T(random.uniform(-1, 1)) }
        }
    }

    // MARK: Forward

    struct ForwardPass {
        var outputs: [Tensor<T>]
        var saved: [SavedState<T>?]
        var executed: [[Phase: WorkTally]]
        /// Per node: bytes of the distinct storages it keeps, and bytes attributed to it.
        var keptBytes: [Int]
        var savedBytes: [Int]
        var savedBytesTotal: Int
        /// Per checkpointed segment: the tensors it reads from outside itself, stored by
        /// the checkpoint (tensor id -> value) until its first node's backward.
        var segmentInputs: [[Int: Tensor<T>]]
        /// Storages already attributed to a node (the first to keep them).
        var attributed: Set<ObjectIdentifier>
        /// Tensors the model's outputs hold (`Operator.heldTensors`), dropped with them.
        var held: [Tensor<T>] = []
    }

    /// Is this tensor memory the memory model counts as an activation storage (not a
    /// graph input, parameter or buffer, which are static)?
    private func isActivationStorage(_ tensor: Tensor<T>) -> Bool {
        let root = tensor.storageRoot
        return root.accounted && root.category != .input && root.category != .parameter && root.category != .buffer
    }

    /// Does node i's kernel allocate nothing the memory model counts in forward: every
    /// output a view, an in-place result or a parameter, and nothing extra kept? Its
    /// kernel then runs with accounting suspended (a CPU kernel may copy where PyTorch
    /// returns a view: the copy stands for the input's storage).
    private func forwardAllocatesNothing(_ i: Int) -> Bool {
        let node = graph.nodes[i], op = node.op
        for j in node.outputs.indices where op.alias(ofOutput: j, analysis.layers[i].context) == nil { return false }
        for item in op.savedTensors(analysis.layers[i].context) { if case .extra = item { return false } }
        return true
    }

    /// Runs one node's forward kernel on `values`, counts its work, and returns the
    /// result. `keep`: the node keeps its saved state for backward.
    private func runForward(_ i: Int, values: [Tensor<T>?], keep: Bool, canOverwrite: [Bool]) throws -> (ForwardResult<T>, [Phase: WorkTally]) {
        let node = graph.nodes[i]
        var inputs: [Tensor<T>] = []
        for t in node.inputs {
            guard let value = values[t] else { throw NNFlopsError("internal: tensor \(t) used by '\(node.name)' is not available", at: node.location) }
            inputs.append(value)
        }
        let context = ForwardContext<T>(
            inputs: inputs, parameters: node.parameterIDs.map { parameters[$0] }, buffers: buffers[i],
            needsBackward: keep,
            inputNeedsGradient: analysis.layers[i].context.inputNeedsGradient,
            parameterTrainable: analysis.layers[i].context.parameterTrainable,
            canOverwrite: zip(canOverwrite, inputs).map { $0 && !$1.keptForBackward && $1.category == .activation && $1.accounted },
            random: SeededRandom(seed: options.seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(i) &+ 1),
            run: analysis.layers[i].context, allocator: allocator, counter: counter)
        let suspend = forwardAllocatesNothing(i)
        allocator.suspended = suspend
        defer { allocator.suspended = false }
        let before = counter.snapshot()
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try kernels[i].forward(context)
        nodeSeconds[i] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        allocator.suspended = false
        let after = counter.snapshot()
        let work = after - before
        guard result.outputs.count == node.outputs.count else {
            throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) returned \(result.outputs.count) outputs, expected \(node.outputs.count)", at: node.location)
        }
        for (j, (t, tensor)) in zip(node.outputs, result.outputs).enumerated() {
            guard tensor.shape == graph.tensors[t].shape else {
                throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) produced \(tensor.shape), expected \(graph.tensors[t].shape)", at: node.location)
            }
            // A declared view / in-place output that the kernel produced as a copy
            // stands for its input's storage.
            switch node.op.alias(ofOutput: j, analysis.layers[i].context) {
            case .view(let k)?, .inPlace(let k)?:
                if !tensor.accounted, k < inputs.count { tensor.markAlias(of: inputs[k]) }
            case .parameter(let k)?:
                if !tensor.accounted, k < context.parameters.count { tensor.markAlias(of: context.parameters[k]) }
            case nil: break
            }
        }
        return (result, work)
    }

    /// Records what node i keeps (storage roots, activations only) into the pass.
    private func recordSaved(_ i: Int, _ state: SavedState<T>, into pass: inout ForwardPass) {
        var seen = Set<ObjectIdentifier>()
        for tensor in state.tensors {
            tensor.keptForBackward = true
            tensor.storageRoot.keptForBackward = true
            guard isActivationStorage(tensor) else { continue }
            let root = tensor.storageRoot, id = ObjectIdentifier(root)
            guard seen.insert(id).inserted else { continue }
            pass.keptBytes[i] += root.bytes
            if pass.attributed.insert(id).inserted { pass.savedBytes[i] += root.bytes }
        }
    }

    /// Runs the forward pass; keeps saved state only when `training`. Nodes inside a
    /// checkpointed segment keep nothing; the segment's outside inputs are stored.
    func forward(training: Bool, progress: ((Int) -> Void)? = nil) throws -> ForwardPass {
        let nodes = graph.nodes
        var values = [Tensor<T>?](repeating: nil, count: graph.tensors.count)
        for (input, tensor) in zip(graph.inputs, inputValues) { values[input.tensor] = tensor }
        var lastUse = [Int](repeating: -1, count: graph.tensors.count)
        for (i, node) in nodes.enumerated() { for t in node.inputs { lastUse[t] = i } }
        let isOutput = Set(graph.outputs)
        let isInput = Set(graph.inputs.map(\.tensor))
        let producers = graph.producers()
        var pass = ForwardPass(outputs: [], saved: [SavedState<T>?](repeating: nil, count: nodes.count), executed: [],
                               keptBytes: [Int](repeating: 0, count: nodes.count), savedBytes: [Int](repeating: 0, count: nodes.count),
                               savedBytesTotal: 0, segmentInputs: Array(repeating: [:], count: segments.count), attributed: [])
        pass.executed.reserveCapacity(nodes.count)

        for (i, node) in nodes.enumerated() {
            allocator.point = ExecutionPoint(node: i, name: node.name, phase: .forward)
            let segment = training ? checkpoint.segment(of: i) : nil
            if training, let s = checkpoint.segmentStarting(at: i), checkpoint.storesInputs(s) {
                // Checkpoint: store the tensors the segment reads from outside itself.
                var stored: [Int: Tensor<T>] = [:]
                for m in segments[s] {
                    for t in nodes[m].inputs where !segments[s].contains(producers[t] ?? -1) {
                        guard stored[t] == nil, let value = values[t] else { continue }
                        stored[t] = value
                        value.keptForBackward = true
                        value.storageRoot.keptForBackward = true
                        if isActivationStorage(value), pass.attributed.insert(ObjectIdentifier(value.storageRoot)).inserted {
                            pass.savedBytes[i] += value.storageRoot.bytes
                        }
                    }
                }
                pass.segmentInputs[s] = stored
            }
            let canOverwrite = node.inputs.map { t in
                lastUse[t] == i && !isOutput.contains(t) && !isInput.contains(t) && node.inputs.filter { $0 == t }.count == 1
            }
            let keep = training && nodeNeedsBackward[i] && segment == nil
            let (result, work) = try runForward(i, values: values, keep: keep, canOverwrite: canOverwrite)
            pass.executed.append(work)
            pass.held += result.held
            for (t, tensor) in zip(node.outputs, result.outputs) { values[t] = tensor }
            if keep {
                recordSaved(i, result.saved, into: &pass)
                pass.saved[i] = result.saved
            }
            withExtendedLifetime(result) { allocator.moment() }
            // Free what no later node reads (saved state keeps its own references).
            for t in node.inputs where lastUse[t] == i && !isOutput.contains(t) && !isInput.contains(t) { values[t] = nil }
            for t in node.outputs where lastUse[t] < 0 && !isOutput.contains(t) { values[t] = nil }
            progress?(i)
        }
        var seen = Set<ObjectIdentifier>()
        var total = 0
        for state in pass.saved {
            for tensor in state?.tensors ?? [] where isActivationStorage(tensor) && seen.insert(ObjectIdentifier(tensor.storageRoot)).inserted {
                total += tensor.storageRoot.bytes
            }
        }
        pass.savedBytesTotal = total
        pass.outputs = try graph.outputs.map { t -> Tensor<T> in
            guard let value = values[t] else { throw NNFlopsError("internal: output tensor \(t) was not produced") }
            return value
        }
        return pass
    }

    /// Re-runs checkpointed segment `s` (saving) over the nodes the checkpoint plan names
    /// (up to its last node that keeps anything, as torch's non-reentrant checkpoint does),
    /// from the stored segment inputs. Its work is returned (it belongs to no node's
    /// forward row).
    private func recompute(segment s: Int, pass: inout ForwardPass) throws -> WorkTally {
        let nodes = checkpoint.recomputed[s]
        guard !nodes.isEmpty else { return WorkTally() }
        var values = [Tensor<T>?](repeating: nil, count: graph.tensors.count)
        for (t, value) in pass.segmentInputs[s] { values[t] = value }
        for (input, tensor) in zip(graph.inputs, inputValues) { values[input.tensor] = tensor }
        var lastUse = [Int](repeating: -1, count: graph.tensors.count)
        for n in nodes { for t in graph.nodes[n].inputs { lastUse[t] = n } }
        let outside = Set(pass.segmentInputs[s].keys).union(graph.inputs.map(\.tensor))
        var total = WorkTally()
        for n in nodes {
            let node = graph.nodes[n]
            allocator.point = ExecutionPoint(node: n, name: node.name, phase: .recompute)
            let canOverwrite = node.inputs.map { t in
                lastUse[t] == n && !outside.contains(t) && node.inputs.filter { $0 == t }.count == 1
            }
            let keep = nodeNeedsBackward[n]
            let (result, work) = try runForward(n, values: values, keep: keep, canOverwrite: canOverwrite)
            for (_, w) in work { total += w }
            for (t, tensor) in zip(node.outputs, result.outputs) { values[t] = tensor }
            if keep {
                for tensor in result.saved.tensors { tensor.keptForBackward = true; tensor.storageRoot.keptForBackward = true }
                pass.saved[n] = result.saved
            }
            withExtendedLifetime(result) { allocator.moment() }
            for t in node.inputs where lastUse[t] == n && !outside.contains(t) { values[t] = nil }
            for t in node.outputs where lastUse[t] <= n { values[t] = nil }
        }
        return total
    }

    /// Loss weights: one per element of each floating-point output.
    func lossWeights(_ outputs: [Tensor<T>]) -> [[T]] {
        var random = SeededRandom(seed: options.seed ^ 0x5DEE_CE66_D1CE_4E5B)
        return outputs.map { output in
            guard output.dtype.isFloatingPoint else { return [] }
            return (0..<output.count).map { _ in options.randomLossWeights ? T(random.uniform(-1, 1)) : 1 }
        }
    }

    /// The scalar loss: the output itself when the graph returns one scalar, otherwise
    /// the (weighted) sum of all floating-point output elements. Computed in Double.
    func loss(_ outputs: [Tensor<T>], weights: [[T]]) -> Double {
        var total = 0.0
        for (output, w) in zip(outputs, weights) where output.dtype.isFloatingPoint {
            for i in 0..<output.count { total += Double(output[i]) * Double(w[i]) }
        }
        return total
    }

    /// Forward only, returning the loss (finite-difference checks).
    func evaluateLoss() throws -> Double {
        let pass = try forward(training: false)
        return loss(pass.outputs, weights: lossWeights(pass.outputs))
    }

    /// Forward, loss and backward without the optimizer step: the loss and the
    /// gradient of every trainable parameter (finite-difference checks).
    func lossAndGradients() throws -> (loss: Double, parameters: [Tensor<T>?]) {
        var pass = try forward(training: true)
        let weights = lossWeights(pass.outputs)
        let value = loss(pass.outputs, weights: weights)
        let result = try backward(&pass, weights: weights)
        return (value, result.parameterGradients)
    }

    // MARK: Training step

    struct BackwardPass {
        var executed: [[Phase: WorkTally]]
        var parameterGradients: [Tensor<T>?]
        var inputGradients: [Tensor<T>?]
        var accumulation: Int
        var recompute: WorkTally
    }

    func trainStep() throws -> ExecutionReport {
        let steps = graph.nodes.count * 2
        let progress = options.progress
        let names = graph.nodes.map(\.name)
        var pass = try forward(training: true) { i in progress?(i + 1, steps, names[i]) }
        allocator.point = ExecutionPoint(node: nil, name: "loss", phase: .loss)
        let weights = lossWeights(pass.outputs)
        let lossValue = loss(pass.outputs, weights: weights)
        let backward = try self.backward(&pass, weights: weights) { i in progress?(steps - i, steps, names[i]) }
        // The outputs (and their gradients, and what they hold) are released before the
        // step, as the memory model and PyTorch's loop (loss.backward(); opt.step()) do.
        pass.outputs = []
        pass.held = []
        allocator.point = ExecutionPoint(node: nil, name: "optimizer", phase: .optimizer)
        let before = counter.snapshot()[.optimizer]
        try optimizerStep(gradients: backward.parameterGradients)
        let optimizerWork = counter.snapshot()[.optimizer] - before
        return withExtendedLifetime(backward) {
            report(pass: pass, backward: backward, loss: lossValue, optimizer: optimizerWork)
        }
    }

    /// Backward over the nodes in reverse order from the loss.
    func backward(_ pass: inout ForwardPass, weights: [[T]], progress: ((Int) -> Void)? = nil) throws -> BackwardPass {
        let nodes = graph.nodes
        var gradients = [Tensor<T>?](repeating: nil, count: graph.tensors.count)
        for (k, t) in graph.outputs.enumerated() where graph.tensors[t].dtype.isFloatingPoint && analysis.tensorNeedsGradient[t] {
            let seed: Tensor<T> = allocator.tensor(graph.tensors[t].shape, dtype: .float32, .activationGradient)
            for i in 0..<seed.count { seed[i] = weights[k][i] }
            if let existing = gradients[t] { accumulate(existing, seed) } else { gradients[t] = seed }
        }
        var executed = [[Phase: WorkTally]](repeating: [:], count: nodes.count)
        var parameterGradients = [Tensor<T>?](repeating: nil, count: graph.parameters.count)
        var uncharged: [Int: [Int]] = [:]  // parameter id -> non-owner users not yet charged an accumulation
        for (i, node) in nodes.enumerated() {
            for id in node.parameterIDs where owner[id] != i && !graph.parameters[id].frozen && analysis.reachesOutput[i] {
                uncharged[id, default: []].append(i)
            }
        }
        var accumulation = 0
        var recomputeWork = WorkTally()
        var inputGradients = [Tensor<T>?](repeating: nil, count: graph.inputs.count)

        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            let node = nodes[i]
            if let s = checkpoint.segmentRecomputed(before: i) {
                recomputeWork += try recompute(segment: s, pass: &pass)
            }
            defer {
                if let s = checkpoint.segmentReleasingInputs(after: i) { pass.segmentInputs[s] = [:] }
            }
            guard nodeNeedsBackward[i] else { pass.saved[i] = nil; progress?(i); continue }
            allocator.point = ExecutionPoint(node: i, name: node.name, phase: .backward)
            // No gradient reached any output: autograd never runs this node. Its kernel
            // still runs (its work is counted, its input gradients are zeros and
            // dropped), with nothing accounted.
            let reached = node.outputs.contains { gradients[$0] != nil }
            // Zero gradients for outputs no gradient reached (autograd materialises
            // them inside the backward function): not accounted.
            allocator.suspended = true
            let outputGradients = node.outputs.map { t -> Tensor<T> in
                gradients[t] ?? allocator.tensor(graph.tensors[t].shape, dtype: .float32, .activationGradient)
            }
            allocator.suspended = false
            for t in node.outputs { gradients[t] = nil }
            let needs = analysis.layers[i].context.inputNeedsGradient
            let trainable = analysis.layers[i].context.parameterTrainable
            // Input gradients that are views of an output's gradient (reshape, permute,
            // ...): PyTorch allocates nothing; a copying kernel runs unaccounted.
            var viewedBy = [Int?](repeating: nil, count: node.inputs.count)
            for (slot, t) in node.inputs.enumerated() where needs[slot] {
                for (j, out) in node.outputs.enumerated() {
                    if case .view(let v)? = node.op.alias(ofOutput: j, analysis.layers[i].context), v == slot,
                       graph.tensors[out].elements == graph.tensors[t].elements { viewedBy[slot] = j }
                }
            }
            let allViewed = needs.indices.allSatisfy { !needs[$0] || viewedBy[$0] != nil } && !trainable.contains(true)
            let context = BackwardContext<T>(
                outputGradients: outputGradients, saved: pass.saved[i] ?? .none,
                parameters: node.parameterIDs.map { parameters[$0] }, buffers: buffers[i],
                inputNeedsGradient: needs, parameterTrainable: trainable, run: analysis.layers[i].context,
                allocator: allocator, counter: counter)
            pass.saved[i] = nil
            let before = counter.snapshot()
            let started = DispatchTime.now().uptimeNanoseconds
            allocator.suspended = allViewed || !reached
            let result = try kernels[i].backward(context)
            allocator.suspended = false
            nodeSeconds[i] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            var delta = counter.snapshot() - before
            var inputGradientsOfNode: [(tensor: Int, gradient: Tensor<T>)] = []
            for (slot, t) in node.inputs.enumerated() where needs[slot] {
                guard slot < result.inputs.count, let g = result.inputs[slot], g.shape == graph.tensors[t].shape else {
                    throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) returned no gradient of the right shape for input \(slot)", at: node.location)
                }
                if let j = viewedBy[slot], !g.accounted { g.markAlias(of: outputGradients[j]) }
                inputGradientsOfNode.append((t, g))
            }
            if reached { withExtendedLifetime((context, result, outputGradients)) { allocator.moment() } }
            for (t, g) in inputGradientsOfNode where reached {
                if let existing = gradients[t] {
                    accumulation += accumulate(existing, g)
                } else {
                    gradients[t] = g
                }
                if let k = graph.inputs.firstIndex(where: { $0.tensor == t }) { inputGradients[k] = gradients[t] }
            }
            for (slot, id) in node.parameterIDs.enumerated() where trainable[slot] {
                guard slot < result.parameters.count, let g = result.parameters[slot], g.shape == graph.parameters[id].shape else {
                    throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) returned no gradient of the right shape for parameter '\(graph.parameters[id].name)'", at: node.location)
                }
                if let existing = parameterGradients[id] {
                    // A tied parameter: charge the add to a non-owner use, as CostAnalysis does.
                    let adds = accumulate(existing, g)
                    var users = uncharged[id] ?? []
                    let charged = users.firstIndex(of: i) ?? 0
                    let target = users.isEmpty ? i : users.remove(at: charged)
                    uncharged[id] = users
                    if target == i {
                        delta[.weightGradient, default: WorkTally()] += WorkTally(flops: adds)
                    } else {
                        executed[target][.weightGradient, default: WorkTally()] += WorkTally(flops: adds)
                    }
                } else {
                    parameterGradients[id] = g
                }
            }
            for (phase, work) in delta { executed[i][phase, default: WorkTally()] += work }
            progress?(i)
        }
        return BackwardPass(executed: executed, parameterGradients: parameterGradients, inputGradients: inputGradients,
                            accumulation: accumulation, recompute: recomputeWork)
    }

    /// existing += g, returning the adds executed.
    @discardableResult
    private func accumulate(_ existing: Tensor<T>, _ g: Tensor<T>) -> Int {
        let a = existing.values, b = g.values, n = existing.count
        for j in 0..<n { a[j] += b[j] }
        return n
    }

    private func report(pass: ForwardPass, backward: BackwardPass, loss: Double, optimizer: WorkTally) -> ExecutionReport {
        var rows: [PhaseComparison] = []
        for (i, layer) in analysis.layers.enumerated() {
            let analytic: [(Phase, Work)] = [(.forward, layer.cost.forward), (.inputGradient, layer.cost.inputGradient), (.weightGradient, layer.cost.weightGradient)]
            for (phase, a) in analytic {
                var work = pass.executed[i][phase] ?? WorkTally()
                work += backward.executed[i][phase] ?? WorkTally()
                guard phase == .forward || a.flops.value != 0 || work.flops != 0 || work.macs != 0 else { continue }
                let forward = phase == .forward
                rows.append(PhaseComparison(node: i, name: layer.name, kind: layer.kind, phase: phase,
                                            analyticFLOPs: a.flops.value, executedFLOPs: work.flops,
                                            analyticMACs: a.macs.value, executedMACs: work.macs,
                                            executedSavedBytes: forward ? pass.savedBytes[i] : nil,
                                            analyticSavedBytes: forward ? memory.layers[i].savedBytes : nil,
                                            executedKeptBytes: forward ? pass.keptBytes[i] : nil,
                                            analyticKeptBytes: forward ? memory.layers[i].keptBytes : nil))
            }
        }
        if !segments.isEmpty {
            // The analytic side is the cost analysis's forward over the nodes the checkpoint
            // plan recomputes; the executed side is what the kernels ran again.
            let analytic = checkpoint.recomputeWork
            rows.append(PhaseComparison(node: nil, name: "checkpoint recompute", kind: "recompute", phase: .recompute,
                                        analyticFLOPs: analytic.flops.value, executedFLOPs: backward.recompute.flops,
                                        analyticMACs: analytic.macs.value, executedMACs: backward.recompute.macs))
        }
        let name = options.optimizer.rawValue
        rows.append(PhaseComparison(node: nil, name: "optimizer (\(name))", kind: name, phase: .optimizer,
                                    analyticFLOPs: memory.optimizerFLOPs.value, executedFLOPs: optimizer.flops,
                                    analyticMACs: 0, executedMACs: optimizer.macs))
        let memoryReport = ExecutedMemory(
            peakBytes: allocator.peakBytes, peakPoint: allocator.peakPoint, liveAtPeak: allocator.liveAtPeak,
            instantaneousPeakBytes: allocator.instantaneousPeakBytes,
            parameterBytes: parameters.reduce(0) { $0 + $1.bytes },
            bufferBytes: buffers.joined().reduce(0) { $0 + $1.bytes },
            optimizerStateBytes: optimizerState.joined().reduce(0) { $0 + $1.bytes },
            analyticOptimizerStateBytes: memory.optimizerStateBytes,
            savedBytesAfterForward: pass.savedBytesTotal, analyticPeakBytes: memory.peakBytes,
            analyticPeakPhase: memory.peakPhase.rawValue, analyticPeakLayer: memory.peakLayer)
        var kernelTime: [String: (flops: Int, seconds: Double)] = [:]
        for (i, node) in graph.nodes.enumerated() {
            var flops = 0
            for phase in [Phase.forward, .inputGradient, .weightGradient] {
                flops += (pass.executed[i][phase]?.flops ?? 0) + (backward.executed[i][phase]?.flops ?? 0)
            }
            let old = kernelTime[node.kind] ?? (0, 0)
            kernelTime[node.kind] = (old.flops + flops, old.seconds + nodeSeconds[i])
        }
        return ExecutionReport(model: graph.model, rows: rows, memory: memoryReport, loss: loss,
                               allocatedParameterElements: parameters.reduce(0) { $0 + $1.count },
                               gradientAccumulationFLOPs: backward.accumulation, kernelTime: kernelTime,
                               checkpointedSegments: segments)
    }
}
