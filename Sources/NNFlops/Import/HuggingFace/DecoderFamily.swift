/// The Llama-style decoder families: llama, mistral, mixtral, qwen2, qwen2_moe, gemma, phi3. One
/// template (embed_tokens, pre-norm decoder layers of RMSNorm, rotary attention and a
/// gated MLP, the final norm, lm_head); each family's traits say where it departs from
/// Llama, and hold its config class's defaults (transformers 5:
/// models/<family>/configuration_<family>.py and modeling_<family>.py).
enum DecoderFamily {
    struct Traits: Sendable {
        var modelType: String
        /// The class-name stem: "Llama" for LlamaConfig, LlamaForCausalLM, LlamaAttention.
        var stem: String
        var vocab: Int
        var hidden: Int
        var intermediate: Int
        var layers: Int
        var heads: Int
        /// nil: the class derives num_attention_heads.
        var kvHeads: Int?
        /// num_key_value_heads is `int | None` (null: num_attention_heads) rather than `int`.
        var kvHeadsNullable: Bool
        /// nil: `int | None`, transformers derives hidden_size // num_attention_heads;
        /// a number: an `int` field with that default.
        var headDim: Int?
        var activation: String
        var maxPositions: Int
        var eps: Double
        var tie: Bool
        var theta: Double
        var pad: Int?
        /// LlamaConfig.validate_architecture: hidden_size % num_attention_heads == 0 even
        /// when head_dim is given.
        var headsMustDivideHidden = false
        /// Reads attention_bias (q, k, v, o); otherwise the fixed biases below.
        var attentionBiasKey = false
        var qkvBias = false
        var mlpBiasKey = false
        var slidingWindow: SlidingWindow = .none
        /// Phi-3: qkv_proj and gate_up_proj, resid_pdrop dropouts, partial_rotary_factor.
        var phi3Layout = false
        /// Gemma: embeddings scaled by sqrt(hidden_size), "gelu" meaning tanh, RMSNorm (1 + w),
        /// use_bidirectional_attention.
        var gemmaLayout = false
        /// Mixtral, Qwen2-MoE: the MLP is a sparse mixture of experts (MixtureOfExperts.swift).
        var experts: MixtureOfExperts.Family? = nil
        /// Qwen2-MoE: q, k, v biases from the `qkv_bias` key (default `qkvBias`), none on o.
        var qkvBiasKey = false

        var configClass: String { stem + "Config" }
        var modelClass: String { stem + "ForCausalLM" }
    }

    enum SlidingWindow: Sendable {
        case none
        /// `sliding_window` with this default (nil: null), used by every layer when set.
        case key(default: Int?)
        /// Qwen2: `sliding_window` only when `use_sliding_window`, on layers from `max_window_layers` on.
        case qwen2
        /// Qwen2-MoE: `sliding_window` only when `use_sliding_window`, on the even layers below `max_window_layers`.
        case qwen2MoE
    }

