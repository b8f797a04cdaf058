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
    /// Per node, per input: the type autocast casts it to (nil: read as is).
    let inputCasts: [[DType?]]
    /// Per node, per parameter: the type of autocast's cached copy (nil: used as stored).
    let parameterCasts: [[DType?]]
    /// Type of the stored parameters and of their gradients: half under pure half, else fp32.
    let parameterType: DType
    /// Per node: the floating-point type it computes in (`CostContext.computeType`).
    let computeTypes: [DType]
    /// Per node: a composite's running type after each of its ops (empty for one op).
    let primitiveTypes: [[DType]]

    init(graph: Graph, policy: PrecisionPolicy) {
        self.policy = policy
        let half = policy.halfType
        var types = graph.tensors.map(\.dtype)
        if policy.isPureHalf, let half {
            for i in types.indices where types[i] == .float32 { types[i] = half }
        }
        var inputCasts: [[DType?]] = []
        var parameterCasts: [[DType?]] = []
        var computeTypes: [DType] = []
        var primitiveTypes: [[DType]] = []
        inputCasts.reserveCapacity(graph.nodes.count)
        parameterCasts.reserveCapacity(graph.nodes.count)
        // The fields it reads, not the whole Node (CostAnalysis.nodesReachingOutputs says why).
        for index in graph.nodes.indices {
            let inputs = graph.nodes[index].inputs, outputs = graph.nodes[index].outputs, op = graph.nodes[index].op
            var casts = [DType?](filling: nil, count: inputs.count)
            var paramCasts = [DType?](filling: nil, count: graph.nodes[index].parameterIDs.count)
            let floatInputs = inputs.filter { types[$0].isFloatingPoint }
            // The widest floating input (fp32 when there is none, or when any is fp32).
            let widest: DType = floatInputs.first.map { first in
                floatInputs.contains(where: { types[$0] == .float32 }) ? .float32 : types[first]
            } ?? (policy.isPureHalf ? (half ?? .float32) : .float32)
            // A composite: autocast per op, no casts of the composite's inputs.
            var running: [DType] = []
            var current = widest
            for primitive in op.autocastPrimitives {
                if policy.isAutocast, let half {
                    switch primitive {
                    case .lowerPrecision: current = half
                    case .float32: current = .float32
                    case .promote: break
                    }
                }
                running.append(current)
            }
            primitiveTypes.append(running)
            // An explicit cast's outputs have its type under every policy.
            if let fixed = op.explicitOutputType {
                for t in outputs { types[t] = fixed }
                computeTypes.append(fixed)
                inputCasts.append(casts)
                parameterCasts.append(paramCasts)
                continue
            }
            guard policy.isAutocast, let half else {
                computeTypes.append(running.last ?? widest)
                inputCasts.append(casts)
                parameterCasts.append(paramCasts)
                continue
            }
            let compute: DType
            if let last = running.last {
                compute = last
            } else {
                switch op.autocast {
                case .lowerPrecision: compute = half
                case .float32: compute = .float32
                case .promote: compute = widest
                }
            }
            computeTypes.append(compute)
            if running.isEmpty && op.autocast != .promote {
                for (i, t) in inputs.enumerated() where types[t].isFloatingPoint && types[t] != compute { casts[i] = compute }
                if op.autocast == .lowerPrecision {
                    for (k, spec) in op.parameters.enumerated() where spec.dtype == .float32 && k < paramCasts.count { paramCasts[k] = half }
                }
            }
            for (j, t) in outputs.enumerated() where graph.tensors[t].dtype.isFloatingPoint {
                switch op.alias(ofOutput: j) {
                case .view(let i)?, .inPlace(let i)?: types[t] = i < inputs.count ? types[inputs[i]] : compute
                case .parameter?: types[t] = .float32
                case nil: types[t] = compute
                }
            }
            inputCasts.append(casts)
            parameterCasts.append(paramCasts)
        }
        tensors = types
        self.inputCasts = inputCasts
        self.parameterCasts = parameterCasts
        self.computeTypes = computeTypes
        self.primitiveTypes = primitiveTypes
        parameterType = policy.isPureHalf ? (half ?? .float32) : .float32
    }

    /// Node `node`'s context facts under this policy: each input's runtime type (before
    /// the node's own casts) and the type it computes in.
    func inputTypes(_ graph: Graph, node: Int) -> [DType] { graph.nodes[node].inputs.map { tensors[$0] } }

    /// The type in which node `node` reads its parameter `local`: autocast's half copy for
    /// lower-precision ops, else the stored type.
    func parameterRead(node: Int, local: Int) -> DType {
        let casts = parameterCasts[node]
        return (local < casts.count ? casts[local] : nil) ?? parameterType
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
            let running = primitiveTypes[index]
            return k < running.count ? running[k] : (running.last ?? output)
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
