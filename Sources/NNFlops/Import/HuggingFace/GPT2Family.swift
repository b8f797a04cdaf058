/// GPT-2 (model_type "gpt2"): transformers' GPT2LMHeadModel. Defaults: GPT2Config
/// (transformers/models/gpt2/configuration_gpt2.py); structure: modeling_gpt2.py. GPT2Config
/// maps hidden_size, max_position_embeddings, num_attention_heads and num_hidden_layers to
/// n_embd, n_positions, n_head and n_layer (its attribute_map), so either spelling is read.
enum GPT2Family {
    static let family = Family(modelType: "gpt2", configClass: "GPT2Config", modelClass: "GPT2LMHeadModel") { reader, context in
        try write(&reader, context)
    }

    static func write(_ reader: inout ConfigReader, _ context: SpecContext) throws -> String {
        let vocab = try reader.int("vocab_size", default: 50257, in: 1...ConfigReader.maxVocabulary)
        let positions = try reader.int("n_positions", default: 1024, in: 1...ConfigReader.maxWidth, aliases: ["max_position_embeddings"])
        let width = try reader.int("n_embd", default: 768, in: 1...ConfigReader.maxWidth, aliases: ["hidden_size"])
        let layers = try reader.int("n_layer", default: 12, in: 1...ConfigReader.maxLayers, aliases: ["num_hidden_layers"])
        let heads = try reader.int("n_head", default: 12, in: 1...ConfigReader.maxHeads, aliases: ["num_attention_heads"])
        let inner = try reader.optionalInt("n_inner", default: nil, in: 1...ConfigReader.maxWidth)
        let activation = try Activation.read("activation_function", default: "gelu_new", &reader)
        let residDropout = try reader.float("resid_pdrop", default: 0.1, .probability)
        let embdDropout = try reader.float("embd_pdrop", default: 0.1, .probability)
        let attnDropout = try reader.float("attn_pdrop", default: 0.1, .probability)
        let eps = try reader.float("layer_norm_epsilon", default: 1e-5, .positive)
        let tie = try reader.bool("tie_word_embeddings", default: true)
        let scaleWeights = try reader.bool("scale_attn_weights", default: true)
        let inverseLayerScale = try reader.bool("scale_attn_by_inverse_layer_idx", default: false)
        let reorderAndUpcast = try reader.bool("reorder_and_upcast_attn", default: false)
        let attnImplementation = try AttentionImplementation.read(&reader)
        if try reader.bool("add_cross_attention", default: false) {
            throw reader.error("add_cross_attention", "cross-attention layers (GPT2Block.crossattention) are not built by nnflops's importer")
        }
        guard width % heads == 0 else {
            throw reader.error("n_head", "\(heads) heads do not divide n_embd = \(width) (GPT2Attention splits n_embd into n_head heads)")
        }
        try reader.checkRunSizes(positionsKey: "n_positions", positions: positions, learned: true)

        var spec = SpecWriter()
        var header = """
            \(context.model): imported by nnflops from \(context.file) (a Hugging Face transformers config, model_type "gpt2").
            Reproduces transformers' GPT2LMHeadModel built from this config; absent keys take GPT2Config's
            defaults (transformers 5). Module for module:
              transformer.wte(input_ids) + transformer.wpe(position_ids) -> transformer.drop
              transformer.h.i: x + attn(ln_1(x)), then x + mlp(ln_2(x))
                attn: resid_dropout(c_proj(attention(split(c_attn(h)))))
                mlp: dropout(c_proj(act(c_fc(h)))), act = \(activation.configName): \(activation.transformersClass)
              transformer.ln_f -> lm_head, tied to transformer.wte when tie_word_embeddings (here \(SpecLiteral.bool(tie)))
            HF's Conv1D stores c_attn, c_proj and c_fc weights as [in, out]; linear here is [out, in]: the same counts.
            model(input_ids): GPT2Model builds position_ids = arange(seq).unsqueeze(0) itself (an int64 [1, seq] wpe keeps).
            Attention: attn_implementation "sdpa" (transformers' default; impl "auto": torch's kernel for the run's
            dtype) or "eager", causal. use_cache (true in training too unless gradient checkpointing is on;
            --use-cache false): k and v go through DynamicCache.update, whose torch.cat copies the kernel reads and
            the returned output holds (cache = true).
            """
        if !scaleWeights || inverseLayerScale {
            header += "\nScores scaled by " + (scaleWeights ? "1/sqrt(head_dim)" : "1 (scale_attn_weights false)")
                + (inverseLayerScale ? " / (layer index + 1) (scale_attn_by_inverse_layer_idx)" : "") + "."
        }
        if reorderAndUpcast {
            header += "\nreorder_and_upcast_attn applies to the eager attention path only (not modelled); sdpa ignores it."
        }
        header += "\n" + SpecNotes.sequence.replacingAll("max_position_embeddings", with: "n_positions")
        header += "\nNot part of this spec: the loss of GPT2LMHeadModel(labels=...) and its logits.float() copy."
        spec.comment(header)
        spec.source("model \(context.model)")
        spec.param("batch", "1")
        spec.param("vocab_size", SpecLiteral.int(vocab), note: reader.defaultNote("vocab_size"))
        spec.param("n_positions", SpecLiteral.int(positions), note: reader.defaultNote("n_positions"))
        spec.param("seq", "min(n_positions, \(HuggingFaceImporter.defaultSequenceCap))", note: "nnflops's default: --set seq=N (at most n_positions)")
        spec.param("n_embd", SpecLiteral.int(width), note: reader.defaultNote("n_embd"))
        spec.param("n_layer", SpecLiteral.int(layers), note: reader.defaultNote("n_layer"))
        spec.param("n_head", SpecLiteral.int(heads), note: reader.defaultNote("n_head"))
        if let inner {
            spec.param("n_inner", SpecLiteral.int(inner))
        } else {
            spec.param("n_inner", "4 * n_embd", note: "n_inner null or absent: GPT2MLP uses 4 * n_embd")
        }
        spec.param("resid_pdrop", SpecLiteral.float(residDropout), note: reader.defaultNote("resid_pdrop"))
        spec.param("embd_pdrop", SpecLiteral.float(embdDropout), note: reader.defaultNote("embd_pdrop"))
        spec.param("attn_pdrop", SpecLiteral.float(attnDropout), note: reader.defaultNote("attn_pdrop"))
        spec.param("layer_norm_epsilon", SpecLiteral.float(eps), note: reader.defaultNote("layer_norm_epsilon"))
        spec.param("tie_word_embeddings", SpecLiteral.bool(tie), note: reader.defaultNote("tie_word_embeddings"))
        spec.param("attn_implementation", attnImplementation.literal, note: attnImplementation.note)
        spec.source("input input_ids: [batch, seq] int")
        spec.blank()
        if let helper = activation.helperBlock {
            spec.source(helper)
            spec.blank()
        }

        // GPT2Attention.scaling: head_dim**-0.5 if scale_attn_weights else 1, divided by
        // layer_idx + 1 under scale_attn_by_inverse_layer_idx.
        let layerArgument = inverseLayerScale ? ", layer" : ""
        var scale = ""
        if !scaleWeights || inverseLayerScale {
            let base = scaleWeights ? "1 / sqrt(n_embd // n_head)" : "1.0"
            scale = ", scale = " + (inverseLayerScale ? "\(base) / (layer + 1)" : base)
        }
        spec.source("""
            # GPT2Attention: c_attn (q, k, v in one), sdpa, c_proj, resid_dropout.
            block gpt2_attention(x\(layerArgument)):
                qkv = linear(x, 3 * n_embd, parallel = "column", name = "c_attn")
                q, k, v = split(qkv, n_embd, dim = -1, name = "split")
                a = attention(q, k, v, heads = n_head, causal = true, impl = \(AttentionImplementation.implExpression), dropout = attn_pdrop\(scale), cache = true, name = "attention")
                a = linear(a, n_embd, parallel = "row", name = "c_proj")
                return dropout(a, resid_pdrop, name = "resid_dropout")

            # GPT2MLP: c_fc, act, c_proj, dropout.
            block gpt2_mlp(x):
                h = \(activation.call("linear(x, n_inner, parallel = \"column\", name = \"c_fc\")", name: "act"))
                h = linear(h, n_embd, parallel = "row", name = "c_proj")
                return dropout(h, resid_pdrop, name = "dropout")

            # GPT2Block (pre-LayerNorm).
            block gpt2_block(x\(layerArgument)):
                x = x + gpt2_attention(layernorm(x, eps = layer_norm_epsilon, name = "ln_1")\(layerArgument), name = "attn")
                return x + gpt2_mlp(layernorm(x, eps = layer_norm_epsilon, name = "ln_2"), name = "mlp")

            block gpt2_layers(x):
                for i in range(n_layer):
                    x = gpt2_block(x\(inverseLayerScale ? ", i" : ""), name = i)
                return x

            # GPT2Model: token and position embeddings (position_ids = arange(seq).unsqueeze(0)), dropout, the blocks, ln_f.
            block gpt2_model(input_ids):
                position_ids = reshape(arange(seq, name = "position_ids"), [1, seq], name = "position_ids_view")
                x = embedding(input_ids, vocab_size, n_embd, parallel = "vocab", name = "wte") + embedding(position_ids, n_positions, n_embd, name = "wpe")
                x = dropout(x, embd_pdrop, name = "drop")
                x = gpt2_layers(x, name = "h")
                return layernorm(x, eps = layer_norm_epsilon, name = "ln_f")

            x = gpt2_model(input_ids, name = "transformer")
            output linear(x, vocab_size, bias = false, tie = "transformer.wte" if tie_word_embeddings else none, parallel = "column", name = "lm_head")
            """)
        return spec.text
    }
}