    static let llama = Traits(modelType: "llama", stem: "Llama", vocab: 32000, hidden: 4096, intermediate: 11008, layers: 32,
                              heads: 32, kvHeads: nil, kvHeadsNullable: true, headDim: nil, activation: "silu", maxPositions: 2048, eps: 1e-6,
                              tie: false, theta: 10000, pad: nil, headsMustDivideHidden: true, attentionBiasKey: true,
                              mlpBiasKey: true)
    static let mistral = Traits(modelType: "mistral", stem: "Mistral", vocab: 32000, hidden: 4096, intermediate: 14336, layers: 32,
                                heads: 32, kvHeads: 8, kvHeadsNullable: false, headDim: nil, activation: "silu", maxPositions: 4096 * 32, eps: 1e-6,
                                tie: false, theta: 10000, pad: nil, slidingWindow: .key(default: 4096))
    static let mixtral = Traits(modelType: "mixtral", stem: "Mixtral", vocab: 32000, hidden: 4096, intermediate: 14336, layers: 32,
                                heads: 32, kvHeads: 8, kvHeadsNullable: false, headDim: nil, activation: "silu", maxPositions: 4096 * 32, eps: 1e-5,
                                tie: false, theta: 1_000_000, pad: nil, slidingWindow: .key(default: nil), experts: .mixtral)
    static let qwen2 = Traits(modelType: "qwen2", stem: "Qwen2", vocab: 151_936, hidden: 4096, intermediate: 22016, layers: 32,
                              heads: 32, kvHeads: 32, kvHeadsNullable: true, headDim: nil, activation: "silu", maxPositions: 32768, eps: 1e-6,
                              tie: false, theta: 10000, pad: nil, qkvBias: true, slidingWindow: .qwen2)
    static let qwen2MoE = Traits(modelType: "qwen2_moe", stem: "Qwen2Moe", vocab: 151_936, hidden: 2048, intermediate: 5632, layers: 24,
                                 heads: 16, kvHeads: 16, kvHeadsNullable: true, headDim: nil, activation: "silu", maxPositions: 32768, eps: 1e-6,
                                 tie: false, theta: 10000, pad: nil, qkvBias: true, slidingWindow: .qwen2MoE, experts: .qwen2MoE, qkvBiasKey: true)
    static let gemma = Traits(modelType: "gemma", stem: "Gemma", vocab: 256_000, hidden: 3072, intermediate: 24576, layers: 28,
                              heads: 16, kvHeads: 16, kvHeadsNullable: false, headDim: 256, activation: "gelu_pytorch_tanh", maxPositions: 8192,
                              eps: 1e-6, tie: true, theta: 10000, pad: 0, attentionBiasKey: true, gemmaLayout: true)
    static let phi3 = Traits(modelType: "phi3", stem: "Phi3", vocab: 32064, hidden: 3072, intermediate: 8192, layers: 32,
                             heads: 32, kvHeads: nil, kvHeadsNullable: true, headDim: nil, activation: "silu", maxPositions: 4096, eps: 1e-5,
                             tie: false, theta: 10000, pad: 32000, slidingWindow: .key(default: nil), phi3Layout: true)

    static let families: [Family] = [llama, mistral, mixtral, qwen2, qwen2MoE, gemma, phi3].map { traits in
        Family(modelType: traits.modelType, configClass: traits.configClass, modelClass: traits.modelClass) { reader, context in
            try write(&reader, context, traits)
        }
    }

