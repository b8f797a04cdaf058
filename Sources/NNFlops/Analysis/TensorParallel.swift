/// Tensor parallelism (Shoeybi et al. 2019, "Megatron-LM", arXiv 1909.08053, §3; README,
/// "Training on many GPUs"): the graph one of T ranks runs. Every operator says how it
/// shards (`Operator.tensorParallel`, declared beside what it saves): which placement it
/// needs for each input, where its outputs lie, and the arguments it takes at one rank's
/// sizes (a column-parallel linear's `out / T`, attention's `heads / T`). This file only
/// adds those declarations up: it rebuilds each operator from its arguments at one rank's
/// sizes, and where a tensor lies differently from how its reader needs it, it inserts the
/// operator that moves it (Megatron's f and g, all-gathers, reduce-scatters, splits). The
/// result is an ordinary `Graph`: the cost, memory and roofline analyses run on it
/// unchanged, and the communication analysis reads the collectives its operators declare.

/// Where one rank's piece of a (logical, full-size) tensor lies.
public enum TensorPlacement: Sendable, Hashable, CustomStringConvertible {
    /// Every rank holds the whole tensor.
    case replicated
    /// Split along this dimension into T equal pieces (rounded up: a padded vocabulary).
    case sharded(Int)
    /// Every rank holds a full-size summand (a row-parallel product before its all-reduce).
    case partial

    public var description: String {
        switch self {
        case .replicated: "replicated"
        case .sharded(let d): "sharded on dim \(d)"
        case .partial: "partial sum"
        }
    }
}

/// What an operator is asked when the graph is split over T tensor-parallel ranks.
public struct ShardingRequest: Sendable {
    /// T.
    public var degree: Int
    public var sequenceParallel: Bool
    /// Where each tensor input lies (`Node.inputs` order).
    public var inputs: [TensorPlacement]
    /// The full (all-rank) types of the tensor inputs and outputs.
    public var inputTypes: [TensorType]
    public var outputTypes: [TensorType]

    public init(degree: Int, sequenceParallel: Bool = false, inputs: [TensorPlacement], inputTypes: [TensorType], outputTypes: [TensorType]) {
        self.degree = degree
        self.sequenceParallel = sequenceParallel
        self.inputs = inputs
        self.inputTypes = inputTypes
        self.outputTypes = outputTypes
    }

    /// The first sharded input and its dimension.
    public var firstSharded: (input: Int, dim: Int)? {
        for (i, p) in inputs.enumerated() { if case .sharded(let d) = p { return (i, d) } }
        return nil
    }
}

/// An operator's answer: how it runs on one rank.
public struct TensorParallelRule: Sendable {
    /// What an input must be before the operator reads it.
    public enum Input: Sendable, Hashable {
        /// The whole tensor, as every rank holds it.
        case replicated
        /// The whole tensor, whose gradient on one rank is only a partial sum: Megatron's f
        /// (identity forward, all-reduce of the gradient backward) before a column-parallel
        /// linear.
        case gradientReduced
        /// One rank's piece along this dimension.
        case sharded(Int)
    }

    public var inputs: [Input]
    public var outputs: [TensorPlacement]
    /// Argument values at one rank's sizes (`out`, `heads`, split sizes, a reshape's shape).
    public var arguments: [String: Value]
    /// Whether the operator is split over the ranks (false: each rank runs all of it).
    public var isSharded: Bool
    /// Megatron's sequence-parallel column linear: an input split along a sequence
    /// dimension is gathered by the operator itself, which keeps only its piece for
    /// backward and gathers it again there (Korthikanti et al. 2022, §4.2.2).
    public var gathersSequenceShardedInput: Bool
    /// Parameters the rule leaves whole while the operator sees only part of the data (a
    /// norm on a sequence piece): their gradients are partial sums over the ranks.
    public var replicatedParametersHavePartialGradients: Bool
    /// What a report should say (a vocabulary padded to a multiple of T).
    public var notes: [String]

