/// The sparse mixture-of-experts MLPs of the decoder families that have one: Mixtral's
/// MixtralSparseMoeBlock and Qwen2-MoE's Qwen2MoeSparseMoeBlock (transformers 5,
/// models/mixtral/modeling_mixtral.py, models/qwen2_moe/modeling_qwen2_moe.py): what the
/// importer reads from the config and the `moe` call it writes (README, "Hugging Face
/// configs"; the operator is Ops/MoE.swift).
struct MixtureOfExperts {
    enum Family: Sendable {
        /// num_local_experts, top-k renormalised, every layer sparse.
        case mixtral
        /// num_experts, norm_topk_prob, moe_intermediate_size, a shared expert with a
        /// sigmoid shared_expert_gate; layers sparse by decoder_sparse_step and mlp_only_layers.
        case qwen2MoE
    }

    var family: Family
    var experts: Int
    var topK: Int
    /// router_jitter_noise (Mixtral): training multiplies the block's input by U(1 - j, 1 + j) noise.
    var jitter: Double = 0
    var normTopK = true
    /// moe_intermediate_size (Qwen2-MoE); Mixtral's experts are intermediate_size wide.
    var expertIntermediate: Int?
    var sharedIntermediate = 0
    var sparseStep = 1
    var mlpOnlyLayers: [Int] = []
    var layers: Int

    /// Reads the family's keys with its config class's defaults. The experts are gated MLPs
    /// of hidden_act; the moe operator's are silu-gated.
    static func read(_ reader: inout ConfigReader, _ family: Family, activation: Activation, layers: Int) throws -> MixtureOfExperts {
        var moe: MixtureOfExperts
        switch family {
        case .mixtral:
            let experts = try reader.int("num_local_experts", default: 8, in: 1...ConfigReader.maxHeads, aliases: ["num_experts"])
            let topK = try reader.int("num_experts_per_tok", default: 2, in: 1...ConfigReader.maxHeads)
            guard topK <= experts else {
                throw reader.error("num_experts_per_tok", "\(topK) experts per token but only num_local_experts = \(experts)")
            }
            moe = MixtureOfExperts(family: family, experts: experts, topK: topK, layers: layers)
            moe.jitter = try reader.float("router_jitter_noise", default: 0.0, .probability)
        case .qwen2MoE:
            // num_experts = 0 makes every layer a dense Qwen2MoeMLP (Qwen2MoeDecoderLayer).
            let experts = try reader.int("num_experts", default: 60, in: 0...ConfigReader.maxHeads)
            let topK = try reader.int("num_experts_per_tok", default: 4, in: 1...ConfigReader.maxHeads)
            guard experts == 0 || topK <= experts else {
                throw reader.error("num_experts_per_tok", "\(topK) experts per token but only num_experts = \(experts)")
            }
            moe = MixtureOfExperts(family: family, experts: experts, topK: topK, layers: layers)
            moe.expertIntermediate = try reader.int("moe_intermediate_size", default: 1408, in: 1...ConfigReader.maxWidth)
            moe.sharedIntermediate = try reader.int("shared_expert_intermediate_size", default: 5632, in: 1...ConfigReader.maxWidth)
            moe.normTopK = try reader.bool("norm_topk_prob", default: false)
            moe.sparseStep = try reader.int("decoder_sparse_step", default: 1, in: 1...ConfigReader.maxLayers)
            moe.mlpOnlyLayers = try readLayerList(&reader, "mlp_only_layers")
        }
        guard moe.hasSparseLayers else { return moe }
        guard activation.configName == "silu" || activation.configName == "swish" else {
            throw reader.error("hidden_act", "the experts of the moe operator are silu-gated (down_proj(silu(gate) * up)); "
                + "'\(activation.configName)' experts are not built yet")
        }
        return moe
    }

    /// A list of layer indices (`list[int] | None`, None meaning empty).
    static func readLayerList(_ reader: inout ConfigReader, _ key: String) throws -> [Int] {
        guard let value = reader.member(key) else { return [] }
        switch value.kind {
        case .null: return []
        case .array(let items):
            return try items.map { item in
                guard case .int(let index) = item.kind, index >= 0 else {
                    throw reader.error(at: item, "\(key): layer indices are integers >= 0, got \(item.summary)")
                }
                return index
            }
        default:
            throw reader.error(at: value, "\(key): must be a list of layer indices, got \(value.summary)")
        }
    }

    /// Qwen2MoeDecoderLayer: layer i is sparse unless it is in mlp_only_layers, when
    /// (i + 1) % decoder_sparse_step == 0 and there are experts; Mixtral's always are.
    func isSparse(_ layer: Int) -> Bool {
        experts > 0 && !mlpOnlyLayers.contains(layer) && (layer + 1) % sparseStep == 0
    }
    var hasSparseLayers: Bool { (0..<layers).contains { isSparse($0) } }
    var hasDenseLayers: Bool { (0..<layers).contains { !isSparse($0) } }

    /// The spec condition for "layer i is sparse" (Qwen2MoeDecoderLayer's, on the params, so
    /// that `--set num_experts=0` or `--set decoder_sparse_step=2` rebuild the layers; the
    /// mlp_only_layers indices written out); nil for Mixtral, whose layers all are.
    var layerCondition: String? {
        guard family == .qwen2MoE else { return nil }
        var terms = ["num_experts > 0", "(i + 1) % decoder_sparse_step == 0"]
        terms += mlpOnlyLayers.filter { $0 < layers }.map { "i != \($0)" }
        return terms.joined(separator: " and ")
    }