    static func write(_ reader: inout ConfigReader, _ context: SpecContext, _ t: Traits) throws -> String {
        // Sizes.
        let vocab = try reader.int("vocab_size", default: t.vocab, in: 1...ConfigReader.maxVocabulary)
        let hidden = try reader.int("hidden_size", default: t.hidden, in: 1...ConfigReader.maxWidth)
        let intermediate = try reader.int("intermediate_size", default: t.intermediate, in: 1...ConfigReader.maxWidth)
        let layers = try reader.int("num_hidden_layers", default: t.layers, in: 1...ConfigReader.maxLayers)
        let heads = try reader.int("num_attention_heads", default: t.heads, in: 1...ConfigReader.maxHeads)
        let givenKVHeads = try t.kvHeadsNullable
            ? reader.optionalInt("num_key_value_heads", default: t.kvHeads, in: 1...ConfigReader.maxHeads)
            : reader.int("num_key_value_heads", default: t.kvHeads, in: 1...ConfigReader.maxHeads)
        let kvHeads = givenKVHeads ?? heads
        let givenHeadDim = try t.headDim != nil
            ? reader.int("head_dim", default: t.headDim, in: 1...ConfigReader.maxWidth)
            : reader.optionalInt("head_dim", default: nil, in: 1...ConfigReader.maxWidth)
        let positions = try reader.int("max_position_embeddings", default: t.maxPositions, in: 1...ConfigReader.maxPositions)
        let eps = try reader.float("rms_norm_eps", default: t.eps, .positive)
        let tie = try reader.bool("tie_word_embeddings", default: t.tie)
        let activation = try Activation.read("hidden_act", default: t.activation, &reader, legacyGeluIsTanh: t.gemmaLayout)
        let rope = try RotarySettings.read(&reader, defaultTheta: t.theta, partialKey: t.phi3Layout ? "partial_rotary_factor" : nil)
        let attentionDropout = try reader.float("attention_dropout", default: 0.0, .probability)
        let attentionBias = try t.attentionBiasKey ? reader.bool("attention_bias", default: false) : nil
        let mlpBias = try t.mlpBiasKey ? reader.bool("mlp_bias", default: false) : nil
        let residDropout = try t.phi3Layout ? reader.float("resid_pdrop", default: 0.0, .probability) : nil
        let bidirectional = try t.gemmaLayout ? (reader.optionalBool("use_bidirectional_attention") ?? false) : false
        let pad = try reader.optionalInt("pad_token_id", default: t.pad, in: Int.min...Int.max)
        let attnImplementation = try AttentionImplementation.read(&reader)

        // Consistency, as the classes require it (or would build something else).
        if t.headsMustDivideHidden || givenHeadDim == nil, hidden % heads != 0 {
            throw reader.error("num_attention_heads", "\(heads) heads do not divide hidden_size = \(hidden)"
                + (t.headsMustDivideHidden ? " (\(t.configClass).validate_architecture requires it)" : " (head_dim = hidden_size / num_attention_heads; or give head_dim)"))
        }
        let headDim = givenHeadDim ?? hidden / heads
        guard kvHeads <= heads, heads % kvHeads == 0 else {
            throw reader.error("num_key_value_heads", "\(kvHeads) key/value heads do not divide num_attention_heads = \(heads) (each key/value head serves a whole group of query heads)")
        }
        if rope.partialRotaryFactor == 1, headDim % 2 != 0 {
            throw reader.error(givenHeadDim == nil ? "num_attention_heads" : "head_dim", "head_dim = \(headDim) is odd: rotary embedding pairs dimensions")
        }
        let rotaryDims = try rope.rotaryDimensions(headDim: headDim, reader)
        if let pad, pad >= vocab || pad < -vocab {
            throw reader.error("pad_token_id", "\(pad) is not a row of embed_tokens (vocab_size = \(vocab)): nn.Embedding rejects its padding_idx")
        }
        let window = try readSlidingWindow(&reader, t, layers: layers)
        try reader.checkRunSizes(positionsKey: "max_position_embeddings", positions: positions, learned: false)

        var moe: MixtureOfExperts?
        if let family = t.experts { moe = try MixtureOfExperts.read(&reader, family, activation: activation, layers: layers) }
        let qkvBiasValue = try t.qkvBiasKey ? reader.bool("qkv_bias", default: t.qkvBias) : nil

        // The spec.
        let prefix = t.modelType
        let fusedRope = rotaryDims != headDim
        var spec = SpecWriter()
        spec.comment(header(context, t, activation: activation, rope: rope, tie: tie, heads: heads, kvHeads: kvHeads,
                            window: window, bidirectional: bidirectional, partial: fusedRope, moe: moe))
        spec.source("model \(context.model)")
        spec.param("batch", "1")
        spec.param("vocab_size", SpecLiteral.int(vocab), note: reader.defaultNote("vocab_size"))
        spec.param("hidden_size", SpecLiteral.int(hidden), note: reader.defaultNote("hidden_size"))
        spec.param("intermediate_size", SpecLiteral.int(intermediate), note: reader.defaultNote("intermediate_size"))
        spec.param("num_hidden_layers", SpecLiteral.int(layers), note: reader.defaultNote("num_hidden_layers"))
        spec.param("num_attention_heads", SpecLiteral.int(heads), note: reader.defaultNote("num_attention_heads"))
        if givenKVHeads == nil {
            spec.param("num_key_value_heads", "num_attention_heads", note: reader.derivedNote("num_key_value_heads", "num_attention_heads"))
        } else {
            spec.param("num_key_value_heads", SpecLiteral.int(kvHeads), note: reader.defaultNote("num_key_value_heads"))
        }
        if givenHeadDim == nil {
            spec.param("head_dim", "hidden_size // num_attention_heads", note: reader.derivedNote("head_dim", "hidden_size // num_attention_heads"))
        } else {
            spec.param("head_dim", SpecLiteral.int(headDim), note: reader.defaultNote("head_dim"))
        }
        spec.param("max_position_embeddings", SpecLiteral.int(positions), note: reader.defaultNote("max_position_embeddings"))
        spec.param("seq", "min(max_position_embeddings, \(HuggingFaceImporter.defaultSequenceCap))", note: "nnflops's default: --set seq=N")
        spec.param("rms_norm_eps", SpecLiteral.float(eps), note: reader.defaultNote("rms_norm_eps"))
        spec.param("rope_theta", SpecLiteral.float(rope.theta), note: rope.thetaNote)
        if fusedRope {
            spec.param("partial_rotary_factor", SpecLiteral.float(rope.partialRotaryFactor), note: rope.partialNote)
        }
        spec.param("attention_dropout", SpecLiteral.float(attentionDropout), note: reader.defaultNote("attention_dropout"))
        if let attentionBias { spec.param("attention_bias", SpecLiteral.bool(attentionBias), note: reader.defaultNote("attention_bias")) }
        if let mlpBias { spec.param("mlp_bias", SpecLiteral.bool(mlpBias), note: reader.defaultNote("mlp_bias")) }
        if let residDropout { spec.param("resid_pdrop", SpecLiteral.float(residDropout), note: reader.defaultNote("resid_pdrop")) }
        if let qkvBiasValue { spec.param("qkv_bias", SpecLiteral.bool(qkvBiasValue), note: reader.defaultNote("qkv_bias")) }
        if let moe { moe.params(&spec, reader) }
        spec.param("tie_word_embeddings", SpecLiteral.bool(tie), note: reader.defaultNote("tie_word_embeddings"))
        if let size = window.size { spec.param("sliding_window", SpecLiteral.int(size), note: window.note) }
        if let first = window.firstLayer { spec.param("max_window_layers", SpecLiteral.int(first), note: reader.defaultNote("max_window_layers")) }
        spec.param("attn_implementation", attnImplementation.literal, note: attnImplementation.note)
        spec.source("input input_ids: [batch, seq] int")
        spec.source("rotary_ndims = " + (fusedRope ? "int(head_dim * partial_rotary_factor)" : "head_dim"))
        spec.blank()

        if let helper = activation.helperBlock {
            spec.source(helper)
            spec.blank()
        }
        if t.phi3Layout {
            spec.source(PartialRope.block(headDim: "head_dim"))
            spec.blank()
        }

        // Attention.
        let qkvBias = attentionBias != nil ? "attention_bias" : qkvBiasValue != nil ? "qkv_bias" : SpecLiteral.bool(t.qkvBias)
        let outBias = attentionBias != nil ? "attention_bias" : "false"
        func rotary(_ input: String, heads: String, name: String) -> String {
            t.phi3Layout ? "partial_rope(\(input), \(heads), cos, sin, name = \"\(name)\")"
                : "rope(\(input), heads = \(heads), cos = cos, sin = sin, name = \"\(name)\")"
        }
        // transformers' sdpa_attention_forward passes grouped heads to sdpa (enable_gqa)
        // only without a mask and with head_dim <= 256 (use_gqa_in_sdpa); otherwise
        // repeat_kv copies k and v to every head first. A sliding window is a mask once the
        // keys reach it (masking_utils: kv_length >= sliding_window).
        var windowArgument = "", repeatKV = "head_dim > 256"
        switch window.scope {
        case .none: break
        case .everyLayer:
            windowArgument = ", window = sliding_window"
            repeatKV = "seq >= sliding_window or head_dim > 256"
        case .layers(let condition):
            windowArgument = ", window = sliding_window if \(condition) else none"
            repeatKV = "(seq >= sliding_window and \(condition)) or head_dim > 256"
        }
        let layerArgument = window.scope.layerDependent ? ", layer" : ""
        let attention = "attention(q, k, v, heads = num_attention_heads, kv_heads = num_key_value_heads, causal = \(SpecLiteral.bool(!bidirectional))"
            + windowArgument + ", impl = \(AttentionImplementation.implExpression), dropout = attention_dropout, cache = true"
            + ", repeat_kv = \(repeatKV)" + (t.phi3Layout ? ", q_layout = \"bhnd\"" : "") + ", name = \"attention\")"
        if t.phi3Layout {
            spec.source("""
                # \(t.stem)Attention: one qkv_proj split into q, k, v; rotary embedding on q and k (torch.cat
                # joins the rotated and passed dimensions: q comes out per head); the KV cache; sdpa.
                block \(prefix)_attention(x, cos, sin\(layerArgument)):
                    qkv = linear(x, (num_attention_heads + 2 * num_key_value_heads) * head_dim, bias = false, parallel = "column", name = "qkv_proj")
                    q, k, v = split(qkv, [num_attention_heads * head_dim, num_key_value_heads * head_dim, num_key_value_heads * head_dim], dim = -1, name = "split")
                    q = \(rotary("q", heads: "num_attention_heads", name: "rope_q"))
                    k = \(rotary("k", heads: "num_key_value_heads", name: "rope_k"))
                """)
        } else {
            spec.source("""
                # \(t.stem)Attention: q/k/v projections, rotary embedding on q and k (the model's shared
                # cos/sin), the KV cache, sdpa, o_proj.
                block \(prefix)_attention(x, cos, sin\(layerArgument)):
                    q = \(rotary("linear(x, num_attention_heads * head_dim, bias = \(qkvBias), parallel = \"column\", name = \"q_proj\")", heads: "num_attention_heads", name: "rope_q"))
                    k = \(rotary("linear(x, num_key_value_heads * head_dim, bias = \(qkvBias), parallel = \"column\", name = \"k_proj\")", heads: "num_key_value_heads", name: "rope_k"))
                    v = linear(x, num_key_value_heads * head_dim, bias = \(qkvBias), parallel = "column", name = "v_proj")
                """)
        }
        if let comment = window.comment { spec.source("    # " + comment) }
        spec.source("""
                a = \(attention)
                return linear(a, hidden_size, bias = \(outBias), parallel = "row", name = "o_proj")
            """)
        spec.blank()

        // MLP.
        let mlpBiasText = mlpBias != nil ? "mlp_bias" : "false"
        if let moe, moe.hasSparseLayers {
            spec.source(moe.comment(t))
        }
        if let moe, !moe.writesDenseBlock {
            // Every layer's mlp is the moe operator: no dense MLP block.
        } else if t.phi3Layout {
            spec.source("""
                # \(t.stem)MLP: gate_up_proj chunked in two, down_proj(up * \(activation.configName)(gate)).
                block \(prefix)_mlp(x):
                    gate, up = chunk(linear(x, 2 * intermediate_size, bias = false, parallel = "column", name = "gate_up_proj"), 2, dim = -1, name = "chunk")
                    return linear(up * \(activation.call("gate", name: "activation_fn")), hidden_size, bias = false, parallel = "row", name = "down_proj")
                """)
        } else {
            spec.source("""
                # \(t.stem)MLP: down_proj(act_fn(gate_proj(x)) * up_proj(x)), act_fn = \(activation.configName).
                block \(prefix)_mlp(x):
                    gate = \(activation.call("linear(x, intermediate_size, bias = \(mlpBiasText), parallel = \"column\", name = \"gate_proj\")", name: "act_fn"))
                    up = linear(x, intermediate_size, bias = \(mlpBiasText), parallel = "column", name = "up_proj")
                    return linear(gate * up, hidden_size, bias = \(mlpBiasText), parallel = "row", name = "down_proj")
                """)
        }
        spec.blank()

        // Decoder layer, layers, model, head. \(t.stem)RMSNorm is Python ops (impl = "composite").
        let norm = "impl = \"composite\"" + (t.gemmaLayout ? ", offset = 1.0" : "")
        let attentionCall = "\(prefix)_attention(rmsnorm(x, eps = rms_norm_eps, \(norm), name = \"input_layernorm\"), cos, sin\(layerArgument), name = \"self_attn\")"
        let postNorm = "rmsnorm(x, eps = rms_norm_eps, \(norm), name = \"post_attention_layernorm\")"
        let denseCall = "\(prefix)_mlp(\(postNorm), name = \"mlp\")"
        let sparseCall = moe.map { $0.call(postNorm) }
        let mlpCall = moe?.hasSparseLayers == true ? sparseCall ?? denseCall : denseCall
        let layerCondition = moe?.layerCondition
        if t.phi3Layout {
            spec.source("""
                # \(t.stem)DecoderLayer (pre-norm), with dropout on each branch before its residual add.
                block \(prefix)_decoder_layer(x, cos, sin\(layerArgument)):
                    x = x + dropout(\(attentionCall), resid_pdrop, name = "resid_attn_dropout")
                    return x + dropout(\(mlpCall), resid_pdrop, name = "resid_mlp_dropout")
                """)
        } else if let sparseCall, layerCondition != nil {
            spec.source("""
                # \(t.stem)DecoderLayer (pre-norm residual); its mlp is the sparse block or the dense MLP, by layer.
                block \(prefix)_decoder_layer(x, cos, sin\(layerArgument), sparse):
                    x = x + \(attentionCall)
                    if sparse:
                        return x + \(sparseCall)
                    return x + \(denseCall)
                """)
        } else {
            spec.source("""
                # \(t.stem)DecoderLayer (pre-norm residual).
                block \(prefix)_decoder_layer(x, cos, sin\(layerArgument)):
                    x = x + \(attentionCall)
                    return x + \(mlpCall)
                """)
        }
        spec.blank()
        let scale = t.gemmaLayout ? "\n    x = mul(x, sqrt(hidden_size), name = \"embed_scale\")" : ""
        spec.source("""
            block \(prefix)_layers(x, cos, sin):
                for i in range(num_hidden_layers):
                    x = \(prefix)_decoder_layer(x, cos, sin\(window.scope.layerDependent ? ", i" : "")\(layerCondition.map { ", " + $0 } ?? ""), name = i)
                return x

            # \(t.stem)Model: embed_tokens\(t.gemmaLayout ? " (scaled by sqrt(hidden_size), GemmaTextScaledWordEmbedding)" : ""), one cos/sin pair for every layer
            # (model.rotary_emb, from the embeddings: fp32 under autocast), the decoder layers, the final norm.
            block \(prefix)_model(input_ids):
                x = embedding(input_ids, vocab_size, hidden_size, parallel = "vocab", name = "embed_tokens")
                cos, sin = rotary_tables(x, rotary_ndims, base = rope_theta, name = "rotary_emb")\(scale)
                x = \(prefix)_layers(x, cos, sin, name = "layers")
                return rmsnorm(x, eps = rms_norm_eps, \(norm), name = "norm")

            x = \(prefix)_model(input_ids, name = "model")
            output linear(x, vocab_size, bias = false, tie = "model.embed_tokens" if tie_word_embeddings else none, parallel = "column", name = "lm_head")
            """)
        return spec.text
    }