    public init(inputs: [Input], outputs: [TensorPlacement], arguments: [String: Value] = [:], isSharded: Bool = true,
                gathersSequenceShardedInput: Bool = false, replicatedParametersHavePartialGradients: Bool = false,
                notes: [String] = []) {
        self.inputs = inputs
        self.outputs = outputs
        self.arguments = arguments
        self.isSharded = isSharded
        self.gathersSequenceShardedInput = gathersSequenceShardedInput
        self.replicatedParametersHavePartialGradients = replicatedParametersHavePartialGradients
        self.notes = notes
    }

    /// Every rank runs the whole operator on whole inputs (sharded ones are gathered first).
    public static func replicated(_ request: ShardingRequest) -> TensorParallelRule {
        TensorParallelRule(inputs: request.inputs.map { _ in .replicated }, outputs: request.outputTypes.map { _ in .replicated },
                           isSharded: false)
    }

    /// An element-wise operator (broadcasting its inputs, NumPy style): each rank runs it on
    /// its piece of the output. The output is split where the first split input is (its
    /// dimension aligned to the output's, right to left); every other input is split there
    /// too unless it broadcasts along that dimension. Replicated when no input is split, or
    /// when the split dimension is one the operator reduces over (`reducedDimensions` of
    /// the output: a norm's normalised dimensions, softmax's dimension).
    public static func elementwise(_ request: ShardingRequest, reducedDimensions: Set<Int> = []) -> TensorParallelRule {
        guard let (first, dim) = request.firstSharded, let output = request.outputTypes.first else { return replicated(request) }
        let rank = output.rank
        let outputDim = dim + rank - request.inputTypes[first].rank
        guard outputDim >= 0, outputDim < rank, !reducedDimensions.contains(outputDim),
              request.outputTypes.allSatisfy({ $0.rank == rank }) else { return replicated(request) }
        let inputs: [Input] = request.inputTypes.map { type in
            let aligned = outputDim - (rank - type.rank)
            return aligned >= 0 && aligned < type.rank && type.shape[aligned] > 1 ? .sharded(aligned) : .replicated
        }
        return TensorParallelRule(inputs: inputs, outputs: request.outputTypes.map { _ in .sharded(outputDim) },
                                  replicatedParametersHavePartialGradients: true)
    }

    /// A view or copy that moves the elements of its one input: the output is split along
    /// `outputDim` (nil: the split dimension does not survive as one dimension, replicate).
    public static func moving(_ request: ShardingRequest, to outputDim: Int?, arguments: [String: Value] = [:]) -> TensorParallelRule {
        guard let (first, dim) = request.firstSharded, let outputDim else { return replicated(request) }
        var inputs = request.inputs.map { _ in Input.replicated }
        inputs[first] = .sharded(dim)
        return TensorParallelRule(inputs: inputs, outputs: request.outputTypes.map { _ in .sharded(outputDim) }, arguments: arguments)
    }
}

/// A collective an operator runs on its tensor-parallel group, per call.
public struct OperatorCollective: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case allReduce = "all_reduce"
        case allGather = "all_gather"
        case reduceScatter = "reduce_scatter"
        /// Point-to-point send and receive (pipeline stages).
        case sendRecv = "send_recv"
    }
    public enum Phase: String, Sendable, Hashable, Codable {
        case forward, backward
    }
    public var kind: Kind
    public var phase: Phase
    /// The whole buffer: all-reduce's tensor, all-gather's gathered result, reduce-scatter's input.
    public var shape: [Int]
    var type: SavedElementType

    init(_ kind: Kind, _ phase: Phase, shape: [Int], type: SavedElementType) {
        self.kind = kind
        self.phase = phase
        self.shape = shape
        self.type = type
    }
}

// Defaults of the tensor-parallel declarations (`Operator.tensorParallel`,
// `collectives`, `isCollective`).
extension Operator {
    /// Default: replicated. An operator that can run on pieces says so in its own file.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .replicated(request) }
    public func collectives(_ context: CostContext) -> [OperatorCollective] { [] }
    public var isCollective: Bool { false }
}

