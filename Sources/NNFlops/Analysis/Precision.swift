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

    init(graph: Graph, policy: PrecisionPolicy) {
        self.policy = policy
        let half = policy.halfType
        var types = graph.tensors.map(\.dtype)
        if policy.isPureHalf, let half {
            for i in types.indices where types[i] == .float32 { types[i] = half }
        }
        var inputCasts: [[DType?]] = []
        var parameterCasts: [[DType?]] = []
        inputCasts.reserveCapacity(graph.nodes.count)
        parameterCasts.reserveCapacity(graph.nodes.count)
        for node in graph.nodes {
            var casts = [DType?](repeating: nil, count: node.inputs.count)
            var paramCasts = [DType?](repeating: nil, count: node.parameterIDs.count)
            guard policy.isAutocast, let half else {
                inputCasts.append(casts)
                parameterCasts.append(paramCasts)
                continue
            }
            let op = node.op
            let floatInputs = node.inputs.filter { types[$0].isFloatingPoint }
            let compute: DType
            switch op.autocast {
            case .lowerPrecision: compute = half
            case .float32: compute = .float32
            case .promote:
                if let first = floatInputs.first, !floatInputs.contains(where: { types[$0] == .float32 }) {
                    compute = types[first]
                } else {
                    compute = .float32
                }
            }
            if op.autocast != .promote {
                for (i, t) in node.inputs.enumerated() where types[t].isFloatingPoint && types[t] != compute { casts[i] = compute }
                if op.autocast == .lowerPrecision {
                    for (k, spec) in op.parameters.enumerated() where spec.dtype == .float32 && k < paramCasts.count { paramCasts[k] = half }
                }
            }
            for (j, t) in node.outputs.enumerated() where graph.tensors[t].dtype.isFloatingPoint {
                switch op.alias(ofOutput: j) {
                case .view(let i)?, .inPlace(let i)?: types[t] = i < node.inputs.count ? types[node.inputs[i]] : compute
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
        parameterType = policy.isPureHalf ? (half ?? .float32) : .float32
    }

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
    /// inputs or outputs.
    func saved(_ type: SavedElementType, node: Node) -> DType {
        let outputType = node.outputs.first.map { tensors[$0] } ?? .float32
        let output = outputType.isFloatingPoint ? outputType : .float32
        switch type {
        case .fixed(let t): return t
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
