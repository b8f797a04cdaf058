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
    /// Called after each node of the forward and of the backward pass:
    /// (steps done, total steps, node name).
    public var progress: (@Sendable (Int, Int, String) -> Void)?
    public init(seed: UInt64 = 0, learningRate: Double = 0.01, attention: AttentionConvention = .executed) {
        self.seed = seed
        self.learningRate = learningRate
        self.attention = attention
    }
}

/// Analytic vs executed work of one node in one phase.
public struct PhaseComparison: Sendable, Hashable {
    public var node: Int?
    public var name: String
    public var kind: String
    public var phase: CostPhase
    public var analyticFLOPs: Int
    public var executedFLOPs: Int
    public var analyticMACs: Int
    public var executedMACs: Int
    /// Bytes the node's kernel kept for backward (forward rows only).
    public var executedSavedBytes: Int?
    /// The memory model's figure, when one is available (nil until it exists).
    public var analyticSavedBytes: Int?
    public var matches: Bool { analyticFLOPs == executedFLOPs && analyticMACs == executedMACs }
}

/// What the tracking allocator saw during the run.
public struct ExecutedMemory: Sendable {
    public var peakBytes: Int
    public var peakPoint: ExecutionPoint?
    public var liveAtPeak: [MemoryCategory: Int]
    /// Bytes of parameters, buffers (static).
    public var parameterBytes: Int
    public var bufferBytes: Int
    /// Saved-for-backward bytes live at the end of the forward pass (each tensor once).
    public var savedBytesAfterForward: Int
    /// The memory model's peak, when one is available (nil until it exists).
    public var analyticPeakBytes: Int?
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
    public var ok: Bool { rows.allSatisfy(\.matches) }
    public var mismatches: [PhaseComparison] { rows.filter { !$0.matches } }
}

/// The reference CPU executor (design §8): seeded initialisation, forward, a loss,
/// backward and one SGD step over any graph whose operators all have kernels, with every
/// FLOP counted as executed and every tensor allocated through a `TrackingAllocator`.
public enum ReferenceExecutor {
    /// Runs one training step in float32 and compares executed with analytic FLOPs.
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
    /// First node using each parameter (its owner, as in CostAnalysis).
    var owner: [Int] = []
    /// Does node i run backward?
    var nodeNeedsBackward: [Bool] = []
    /// Kernel wall time per node (forward + backward).
    var nodeSeconds: [Double] = []

