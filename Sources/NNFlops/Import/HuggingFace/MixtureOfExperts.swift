/// The sparse mixture-of-experts MLP of the decoder families that have one (Mixtral's
/// MixtralSparseMoeBlock, transformers 5 models/mixtral/modeling_mixtral.py): what the
/// importer reads from the config and the `moe` call it writes (README, "Hugging Face
/// configs"; the operator is Ops/MoE.swift).
struct MixtureOfExperts {
    var experts: Int
    var topK: Int
    /// router_jitter_noise: training multiplies the block's input by U(1 - j, 1 + j) noise.
    var jitter: Double

    /// Reads num_local_experts (alias num_experts), num_experts_per_tok and
    /// router_jitter_noise with MixtralConfig's defaults. The experts are gated MLPs of
    /// hidden_act; the moe operator's are silu-gated.
    static func read(_ reader: inout ConfigReader, activation: Activation) throws -> MixtureOfExperts {
        let experts = try reader.int("num_local_experts", default: 8, in: 1...ConfigReader.maxHeads, aliases: ["num_experts"])
        let topK = try reader.int("num_experts_per_tok", default: 2, in: 1...ConfigReader.maxHeads)
        guard topK <= experts else {
            throw reader.error("num_experts_per_tok", "\(topK) experts per token but only num_local_experts = \(experts)")
        }
        let jitter = try reader.float("router_jitter_noise", default: 0.0, .probability)
        guard activation.configName == "silu" || activation.configName == "swish" else {
            throw reader.error("hidden_act", "the experts of the moe operator are silu-gated (down_proj(silu(gate) * up)); "
                + "'\(activation.configName)' experts are not built yet")
        }
        return MixtureOfExperts(experts: experts, topK: topK, jitter: jitter)
    }

    func params(_ spec: inout SpecWriter, _ reader: ConfigReader) {
        spec.param("num_local_experts", SpecLiteral.int(experts), note: reader.defaultNote("num_local_experts"))
        spec.param("num_experts_per_tok", SpecLiteral.int(topK), note: reader.defaultNote("num_experts_per_tok"))
    }

    /// The decoder layer's `mlp`: one moe operator, named as the module, so its parameters
    /// read mlp.gate.weight, mlp.experts.gate_up_proj, mlp.experts.down_proj.
    static func call(_ input: String) -> String {
        "moe(\(input), experts = num_local_experts, top_k = num_experts_per_tok, intermediate = intermediate_size, name = \"mlp\")"
    }

    /// The comment that stands where the dense families write their MLP block.
    func comment(_ t: DecoderFamily.Traits) -> String {
        """
        # \(t.stem)SparseMoeBlock (each layer's mlp): the router gate scores each token against the
        # num_local_experts experts, softmax, the top num_experts_per_tok probabilities divided by their
        # sum; each chosen expert computes down_proj(silu(gate) * up) from gate_up_proj, scaled by its
        # weight, and a token's expert outputs are summed: the moe operator (dropless, all experts' weights
        # counted, FLOPs of the routed experts only; experts_implementation "grouped_mm", transformers' default).
        """
    }

    func headerLines(_ t: DecoderFamily.Traits) -> [String] {
        ["    mlp: \(t.stem)SparseMoeBlock, the moe operator: router gate (hidden_size -> \(experts)), softmax, top \(topK)",
         "      renormalised, \(experts) experts down_proj(silu(gate) * up) from gate_up_proj; weighted sum of the \(topK) outputs"]
    }

    var notModelled: [String] {
        var lines = ["- output_router_logits (the load-balancing auxiliary loss) belongs to the loss, which this spec leaves out.",
                     "- Under autocast the router's F.linear runs in half precision (a half copy of its input, half logits and",
                     "  their .float() copy); the moe operator keeps its fp32 rule, while grouped_mm casts to the fp32 weights."]
        if jitter > 0 {
            lines.append("- router_jitter_noise = \(jitter): training multiplies each block's input by uniform noise; not counted.")
        }
        return lines
    }
}
