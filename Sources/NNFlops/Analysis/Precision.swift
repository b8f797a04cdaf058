/// The dtype rules of a precision policy (README, "Precision policies"): a pure function
/// of the graph and the policy giving every tensor's runtime type and every node's casts.
/// The memory replay, the roofline and the reference executor all read their types here,
/// so they agree on every byte.
///
/// - `fp32`: every tensor as declared.
/// - pure half (`bf16`, `fp16`, `model.half()`): every fp32 tensor, parameter, buffer and
///   gradient is half.
/// - autocast (`amp-bf16`, `amp-fp16`, torch.autocast's op lists in
///   aten/src/ATen/autocast_mode.cpp): an operator's `AutocastClass` decides the type it
///   computes in. Lower-precision ops cast their float inputs and fp32 parameters to half
///   (the parameter copies are cached for the pass); fp32 ops cast half inputs up; promote
///   ops compute in the widest float input type without casts of their own. Outputs take
///   the compute type, except views and in-place outputs (their input's type) and
///   parameter outputs (fp32).
/// - composites (`Operator.autocastPrimitives`: an operator that runs as several torch
///   ops, such as transformers' `gelu_new`): autocast applies to each op, not to the
///   composite. Nothing is cast on the way in; the running type starts at the widest
///   floating input, a lower-precision op moves it to half, an fp32-listed op (CUDA
///   autocast's `pow`, `rsqrt`, `exp`, ...) to fp32, a promoting op keeps it; the output
///   takes the type after the last op, and `SavedElementType.primitive(k)` the type after
///   op k. (So `pow` inside `gelu_new` makes its result and everything computed from it
///   fp32, as torch does.)
struct RuntimeTypes: Sendable, Equatable {
    let policy: PrecisionPolicy
    /// Runtime type of every tensor, by tensor id.
    let tensors: [DType]
    /// Type of the stored parameters and of their gradients: half under pure half, else fp32.
    let parameterType: DType
    /// Per node: the floating-point type it computes in (`CostContext.computeType`).
    let computeTypes: [DType]
    // The per-node, per-input (per-parameter, per-primitive) facts, every node's after the
    // one before's in one array, with where each node's start (node n's are
    // `start[n] ..< start[n + 1]`): one array each instead of one per node, which cost a
    // 10,000-operator chain a fifth of its cost analysis in allocations (README, "Speed").
    /// The type autocast casts each input to (nil: read as is).
    private let inputCasts: [DType?]
    private let inputCastStart: [Int]
    /// The type of autocast's cached copy of each parameter (nil: used as stored).
    private let parameterCasts: [DType?]
    private let parameterCastStart: [Int]
    /// A composite's running type after each of its ops (none for one op).
    private let primitiveTypes: [DType]
    private let primitiveTypeStart: [Int]

    init(graph: Graph, policy: PrecisionPolicy) {
        self.policy = policy
        let half = policy.halfType
        var types = graph.tensors.map(\.dtype)
        if policy.isPureHalf, let half {
            for i in types.indices where types[i] == .float32 { types[i] = half }
        }
        let nodeCount = graph.nodes.count
        var inputCasts: [DType?] = [], inputCastStart: [Int] = [0]
        var parameterCasts: [DType?] = [], parameterCastStart: [Int] = [0]
        var primitiveTypes: [DType] = [], primitiveTypeStart: [Int] = [0]
        var computeTypes: [DType] = []
        inputCasts.reserveCapacity(nodeCount + nodeCount / 2)
        inputCastStart.reserveCapacity(nodeCount + 1)
        parameterCastStart.reserveCapacity(nodeCount + 1)
        primitiveTypeStart.reserveCapacity(nodeCount + 1)
        computeTypes.reserveCapacity(nodeCount)
        // The fields it reads, not the whole Node (CostAnalysis.nodesReachingOutputs says why).
        for index in graph.nodes.indices {
            let inputs = graph.nodes[index].inputs, outputs = graph.nodes[index].outputs, op = graph.nodes[index].op
            // This node's casts: appended as nil, set in place, closed after the node.
            let casts = inputCasts.count, paramCasts = parameterCasts.count
            let parameterCount = graph.nodes[index].parameterIDs.count
            inputCasts.append(contentsOf: repeatElement(nil, count: inputs.count))
            parameterCasts.append(contentsOf: repeatElement(nil, count: parameterCount))
            defer {
                inputCastStart.append(inputCasts.count)
                parameterCastStart.append(parameterCasts.count)
                primitiveTypeStart.append(primitiveTypes.count)
            }
            // The widest floating input (fp32 when there is none, or when any is fp32).
            var firstFloat: DType?, anyFloat32 = false
            for t in inputs where types[t].isFloatingPoint {
                if firstFloat == nil { firstFloat = types[t] }
                if types[t] == .float32 { anyFloat32 = true }
            }
            let widest: DType = firstFloat.map { anyFloat32 ? .float32 : $0 } ?? (policy.isPureHalf ? (half ?? .float32) : .float32)
            // A composite: autocast per op, no casts of the composite's inputs.
            var current = widest
            let primitives = op.autocastPrimitives
            for primitive in primitives {
                if policy.isAutocast, let half {
                    switch primitive {
                    case .lowerPrecision: current = half
                    case .float32: current = .float32
                    case .promote: break
                    }
                }
                primitiveTypes.append(current)
            }
            let lastPrimitive: DType? = primitives.isEmpty ? nil : current
            // An explicit cast's outputs have its type under every policy.
            if let fixed = op.explicitOutputType {
                for t in outputs { types[t] = fixed }
                computeTypes.append(fixed)
                continue
            }
            guard policy.isAutocast, let half else {
                computeTypes.append(lastPrimitive ?? widest)
                continue
            }
            let compute: DType
            if let last = lastPrimitive {
                compute = last
            } else {
                switch op.autocast {
                case .lowerPrecision: compute = half
                case .float32: compute = .float32
                case .promote: compute = widest
                }
            }
            computeTypes.append(compute)
            if primitives.isEmpty && op.autocast != .promote {
                for (i, t) in inputs.enumerated() where types[t].isFloatingPoint && types[t] != compute { inputCasts[casts + i] = compute }
                if op.autocast == .lowerPrecision {
                    for (k, spec) in op.parameters.enumerated() where spec.dtype == .float32 && k < parameterCount { parameterCasts[paramCasts + k] = half }
                }
            }
            for (j, t) in outputs.enumerated() where graph.tensors[t].dtype.isFloatingPoint {
                switch op.alias(ofOutput: j) {
                case .view(let i)?, .inPlace(let i)?: types[t] = i < inputs.count ? types[inputs[i]] : compute
                case .parameter?: types[t] = .float32
                case nil: types[t] = compute
                }
            }
        }
        tensors = types
        self.inputCasts = inputCasts
        self.inputCastStart = inputCastStart
        self.parameterCasts = parameterCasts
        self.parameterCastStart = parameterCastStart
        self.primitiveTypes = primitiveTypes
        self.primitiveTypeStart = primitiveTypeStart
        self.computeTypes = computeTypes
        parameterType = policy.isPureHalf ? (half ?? .float32) : .float32
    }