extension BoundArguments {
    /// The same arguments with tensor number `position` (in `tensorInputs` order) replaced
    /// by `replace(position, ref)`, and `overrides` applied.
    func replacingTensors(signature: [ArgumentSpec], overrides: [String: Value] = [:],
                          _ replace: (Int, TensorRef) -> TensorRef) -> BoundArguments {
        var values = dictionary
        var position = 0
        for spec in signature {
            switch (spec.kind, values[spec.name]) {
            case (.tensor, .tensor(let ref)?), (.tensorOrNumber, .tensor(let ref)?):
                values[spec.name] = .tensor(replace(position, ref))
                position += 1
            case (.tensorList, .list(let items)?):
                values[spec.name] = .list(items.map { item in
                    guard case .tensor(let ref) = item else { return item }
                    defer { position += 1 }
                    return .tensor(replace(position, ref))
                })
            default:
                break
            }
        }
        for (name, value) in overrides { values[name] = value }
        return BoundArguments(values: values, signature: signature)
    }
}

/// The graph of one tensor-parallel rank, built from the model's graph.
public struct TensorParallelGraph: Sendable {
    /// What rank 0 runs (every rank runs the same shapes).
    public var graph: Graph
    public var degree: Int
    public var sequenceParallel: Bool
    /// For each node of `graph`, the model's node it comes from (nil: an inserted
    /// collective or split).
    public var origin: [Int?]
    /// Operators with parameters that every rank runs whole (not annotated, or not
    /// splittable), in model order.
    public var replicated: [String]
    /// Parameters of the model held whole by every rank.
    public var replicatedParameters: Int
    /// Parameters of `graph` whose gradients are partial sums over the tensor-parallel
    /// group (the norms under sequence parallelism): all-reduced once per step.
    public var partialGradientParameters: [Int]
    public var notes: [String]

    /// T = 1: the model's graph itself.
    public init(unsharded graph: Graph) {
        self.graph = graph
        degree = 1
        sequenceParallel = false
        origin = graph.nodes.indices.map { $0 }
        replicated = []
        replicatedParameters = 0
        partialGradientParameters = []
        notes = []
    }

    public init(graph model: Graph, degree: Int, sequenceParallel: Bool = false) throws {
        guard degree > 1 else {
            self = TensorParallelGraph(unsharded: model)
            return
        }
        var build = Builder(model: model, degree: degree, sequenceParallel: sequenceParallel)
        try build.run()
        graph = build.builder.graph
        self.degree = degree
        self.sequenceParallel = sequenceParallel
        origin = build.origin
        replicated = build.replicated
        replicatedParameters = build.replicatedParameters
        partialGradientParameters = build.partialGradientParameters.sorted()
        notes = build.notes
    }

    /// The rewrite, node by node.
    struct Builder {
        let model: Graph
        let degree: Int
        let sequenceParallel: Bool
        var builder: GraphBuilder
        /// Per model tensor: the rank tensor holding its primary piece, and where it lies.
        var rankTensor: [Int]
        var placement: [TensorPlacement]
        /// Other forms of a model tensor already made (gathered, split, f-wrapped).
        var variants: [Variant: Int] = [:]
        var parameterMap: [Int?]
        var origin: [Int?] = []
        var replicated: [String] = []
        var replicatedParameters = 0
        /// Model parameters counted in `replicatedParameters`.
        var counted: Set<Int> = []
        var partialGradientParameters: Set<Int> = []
        var notes: [String] = []
        var takenNames: Set<String>
        let parameterNames: Set<String>

        enum Variant: Hashable {
            case replicated(Int), gradientReduced(Int), sharded(Int, Int)
        }