    /// The sliding window a family's config asks for: its size, which layers use it, and
    /// the lines the spec says about it.
    struct WindowNote {
        enum Scope {
            case none, everyLayer
            /// The layers whose index `layer` satisfies this spec condition.
            case layers(String)
            var layerDependent: Bool { if case .layers = self { true } else { false } }
        }
        var scope: Scope = .none
        var size: Int?
        /// Qwen2: the first layer with a window (max_window_layers).
        var firstLayer: Int?
        var note: String?
        var comment: String?
        var header: String?
    }

    static func readSlidingWindow(_ reader: inout ConfigReader, _ t: Traits, layers: Int) throws -> WindowNote {
        func note(_ window: Int, which: String, scope: WindowNote.Scope, first: Int? = nil) -> WindowNote {
            let text = "sliding_window = \(window)\(which): each query attends to its last \(window) positions; "
                + "sdpa gets it as a mask once seq >= \(window) (below, the window changes nothing)"
            return WindowNote(scope: scope, size: window, firstLayer: first, note: reader.defaultNote("sliding_window"), comment: text, header: text)
        }
        switch t.slidingWindow {
        case .none:
            return WindowNote()
        case .key(let defaultValue):
            guard let window = try reader.optionalInt("sliding_window", default: defaultValue, in: 1...ConfigReader.maxPositions) else { return WindowNote() }
            return note(window, which: "", scope: .everyLayer)
        case .qwen2:
            let use = try reader.bool("use_sliding_window", default: false)
            let window = try reader.optionalInt("sliding_window", default: 4096, in: 1...ConfigReader.maxPositions)
            let first = try reader.int("max_window_layers", default: 28, in: 0...ConfigReader.maxLayers)
            guard use, let window, first < layers else { return WindowNote() }
            return note(window, which: " on layers \(first)..\(layers - 1) (use_sliding_window, max_window_layers = \(first))",
                        scope: .layers("layer >= max_window_layers"), first: first)
        case .qwen2MoE:
            let use = try reader.bool("use_sliding_window", default: false)
            let window = try reader.optionalInt("sliding_window", default: 4096, in: 1...ConfigReader.maxPositions)
            let below = try reader.int("max_window_layers", default: 28, in: 0...ConfigReader.maxLayers)
            let sliding = (0..<layers).filter { $0 % 2 == 0 && $0 < below }
            guard use, let window, !sliding.isEmpty else { return WindowNote() }
            return note(window, which: " on the even layers below \(below) (use_sliding_window, max_window_layers = \(below))",
                        scope: .layers("layer % 2 == 0 and layer < max_window_layers"), first: below)
        }
    }

