/// The run settings of LLM inference (README, "Inference"): the KV cache as state and the
/// precision it is stored in. `nnflops infer` builds its prefill and decode runs from
/// them; the cost, memory and roofline analyses read them through `RunConfiguration`.

/// The element type of the KV cache (`--kv-precision`): what one cached key or value
/// element takes. nil in a run: the type k and v have (the run's precision).
public enum KVCachePrecision: String, Sendable, CaseIterable, Codable {
    case fp8, bf16, fp16

    public var bytes: Int {
        switch self {
        case .fp8: 1
        case .bf16, .fp16: 2
        }
    }
}

/// The KV cache of an inference run that decodes: causal attention keeps its keys and
/// values as state (`Operator.decodingState`), `cachedPositions` of them before this step.
public struct KVCacheState: Sendable, Hashable {
    /// Positions the cache holds before the step: 0 for the prefill, L - 1 for the decode
    /// step that attends to L keys.
    public var cachedPositions: Int
    /// The cache's element type; nil: k and v's.
    public var precision: KVCachePrecision?

    public init(cachedPositions: Int, precision: KVCachePrecision? = nil) {
        self.cachedPositions = cachedPositions
        self.precision = precision
    }
}

extension DecodingState {
    /// Bytes the state takes per position under the run's types (`--kv-precision` when
    /// given, else the tensors' runtime types).
    func bytesPerPosition(node: Int, graph: Graph, types: RuntimeTypes, precision: KVCachePrecision?) -> Count {
        var total = Count.zero
        for tensor in perPosition {
            let bytes = precision?.bytes ?? types.saved(tensor.type, node: node, in: graph).bytes
            total += Count.product(tensor.shape) * bytes
        }
        return total
    }
}
