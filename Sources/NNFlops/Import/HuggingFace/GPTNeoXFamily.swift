/// GPT-NeoX (model_type "gpt_neox"; Pythia, GPT-NeoX-20B): transformers'
/// GPTNeoXForCausalLM. Defaults: GPTNeoXConfig (configuration_gpt_neox.py, whose rotary
/// keys are rotary_emb_base and rotary_pct); structure: modeling_gpt_neox.py.
enum GPTNeoXFamily {
    static let family = Family(modelType: "gpt_neox", configClass: "GPTNeoXConfig", modelClass: "GPTNeoXForCausalLM") { reader, context in
        try write(&reader, context)
    }

    static func write(_ reader: inout ConfigReader, _ context: SpecContext) throws -> String {
        let vocab = try reader.int("vocab_size", default: 50432, in: 1...ConfigReader.maxVocabulary)
        let hidden = try reader.int("hidden_size", default: 6144, in: 1...ConfigReader.maxWidth)
        let layers = try reader.int("num_hidden_layers", default: 44, in: 1...ConfigReader.maxLayers)
        let heads = try reader.int("num_attention_heads", default: 64, in: 1...ConfigReader.maxHeads)
        let intermediate = try reader.int("intermediate_size", default: 24576, in: 1...ConfigReader.maxWidth)
        let activation = try Activation.read("hidden_act", default: "gelu", &reader)
        let attentionDropout = try reader.float("attention_dropout", default: 0.0, .probability)
        let hiddenDropout = try reader.float("hidden_dropout", default: 0.0, .probability)
        let positions = try reader.int("max_position_embeddings", default: 2048, in: 1...ConfigReader.maxPositions)
        let eps = try reader.float("layer_norm_eps", default: 1e-5, .positive)
        let tie = try reader.bool("tie_word_embeddings", default: false)
        let parallel = try reader.bool("use_parallel_residual", default: true)
        let bias = try reader.bool("attention_bias", default: true)
        let rope = try RotarySettings.read(&reader, defaultTheta: 10000, thetaKey: "rotary_emb_base",
                                           partialKey: "rotary_pct", defaultPartial: 0.25)
        let attnImplementation = try AttentionImplementation.read(&reader)
        guard hidden % heads == 0 else {
            throw reader.error("num_attention_heads", "\(heads) heads do not divide hidden_size = \(hidden) (GPTNeoXConfig.validate_architecture requires it)")
        }
        let headSize = hidden / heads
        let rotaryDims = try rope.rotaryDimensions(headDim: headSize, reader)
        try reader.checkRunSizes(positionsKey: "max_position_embeddings", positions: positions, learned: false)

        var spec = SpecWriter()
        spec.comment("""
            \(context.model): imported by nnflops from \(context.file) (a Hugging Face transformers config, model_type "gpt_neox").
            Reproduces transformers' GPTNeoXForCausalLM built from this config; absent keys take GPTNeoXConfig's
            defaults (transformers 5). Module for module:
              gpt_neox.embed_in(input_ids) -> gpt_neox.emb_dropout
              gpt_neox.layers.i, use_parallel_residual (here \(SpecLiteral.bool(parallel))):
                true:  x + attn(input_layernorm(x)) + mlp(post_attention_layernorm(x))
                false: a = x + attn(input_layernorm(x)); a + mlp(post_attention_layernorm(a))
                attention: dense(attention(rope(q), rope(k), v)), q, k, v chunked per head from query_key_value(h)
                mlp: dense_4h_to_h(act(dense_h_to_4h(h))), act = \(activation.configName): \(activation.transformersClass)
                each branch through hidden_dropout (post_attention_dropout, post_mlp_dropout)
              gpt_neox.final_layer_norm -> lm_head, tied to gpt_neox.embed_in when tie_word_embeddings (here \(SpecLiteral.bool(tie)))
            Attention: attn_implementation "sdpa" (transformers' default; impl "auto": torch's kernel for the run's
            dtype) or "eager", causal. use_cache (true in training too unless gradient checkpointing is on;
            --use-cache false): k and v go through DynamicCache.update, whose torch.cat copies the kernel reads and
            the returned output holds (cache = true).
            Partial \(rope.summary); rotary on the first int(head_size * rotary_pct) = \(rotaryDims) of \(headSize) dimensions per head,
            one cos/sin pair (gpt_neox.rotary_emb) for every layer; torch.cat joins the rotated and passed
            dimensions, so q and k come out per head.
            \(SpecNotes.sequence)
            Not part of this spec: the loss of GPTNeoXForCausalLM(labels=...) and its logits.float() copy.
            """)
        spec.source("model \(context.model)")
        spec.param("batch", "1")
        spec.param("vocab_size", SpecLiteral.int(vocab), note: reader.defaultNote("vocab_size"))
        spec.param("hidden_size", SpecLiteral.int(hidden), note: reader.defaultNote("hidden_size"))
        spec.param("num_hidden_layers", SpecLiteral.int(layers), note: reader.defaultNote("num_hidden_layers"))
        spec.param("num_attention_heads", SpecLiteral.int(heads), note: reader.defaultNote("num_attention_heads"))
        spec.param("intermediate_size", SpecLiteral.int(intermediate), note: reader.defaultNote("intermediate_size"))
        spec.param("max_position_embeddings", SpecLiteral.int(positions), note: reader.defaultNote("max_position_embeddings"))
        spec.param("seq", "min(max_position_embeddings, \(HuggingFaceImporter.defaultSequenceCap))", note: "nnflops's default: --set seq=N")
        spec.param("layer_norm_eps", SpecLiteral.float(eps), note: reader.defaultNote("layer_norm_eps"))
        spec.param("rope_theta", SpecLiteral.float(rope.theta), note: rope.thetaNote)
        spec.param("partial_rotary_factor", SpecLiteral.float(rope.partialRotaryFactor), note: rope.partialNote)
        spec.param("attention_dropout", SpecLiteral.float(attentionDropout), note: reader.defaultNote("attention_dropout"))
        spec.param("hidden_dropout", SpecLiteral.float(hiddenDropout), note: reader.defaultNote("hidden_dropout"))
        spec.param("attention_bias", SpecLiteral.bool(bias), note: reader.defaultNote("attention_bias"))
        spec.param("use_parallel_residual", SpecLiteral.bool(parallel), note: reader.defaultNote("use_parallel_residual"))
        spec.param("tie_word_embeddings", SpecLiteral.bool(tie), note: reader.defaultNote("tie_word_embeddings"))
        spec.param("attn_implementation", attnImplementation.literal, note: attnImplementation.note)
        spec.source("""
            input input_ids: [batch, seq] int
            head_size = hidden_size // num_attention_heads
            rotary_ndims = int(head_size * partial_rotary_factor)
            """)
        spec.blank()
        if let helper = activation.helperBlock {
            spec.source(helper)
            spec.blank()
        }
        spec.source(PartialRope.block(headDim: "head_size"))
        spec.blank()
        spec.source("""
            # GPTNeoXAttention: query_key_value viewed as [b, n, heads, 3 * head_size] and chunked
            # into q, k, v per head; partial rotary embedding on q and k (the model's shared
            # cos/sin); the KV cache; sdpa; dense.
            block gpt_neox_attention(x, cos, sin):
                qkv = reshape(linear(x, 3 * hidden_size, bias = attention_bias, parallel = "column", name = "query_key_value"), [dim(x, 0), dim(x, 1), num_attention_heads, 3 * head_size], name = "view")
                q, k, v = chunk(qkv, 3, dim = -1, name = "chunk")
                q = partial_rope(q, num_attention_heads, cos, sin, name = "rope_q")
                k = partial_rope(k, num_attention_heads, cos, sin, name = "rope_k")
                a = attention(q, k, v, heads = num_attention_heads, causal = true, impl = \(AttentionImplementation.implExpression), dropout = attention_dropout, cache = true, q_layout = "bhnd", name = "attention")
                return linear(a, hidden_size, bias = attention_bias, parallel = "row", name = "dense")

            # GPTNeoXMLP: dense_h_to_4h, act, dense_4h_to_h.
            block gpt_neox_mlp(x):
                h = \(activation.call("linear(x, intermediate_size, parallel = \"column\", name = \"dense_h_to_4h\")", name: "act"))
                return linear(h, hidden_size, parallel = "row", name = "dense_4h_to_h")

            # GPTNeoXLayer.
            block gpt_neox_layer(x, cos, sin):
                attn = dropout(gpt_neox_attention(layernorm(x, eps = layer_norm_eps, name = "input_layernorm"), cos, sin, name = "attention"), hidden_dropout, name = "post_attention_dropout")
                if use_parallel_residual:
                    mlp = dropout(gpt_neox_mlp(layernorm(x, eps = layer_norm_eps, name = "post_attention_layernorm"), name = "mlp"), hidden_dropout, name = "post_mlp_dropout")
                    return mlp + attn + x
                attn = attn + x
                mlp = dropout(gpt_neox_mlp(layernorm(attn, eps = layer_norm_eps, name = "post_attention_layernorm"), name = "mlp"), hidden_dropout, name = "post_mlp_dropout")
                return mlp + attn

            block gpt_neox_layers(x, cos, sin):
                for i in range(num_hidden_layers):
                    x = gpt_neox_layer(x, cos, sin, name = i)
                return x

            # GPTNeoXModel: embed_in, emb_dropout, one cos/sin pair (rotary_emb), the layers, final_layer_norm.
            block gpt_neox_model(input_ids):
                x = embedding(input_ids, vocab_size, hidden_size, parallel = "vocab", name = "embed_in")
                x = dropout(x, hidden_dropout, name = "emb_dropout")
                cos, sin = rotary_tables(x, rotary_ndims, base = rope_theta, name = "rotary_emb")
                x = gpt_neox_layers(x, cos, sin, name = "layers")
                return layernorm(x, eps = layer_norm_eps, name = "final_layer_norm")

            x = gpt_neox_model(input_ids, name = "gpt_neox")
            output linear(x, vocab_size, bias = false, tie = "gpt_neox.embed_in" if tie_word_embeddings else none, parallel = "column", name = "lm_head")
            """)
        return spec.text
    }
}