    /// Whether the spec needs the dense MLP block (Qwen2-MoE's layers may be dense).
    var writesDenseBlock: Bool { family == .qwen2MoE || hasDenseLayers }

    func params(_ spec: inout SpecWriter, _ reader: ConfigReader) {
        switch family {
        case .mixtral:
            spec.param("num_local_experts", SpecLiteral.int(experts), note: reader.defaultNote("num_local_experts"))
            spec.param("num_experts_per_tok", SpecLiteral.int(topK), note: reader.defaultNote("num_experts_per_tok"))
        case .qwen2MoE:
            spec.param("num_experts", SpecLiteral.int(experts), note: reader.defaultNote("num_experts"))
            spec.param("num_experts_per_tok", SpecLiteral.int(topK), note: reader.defaultNote("num_experts_per_tok"))
            spec.param("moe_intermediate_size", SpecLiteral.int(expertIntermediate ?? 0), note: reader.defaultNote("moe_intermediate_size"))
            spec.param("shared_expert_intermediate_size", SpecLiteral.int(sharedIntermediate), note: reader.defaultNote("shared_expert_intermediate_size"))
            spec.param("norm_topk_prob", SpecLiteral.bool(normTopK), note: reader.defaultNote("norm_topk_prob"))
            spec.param("decoder_sparse_step", SpecLiteral.int(sparseStep), note: reader.defaultNote("decoder_sparse_step"))
        }
    }

    /// The decoder layer's `mlp` when it is sparse: one moe operator, named as the module,
    /// so its parameters read mlp.gate.weight, mlp.experts.gate_up_proj, ...
    func call(_ input: String) -> String {
        switch family {
        case .mixtral:
            return "moe(\(input), experts = num_local_experts, top_k = num_experts_per_tok, intermediate = intermediate_size, name = \"mlp\")"
        case .qwen2MoE:
            return "moe(\(input), experts = num_experts, top_k = num_experts_per_tok, intermediate = moe_intermediate_size, "
                + "norm_topk = norm_topk_prob, shared_intermediate = shared_expert_intermediate_size, shared_gate = true, name = \"mlp\")"
        }
    }

    /// The comment written with the MLP blocks.
    func comment(_ t: DecoderFamily.Traits) -> String {
        switch family {
        case .mixtral:
            return """
                # \(t.stem)SparseMoeBlock (each layer's mlp): the router gate scores each token against the
                # num_local_experts experts, softmax, the top num_experts_per_tok probabilities divided by their
                # sum; each chosen expert computes down_proj(silu(gate) * up) from gate_up_proj, scaled by its
                # weight, and a token's expert outputs are summed: the moe operator (dropless, all experts' weights
                # counted, FLOPs of the routed experts only; experts_implementation "grouped_mm", transformers' default).
                """
        case .qwen2MoE:
            return """
                # \(t.stem)SparseMoeBlock (the mlp of sparse layers): the router gate over num_experts experts,
                # softmax, the top num_experts_per_tok probabilities (divided by their sum when norm_topk_prob), the
                # chosen experts' down_proj(silu(gate) * up) of width moe_intermediate_size scaled and summed, plus
                # the shared_expert (width shared_expert_intermediate_size) scaled by sigmoid(shared_expert_gate(x)):
                # the moe operator (dropless, experts_implementation "grouped_mm", transformers' default).
                """ + (hasDenseLayers ? "\n# Dense layers (mlp_only_layers, decoder_sparse_step) use \(t.stem)MLP of width intermediate_size." : "")
        }
    }

    func headerLines(_ t: DecoderFamily.Traits) -> [String] {
        switch family {
        case .mixtral:
            return ["    mlp: \(t.stem)SparseMoeBlock, the moe operator: router gate (hidden_size -> \(experts)), softmax, top \(topK)",
                    "      renormalised, \(experts) experts down_proj(silu(gate) * up) from gate_up_proj; weighted sum of the \(topK) outputs"]
        case .qwen2MoE:
            let sparse = (0..<layers).filter { isSparse($0) }.count
            return ["    mlp: \(t.stem)SparseMoeBlock on \(sparse) of \(layers) layers, the moe operator: router gate (hidden_size -> \(experts)),",
                    "      softmax, top \(topK)\(normTopK ? " renormalised" : ""), \(experts) experts of width \(expertIntermediate ?? 0), plus shared_expert"
                        + " scaled by sigmoid(shared_expert_gate(h))" + (hasDenseLayers ? "; the other layers \(t.stem)MLP" : "")]
        }
    }

    var notModelled: [String] {
        guard hasSparseLayers else { return [] }
        var lines = ["- output_router_logits (the load-balancing auxiliary loss) belongs to the loss, which this spec leaves out.",
                     "- Under autocast the router's F.linear runs in half precision (a half copy of its input, half logits and",
                     "  their fp32 copy); the moe operator keeps its fp32 rule, while grouped_mm casts to the fp32 weights."]
        if jitter > 0 {
            lines.append("- router_jitter_noise = \(jitter): training multiplies each block's input by uniform noise; not counted.")
        }
        return lines
    }
}
