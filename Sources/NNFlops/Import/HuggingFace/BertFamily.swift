/// BERT (model_type "bert"): transformers' BertModel with its pooler (the encoder that
/// every BERT head class wraps). Defaults: BertConfig (configuration_bert.py); structure:
/// modeling_bert.py.
enum BertFamily {
    static let family = Family(modelType: "bert", configClass: "BertConfig", modelClass: "BertModel") { reader, context in
        try write(&reader, context)
    }

    static func write(_ reader: inout ConfigReader, _ context: SpecContext) throws -> String {
        let vocab = try reader.int("vocab_size", default: 30522, in: 1...ConfigReader.maxVocabulary)
        let hidden = try reader.int("hidden_size", default: 768, in: 1...ConfigReader.maxWidth)
        let layers = try reader.int("num_hidden_layers", default: 12, in: 1...ConfigReader.maxLayers)
        let heads = try reader.int("num_attention_heads", default: 12, in: 1...ConfigReader.maxHeads)
        let intermediate = try reader.int("intermediate_size", default: 3072, in: 1...ConfigReader.maxWidth)
        let activation = try Activation.read("hidden_act", default: "gelu", &reader)
        let hiddenDropout = try reader.float("hidden_dropout_prob", default: 0.1, .probability)
        let attentionDropout = try reader.float("attention_probs_dropout_prob", default: 0.1, .probability)
        let positions = try reader.int("max_position_embeddings", default: 512, in: 1...ConfigReader.maxWidth)
        let typeVocab = try reader.int("type_vocab_size", default: 2, in: 1...ConfigReader.maxVocabulary)
        let eps = try reader.float("layer_norm_eps", default: 1e-12, .positive)
        let pad = try reader.optionalInt("pad_token_id", default: 0, in: Int.min...Int.max)
        let isDecoder = try reader.bool("is_decoder", default: false)
        let attnImplementation = try AttentionImplementation.read(&reader)
        if try reader.bool("add_cross_attention", default: false) {
            throw reader.error("add_cross_attention", "cross-attention layers (BertLayer.crossattention) are not built by nnflops's importer")
        }
        let positionType = try reader.string("position_embedding_type", default: "absolute")
        guard positionType == "absolute" else {
            throw reader.error("position_embedding_type", "'\(positionType)' position embeddings are not built (transformers 5's BertEmbeddings has absolute ones only)")
        }
        guard hidden % heads == 0 else {
            throw reader.error("num_attention_heads", "\(heads) heads do not divide hidden_size = \(hidden) (BertSelfAttention requires it)")
        }
        if let pad, pad >= vocab || pad < -vocab {
            throw reader.error("pad_token_id", "\(pad) is not a row of word_embeddings (vocab_size = \(vocab)): nn.Embedding rejects its padding_idx")
        }
        try reader.checkRunSizes(positionsKey: "max_position_embeddings", positions: positions, learned: true)

        var spec = SpecWriter()
        spec.comment("""
            \(context.model): imported by nnflops from \(context.file) (a Hugging Face transformers config, model_type "bert").
            Reproduces transformers' BertModel (with its pooler) built from this config; absent keys take
            BertConfig's defaults (transformers 5). Module for module:
              embeddings: word_embeddings(input_ids) + token_type_embeddings(token_type_ids)
                          + position_embeddings(position_ids) -> LayerNorm -> dropout
              encoder.layer.i: attention.self.{query,key,value} -> sdpa (dropout on the probabilities)
                  -> attention.output.dense -> dropout -> LayerNorm(. + input);
                  intermediate.dense + act (\(activation.configName): \(activation.transformersClass))
                  -> output.dense -> dropout -> LayerNorm(. + .)
              pooler: dense + tanh on the first token.
            model(input_ids): token_type_ids are gathered from the all-zero buffer (a new int64 [1, seq], expanded),
            position_ids are a slice of the position_ids buffer (an input here: no activation memory).
            Attention: attn_implementation "sdpa" (transformers' default; impl "auto": torch's kernel for the
            run's dtype) or "eager", \(isDecoder ? "causal (is_decoder), with the KV cache of use_cache" : "bidirectional").
            \(SpecNotes.sequence)
            """)
        spec.source("model \(context.model)")
        spec.param("batch", "1")
        spec.param("vocab_size", SpecLiteral.int(vocab), note: reader.defaultNote("vocab_size"))
        spec.param("hidden_size", SpecLiteral.int(hidden), note: reader.defaultNote("hidden_size"))
        spec.param("num_hidden_layers", SpecLiteral.int(layers), note: reader.defaultNote("num_hidden_layers"))
        spec.param("num_attention_heads", SpecLiteral.int(heads), note: reader.defaultNote("num_attention_heads"))
        spec.param("intermediate_size", SpecLiteral.int(intermediate), note: reader.defaultNote("intermediate_size"))
        spec.param("max_position_embeddings", SpecLiteral.int(positions), note: reader.defaultNote("max_position_embeddings"))
        spec.param("seq", "min(max_position_embeddings, \(HuggingFaceImporter.defaultSequenceCap))", note: "nnflops's default: --set seq=N (at most max_position_embeddings)")
        spec.param("type_vocab_size", SpecLiteral.int(typeVocab), note: reader.defaultNote("type_vocab_size"))
        spec.param("hidden_dropout_prob", SpecLiteral.float(hiddenDropout), note: reader.defaultNote("hidden_dropout_prob"))
        spec.param("attention_probs_dropout_prob", SpecLiteral.float(attentionDropout), note: reader.defaultNote("attention_probs_dropout_prob"))
        spec.param("layer_norm_eps", SpecLiteral.float(eps), note: reader.defaultNote("layer_norm_eps"))
        spec.param("attn_implementation", attnImplementation.literal, note: attnImplementation.note)
        spec.source("""
            input input_ids: [batch, seq] int
            input position_ids: [1, seq] int
            """)
        spec.blank()
        if let helper = activation.helperBlock {
            spec.source(helper)
            spec.blank()
        }
        spec.source("""
            block bert_embeddings(ids, types, positions):
                x = embedding(ids, vocab_size, hidden_size, parallel = "vocab", name = "word_embeddings")
                x = x + embedding(types, type_vocab_size, hidden_size, name = "token_type_embeddings")
                x = x + embedding(positions, max_position_embeddings, hidden_size, name = "position_embeddings")
                x = layernorm(x, eps = layer_norm_eps, name = "LayerNorm")
                return dropout(x, hidden_dropout_prob, name = "dropout")

            block bert_self_attention(x):
                q = linear(x, hidden_size, parallel = "column", name = "query")
                k = linear(x, hidden_size, parallel = "column", name = "key")
                v = linear(x, hidden_size, parallel = "column", name = "value")
                return attention(q, k, v, heads = num_attention_heads, causal = \(SpecLiteral.bool(isDecoder)), impl = \(AttentionImplementation.implExpression), dropout = attention_probs_dropout_prob\(isDecoder ? ", cache = true" : ""), name = "attention")

            # BertSelfOutput / BertOutput: dense -> dropout -> LayerNorm(. + residual).
            block bert_add_norm(x, residual):
                x = linear(x, hidden_size, parallel = "row", name = "dense")
                x = dropout(x, hidden_dropout_prob, name = "dropout")
                return layernorm(x + residual, eps = layer_norm_eps, name = "LayerNorm")

            block bert_attention(x):
                a = bert_self_attention(x, name = "self")
                return bert_add_norm(a, x, name = "output")

            block bert_intermediate(x):
                return \(activation.call("linear(x, intermediate_size, parallel = \"column\", name = \"dense\")", name: "intermediate_act_fn"))

            block bert_layer(x):
                a = bert_attention(x, name = "attention")
                h = bert_intermediate(a, name = "intermediate")
                return bert_add_norm(h, a, name = "output")

            block bert_layers(x):
                for i in range(num_hidden_layers):
                    x = bert_layer(x, name = i)
                return x

            block bert_encoder(x):
                return bert_layers(x, name = "layer")

            block bert_pooler(x):
                first = select(x, dim = 1, index = 0, name = "select")
                return tanh(linear(first, hidden_size, name = "dense"), name = "activation")

            # BertEmbeddings: token_type_ids = gather(token_type_ids buffer, position_ids), expanded to the batch.
            token_type_ids = expand(zeros([1, seq], name = "token_type_ids"), [batch, seq], name = "token_type_ids_expanded")
            x = bert_embeddings(input_ids, token_type_ids, position_ids, name = "embeddings")
            x = bert_encoder(x, name = "encoder")
            output x, bert_pooler(x, name = "pooler")
            """)
        return spec.text
    }
}