    static func header(_ context: SpecContext, _ t: Traits, activation: Activation, rope: RotarySettings, tie: Bool,
                       heads: Int, kvHeads: Int, window: WindowNote, bidirectional: Bool, partial: Bool,
                       moe: MixtureOfExperts? = nil) -> String {
        var lines: [String] = []
        lines.append("\(context.model): imported by nnflops from \(context.file) (a Hugging Face transformers config, model_type \"\(t.modelType)\").")
        lines.append("Reproduces transformers' \(t.modelClass) built from this config; absent keys take \(t.configClass)'s")
        lines.append("defaults (transformers 5). Module for module:")
        lines.append("  model.embed_tokens(input_ids)" + (t.gemmaLayout ? " * sqrt(hidden_size) (model.embed_scale)" : ""))
        lines.append("  model.layers.i: x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x))"
            + (t.phi3Layout ? ", each branch through resid_pdrop dropout" : ""))
        if t.phi3Layout {
            lines.append("    self_attn: o_proj(attention(rope(q), rope(k), v)), q, k, v split from qkv_proj(h)")
            lines.append("    mlp: down_proj(up * \(activation.configName)(gate)), gate, up chunked from gate_up_proj(h)")
        } else if let moe {
            lines.append("    self_attn: o_proj(attention(rope(q_proj(h)), rope(k_proj(h)), v_proj(h)))"
                + (t.qkvBiasKey ? "; q, k, v biases when qkv_bias" : ""))
            lines += moe.headerLines(t)
        } else {
            lines.append("    self_attn: o_proj(attention(rope(q_proj(h)), rope(k_proj(h)), v_proj(h)))"
                + (t.qkvBias ? "; q, k, v projections with biases" : ""))
            lines.append("    mlp: down_proj(act_fn(gate_proj(h)) * up_proj(h)), act_fn = \(activation.configName)")
        }
        lines.append("  model.norm (RMSNorm) -> lm_head, tied to model.embed_tokens when tie_word_embeddings (here \(SpecLiteral.bool(tie)))")
        lines.append("Activation \(activation.configName): \(activation.transformersClass)"
            + (activation.readAs.map { " (\($0))" } ?? "") + ".")
        lines.append("Attention: attn_implementation \"sdpa\" (transformers' default; impl \"auto\": torch's kernel for the run's dtype) or \"eager\", "
            + (bidirectional ? "bidirectional (use_bidirectional_attention)" : "causal")
            + (kvHeads < heads ? ", \(heads) query heads sharing \(kvHeads) key/value head\(kvHeads == 1 ? "" : "s")." : "."))
        lines.append("  use_cache (true in training too unless gradient checkpointing is on; --use-cache false): k and v go through")
        lines.append("  DynamicCache.update, whose torch.cat copies the kernel reads and the returned output holds (cache = true).")
        lines.append((partial ? "Partial " : "") + rope.summary.prefix(1).uppercased() + rope.summary.dropFirst()
            + (partial ? "; rotary on the first int(head_dim * partial_rotary_factor) dimensions of each head." : ".")
            + " One cos/sin pair (model.rotary_emb) serves every layer.")
        lines.append("\(t.stem)RMSNorm is Python ops (rmsnorm impl \"composite\")" + (t.gemmaLayout ? ", scaling by (1 + weight) (offset = 1.0)." : "."))
        if let header = window.header { lines.append(header.prefix(1).uppercased() + header.dropFirst() + ".") }
        lines.append(SpecNotes.sequence)
        if let moe, !moe.notModelled.isEmpty {
            lines.append("Not modelled yet:")
            lines += moe.notModelled
        }
        lines.append("Not part of this spec: the loss of \(t.modelClass)(labels=...) and its logits.float() copy.")
        return lines.joined(separator: "\n")
    }
}

/// transformers' apply_rotary_pos_emb as Phi-3 and GPT-NeoX write it: the first
/// rotary_ndims of each head are rotated with the model's shared tables, the rest pass
/// through, and torch.cat joins them (also when nothing passes: the cat is a copy), so q
/// and k come out materialised per head.
enum PartialRope {
    static func block(headDim: String) -> String {
        """
        # apply_rotary_pos_emb: rope on q[..., :rotary_ndims], torch.cat with q[..., rotary_ndims:].
        block partial_rope(x, heads, cos, sin):
            per_head = reshape(x, [dim(x, 0), dim(x, 1), heads, \(headDim)], name = "view")
            rotated = rope(slice(per_head, -1, 0, rotary_ndims, name = "rot"), heads = heads, cos = cos, sin = sin, name = "rope")
            if rotary_ndims == \(headDim):
                return concat([rotated], dim = -1, name = "cat")
            return concat([rotated, slice(per_head, -1, rotary_ndims, name = "pass")], dim = -1, name = "cat")
        """
    }
}
