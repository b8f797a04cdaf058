/// Options for counting: the attention convention, and the run whose implementation
/// choices the counts follow (attention's kernel is chosen by dtype: `precision`; the KV
/// cache of transformers' `use_cache`).
public struct CountOptions: Sendable {
    public var attention: AttentionConvention
    public var precision: PrecisionPolicy
    public var useCache: Bool
    public init(attention: AttentionConvention = .dense, precision: PrecisionPolicy = .fp32, useCache: Bool = true) {
        self.attention = attention
        self.precision = precision
        self.useCache = useCache
    }

    /// The counting options of `configuration`'s run, at this attention convention.
    public func run(_ configuration: RunConfiguration) -> CountOptions {
        CountOptions(attention: attention, precision: configuration.precision, useCache: configuration.useCache)
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
    public var cost: OperatorCost
    /// What the node was priced with: which inputs need gradients, which parameters
    /// train, the attention convention. Built here once; memory, roofline and the
    /// executor read it rather than rebuild it.
    public var context: CostContext
}

/// FLOPs, MACs and parameters of a whole graph: a pure function of the graph and options.
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
    /// The precision policy and cache setting the nodes were priced under.
    public var precision: PrecisionPolicy
    public var useCache: Bool

    /// Each node's context for a run: the priced one when training; with nothing needing
    /// a gradient in inference (same attention convention). A run at another precision or
    /// cache setting than the one priced gets its own runtime types.
    public func contexts(for configuration: RunConfiguration, graph: Graph? = nil) -> [CostContext] {
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
        return configuration.inference ? contexts.map(\.forInference) : contexts
    }

    /// For every tensor, under a run: does backward need its gradient (never in inference)?
    public func tensorNeedsGradient(for configuration: RunConfiguration) -> [Bool] {
        configuration.inference ? tensorNeedsGradient.map { _ in false } : tensorNeedsGradient
    }

    public init(graph: Graph, options: CountOptions = CountOptions()) throws {
        var needsGradient = [Bool](repeating: false, count: graph.tensors.count)
        for input in graph.inputs where input.requiresGradient { needsGradient[input.tensor] = true }
        var seenParameter = [Bool](repeating: false, count: graph.parameters.count)
        var layers: [LayerCost] = []
        layers.reserveCapacity(graph.nodes.count)
        var forward = Work.zero, inputGradient = Work.zero, weightGradient = Work.zero
        var parameters = Count.zero, trainable = Count.zero
        let types = RuntimeTypes(graph: graph, policy: options.precision)

        for (index, node) in graph.nodes.enumerated() {
            // An operator under torch.no_grad records nothing, whatever its inputs need.
            let inputNeeds = node.inputs.map { needsGradient[$0] && !node.op.detachesOutputs }
            let trainableFlags = node.parameterIDs.map { !graph.parameters[$0].frozen }
            let context = CostContext(inputNeedsGradient: inputNeeds, parameterTrainable: trainableFlags, attention: options.attention,
                                      precision: options.precision, inputTypes: types.inputTypes(graph, node: index),
                                      computeType: types.computeTypes[index], useCache: options.useCache)
            var cost = node.op.cost(context)
            var owned = Count.zero, ownedTrainable = Count.zero
            for id in node.parameterIDs {
                let parameter = graph.parameters[id]
                if seenParameter[id] {
                    // A tied parameter's second use adds its gradient into the first's.
                    if !parameter.frozen { cost.weightGradient += .elementwise(parameter.elements) }
                } else {
                    seenParameter[id] = true
                    owned += parameter.elements
                    if !parameter.frozen { ownedTrainable += parameter.elements }
                }
            }
            if cost.forward.overflowed || cost.inputGradient.overflowed || cost.weightGradient.overflowed || owned.overflowed {
                throw NNFlopsError("the FLOP count of '\(node.name)' (\(node.kind)) overflows 64 bits; the shapes are too large", at: node.location)
            }
            let producesGradient = inputNeeds.contains(true) || trainableFlags.contains(true)
            for output in node.outputs where graph.tensors[output].dtype.isFloatingPoint {
                needsGradient[output] = producesGradient
            }
            forward += cost.forward
            inputGradient += cost.inputGradient
            weightGradient += cost.weightGradient
            parameters += owned
            trainable += ownedTrainable
            layers.append(LayerCost(node: index, name: node.name, kind: node.kind, detail: node.op.detail,
                                    outputShapes: node.outputs.map { graph.tensors[$0].shape },
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
    }
}
