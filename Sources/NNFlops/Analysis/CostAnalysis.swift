/// Options for counting: the attention convention, and the run whose implementation
/// choices the counts follow (attention's kernel is chosen by dtype: `precision`; the KV
/// cache of transformers' `use_cache`; training or eval mode; the KV cache as state in
/// an inference run that decodes).
public struct CountOptions: Sendable {
    public var attention: AttentionConvention
    public var precision: PrecisionPolicy
    public var useCache: Bool
    /// Eval mode prices forward only, with every operator's eval behaviour.
    public var mode: RunMode
    /// `CostContext.cachedPositions`: the KV cache's positions before the step, or nil.
    public var cachedPositions: Int?
    public init(attention: AttentionConvention = .dense, precision: PrecisionPolicy = .fp32, useCache: Bool = true,
                mode: RunMode = .training, cachedPositions: Int? = nil) {
        self.attention = attention
        self.precision = precision
        self.useCache = useCache
        self.mode = mode
        self.cachedPositions = cachedPositions
    }

    /// The counting options of `configuration`'s run, at this attention convention.
    public func run(_ configuration: RunConfiguration) -> CountOptions {
        CountOptions(attention: attention, precision: configuration.precision, useCache: configuration.useCache,
                     mode: configuration.mode, cachedPositions: configuration.kvCache?.cachedPositions)
    }
}

/// Costs of one operator instance.
public struct LayerCost: Sendable {
    public var node: Int
    public var name: String
    public var kind: String
    public var detail: String
    public var outputShapes: [[Int]]
    /// Parameters first introduced by this operator (tied uses count once, at the owner).
    public var parameters: Int
    public var trainableParameters: Int
    var cost: OperatorCost
    /// What the node was priced with: which inputs need gradients, which parameters
    /// train, the attention convention. Built here once; memory, roofline and the
    /// executor read it rather than rebuild it.
    var context: CostContext
}

/// Something about a model that is legal but probably not what its author meant (printed on
/// stderr with the tables, a `warnings` list in JSON).
public struct AnalysisWarning: Sendable, Hashable, Codable {
    /// The operator it is about.
    public var node: String
    public var message: String
    public init(node: String, message: String) {
        self.node = node
        self.message = message
    }
}

/// FLOPs, MACs and parameters of a whole graph: a pure function of the graph and options.
///
/// Dead code is not trained (README, "Counting conventions"): an operator none of whose
/// outputs reaches a graph output runs in forward, but autograd never reaches it from the
/// loss, so it has no backward, keeps nothing past its own output, and its parameters get
/// no gradient (PyTorch leaves `.grad` None) and so no optimizer state (torch.optim skips a
/// parameter whose grad is None, creating no state). Each such dead end gets a warning.
public struct CostAnalysis: Sendable {
    public var layers: [LayerCost]
    public var parameters: Int
    public var trainableParameters: Int
    public var forward: Work
    public var inputGradient: Work
    public var weightGradient: Work
    public var backward: Work { inputGradient + weightGradient }
    /// Forward + backward (the optimizer step is not included here).
    public var trainStep: Work { forward + backward }
    /// For every tensor: does the backward pass need its gradient?
    public var tensorNeedsGradient: [Bool]
    /// The attention convention every node was priced under.
    public var attention: AttentionConvention
    /// The precision policy and cache setting the nodes were priced under (set only here:
    /// `runtimeTypes` are of this policy).
    public internal(set) var precision: PrecisionPolicy
    public var useCache: Bool
    /// The mode and KV cache state the nodes were priced under.
    public var mode: RunMode
    public var cachedPositions: Int?
    /// For every node: does one of its outputs reach a graph output (through the nodes that
    /// read it)? A node that does not is dead: priced with nothing needing a gradient.
    public var reachesOutput: [Bool]
    /// For every parameter: does it get a gradient (it trains and a live node uses it)?
    /// Only these have gradients and optimizer state.
    public var parameterReceivesGradient: [Bool]
    /// The dead ends: one per dead operator whose outputs no operator reads.
    public var warnings: [AnalysisWarning]
    /// The runtime types under `precision` the nodes were priced with: a memory analysis at
    /// the same precision reads them instead of running the precision pass again.
    let runtimeTypes: RuntimeTypes

    /// The runtime types of `graph` (the analysed graph) under `policy`: the analysis's own
    /// when it priced the nodes at that policy, else a precision pass of their own (a
    /// memory, roofline or communication analysis at the priced precision runs none).
    func runtimeTypes(under policy: PrecisionPolicy, graph: Graph) -> RuntimeTypes {
        precision == policy && runtimeTypes.tensors.count == graph.tensors.count ? runtimeTypes : RuntimeTypes(graph: graph, policy: policy)
    }

