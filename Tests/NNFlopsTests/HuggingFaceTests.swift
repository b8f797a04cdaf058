import Foundation
import Testing
@testable import NNFlops

/// Hugging Face configs (README, "Hugging Face configs"): the importer's specs against
/// transformers itself. Tests/Fixtures/hf/params.json is written by scripts/hf_params.py,
/// which builds each class from each config in Tests/Fixtures/hf/configs/ on the meta
/// device and counts sum(p.numel() for p in model.parameters()) (tied weights once); for the
/// tiny configs it also records every parameter's name and size and the forward FLOPs that
/// torch's FlopCounterMode measures (batch 2, seq 16).
@Suite("Hugging Face configs")
struct HuggingFaceTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hf")

    struct Fixture: Decodable {
        var transformers: String
        var configs: [String: Entry]

        struct Entry: Decodable {
            var `class`: String
            var params: Int
            var names: [String: Int]?
            var batch: Int?
            var seq: Int?
            var forward_flops: Int?
        }
    }

    static let loaded = Result { try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: directory.appendingPathComponent("params.json"))) }
    /// An unreadable fixture is empty here (no configs to test) and fails the coverage
    /// test with its error.
    static let fixture = (try? loaded.get()) ?? Fixture(transformers: "", configs: [:])

    /// Configs the importer builds: all of them.
    static let buildable = fixture.configs.keys.sorted()
    static let tiny = buildable.filter { $0.hasPrefix("tiny-") }

    static func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent("configs").appendingPathComponent(file)))
    }

    static func graph(_ file: String, _ overrides: [String: Value] = [:]) throws -> Graph {
        try HuggingFaceImporter.graph(fromJSON: bytes(file), file: file, overrides: overrides)
    }

    /// The error `json` raises, or a recorded issue when it imports.
    static func failure(_ json: String, file: String = "config.json", overrides: [String: Value] = [:]) -> NNFlopsError? {
        do {
            _ = try HuggingFaceImporter.graph(fromJSON: Array(json.utf8), file: file, overrides: overrides)
            Issue.record("imported without an error: \(json.prefix(120))")
            return nil
        } catch let error as NNFlopsError {
            return error
        } catch {
            Issue.record("not an NNFlopsError: \(error)")
            return nil
        }
    }

    // MARK: - Parameters, names and FLOPs against transformers

    @Test("the fixture covers every family, real configs included")
    func fixtureCoversEveryFamily() throws {
        _ = try Self.loaded.get()
        #expect(Self.fixture.transformers.hasPrefix("5."))
        let classes = Set(Self.fixture.configs.values.map(\.class))
        for family in HuggingFaceImporter.families {
            #expect(classes.contains(family.modelClass), "no fixture config builds \(family.modelClass)")
        }
        for file in ["Llama-2-7b-hf.json", "Meta-Llama-3-8B.json", "Mistral-7B-v0.1.json", "Mixtral-8x7B-v0.1.json", "Qwen2-7B.json",
                     "gemma-7b.json", "Phi-3-mini-4k-instruct.json", "gpt2.json", "pythia-1b.json", "gpt-neox-20b.json", "bert-base-uncased.json"] {
            #expect(Self.fixture.configs[file] != nil, "\(file) is not in the fixture")
        }
    }

    @Test("parameters equal transformers' count exactly", arguments: buildable)
    func exactParameters(_ file: String) throws {
        let expected = try #require(Self.fixture.configs[file])
        let graph = try Self.graph(file)
        let analysis = try CostAnalysis(graph: graph)
        #expect(analysis.parameters == expected.params, "\(file): nnflops \(analysis.parameters), transformers \(expected.params) (\(expected.class))")
        #expect(graph.parameterCount.value == expected.params)
    }

    /// Commands load a `config.json` by path through `ModelRequest`, like a spec.
    @Test("a config.json path loads through ModelRequest, with --batch and --set")
    func loadsThroughModelRequest() throws {
        let path = Self.directory.appendingPathComponent("configs").appendingPathComponent("gpt2.json").path
        let request = try ModelRequest(path, settings: ["seq=128"], batch: 2)
        let graph = try request.graph()
        #expect(graph.parameterCount.value == 124_439_808)
        #expect(try request.batchSize() == 2)
        // GPT2LMHeadModel at batch 2, seq 128: the tied head's logits are [2, 128, 50257].
        #expect(graph.nodes.last.map { graph.tensors[$0.outputs[0]].shape } == [2, 128, 50257])
    }

    /// Published figures, independent of the fixture script: the model cards' counts.
    @Test("published parameter counts", arguments: [
        ("Llama-2-7b-hf.json", 6_738_415_616), ("Meta-Llama-3-8B.json", 8_030_261_248), ("Mistral-7B-v0.1.json", 7_241_732_096),
        ("gemma-7b.json", 8_537_680_896), ("gpt2.json", 124_439_808), ("bert-base-uncased.json", 109_482_240),
        ("pythia-1b.json", 1_011_781_632), ("gpt-neox-20b.json", 20_554_567_680),
    ])
    func publishedCounts(_ file: String, _ params: Int) throws {
        #expect(try Self.graph(file).parameterCount.value == params)
        #expect(Self.fixture.configs[file]?.params == params)
    }

    @Test("parameter names and sizes are transformers' named_parameters()", arguments: tiny)
    func parameterNames(_ file: String) throws {
        let expected = try #require(Self.fixture.configs[file]?.names)
        let graph = try Self.graph(file)
        var ours: [String: Int] = [:]
        for parameter in graph.parameters { ours[parameter.name] = parameter.elements.value }
        #expect(ours == expected, "\(file): only nnflops \(Set(ours.keys).subtracting(expected.keys).sorted()), only transformers \(Set(expected.keys).subtracting(ours.keys).sorted())")
    }

    /// FlopCounterMode counts matmul-type kernels, 2 FLOPs per multiply-accumulate, and
    /// attention's two products in full even when causal: 2 x forward MACs under the dense
    /// convention.
    @Test("forward MACs x 2 equal FlopCounterMode on transformers' model", arguments: tiny)
    func forwardFLOPs(_ file: String) throws {
        let expected = try #require(Self.fixture.configs[file])
        let batch = try #require(expected.batch), seq = try #require(expected.seq), flops = try #require(expected.forward_flops)
        let analysis = try CostAnalysis(graph: Self.graph(file, ["batch": .int(batch), "seq": .int(seq)]))
        #expect(analysis.forward.macs.value * 2 == flops, "\(file)")
    }

    /// Mixtral's sparse MoE layers are `moe` operators: every expert's weights count, and the
    /// total is transformers' exactly. Mixtral-8x7B by hand: per layer q, o 4096^2 each, k, v
    /// 4096 * 1024 each (41,943,040), the router 8 * 4096 (32,768), 8 experts of gate_up
    /// 2 * 14336 * 4096 and down 4096 * 14336 (1,409,286,144), two norms (8,192); 32 layers,
    /// embed_tokens and lm_head 32000 * 4096 each, the final norm 4096. (MixtralConfig's
    /// defaults are Mixtral-8x7B's; tiny-mixtral is held to its names and FLOPs above.)
    @Test("mixtral's parameters are transformers' exactly (all experts counted)",
          arguments: ["Mixtral-8x7B-v0.1.json", "defaults-mixtral.json"])
    func mixtralExactParameters(_ file: String) throws {
        let expected = try #require(Self.fixture.configs[file])
        #expect(expected.class == "MixtralForCausalLM")
        let graph = try Self.graph(file)
        #expect(graph.parameterCount.value == expected.params, "\(file)")
        let perLayer = 41_943_040 + 32_768 + 8 * (2 * 14336 * 4096 + 4096 * 14336) + 8192
        #expect(expected.params == 32 * perLayer + 2 * 32000 * 4096 + 4096)
        let moe = try #require(graph.nodes.first { $0.name == "model.layers.31.mlp" })
        #expect(moe.kind == "moe")
    }

    /// What the mixture-of-experts layers count, measured by FlopCounterMode on transformers'
    /// eager experts loop (the forward-FLOPs test above holds nnflops to it): tiny-mixtral (hidden 64, 4 heads of 16, 2 key/value heads,
    /// intermediate 96, 4 experts, top 2, 2 layers, vocab 1000) at batch 2, seq 16 (T = 32
    /// tokens). Per layer and token: q, o 64*64 each, k, v 64*32 each (12,288 MACs), the
    /// router 64*4 (256), two experts of 64*192 + 96*64 (2 * 18,432); attention
    /// 2 * (2*4*16*16*16) = 65,536 per layer; lm_head 32*64*1000. Only the routed experts
    /// are counted: all four would add 2 * 32 * 18,432 MACs per layer.
    @Test("the mixtral fixture counts the top-k experts per token")
    func mixtralFixtureCountsTopK() throws {
        let flops = try #require(Self.fixture.configs["tiny-mixtral.json"]?.forward_flops)
        let perLayer = 32 * (12_288 + 256 + 2 * 18_432) + 65_536
        #expect(flops == 2 * (2 * perLayer + 32 * 64 * 1000))
        // Parameters: per layer q, k, v, o (12,288), router (256), 4 experts of gate_up
        // 2*96*64 and down 64*96 (73,728), two norms (128); embed_tokens and lm_head 64,000
        // each; the final norm 64.
        #expect(Self.fixture.configs["tiny-mixtral.json"]?.params == 2 * (12_288 + 256 + 4 * (2 * 96 * 64 + 64 * 96) + 128) + 2 * 64_000 + 64)
    }

    // MARK: - The same model as the zoo's hand-written specs

    /// gpt2, llama2-7b and bert-base in the zoo reproduce the same transformers classes; the
    /// importer's spec must count exactly what they count (names differ only by the base
    /// model prefix the zoo drops), memory included. One difference is by design: the zoo's
    /// gpt2 and bert-base take position_ids / token_type_ids as inputs (their fixtures pass
    /// them), the imported specs build them as `model(input_ids)` does (GPT-2's
    /// arange(seq).unsqueeze(0), BERT's gather from its zero buffer, [1, seq] expanded):
    /// two nodes more, and one int64 [1, seq] tensor (8 * seq bytes) that the embedding keeps
    /// as an activation where the zoo's is a graph input. gpt2's peak is at lm_head's
    /// backward, where both are live: the peaks agree; bert-base's is the optimizer step,
    /// where no activation is left but the zoo's input still is: 8 * seq lower.
    @Test("imported configs count what the zoo specs count", arguments: [
        ("gpt2.json", "gpt2", "transformer.", ["position_ids", "position_ids_view"], 8 * 1024, 0),
        ("Llama-2-7b-hf.json", "llama2-7b", "model.", [], 0, 0),
        ("bert-base-uncased.json", "bert-base", "", ["token_type_ids", "token_type_ids_expanded"], 8 * 512, -8 * 512),
    ])
    func matchesZoo(_ file: String, _ zooName: String, _ prefix: String, _ idNodes: [String], _ idBytes: Int, _ peakDelta: Int) throws {
        let imported = try Self.graph(file)
        let zoo = try Elaborator.elaborate(source: try #require(Zoo.source(named: zooName)), file: zooName + ".spec")
        let ours = try CostAnalysis(graph: imported), theirs = try CostAnalysis(graph: zoo)
        #expect(ours.parameters == theirs.parameters)
        #expect(ours.forward == theirs.forward)
        #expect(ours.inputGradient == theirs.inputGradient)
        #expect(ours.weightGradient == theirs.weightGradient)
        func strip(_ name: String) -> String { name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name }
        let built = ours.layers.filter { idNodes.contains(strip($0.name)) }
        #expect(built.map { strip($0.name) } == idNodes)
        #expect(built.allSatisfy { $0.cost.forward == .zero && $0.cost.backward == .zero })
        let kept = ours.layers.filter { !idNodes.contains(strip($0.name)) }
        #expect(kept.map { "\(strip($0.name)) \($0.kind) \($0.detail)" } == theirs.layers.map { "\($0.name) \($0.kind) \($0.detail)" })
        #expect(kept.map(\.cost) == theirs.layers.map(\.cost))
        let configuration = RunConfiguration()
        let memoryOurs = try MemoryAnalysis(graph: imported, costs: ours, configuration: configuration)
        let memoryTheirs = try MemoryAnalysis(graph: zoo, costs: theirs, configuration: configuration)
        #expect(memoryOurs.savedActivationsBytes == memoryTheirs.savedActivationsBytes + idBytes)
        #expect(memoryOurs.peakBytes == memoryTheirs.peakBytes + peakDelta)
    }

    @Test("names read like transformers' modules")
    func transformersNames() throws {
        let expected: [(String, [String])] = [
            ("Llama-2-7b-hf.json", ["model.embed_tokens", "model.layers.0.self_attn.q_proj", "model.layers.31.mlp.down_proj", "model.norm", "lm_head"]),
            ("Phi-3-mini-4k-instruct.json", ["model.layers.0.self_attn.qkv_proj", "model.layers.31.mlp.gate_up_proj", "model.layers.0.resid_attn_dropout"]),
            ("gemma-2b.json", ["model.embed_tokens", "model.embed_scale", "model.layers.17.mlp.act_fn", "lm_head"]),
            ("gpt2.json", ["transformer.wte", "transformer.wpe", "transformer.h.0.attn.c_attn", "transformer.h.11.mlp.c_proj", "transformer.ln_f", "lm_head"]),
            ("pythia-1b.json", ["gpt_neox.embed_in", "gpt_neox.layers.0.attention.query_key_value", "gpt_neox.layers.15.mlp.dense_4h_to_h", "gpt_neox.final_layer_norm", "lm_head"]),
            ("bert-base-uncased.json", ["embeddings.word_embeddings", "encoder.layer.0.attention.self.query", "encoder.layer.11.output.LayerNorm", "pooler.dense"]),
        ]
        for (file, names) in expected {
            let present = Set(try Self.graph(file).nodes.map(\.name))
            for name in names { #expect(present.contains(name), "\(file) has no operator \(name)") }
        }
    }

    // MARK: - Spec text, seq, overrides, ties

    /// `nnflops import config.json -o model.spec` writes spec(fromJSON:); elaborating that
    /// text is the Graph graph(fromJSON:) returns.
    @Test("the written spec elaborates to the same graph", arguments: buildable)
    func specTextIsTheGraph(_ file: String) throws {
        let text = try HuggingFaceImporter.spec(fromJSON: Self.bytes(file), file: file)
        #expect(try HuggingFaceImporter.spec(fromJSON: Data(Self.bytes(file)), file: file) == text)
        let fromText = try Elaborator.elaborate(source: text, file: "model.spec")
        let fromJSON = try Self.graph(file)
        #expect(fromText.model == fromJSON.model)
        #expect(fromText.nodes.map(\.name) == fromJSON.nodes.map(\.name))
        #expect(fromText.parameters.map { "\($0.name) \($0.shape)" } == fromJSON.parameters.map { "\($0.name) \($0.shape)" })
        #expect(fromText.settings.map(\.name) == fromJSON.settings.map(\.name))
        // Readable: params named after the config's keys, blocks, a loop over the layers.
        #expect(text.contains("\nparam batch = 1\n"))
        #expect(text.contains("\nblock "))
        #expect(text.contains("in range("))
        #expect(text.contains("Reproduces transformers' \(Self.fixture.configs[file]!.class)"))
    }

    /// A front end (ModelRequest) reads a config once and elaborates it at many batches.
    @Test("HuggingFaceModel: read once, elaborated at any batch")
    func readOnce() throws {
        let model = try HuggingFaceModel(json: Self.bytes("tiny-llama.json"), file: "tiny-llama.json")
        #expect(model.source == (try HuggingFaceImporter.spec(fromJSON: Self.bytes("tiny-llama.json"), file: "tiny-llama.json")))
        for batch in [1, 3, 64] {
            let graph = try model.graph(overrides: ["batch": .int(batch)])
            #expect(Self.inputShape(graph) == [batch, 256])
            #expect(graph.parameterCount.value == Self.fixture.configs["tiny-llama.json"]!.params)
        }
        #expect(throws: NNFlopsError.self) { try model.graph(overrides: ["num_key_value_heads": .int(3)]) }
    }

    /// The hf fuzz target elaborates under `Limits.fuzzing` (Fuzz/HuggingFace.swift): a
    /// config that elaborates under the standard limits elaborates the same there, and a
    /// mutated layer count is stopped at the fuzzing limits' 10,000th operator, not at the
    /// standard million.
    @Test("HuggingFaceModel.graph(limits:): the fuzzing limits stop a config with thousands of layers")
    func fuzzingLimitsStopManyLayers() throws {
        let text = String(decoding: try Self.bytes("tiny-llama.json"), as: UTF8.self)
        let model = try HuggingFaceModel(json: Array(text.utf8), file: "tiny-llama.json")
        #expect(try model.graph(limits: .fuzzing).nodes.count == (try model.graph()).nodes.count)
        let deep = text.replacingOccurrences(of: "\"num_hidden_layers\": 2", with: "\"num_hidden_layers\": 5000")
        #expect(deep != text)
        let deepModel = try HuggingFaceModel(json: Array(deep.utf8), file: "deep-llama.json")
        let error = #expect(throws: NNFlopsError.self) { try deepModel.graph(limits: .fuzzing) }
        #expect(error?.message.contains("more than 10,000 operators (the operator limit)") == true, "\(String(describing: error))")
    }

    @Test("Llama-2-7b's spec: its config's values as params, defaults noted")
    func llamaSpecText() throws {
        let text = try HuggingFaceImporter.spec(fromJSON: Self.bytes("Llama-2-7b-hf.json"), file: "Llama-2-7b-hf.json")
        for line in ["model Llama-2-7b-hf", "param hidden_size = 4096\n", "param num_key_value_heads = 32\n", "param rms_norm_eps = 1e-05\n",
                     "param intermediate_size = 11008\n", "for i in range(num_hidden_layers):",
                     "param rope_theta = 10000.0", "# absent: LlamaConfig's default",
                     "param head_dim = hidden_size // num_attention_heads", "param seq = min(max_position_embeddings, 4096)"] {
            #expect(text.contains(line), "the spec lacks \(line)")
        }
        let defaults = try HuggingFaceImporter.spec(fromJSON: Self.bytes("defaults-llama.json"), file: "defaults-llama.json")
        #expect(defaults.contains("param rms_norm_eps = 1e-06"))
        #expect(defaults.contains("param num_key_value_heads = num_attention_heads") && defaults.contains("absent: transformers uses num_attention_heads"))
        // The model is named by the file unless _name_or_path says otherwise.
        #expect(try Self.graph("Phi-3-mini-4k-instruct.json").model == "Phi-3-mini-4k-instruct")
        #expect(HuggingFaceImporter.modelName(root: JSONValue(kind: .object([]), location: SourceLocation(file: "", line: 1, column: 1)),
                                              file: "ckpt/config.json", modelType: "llama") == "llama")
    }

    static func inputShape(_ graph: Graph, _ name: String = "input_ids") -> [Int]? {
        graph.inputs.first { $0.name == name }.map { graph.tensors[$0.tensor].shape }
    }

    /// seq = min(max_position_embeddings, 4096): long-context models are capped, short ones
    /// run at their full context.
    @Test("seq defaults to min(max_position_embeddings, 4096)", arguments: [
        ("Llama-2-7b-hf.json", 4096), ("Meta-Llama-3-8B.json", 4096), ("Qwen2-7B.json", 4096), ("gpt2.json", 1024),
        ("bert-base-uncased.json", 512), ("pythia-1b.json", 2048), ("tiny-mistral.json", 512), ("tiny-gpt2-untied.json", 64),
    ])
    func defaultSequence(_ file: String, _ seq: Int) throws {
        #expect(Self.inputShape(try Self.graph(file)) == [1, seq])
    }

    @Test("--set seq and --batch change the inputs, not the parameters")
    func runSizeOverrides() throws {
        let graph = try Self.graph("Llama-2-7b-hf.json", ["seq": .int(128), "batch": .int(4)])
        #expect(Self.inputShape(graph) == [4, 128])
        #expect(graph.parameterCount.value == 6_738_415_616)
        let bert = try Self.graph("bert-base-uncased.json", ["seq": .int(128)])
        #expect(Self.inputShape(bert, "position_ids") == [1, 128])
    }

    /// Llama-2-7b with two layers: embed_tokens and lm_head 32000 * 4096 each, per layer
    /// 4 * 4096^2 + 3 * 4096 * 11008 + 2 * 4096 = 202,383,360, the final norm 4096.
    @Test("--set of a config key rebuilds the model")
    func configKeyOverride() throws {
        let graph = try Self.graph("Llama-2-7b-hf.json", ["num_hidden_layers": .int(2)])
        #expect(graph.parameterCount.value == 2 * 32000 * 4096 + 2 * 202_383_360 + 4096)
        // Gemma-2b ties its head; untied it gains a 256000 x 2048 matrix.
        let untied = try Self.graph("gemma-2b.json", ["tie_word_embeddings": .bool(false)])
        #expect(untied.parameterCount.value == 2_506_172_416 + 256_000 * 2048)
    }

    @Test("overrides are checked by the config's rules", arguments: [
        ("Llama-2-7b-hf.json", "num_key_value_heads", Value.int(5), "--set num_key_value_heads: 5 key/value heads do not divide num_attention_heads = 32"),
        ("Llama-2-7b-hf.json", "num_attention_heads", .int(7), "--set num_attention_heads: 7 heads do not divide hidden_size = 4096"),
        ("Llama-2-7b-hf.json", "hidden_size", .float(4096.5), "--set hidden_size: expected an integer"),
        ("Llama-2-7b-hf.json", "tie_word_embeddings", .int(1), "--set tie_word_embeddings: expected true or false"),
        ("gpt2.json", "seq", .int(2048), "--set seq: 2048 tokens exceed n_positions = 1024"),
        ("bert-base-uncased.json", "seq", .int(513), "--set seq: 513 tokens exceed max_position_embeddings = 512"),
        ("Llama-2-7b-hf.json", "seq", .int(0), "--set seq: must be at least 1"),
        ("Llama-2-7b-hf.json", "batch", .string("x"), "--set batch: expected an integer"),
        ("Llama-2-7b-hf.json", "sliding_window", .int(4), "--set sliding_window: the spec has no param 'sliding_window'"),
    ])
    func checkedOverrides(_ file: String, _ key: String, _ value: Value, _ message: String) throws {
        let error = try #require(throws: NNFlopsError.self) { try Self.graph(file, [key: value]) }
        #expect(error.message.hasPrefix(message), "\(error.message)")
    }

    @Test("tied heads share the embedding matrix; untied heads have their own")
    func tiedHeads() throws {
        for (file, embedding, tied) in [("gpt2.json", "transformer.wte", true), ("Qwen2-0.5B.json", "model.embed_tokens", true),
                                        ("gemma-7b.json", "model.embed_tokens", true), ("Qwen2-7B.json", "model.embed_tokens", false),
                                        ("pythia-1b.json", "gpt_neox.embed_in", false)] {
            let graph = try Self.graph(file)
            let head = try #require(graph.nodes.first { $0.name == "lm_head" })
            let embed = try #require(graph.nodes.first { $0.name == embedding })
            #expect((head.parameterIDs == embed.parameterIDs) == tied, "\(file)")
        }
    }

    // MARK: - Bad input: each error names the key

    @Test("bad configs are errors that name the key", arguments: [
        // JSON itself.
        (#"{"model_type": "llama" "hidden_size": 4}"#, "malformed JSON: expected ',' or '}' after the value of \"model_type\""),
        ("", "malformed JSON: the file is empty"),
        (#"{"model_type": "llama""#, "malformed JSON: the object is not closed"),
        (#"{"model_type": "ll\qama"}"#, "malformed JSON: unknown escape '\\q'"),
        (#"{"model_type": "llama"} x"#, "malformed JSON: unexpected text after the end of the document"),
        (#"{"model_type": "llama", "hidden_size": 01}"#, "malformed JSON: a number may not have a leading zero"),
        ("[1, 2]", "a transformers config.json is a JSON object; config.json holds an array"),
        // model_type.
        (#"{"hidden_size": 4096}"#, "config.json has no \"model_type\" key"),
        (#"{"model_type": "lama"}"#, "model_type: unknown model_type 'lama'"),
        (#"{"model_type": "t5"}"#, "model_type: unknown model_type 't5'"),
        (#"{"model_type": 3}"#, "model_type: must be a string, got 3"),
        // Types.
        (#"{"model_type": "llama", "hidden_size": "4096"}"#, "hidden_size: must be an integer, got \"4096\""),
        (#"{"model_type": "llama", "hidden_size": 4096.0}"#, "hidden_size: must be an integer, got 4096.0"),
        (#"{"model_type": "llama", "hidden_size": null}"#, "hidden_size: must be an integer, got null"),
        (#"{"model_type": "mistral", "num_key_value_heads": null}"#, "num_key_value_heads: must be an integer, got null"),
        (#"{"model_type": "gemma", "head_dim": null}"#, "head_dim: must be an integer, got null"),
        (#"{"model_type": "llama", "tie_word_embeddings": 1}"#, "tie_word_embeddings: must be true or false, got 1"),
        (#"{"model_type": "llama", "rms_norm_eps": "small"}"#, "rms_norm_eps: must be a number, got \"small\""),
        (#"{"model_type": "qwen2", "use_sliding_window": "yes"}"#, "use_sliding_window: must be true or false"),
        (#"{"model_type": "llama", "rope_scaling": "big"}"#, "rope_scaling must be an object (or null), got \"big\""),
        // Absurd sizes and values.
        (#"{"model_type": "llama", "hidden_size": 0}"#, "hidden_size: must be between 1 and 16,777,216, got 0"),
        (#"{"model_type": "llama", "hidden_size": 1000000000000}"#, "hidden_size: must be between 1 and 16,777,216"),
        (#"{"model_type": "llama", "num_hidden_layers": 100000}"#, "num_hidden_layers: must be between 1 and 10,000"),
        (#"{"model_type": "gpt2", "vocab_size": -5}"#, "vocab_size: must be between 1 and"),
        (#"{"model_type": "llama", "rms_norm_eps": 0}"#, "rms_norm_eps: must be a positive number, got 0.0"),
        (#"{"model_type": "llama", "attention_dropout": 1.5}"#, "attention_dropout: must be a dropout probability in [0, 1), got 1.5"),
        (#"{"model_type": "gpt_neox", "rotary_pct": 1.5}"#, "rotary_pct: must be a fraction in (0, 1], got 1.5"),
        (#"{"model_type": "llama", "hidden_act": "xielu"}"#, "hidden_act: activation 'xielu' is not one nnflops can write yet"),
        (#"{"model_type": "llama", "rope_scaling": {"rope_type": "mrope"}}"#, "rope_scaling.rope_type 'mrope' is not one nnflops reads"),
        (#"{"model_type": "llama", "rope_scaling": {"rope_type": "linear", "factor": -2}}"#, "rope_scaling.factor must be a positive number"),
        // Contradictions.
        (#"{"model_type": "llama", "num_attention_heads": 3}"#, "num_attention_heads: 3 heads do not divide hidden_size = 4096"),
        (#"{"model_type": "llama", "num_key_value_heads": 5}"#, "num_key_value_heads: 5 key/value heads do not divide num_attention_heads = 32"),
        (#"{"model_type": "mistral", "num_attention_heads": 12, "hidden_size": 768}"#,
         "num_key_value_heads (absent from config.json: MistralConfig's default): 8 key/value heads do not divide num_attention_heads = 12"),
        (#"{"model_type": "llama", "num_key_value_heads": 64}"#, "num_key_value_heads: 64 key/value heads do not divide"),
        (#"{"model_type": "gpt2", "n_embd": 768, "hidden_size": 1024}"#, "contradictory keys: n_embd = 768 and hidden_size = 1024"),
        (#"{"model_type": "gpt2", "n_head": 5}"#, "n_head: 5 heads do not divide n_embd = 768"),
        (#"{"model_type": "bert", "num_attention_heads": 5}"#, "num_attention_heads: 5 heads do not divide hidden_size = 768"),
        (#"{"model_type": "llama", "hidden_size": 60, "num_attention_heads": 4}"#, "num_attention_heads: head_dim = 15 is odd"),
        (#"{"model_type": "gpt_neox", "hidden_size": 640, "num_attention_heads": 10, "rotary_pct": 0.3}"#,
         "rotary_pct: int(head_dim 64 * 0.3) = 19 rotary dimensions"),
        (#"{"model_type": "phi3", "vocab_size": 600}"#, "pad_token_id (absent from config.json: Phi3Config's default): 32000 is not a row of embed_tokens"),
        (#"{"model_type": "bert", "pad_token_id": 30522}"#, "pad_token_id: 30522 is not a row of word_embeddings"),
        (#"{"model_type": "mixtral", "num_experts_per_tok": 9}"#, "num_experts_per_tok: 9 experts per token but only num_local_experts = 8"),
        (#"{"model_type": "mixtral", "num_local_experts": 4, "num_experts": 8}"#, "contradictory keys: num_local_experts = 4 and num_experts = 8"),
        // What the importer does not build.
        (#"{"model_type": "gpt2", "add_cross_attention": true}"#, "add_cross_attention: cross-attention layers"),
        (#"{"model_type": "bert", "position_embedding_type": "relative_key"}"#, "position_embedding_type: 'relative_key' position embeddings are not built"),
        (#"{"model_type": "llama", "rope_parameters": {"full_attention": {"rope_theta": 10000.0}}}"#, "rope_parameters.full_attention: rotary parameters per layer type"),
    ])
    func badConfig(_ json: String, _ message: String) throws {
        guard let error = Self.failure(json) else { return }
        #expect(error.message.hasPrefix(message), "\(json)\n  got: \(error.message)")
    }

    @Test("errors point at the value's line and column")
    func locatedErrors() throws {
        let json = "{\n  \"model_type\": \"llama\",\n  \"num_key_value_heads\": 5\n}\n"
        let error = try #require(Self.failure(json, file: "Llama/config.json"))
        #expect(error.location == SourceLocation(file: "Llama/config.json", line: 3, column: 26))
        #expect(error.sourceLine == "  \"num_key_value_heads\": 5")
        #expect(error.description.hasPrefix("Llama/config.json:3:26: error: num_key_value_heads: 5 key/value heads"))
        // Malformed JSON is located too, and the unknown model type suggests a close one.
        let malformed = try #require(Self.failure("{\n  \"model_type\": \"llama\",\n  \"hidden_size\" 4\n}", file: "c.json"))
        #expect(malformed.location == SourceLocation(file: "c.json", line: 3, column: 17))
        let unknown = try #require(Self.failure(#"{"model_type": "gpt-2"}"#))
        #expect(unknown.notes.first?.hasPrefix("did you mean 'gpt2'?") == true)
        // Non-UTF-8 bytes in a string, nesting deeper than any config.
        do {
            _ = try HuggingFaceImporter.graph(fromJSON: Array(#"{"model_type": "lla"#.utf8) + [0xFF] + Array(#"ma"}"#.utf8), file: "c.json")
            Issue.record("invalid UTF-8 imported")
        } catch let error as NNFlopsError {
            #expect(error.message == "malformed JSON: a string is not valid UTF-8")
        }
        let deep = "{\"a\": " + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}"
        #expect(Self.failure(deep)?.message.hasPrefix("malformed JSON: nested more than 200 levels deep") == true)
    }

    @Test("JSON values: escapes, numbers, Python's NaN and Infinity, repeated keys")
    func jsonValues() throws {
        let text = #"{"s": "a\"\\\/\n\u00e9\ud83d\ude00", "i": -12, "f": 1e-05, "g": 2.5E+3, "big": 123456789012345678901, "n": NaN, "inf": -Infinity, "k": 1, "k": 2, "e": [], "o": {}}"#
        let value = try JSONReader.parse(Array(text.utf8), file: "t.json")
        guard case .string(let s)? = value.member("s")?.kind else { Issue.record("s"); return }
        #expect(s == "a\"\\/\n\u{e9}\u{1F600}")
        guard case .int(-12)? = value.member("i")?.kind else { Issue.record("i"); return }
        guard case .float(let f)? = value.member("f")?.kind, f == 1e-05 else { Issue.record("f"); return }
        guard case .float(2500)? = value.member("g")?.kind else { Issue.record("g"); return }
        guard case .float(let big)? = value.member("big")?.kind, big == 123456789012345678901.0 else { Issue.record("big"); return }
        guard case .float(let nan)? = value.member("n")?.kind, nan.isNaN else { Issue.record("NaN"); return }
        guard case .float(-.infinity)? = value.member("inf")?.kind else { Issue.record("-Infinity"); return }
        guard case .int(2)? = value.member("k")?.kind else { Issue.record("the last repeated key wins"); return }
    }

    /// Mutated configs never crash or hang the importer: each either imports or throws.
    @Test("mutated configs give an import or an NNFlopsError, never a crash")
    func mutatedConfigs() throws {
        var random = SeededGenerator(seed: 11)
        let sources = try ["tiny-gpt2.json", "tiny-llama.json", "tiny-gpt_neox-serial.json", "tiny-bert.json"].map(Self.bytes)
        let replacements: [[UInt8]] = ["0", "-1", "null", "true", "\"x\"", "1e9", "{", "]", "99999999", "0.5"].map { Array($0.utf8) }
        for iteration in 0..<300 {
            var bytes = sources[iteration % sources.count]
            let position = Int.random(in: 0..<bytes.count, using: &random)
            let length = min(Int.random(in: 1...6, using: &random), bytes.count - position)
            bytes.replaceSubrange(position..<position + length, with: replacements.randomElement(using: &random)!)
            do {
                _ = try HuggingFaceImporter.graph(fromJSON: bytes, file: "m.json", overrides: ["seq": .int(8)])
            } catch is NNFlopsError {
            }
        }
    }
}