        init(model: Graph, degree: Int, sequenceParallel: Bool) {
            self.model = model
            self.degree = degree
            self.sequenceParallel = sequenceParallel
            builder = GraphBuilder(model: model.model)
            rankTensor = [Int](repeating: -1, count: model.tensors.count)
            placement = [TensorPlacement](repeating: .replicated, count: model.tensors.count)
            parameterMap = [Int?](repeating: nil, count: model.parameters.count)
            takenNames = Set(model.nodes.map(\.name))
            parameterNames = Set(model.parameters.map(\.name))
        }

        func fail(_ message: String, _ node: Node, notes: [String] = []) -> NNFlopsError {
            NNFlopsError("--tp \(degree): '\(node.name)' (\(node.kind)): \(message)", at: node.location, notes: notes)
        }

        mutating func run() throws {
            builder.graph.budgets = model.budgets
            builder.graph.settings = model.settings
            for input in model.inputs {
                do {
                    rankTensor[input.tensor] = try builder.addInput(name: input.name, type: model.tensors[input.tensor], location: input.location).id
                } catch {
                    throw NNFlopsError(error.message, at: input.location)
                }
            }
            for (index, node) in model.nodes.enumerated() {
                try shard(node, index: index)
            }
            builder.graph.outputs = model.outputs.map { rankTensor[$0] }
        }

        // MARK: one node