    /// Each node's context for a run: the priced one when training; with nothing needing
    /// a gradient in inference, in eval mode (same attention convention). A run at another
    /// precision or cache setting than the one priced gets its own runtime types; a run
    /// that keeps the KV cache as state, its positions.
    func contexts(for configuration: RunConfiguration, graph: Graph? = nil) -> [CostContext] {
        var contexts = layers.map(\.context)
        if let graph, configuration.precision != precision || configuration.useCache != useCache {
            let types = RuntimeTypes(graph: graph, policy: configuration.precision)
            for index in contexts.indices {
                contexts[index].precision = configuration.precision
                contexts[index].useCache = configuration.useCache
                contexts[index].inputTypes = types.inputTypes(graph, node: index)
                contexts[index].computeType = types.computeTypes[index]
            }
        }
        let positions = configuration.kvCache?.cachedPositions
        if positions != cachedPositions {
            for index in contexts.indices { contexts[index].cachedPositions = positions }
        }
        return configuration.inference ? contexts.map(\.forInference) : contexts
    }

    /// Each node's cost in a run: the priced one when the run's context is the one priced,
    /// else the operator priced again in the run's context (an eval-mode operator, an
    /// attention over the run's cached keys).
    func costs(for contexts: [CostContext], graph: Graph) -> [OperatorCost] {
        layers.indices.map { index in
            contexts[index] == layers[index].context ? layers[index].cost : graph.nodes[index].op.cost(contexts[index])
        }
    }

    /// For every tensor, under a run: does backward need its gradient (never in inference)?
    public func tensorNeedsGradient(for configuration: RunConfiguration) -> [Bool] {
        configuration.inference ? tensorNeedsGradient.map { _ in false } : tensorNeedsGradient
    }

    public init(graph: Graph, options: CountOptions = CountOptions()) throws {
        let live = Self.nodesReachingOutputs(graph)
        var needsGradient = [Bool](repeating: false, count: graph.tensors.count)
        for input in graph.inputs where input.requiresGradient { needsGradient[input.tensor] = true }
        var seenParameter = [Bool](repeating: false, count: graph.parameters.count)
        var receivesGradient = [Bool](repeating: false, count: graph.parameters.count)
        var layers: [LayerCost] = []
        layers.reserveCapacity(graph.nodes.count)
        var forward = Work.zero, inputGradient = Work.zero, weightGradient = Work.zero
        var parameters = Count.zero, trainable = Count.zero
        let types = RuntimeTypes(graph: graph, policy: options.precision)

        // Eval mode: nothing needs a gradient, nothing trains (forward only).
        let training = options.mode == .training
        // The closures below read these, not `graph`: a closure capturing `graph` copied
        // the whole struct (retaining each of its arrays) once a node.
        let tensors = graph.tensors, graphParameters = graph.parameters
        for index in graph.nodes.indices {
            // The fields it reads, not the whole Node (nodesReachingOutputs says why).
            let inputs = graph.nodes[index].inputs, outputs = graph.nodes[index].outputs
            let parameterIDs = graph.nodes[index].parameterIDs, op = graph.nodes[index].op
            // An operator under torch.no_grad records nothing, whatever its inputs need; a dead
            // node gets no gradient: nothing of it needs one, nothing of it trains. Nor does
            // anything in eval mode.
            let trains = training && live[index], detaches = op.detachesOutputs
            let inputNeeds = inputs.map { trains && needsGradient[$0] && !detaches }
            let trainableFlags = parameterIDs.map { trains && !graphParameters[$0].frozen }
            let context = CostContext(inputNeedsGradient: inputNeeds, parameterTrainable: trainableFlags, attention: options.attention,
                                      precision: options.precision, inputTypes: types.inputTypes(graph, node: index),
                                      computeType: types.computeTypes[index], useCache: options.useCache,
                                      mode: options.mode, cachedPositions: options.cachedPositions)
            var cost = op.cost(context)
            var owned = Count.zero, ownedTrainable = Count.zero
            for (local, id) in parameterIDs.enumerated() {
                let parameter = graph.parameters[id]
                if trainableFlags[local] {
                    // A tied parameter's second live use adds its gradient into the first's.
                    if receivesGradient[id] { cost.weightGradient += .elementwise(parameter.elements) }
                    receivesGradient[id] = true
                }
                if !seenParameter[id] {
                    seenParameter[id] = true
                    owned += parameter.elements
                    if !parameter.frozen { ownedTrainable += parameter.elements }
                }
            }
            if cost.forward.overflowed || cost.inputGradient.overflowed || cost.weightGradient.overflowed || owned.overflowed {
                let node = graph.nodes[index]
                throw NNFlopsError("the FLOP count of '\(node.name)' (\(node.kind)) overflows 64 bits; the shapes are too large", at: node.location)
            }
            let producesGradient = inputNeeds.contains(true) || trainableFlags.contains(true)
            for output in outputs where graph.tensors[output].dtype.isFloatingPoint {
                needsGradient[output] = producesGradient
            }
            forward += cost.forward
            inputGradient += cost.inputGradient
            weightGradient += cost.weightGradient
            parameters += owned
            trainable += ownedTrainable
            layers.append(LayerCost(node: index, name: graph.nodes[index].name, kind: type(of: op).kind, detail: op.detail,
                                    outputShapes: outputs.map { tensors[$0].shape },
                                    parameters: owned.value, trainableParameters: ownedTrainable.value, cost: cost,
                                    context: context))
        }
        let total = forward + inputGradient + weightGradient
        if total.overflowed || parameters.overflowed {
            // Name the layer at which the running totals leave 64 bits (only on this path).
            var running = Work.zero, runningParameters = Count.zero
            for layer in layers {
                running += layer.cost.forward + layer.cost.inputGradient + layer.cost.weightGradient
                runningParameters += layer.parameters
                guard running.overflowed || runningParameters.overflowed else { continue }
                let node = graph.nodes[layer.node]
                throw NNFlopsError("the model's total \(running.overflowed ? "FLOP count" : "parameter count") overflows 64 bits "
                                   + "at '\(node.name)' (\(node.kind)), where the layers' sum passes 2^63; the shapes are too large",
                                   at: node.location)
            }
            throw NNFlopsError("the model's total FLOP count overflows 64 bits; the shapes are too large")
        }
        self.layers = layers
        self.parameters = parameters.value
        self.trainableParameters = trainable.value
        self.forward = forward
        self.inputGradient = inputGradient
        self.weightGradient = weightGradient
        self.tensorNeedsGradient = needsGradient
        attention = options.attention
        precision = options.precision
        useCache = options.useCache
        mode = options.mode
        cachedPositions = options.cachedPositions
        reachesOutput = live
        runtimeTypes = types
        parameterReceivesGradient = receivesGradient
        warnings = Self.deadEnds(graph, live: live)
    }