    init(graph: Graph, options: ExecutionOptions) throws {
        self.graph = graph
        self.options = options
        analysis = try CostAnalysis(graph: graph, options: CountOptions(attention: options.attention))
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
            for id in node.parameterIDs where owner[id] < 0 { owner[id] = i }
            let trainable = node.parameterIDs.contains { !graph.parameters[$0].frozen }
            nodeNeedsBackward.append(trainable || node.inputs.contains { analysis.tensorNeedsGradient[$0] })
        }
        allocator.point = ExecutionPoint(node: nil, name: "", phase: .initialisation)
        initialise()
    }

    // MARK: Initialisation

    private func initialise() {
        var random = SeededRandom(seed: options.seed)
        parameters = graph.parameters.map { parameter in
            let tensor: Tensor<T> = allocator.tensor(parameter.shape, dtype: .float32, .parameter)
            let fanIn = parameter.shape.count >= 2 ? parameter.shape.dropFirst().reduce(1, *) : max(1, parameter.shape.first ?? 1)
            let isScale = parameter.shape.count == 1 && parameter.name.hasSuffix("weight")
            let bound = parameter.shape.count >= 2 ? 1 / Double(fanIn).squareRoot() : 0.1
            for i in 0..<tensor.count {
                let u = random.uniform(-bound, bound)
                tensor[i] = T(isScale ? 1 + u : u)
            }
            return tensor
        }
        buffers = zip(graph.nodes, kernels).map { node, kernel in
            node.op.buffers.enumerated().map { index, spec in
                let tensor: Tensor<T> = allocator.tensor(spec.shape, dtype: spec.dtype, .buffer)
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
            let type = graph.tensors[input.tensor]
            let tensor: Tensor<T> = allocator.tensor(type.shape, dtype: type.dtype, .input)
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
        var executed: [[CostPhase: WorkTally]]
        var savedBytes: [Int]
        var savedBytesTotal: Int
    }

    /// Runs the forward pass; keeps saved state only when `training`.
    func forward(training: Bool, progress: ((Int) -> Void)? = nil) throws -> ForwardPass {
        let nodes = graph.nodes
        var values = [Tensor<T>?](repeating: nil, count: graph.tensors.count)
        for (input, tensor) in zip(graph.inputs, inputValues) { values[input.tensor] = tensor }
        var lastUse = [Int](repeating: -1, count: graph.tensors.count)
        for (i, node) in nodes.enumerated() { for t in node.inputs { lastUse[t] = i } }
        let isOutput = Set(graph.outputs)
        let isInput = Set(graph.inputs.map(\.tensor))
        var saved = [SavedState<T>?](repeating: nil, count: nodes.count)
        var executed: [[CostPhase: WorkTally]] = []
        var savedBytes = [Int](repeating: 0, count: nodes.count)
        executed.reserveCapacity(nodes.count)

        for (i, node) in nodes.enumerated() {
            allocator.point = ExecutionPoint(node: i, name: node.name, phase: .forward)
            var inputs: [Tensor<T>] = []
            for t in node.inputs {
                guard let value = values[t] else { throw NNFlopsError("internal: tensor \(t) used by '\(node.name)' is not available", at: node.location) }
                inputs.append(value)
            }
            let canOverwrite = node.inputs.enumerated().map { slot, t in
                lastUse[t] == i && !isOutput.contains(t) && !isInput.contains(t)
                    && node.inputs.filter { $0 == t }.count == 1 && !inputs[slot].keptForBackward
                    && inputs[slot].category == .activation
            }
            let needsBackward = training && nodeNeedsBackward[i]
            let context = ForwardContext<T>(
                inputs: inputs, parameters: node.parameterIDs.map { parameters[$0] }, buffers: buffers[i],
                needsBackward: needsBackward,
                inputNeedsGradient: node.inputs.map { analysis.tensorNeedsGradient[$0] },
                parameterTrainable: node.parameterIDs.map { !graph.parameters[$0].frozen },
                canOverwrite: canOverwrite,
                random: SeededRandom(seed: options.seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(i) &+ 1),
                allocator: allocator, counter: counter)
            let before = counter.snapshot()
            let started = DispatchTime.now().uptimeNanoseconds
            let result = try kernels[i].forward(context)
            nodeSeconds[i] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let after = counter.snapshot()
            executed.append(Dictionary(uniqueKeysWithValues: CostPhase.allCases.map { ($0, after[$0]! - before[$0]!) }))
            guard result.outputs.count == node.outputs.count else {
                throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) returned \(result.outputs.count) outputs, expected \(node.outputs.count)", at: node.location)
            }
            for (t, tensor) in zip(node.outputs, result.outputs) {
                guard tensor.shape == graph.tensors[t].shape else {
                    throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) produced \(tensor.shape), expected \(graph.tensors[t].shape)", at: node.location)
                }
                values[t] = tensor
            }
            if needsBackward {
                var seen = Set<ObjectIdentifier>()
                for tensor in result.saved.tensors {
                    tensor.keptForBackward = true
                    if seen.insert(ObjectIdentifier(tensor)).inserted { savedBytes[i] += tensor.bytes }
                }
                saved[i] = result.saved
            }
            // Free what no later node reads (saved state keeps its own references).
            for t in node.inputs where lastUse[t] == i && !isOutput.contains(t) && !isInput.contains(t) { values[t] = nil }
            for t in node.outputs where lastUse[t] < 0 && !isOutput.contains(t) { values[t] = nil }
            progress?(i)
        }
        var seen = Set<ObjectIdentifier>()
        var total = 0
        for state in saved { for tensor in state?.tensors ?? [] where seen.insert(ObjectIdentifier(tensor)).inserted { total += tensor.bytes } }
        let outputs = try graph.outputs.map { t -> Tensor<T> in
            guard let value = values[t] else { throw NNFlopsError("internal: output tensor \(t) was not produced") }
            return value
        }
        return ForwardPass(outputs: outputs, saved: saved, executed: executed, savedBytes: savedBytes, savedBytesTotal: total)
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
        var executed: [[CostPhase: WorkTally]]
        var parameterGradients: [Tensor<T>?]
        var inputGradients: [Tensor<T>?]
        var accumulation: Int
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
        // Optimizer: plain SGD, p -= lr * g, 2 FLOPs per element.
        allocator.point = ExecutionPoint(node: nil, name: "optimizer", phase: .optimizer)
        let before = counter.snapshot()[.optimizer]!
        let lr = T(options.learningRate)
        for (id, gradient) in backward.parameterGradients.enumerated() {
            guard let gradient else { continue }
            let p = parameters[id].values, g = gradient.values, n = gradient.count
            var tally = WorkTally()
            for j in 0..<n { p[j] -= lr * g[j] }
            tally.flops += 2 * n
            counter.add(tally, to: .optimizer)
        }
        let optimizerWork = counter.snapshot()[.optimizer]! - before
        return report(pass: pass, backward: backward, loss: lossValue, optimizer: optimizerWork)
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
        var executed = [[CostPhase: WorkTally]](repeating: [:], count: nodes.count)
        var parameterGradients = [Tensor<T>?](repeating: nil, count: graph.parameters.count)
        var uncharged: [Int: [Int]] = [:]  // parameter id -> non-owner users not yet charged an accumulation
        for (i, node) in nodes.enumerated() {
            for id in node.parameterIDs where owner[id] != i && !graph.parameters[id].frozen { uncharged[id, default: []].append(i) }
        }
        var accumulation = 0
        var inputGradients = [Tensor<T>?](repeating: nil, count: graph.inputs.count)

        for i in stride(from: nodes.count - 1, through: 0, by: -1) {
            let node = nodes[i]
            guard nodeNeedsBackward[i] else { pass.saved[i] = nil; progress?(i); continue }
            allocator.point = ExecutionPoint(node: i, name: node.name, phase: .backward)
            let outputGradients = node.outputs.map { t -> Tensor<T> in
                gradients[t] ?? allocator.tensor(graph.tensors[t].shape, dtype: .float32, .activationGradient)
            }
            for t in node.outputs where !graph.outputs.contains(t) { gradients[t] = nil }
            let needs = node.inputs.map { analysis.tensorNeedsGradient[$0] }
            let trainable = node.parameterIDs.map { !graph.parameters[$0].frozen }
            let context = BackwardContext<T>(
                outputGradients: outputGradients, saved: pass.saved[i] ?? .none,
                parameters: node.parameterIDs.map { parameters[$0] }, buffers: buffers[i],
                inputNeedsGradient: needs, parameterTrainable: trainable, allocator: allocator, counter: counter)
            pass.saved[i] = nil
            let before = counter.snapshot()
            let started = DispatchTime.now().uptimeNanoseconds
            let result = try kernels[i].backward(context)
            nodeSeconds[i] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            var delta = Dictionary(uniqueKeysWithValues: CostPhase.allCases.map { ($0, counter.snapshot()[$0]! - before[$0]!) })
            for (slot, t) in node.inputs.enumerated() where needs[slot] {
                guard slot < result.inputs.count, let g = result.inputs[slot], g.shape == graph.tensors[t].shape else {
                    throw NNFlopsError("internal: kernel of '\(node.name)' (\(node.kind)) returned no gradient of the right shape for input \(slot)", at: node.location)
                }
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
                        delta[.weightGradient]! += WorkTally(flops: adds)
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
        return BackwardPass(executed: executed, parameterGradients: parameterGradients, inputGradients: inputGradients, accumulation: accumulation)
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
            let analytic: [CostPhase: Work] = [.forward: layer.cost.forward, .inputGradient: layer.cost.inputGradient, .weightGradient: layer.cost.weightGradient]
            for phase in [CostPhase.forward, .inputGradient, .weightGradient] {
                var work = pass.executed[i][phase] ?? WorkTally()
                work += backward.executed[i][phase] ?? WorkTally()
                let a = analytic[phase]!
                guard phase == .forward || a.flops.value != 0 || work.flops != 0 || work.macs != 0 else { continue }
                rows.append(PhaseComparison(node: i, name: layer.name, kind: layer.kind, phase: phase,
                                            analyticFLOPs: a.flops.value, executedFLOPs: work.flops,
                                            analyticMACs: a.macs.value, executedMACs: work.macs,
                                            executedSavedBytes: phase == .forward ? pass.savedBytes[i] : nil))
            }
        }
        let trainable = graph.parameters.filter { !$0.frozen }.reduce(0) { $0 + $1.elements.value }
        rows.append(PhaseComparison(node: nil, name: "optimizer (sgd)", kind: "sgd", phase: .optimizer,
                                    analyticFLOPs: 2 * trainable, executedFLOPs: optimizer.flops,
                                    analyticMACs: 0, executedMACs: optimizer.macs))
        let memory = ExecutedMemory(
            peakBytes: allocator.peakBytes, peakPoint: allocator.peakPoint, liveAtPeak: allocator.liveAtPeak,
            parameterBytes: parameters.reduce(0) { $0 + $1.bytes },
            bufferBytes: buffers.joined().reduce(0) { $0 + $1.bytes },
            savedBytesAfterForward: pass.savedBytesTotal, analyticPeakBytes: nil)
        var kernelTime: [String: (flops: Int, seconds: Double)] = [:]
        for (i, node) in graph.nodes.enumerated() {
            var flops = 0
            for phase in [CostPhase.forward, .inputGradient, .weightGradient] {
                flops += (pass.executed[i][phase]?.flops ?? 0) + (backward.executed[i][phase]?.flops ?? 0)
            }
            let old = kernelTime[node.kind] ?? (0, 0)
            kernelTime[node.kind] = (old.flops + flops, old.seconds + nodeSeconds[i])
        }
        return ExecutionReport(model: graph.model, rows: rows, memory: memory, loss: loss,
                               allocatedParameterElements: parameters.reduce(0) { $0 + $1.count },
                               gradientAccumulationFLOPs: backward.accumulation, kernelTime: kernelTime)
    }
}