        mutating func shard(_ node: Node, index: Int) throws {
            let request = ShardingRequest(degree: degree, sequenceParallel: sequenceParallel, inputs: node.inputs.map { placement[$0] },
                                          inputTypes: node.inputs.map { model.tensors[$0] }, outputTypes: node.outputs.map { model.tensors[$0] })
            var rule: TensorParallelRule
            if node.arguments == nil {
                rule = .replicated(request)
            } else {
                do {
                    rule = try node.op.tensorParallel(request)
                } catch let error as OperatorError {
                    throw fail(error.message, node)
                }
            }
            guard rule.inputs.count == node.inputs.count, rule.outputs.count == node.outputs.count else {
                throw fail("internal: its tensor-parallel rule covers \(rule.inputs.count) inputs and \(rule.outputs.count) outputs", node)
            }
            // The inputs, moved where the rule needs them.
            var provided: [Int] = []
            var gathered: (dim: Int, shard: TensorType)?
            for (i, t) in node.inputs.enumerated() {
                if i == 0, rule.gathersSequenceShardedInput, sequenceParallel, case .sharded(let d) = placement[t],
                   d != model.tensors[t].rank - 1, rule.inputs[0] == .gradientReduced {
                    gathered = (d, builder.graph.tensors[rankTensor[t]])
                    provided.append(rankTensor[t])
                    continue
                }
                provided.append(try provide(t, as: rule.inputs[i], reader: node, index: i))
            }
            // The operator at one rank's sizes.
            let op: any Operator
            let arguments: BoundArguments?
            let unchanged = rule.arguments.isEmpty && gathered == nil
                && zip(node.inputs, provided).allSatisfy { builder.graph.tensors[$1] == model.tensors[$0] }
            if unchanged {
                op = node.op
                arguments = node.arguments?.replacingTensors(signature: OperatorCatalog.signature(of: type(of: node.op))) { position, ref in
                    TensorRef(id: provided[position], type: builder.graph.tensors[provided[position]])
                }
            } else {
                guard let original = node.arguments else { throw fail("internal: no arguments to rebuild it from", node) }
                let signature = OperatorCatalog.signature(of: type(of: node.op))
                let rankArguments = original.replacingTensors(signature: signature, overrides: rule.arguments) { position, ref in
                    // The gathered input is read whole by the operator inside the wrapper.
                    if position == 0, gathered != nil { return TensorRef(id: provided[0], type: model.tensors[node.inputs[0]]) }
                    return TensorRef(id: provided[position], type: builder.graph.tensors[provided[position]])
                }
                let built: any Operator
                do {
                    built = try type(of: node.op).init(rankArguments)
                } catch let error as OperatorError {
                    throw fail("at one rank's sizes: \(error.message)", node)
                }
                if let gathered {
                    op = SequenceParallelLinear(inner: built, shard: gathered.shard, dim: gathered.dim, degree: degree)
                    arguments = nil
                } else {
                    op = built
                    arguments = rankArguments
                }
            }
            // Parameters: the first use makes them (at one rank's shape), later uses tie.
            let sources: [GraphBuilder.ParameterSource] = node.parameterIDs.map { id in parameterMap[id].map { .tied($0) } ?? .new }
            let refs: [TensorRef]
            do {
                let inputs = arguments ?? BoundArguments(values: ["input": .tensor(TensorRef(id: provided[0], type: builder.graph.tensors[provided[0]]))],
                                                         signature: [.required("input", .tensor)])
                refs = try builder.addNode(op, arguments: inputs, name: node.name, parameters: sources, location: node.location)
                if arguments == nil { builder.graph.nodes[builder.graph.nodes.count - 1].arguments = nil }
            } catch {
                var notes = error.notes
                if node.parameterIDs.contains(where: { parameterMap[$0] != nil }) {
                    notes.append("note: a tied parameter must be split the same way by every operator that uses it (annotate them alike)")
                }
                throw fail(error.message, node, notes: notes)
            }
            let newNode = builder.graph.nodes.count - 1
            origin.append(index)
            for (local, id) in node.parameterIDs.enumerated() {
                let rankID = builder.graph.nodes[newNode].parameterIDs[local]
                if parameterMap[id] == nil {
                    parameterMap[id] = rankID
                    builder.graph.parameters[rankID].frozen = model.parameters[id].frozen
                }
                let shape = builder.graph.parameters[rankID].shape
                if rule.replicatedParametersHavePartialGradients, request.firstSharded != nil, shape == model.parameters[id].shape,
                   !model.parameters[id].frozen {
                    partialGradientParameters.insert(rankID)
                }
            }
            if !rule.isSharded, !node.parameterIDs.isEmpty {
                if !replicated.contains(node.name) { replicated.append(node.name) }
                for id in node.parameterIDs where !counted.contains(id) {
                    counted.insert(id)
                    replicatedParameters += model.parameters[id].elements.value
                }
            }
            for note in rule.notes where !notes.contains(note) { notes.append(note) }
            // The outputs: check the sizes the rule promised, then resolve partial sums.
            for (j, t) in node.outputs.enumerated() {
                let full = model.tensors[t].shape
                var expected = full
                if case .sharded(let d) = rule.outputs[j] {
                    guard d >= 0 && d < full.count else { throw fail("internal: output \(j) split on dimension \(d) of \(shapeText(full))", node) }
                    expected[d] = (full[d] + degree - 1) / degree
                }
                guard refs[j].type.shape == expected else {
                    throw fail("internal: one rank's output \(j) is \(shapeText(refs[j].type.shape)), its rule says \(shapeText(expected))", node)
                }
                rankTensor[t] = refs[j].id
                placement[t] = rule.outputs[j]
                if rule.outputs[j] == .partial { try resolvePartial(t, producer: node, output: j) }
            }
        }

        // MARK: moving tensors

        /// The rank tensor holding model tensor `t` as `requirement` asks.
        mutating func provide(_ t: Int, as requirement: TensorParallelRule.Input, reader: Node, index: Int) throws -> Int {
            switch requirement {
            case .replicated:
                return try whole(t, reader: reader, index: index)
            case .gradientReduced:
                if let made = variants[.gradientReduced(t)] { return made }
                let source = try whole(t, reader: reader, index: index)
                let made = try insert(TensorParallelCopy.self, input: source, dim: 0, name: name(reader, "copy", index), at: reader.location)
                variants[.gradientReduced(t)] = made
                return made
            case .sharded(let d):
                if placement[t] == .sharded(d) { return rankTensor[t] }
                if let made = variants[.sharded(t, d)] { return made }
                let type = model.tensors[t]
                guard d >= 0, d < type.rank, type.shape[d] % degree == 0 else {
                    throw fail("its input \(index) \(type) must be split on dimension \(d) over \(degree) ranks, which does not divide \(d < type.rank && d >= 0 ? type.shape[d] : 0)", reader)
                }
                let source = try whole(t, reader: reader, index: index)
                let made = try insert(TensorParallelScatter.self, input: source, dim: d, name: name(reader, "scatter", index), at: reader.location)
                variants[.sharded(t, d)] = made
                return made
            }
        }