    /// Liveness, in reverse: a node is live when a graph output is among its outputs or a
    /// live node reads one of them.
    static func nodesReachingOutputs(_ graph: Graph) -> [Bool] {
        var used = [Bool](repeating: false, count: graph.tensors.count)
        for t in graph.outputs { used[t] = true }
        var live = [Bool](repeating: false, count: graph.nodes.count)
        // Fields read in place: binding the Node copies it (ten references retained and
        // released, 620 instructions an operator).
        for index in graph.nodes.indices.reversed() {
            guard graph.nodes[index].outputs.contains(where: { used[$0] }) else { continue }
            live[index] = true
            for t in graph.nodes[index].inputs { used[t] = true }
        }
        return live
    }

    /// One warning per dead operator whose outputs nothing reads, naming the dead operators
    /// that feed it and the parameters that therefore get no gradient.
    static func deadEnds(_ graph: Graph, live: [Bool]) -> [AnalysisWarning] {
        guard live.contains(false) else { return [] }
        let producers = graph.producers()
        var read = [Bool](repeating: false, count: graph.tensors.count)
        for node in graph.nodes { for t in node.inputs { read[t] = true } }
        var liveUse = [Bool](repeating: false, count: graph.parameters.count)
        for (index, node) in graph.nodes.enumerated() where live[index] { for id in node.parameterIDs { liveUse[id] = true } }
        var warnings: [AnalysisWarning] = []
        for (index, node) in graph.nodes.enumerated() where !live[index] && !node.outputs.contains(where: { read[$0] }) {
            // The dead operators upstream of this one (through dead producers only).
            var upstream: [Int] = []
            var stack = [index], seen: Set<Int> = [index]
            while let n = stack.popLast() {
                for t in graph.nodes[n].inputs {
                    guard let p = producers[t], !live[p], seen.insert(p).inserted else { continue }
                    upstream.append(p)
                    stack.append(p)
                }
            }
            upstream.sort()
            var message = "'\(node.name)' (\(node.kind)) reaches no output"
            if !upstream.isEmpty {
                let names = upstream.prefix(3).map { "'\(graph.nodes[$0].name)'" }.joined(separator: ", ")
                message += ", nor does what feeds only it (\(names)\(upstream.count > 3 ? ", ..." : ""))"
            }
            message += ": its forward runs, but no gradient reaches it, so it has no backward"
            var names: [String] = []
            for n in [index] + upstream {
                for id in graph.nodes[n].parameterIDs where !liveUse[id] && !graph.parameters[id].frozen && !names.contains(graph.parameters[id].name) {
                    names.append(graph.parameters[id].name)
                }
            }
            if !names.isEmpty {
                let shown = names.prefix(4).joined(separator: ", ") + (names.count > 4 ? ", ..." : "")
                message += ", and \(shown) get no gradient (.grad stays None) and no optimizer state"
            }
            warnings.append(AnalysisWarning(node: node.name, message: message))
        }
        return warnings
    }
}