    /// Node `node`'s input casts, one per input (nil: read as is).
    func inputCasts(node: Int) -> ArraySlice<DType?> { inputCasts[inputCastStart[node] ..< inputCastStart[node + 1]] }

    /// Node `node`'s parameter casts, one per parameter (nil: used as stored).
    func parameterCasts(node: Int) -> ArraySlice<DType?> { parameterCasts[parameterCastStart[node] ..< parameterCastStart[node + 1]] }

    /// The type autocast casts input `input` of node `node` to; nil: read as is.
    func inputCast(node: Int, input: Int) -> DType? {
        let at = inputCastStart[node] + input
        return at < inputCastStart[node + 1] ? inputCasts[at] : nil
    }

    /// The type of autocast's cached copy of parameter `local` of node `node`; nil: used as stored.
    func parameterCast(node: Int, local: Int) -> DType? {
        let at = parameterCastStart[node] + local
        return at < parameterCastStart[node + 1] ? parameterCasts[at] : nil
    }

    /// Node `node`'s context facts under this policy: each input's runtime type (before
    /// the node's own casts) and the type it computes in.
    func inputTypes(_ graph: Graph, node: Int) -> [DType] { graph.nodes[node].inputs.map { tensors[$0] } }

    /// The type in which node `node` reads its parameter `local`: autocast's half copy for
    /// lower-precision ops, else the stored type.
    func parameterRead(node: Int, local: Int) -> DType {
        parameterCast(node: node, local: local) ?? parameterType
    }

    /// The stored type of a buffer declared as `declared` (pure half converts fp32 buffers).
    func buffer(_ declared: DType) -> DType {
        policy.isPureHalf && declared == .float32 ? parameterType : declared
    }

    /// The runtime type of a tensor an operator keeps for backward that is not one of its
    /// inputs or outputs (node `index` of `graph`).
    func saved(_ type: SavedElementType, node index: Int, in graph: Graph) -> DType {
        let inputs = graph.nodes[index].inputs  // not the whole Node (CostAnalysis.nodesReachingOutputs)
        let outputType = graph.nodes[index].outputs.first.map { tensors[$0] } ?? .float32
        let output = outputType.isFloatingPoint ? outputType : .float32
        switch type {
        case .fixed(let t): return t
        case .input(let i): return i < inputs.count ? tensors[inputs[i]] : output
        case .primitive(let k):
            let running = primitiveTypes[primitiveTypeStart[index] ..< primitiveTypeStart[index + 1]]
            return k < running.count ? running[running.startIndex + k] : (running.last ?? output)
        case .compute: return computeTypes[index]
        case .output: return output
        case .autocast(let c):
            if policy.isAutocast, let half = policy.halfType {
                switch c {
                case .lowerPrecision: return half
                case .float32: return .float32
                case .promote: return output
                }
            }
            return output
        }
    }
}