        /// Model tensor `t` whole on every rank (gathered when it is split).
        mutating func whole(_ t: Int, reader: Node, index: Int) throws -> Int {
            switch placement[t] {
            case .replicated: return rankTensor[t]
            case .partial: throw fail("internal: input \(index) is an unreduced partial sum", reader)
            case .sharded(let d):
                if let made = variants[.replicated(t)] { return made }
                let made = try insert(TensorParallelAllGather.self, input: rankTensor[t], dim: d, size: model.tensors[t].shape[d],
                                      name: name(reader, "all_gather", index), at: reader.location)
                variants[.replicated(t)] = made
                return made
            }
        }

        /// A row-parallel product's partial sums, reduced: all-reduced (Megatron's g), or
        /// under sequence parallelism reduce-scattered along the sequence dimension (the
        /// one before the features) when the tensor has one.
        mutating func resolvePartial(_ t: Int, producer: Node, output j: Int) throws {
            let type = model.tensors[t]
            let suffix = producer.outputs.count > 1 ? "\(j)" : ""
            if sequenceParallel, type.rank >= 3 {
                let d = type.rank - 2
                guard type.shape[d] % degree == 0 else {
                    throw fail("--sequence-parallel splits the sequence dimension of its output \(type) (dimension \(d), \(type.shape[d])) over --tp \(degree), which does not divide it", producer)
                }
                rankTensor[t] = try insert(TensorParallelReduceScatter.self, input: rankTensor[t], dim: d, name: unique(under(producer.name, "reduce_scatter\(suffix)")), at: producer.location)
                placement[t] = .sharded(d)
            } else {
                rankTensor[t] = try insert(TensorParallelAllReduce.self, input: rankTensor[t], dim: 0, name: unique(under(producer.name, "all_reduce\(suffix)")), at: producer.location)
                placement[t] = .replicated
            }
        }

        /// An inserted node is named under the node it serves (`h.0.attn.c_proj.all_reduce`),
        /// so it belongs to the same top-level unit; under a bare learned tensor, whose name
        /// is a parameter's, with a colon instead.
        func under(_ node: String, _ suffix: String) -> String {
            (parameterNames.contains(node) ? node + ":" : node + ".") + suffix
        }

        mutating func name(_ reader: Node, _ kind: String, _ index: Int) -> String {
            unique(under(reader.name, kind + (index == 0 ? "" : String(index))))
        }

        mutating func unique(_ base: String) -> String {
            var candidate = base
            var n = 2
            while takenNames.contains(candidate) {
                candidate = "\(base)\(n)"
                n += 1
            }
            takenNames.insert(candidate)
            return candidate
        }

        /// Appends a collective (or split) reading rank tensor `input`; returns its output.
        mutating func insert(_ kind: any TensorParallelMove.Type, input: Int, dim: Int, size: Int? = nil, name: String,
                             at location: SourceLocation) throws -> Int {
            let ref = TensorRef(id: input, type: builder.graph.tensors[input])
            var values: [String: Value] = ["input": .tensor(ref), "dim": .int(dim), "degree": .int(degree)]
            values["size"] = size.map(Value.int) ?? Value.none
            let arguments = BoundArguments(values: values, signature: TensorParallelMoveSignature.arguments)
            do {
                let op = try kind.init(arguments)
                let refs = try builder.addNode(op, arguments: arguments, name: name, location: location)
                origin.append(nil)
                return refs[0].id
            } catch {
                throw NNFlopsError("--tp \(degree): internal: cannot insert \(kind.kind) \(name): \(error)")
            }
        }
    }
}
