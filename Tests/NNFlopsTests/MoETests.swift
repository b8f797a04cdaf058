import Foundation
import Testing
@testable import NNFlops

/// Conformance cases of the mixture-of-experts kernel (analytic == executed per phase,
/// parameters == allocated, saved bytes and peak == the memory model, gradients against
/// central finite differences): Mixtral's routing (renormalised top-k), both dispatch
/// implementations, Qwen2-MoE's unnormalised top-k with a sigmoid-gated shared expert, a
/// shared expert without a gate, capacity factors that drop rows and that drop none, an
/// input that needs no gradient, top-1 and top-E (frozen parts: `MoETests.frozenParts`,
/// since the finite-difference check wants every parameter's gradient).
extension ExecutorTests {
    static let moeCases: [KernelCase] = [
        KernelCase("moe", "[2, 5, 8]", "h = linear(x, 8)\noutput moe(h, 4, 2, 6)"),
        KernelCase("moe", "[2, 5, 8]", "h = linear(x, 8)\noutput moe(h, 4, 2, 6, impl = \"eager\")"),
        KernelCase("moe", "[2, 3, 6]", "h = linear(x, 6)\noutput moe(h, 5, 3, 4, norm_topk = false, shared_intermediate = 7, shared_gate = true)"),
        KernelCase("moe", "[2, 3, 6]", "h = linear(x, 6)\noutput moe(h, 5, 3, 4, norm_topk = false, shared_intermediate = 7, shared_gate = true, impl = \"eager\")"),
        KernelCase("moe", "[7, 5]", "h = linear(x, 5)\noutput moe(h, 3, 1, 5, shared_intermediate = 6)"),
        KernelCase("moe", "[2, 5, 8]", "h = linear(x, 8)\noutput moe(h, 4, 2, 6, capacity_factor = 0.5)"),
        KernelCase("moe", "[7, 4]", "h = linear(x, 4)\noutput moe(h, 3, 2, 5, capacity_factor = 0.7, impl = \"eager\")"),
        KernelCase("moe", "[7, 4]", "h = linear(x, 4)\noutput moe(h, 3, 2, 5, capacity_factor = 1.25)"),
        KernelCase("moe", "[3, 4, 6]", "output moe(x, 3, 2, 4, shared_intermediate = 3, shared_gate = true)"),
        KernelCase("moe", "[9, 5]", "h = linear(x, 5)\noutput moe(h, 4, 1, 3, norm_topk = false)"),
        KernelCase("moe", "[4, 5]", "h = linear(x, 5)\noutput moe(h, 3, 3, 4, impl = \"eager\")"),
    ]
}

/// The `moe` operator (README, "moe"): its counts by hand, its memory against what
/// PyTorch keeps for transformers' MoE blocks, its values against transformers'.
@Suite("Mixture of experts")
struct MoETests {
    static func graph(_ body: String, input: String = "[2, 5, 8]") throws -> Graph {
        try TestModel.graph("model t\ninput x: \(input)\n" + body)
    }

    static func moeNode(_ graph: Graph) throws -> (Int, MoE) {
        let index = try #require(graph.nodes.firstIndex { $0.kind == "moe" })
        return (index, try #require(graph.nodes[index].op as? MoE))
    }

    // MARK: - Counts by hand

    /// Mixtral-style layer on 10 tokens (D 8, E 4, top 2, I 6: S = 20 rows), every gradient
    /// needed. Forward: router 10*4*8 = 320 MACs, experts 20 rows * (2*6*8 + 6*8) = 2,880
    /// MACs; softmax 5*4 per token (200), top-2 by two passes of 4 and 3 compares (70),
    /// renormalisation 2 adds and 2 divides per token (40), per row silu 4*6, * up 6,
    /// * weight 8, the sum 8 (46 * 20 = 920). Weight gradient: dW_d 20*6*8 = 960 MACs,
    /// dW_gu 20*12*8 = 1,920, dW_g 10*4*8 = 320; the propagation it leads to: dh 960 MACs
    /// and the activation 11*6 per row (1,320), dw 2*8 per row (320), do 8 per row (160),
    /// the router's renormalisation 4*2 + 1 and softmax 4*4 per token (250). Input
    /// gradient: [dgate; dup] W_gu 1,920 MACs, dL W_g 320, the scatter-add 8 per row (160).
    @Test func handCount() throws {
        let costs = try CostAnalysis(graph: Self.graph("h = linear(x, 8)\noutput moe(h, 4, 2, 6, name = \"m\")"))
        let cost = try #require(costs.layers.first { $0.name == "m" }?.cost)
        #expect(cost.forward == Work(flops: 2 * 3200 + 200 + 70 + 40 + 920, macs: 3200))
        #expect(cost.weightGradient == Work(flops: 2 * (960 + 1920 + 320 + 960) + 1320 + 320 + 160 + 250, macs: 960 + 1920 + 320 + 960))
        #expect(cost.inputGradient == Work(flops: 2 * (1920 + 320) + 160, macs: 1920 + 320))
    }

    /// Qwen2-MoE's shared expert on 6 tokens (D 6, E 5, top 3 unnormalised, I 4, shared 7,
    /// gated): forward adds 6 * (3*7*6 + 6) = 792 MACs and per token silu + product 5*7,
    /// the add 6, sigmoid 4 and the gate's product 6 (51 * 6 = 306); the routed part is 6
    /// tokens * (5*6 router) + 18 rows * 3*4*6 = 180 + 1,296 MACs, softmax 25, top-3
    /// 5 + 4 + 3 compares, no renormalisation, per row 5*4 + 2*6 = 32.
    @Test func sharedExpertHandCount() throws {
        let body = "h = linear(x, 6)\noutput moe(h, 5, 3, 4, norm_topk = false, shared_intermediate = 7, shared_gate = true, name = \"m\")"
        let costs = try CostAnalysis(graph: Self.graph(body, input: "[2, 3, 6]"))
        let cost = try #require(costs.layers.first { $0.name == "m" }?.cost)
        let macs = 180 + 1296 + 792
        #expect(cost.forward == Work(flops: Count(2 * macs + 6 * (25 + 12) + 18 * 32 + 306), macs: Count(macs)))
    }

    /// FLOPs follow the routed rows, not the experts: doubling E with the same top-k adds
    /// only the router's E*D MACs per token (and its softmax and top-k compares); the
    /// parameters double.
    @Test func expertsCostOnlyTheRouter() throws {
        let four = try CostAnalysis(graph: Self.graph("output moe(x, 4, 2, 6)"))
        let eight = try CostAnalysis(graph: Self.graph("output moe(x, 8, 2, 6)"))
        #expect(eight.forward.macs.value - four.forward.macs.value == 10 * 4 * 8)
        #expect(eight.parameters - 8 * 8 == 2 * (four.parameters - 4 * 8))
    }

    /// Capacity (Switch/GShard, DeepSpeed's ceil): 10 tokens, top 2, 4 experts: S = 20,
    /// balanced 5 per expert. Factor 0.5: C = ceil(0.5 * 20 / 4) = 3, R = 4 * 3 = 12.
    /// 7 tokens, top 2, 3 experts: S = 14 (5, 5, 4). Factor 0.7: C = ceil(3.27) = 4, R = 12;
    /// 0.9: C = ceil(4.2) = 5, R = 5 + 5 + 4 = 14 (nothing dropped); 1.25: C = 6, R = 14.
    @Test("capacity factor: C = ceil(c * T * k / E), R = min(T * k, E * C)", arguments: [
        ("[2, 5, 8]", 4, 2, 0.5, 3, 12), ("[7, 8]", 3, 2, 0.7, 4, 12), ("[7, 8]", 3, 2, 0.9, 5, 14), ("[7, 8]", 3, 2, 1.25, 6, 14),
        ("[7, 8]", 3, 1, 0.5, 2, 6),
    ])
    func capacity(_ input: String, _ experts: Int, _ topK: Int, _ factor: Double, _ capacity: Int, _ rows: Int) throws {
        let graph = try Self.graph("output moe(x, \(experts), \(topK), 6, capacity_factor = \(factor))", input: input)
        let (_, moe) = try Self.moeNode(graph)
        #expect(moe.capacity == capacity)
        #expect(moe.rows == rows)
        // The experts' MACs follow R: 3 * 6 * 8 per row, plus the router's E * D per token.
        let costs = try CostAnalysis(graph: graph)
        #expect(costs.forward.macs.value == moe.tokens * experts * 8 + rows * 3 * 6 * 8)
    }

    // MARK: - The executor

    /// Dropless routing follows the data, yet every token sends exactly k rows: different
    /// seeds route differently and execute the same, analytic, work.
    @Test func executedWorkDoesNotDependOnTheRouting() throws {
        let graph = try Self.graph("h = linear(x, 8)\noutput moe(h, 4, 2, 6, name = \"m\")", input: "[3, 7, 8]")
        var routings: Set<[Int]> = []
        for seed: UInt64 in [1, 2, 3, 4] {
            let engine = try ExecutionEngine<Double>(graph: graph, options: ExecutionOptions(seed: seed))
            let report = try engine.trainStep()
            for row in report.rows {
                #expect(row.analyticFLOPs == row.executedFLOPs, "seed \(seed) \(row.name) \(row.phase)")
            }
            routings.insert(try Self.tokensPerExpert(engine))
        }
        #expect(routings.count > 1, "the seeds all routed alike: \(routings)")
    }

    /// How many of the tokens' top-2 choices each of the 4 experts gets, computed here from
    /// the engine's input and weights (h = x W^T + b, then the router's argmax twice).
    static func tokensPerExpert(_ engine: ExecutionEngine<Double>) throws -> [Int] {
        func values(_ name: String) throws -> [Double] {
            let id = try #require(engine.graph.parameters.firstIndex { $0.name == name })
            return engine.parameters[id].toArray()
        }
        let w = try values("linear.weight"), b = try values("linear.bias"), gate = try values("m.gate.weight")
        let x = engine.inputValues[0].toArray()
        var counts = [0, 0, 0, 0]
        for t in 0..<x.count / 8 {
            let h = (0..<8).map { o in b[o] + (0..<8).reduce(0.0) { $0 + w[o * 8 + $1] * x[t * 8 + $1] } }
            let logits = (0..<4).map { e in (0..<8).reduce(0.0) { $0 + gate[e * 8 + $1] * h[$1] } }
            let order = logits.indices.sorted { logits[$0] > logits[$1] }
            counts[order[0]] += 1
            counts[order[1]] += 1
        }
        return counts
    }

    /// Frozen routers, experts and shared projections: each phase still executes what it
    /// counts, and the memory equals the model's (the conformance cases check gradients).
    @Test("frozen parts execute what they count and keep what the model keeps", arguments: [
        "h = linear(x, 6)\ny = moe(h, 4, 2, 5, name = \"m\")\nfreeze \"m.gate\"\noutput y",
        "h = linear(x, 6)\ny = moe(h, 4, 2, 5, impl = \"eager\", name = \"m\")\nfreeze \"m.experts.down_proj\"\noutput y",
        "h = linear(x, 6)\ny = moe(h, 4, 2, 5, shared_intermediate = 4, shared_gate = true, name = \"m\")\nfreeze \"m.experts\", \"m.shared_expert.up_proj\"\noutput y",
        "h = linear(x, 6)\ny = moe(h, 4, 2, 5, shared_intermediate = 4, shared_gate = true, name = \"m\")\nfreeze \"m.gate\", \"m.shared_expert_gate\", \"m.shared_expert.gate_proj\"\noutput y",
        "y = moe(x, 4, 2, 5, shared_intermediate = 4, name = \"m\")\nfreeze \"m.experts\", \"m.shared_expert\"\noutput y",
    ])
    func frozenParts(_ body: String) throws {
        let spec = "model t\ninput x: [2, 4, 6]\n" + body
        for optimizer in [Optimizer.sgd, .adam] {
            var options = ExecutionOptions(seed: 3, optimizer: optimizer)
            options.randomLossWeights = true
            let report = try ExecutorMemoryTests.engine(spec, options).trainStep()
            for row in report.rows {
                #expect(row.analyticFLOPs == row.executedFLOPs, "\(row.name) \(row.phase): analytic \(row.analyticFLOPs) executed \(row.executedFLOPs)")
                #expect(row.analyticMACs == row.executedMACs, "\(row.name) \(row.phase) MACs")
            }
            ExecutorMemoryTests.expectMemoryAgrees(report, body)
        }
    }

    // MARK: - Against transformers

    struct Reference: Decodable {
        struct Measured: Decodable {
            struct Tensor: Decodable {
                var shape: [Int]
                var dtype: String
                var bytes: Int
                var kept_by: [String]
            }
            var saved_bytes: Int
            var tensors: [Tensor]
            var tokens_per_expert: [Int]
        }
        struct Case: Decodable {
            var `class`: String
            var spec: String
            var input: [Double]
            var parameters: [String: [Double]]
            var output: [Double]
            var loss: Double
            var gradients: [String: [Double]]
            var experts_implementations: [String: Measured]
        }
        var transformers: String
        var cases: [String: Case]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: fixtures.appendingPathComponent("moe/reference.json")))
    }

    static func spec(_ c: Reference.Case, implementation: String) -> String {
        c.spec.replacingOccurrences(of: "param IMPL = \"grouped_mm\"", with: "param IMPL = \"\(implementation)\"")
    }

    /// transformers' MixtralSparseMoeBlock and Qwen2MoeSparseMoeBlock (with its gated shared
    /// expert) on fixed weights, in float64 (scripts/measure_moe.py): the executor's float32
    /// output, loss and every parameter's gradient agree, through a linear in front so that
    /// the layer's input gradient is checked too.
    @Test("values and gradients equal transformers' blocks", arguments: ["mixtral", "qwen2_moe"])
    func valuesMatchTransformers(_ family: String) throws {
        let c = try #require(try Self.reference().cases[family])
        for implementation in ["grouped_mm", "eager"] {
            let graph = try Elaborator.elaborate(source: Self.spec(c, implementation: implementation), file: "reference.spec")
            let engine = try ExecutionEngine<Float>(graph: graph, options: ExecutionOptions())
            try #require(engine.inputValues[0].count == c.input.count)
            for (i, v) in c.input.enumerated() { engine.inputValues[0][i] = Float(v) }
            for (id, parameter) in graph.parameters.enumerated() {
                let values = try #require(c.parameters[parameter.name], "the fixture lacks \(parameter.name)")
                try #require(values.count == engine.parameters[id].count, "\(parameter.name)")
                for (i, v) in values.enumerated() { engine.parameters[id][i] = Float(v) }
            }
            #expect(Set(c.parameters.keys) == Set(graph.parameters.map(\.name)))
            func close(_ a: Double, _ b: Double) -> Bool { Tolerance.close(a, b, absolute: 1e-4) }
            let output = try engine.forward(training: false).outputs[0]
            for (i, v) in c.output.enumerated() {
                #expect(close(Double(output[i]), v), "\(family) \(implementation) output[\(i)]: \(output[i]) vs \(v)")
            }
            let (loss, gradients) = try engine.lossAndGradients()
            #expect(close(loss, c.loss), "\(family) loss \(loss) vs \(c.loss)")
            for (id, parameter) in graph.parameters.enumerated() {
                let expected = try #require(c.gradients[parameter.name])
                let gradient = try #require(gradients[id])
                for (i, v) in expected.enumerated() {
                    #expect(close(Double(gradient[i]), v), "\(family) \(implementation) \(parameter.name)[\(i)]: \(gradient[i]) vs \(v)")
                }
            }
        }
    }

    /// What autograd keeps for the block, measured with saved_tensors_hooks (deduplicated by
    /// storage), equals the operator's saved bytes exactly, under each experts
    /// implementation, for routings far from balanced (the per-expert tensors sum to S rows).
    @Test("saved bytes equal PyTorch's for transformers' blocks", arguments: ["mixtral", "qwen2_moe"])
    func savedBytesMatchTransformers(_ family: String) throws {
        let c = try #require(try Self.reference().cases[family])
        for implementation in ["grouped_mm", "eager"] {
            let measured = try #require(c.experts_implementations[implementation])
            let graph = try Elaborator.elaborate(source: Self.spec(c, implementation: implementation), file: "reference.spec")
            let memory = try MemoryAnalysis(graph: graph, costs: CostAnalysis(graph: graph), configuration: RunConfiguration(optimizer: .sgd))
            let layer = try #require(memory.layers.first { $0.name == "m" })
            #expect(layer.savedBytes == measured.saved_bytes, "\(family) \(implementation): nnflops \(layer.savedBytes), PyTorch \(measured.saved_bytes)")
            // The projection in front keeps the graph input and its weight only.
            #expect(memory.layers.first { $0.name == "proj" }?.savedBytes == 0)
            #expect(measured.tokens_per_expert.reduce(0, +) == 10 * 2)
            #expect(Set(measured.tokens_per_expert).count > 1, "the measured routing is balanced: nothing shows the bytes do not depend on it")
        }
        // The two implementations differ only in their index tensors: grouped_mm three int64
        // vectors of S = 20 rows and four int32 offsets (496 B), eager each expert's
        // torch.where result (16 B per row: 320 B) and index_add_'s source, [20, 8] fp32 (640 B).
        let grouped = try #require(c.experts_implementations["grouped_mm"]?.saved_bytes)
        let eager = try #require(c.experts_implementations["eager"]?.saved_bytes)
        #expect(eager - grouped == 320 + 640 - 496)
    }

    /// Tests/Fixtures/saved/hf-mixtral.json measured transformers' MixtralForCausalLM (tiny
    /// config, batch 2, seq 64) on the CPU: each layer's mlp (gate, experts, experts.act_fn)
    /// keeps exactly what the imported spec's moe operator keeps.
    @Test func mixtralLayersKeepWhatPyTorchKeeps() throws {
        let fixture = try SavedTensorFixture.file("hf-mixtral")
        let path = try #require(fixture.config_file).replacingOccurrences(of: "Tests/Fixtures/", with: "")
        let request = try ModelRequest(Self.fixtures.appendingPathComponent(path).path, settings: ["seq=64"], batch: 2)
        let graph = try request.graph()
        let memory = try MemoryAnalysis(graph: graph, costs: CostAnalysis(graph: graph), configuration: RunConfiguration(optimizer: .sgd))
        for variant in ["sdpa", "eager"] {
            let run = try #require(fixture.variants?[variant])
            for layer in 0..<2 {
                let prefix = "model.layers.\(layer).mlp"
                let theirs = run.modules.filter { $0.module == prefix || $0.module.hasPrefix(prefix + ".") }.map(\.bytes).reduce(0, +)
                let ours = try #require(memory.layers.first { $0.name == prefix }?.savedBytes)
                // Router 71,168 B; 256 routed rows * 5,148 B + 16 B of offsets.
                #expect(theirs == 71_168 + 256 * 5148 + 16)
                #expect(ours == theirs, "\(variant) \(prefix): nnflops \(ours), PyTorch \(theirs)")
            }
        }
    }

    // MARK: - Parameters, names, errors

    @Test func parameterNamesAndShapes() throws {
        let graph = try Self.graph("output moe(x, 4, 2, 6, shared_intermediate = 5, shared_gate = true, name = \"mlp\")")
        #expect(graph.parameters.map { "\($0.name) \($0.shape)" } == [
            "mlp.gate.weight [4, 8]", "mlp.experts.gate_up_proj [4, 12, 8]", "mlp.experts.down_proj [4, 8, 6]",
            "mlp.shared_expert.gate_proj.weight [5, 8]", "mlp.shared_expert.up_proj.weight [5, 8]",
            "mlp.shared_expert.down_proj.weight [8, 5]", "mlp.shared_expert_gate.weight [1, 8]",
        ])
    }

    @Test("bad arguments are located errors", arguments: [
        ("moe(x, 4, 5, 6)", "top_k = 5 exceeds experts = 4"),
        ("moe(x, 0, 1, 6)", "'experts' must be at least 1"),
        ("moe(x, 4, 2, 0)", "'intermediate' must be at least 1"),
        ("moe(x, 4, 2, 6, shared_gate = true)", "shared_gate needs a shared expert"),
        ("moe(x, 4, 2, 6, capacity_factor = 0)", "'capacity_factor' must be a positive number"),
        ("moe(x, 4, 2, 6, capacity_factor = -1.5)", "'capacity_factor' must be a positive number"),
        ("moe(x, 4, 2, 6, impl = \"batched\")", "'impl' must be one of \"grouped_mm\", \"eager\""),
        ("moe(x, 4, 2, 6, act = \"gelu\")", "'act' must be one of \"silu\""),
        ("moe(x, 4, 2, 6, shared_intermediate = -1)", "'shared_intermediate' must be at least 0"),
    ])
    func badArguments(_ call: String, _ message: String) throws {
        let error = try #require(throws: NNFlopsError.self) { try Self.graph("output " + call) }
        #expect(error.message.contains(message), "\(error.message)")
        #expect(error.location?.line == 3)
    }

    @Test func integerInputIsRejected() throws {
        let error = try #require(throws: NNFlopsError.self) { try Self.graph("output moe(x, 4, 2, 6)", input: "[2, 5] int") }
        #expect(error.message.contains("x must be a float tensor"))
    }

    /// The imported Mixtral spec writes each layer's mlp as one moe call, with the config's
    /// expert keys as params.
    @Test func mixtralSpecText() throws {
        let bytes = try Data(contentsOf: Self.fixtures.appendingPathComponent("hf/configs/Mixtral-8x7B-v0.1.json"))
        let text = try HuggingFaceImporter.spec(fromJSON: bytes, file: "Mixtral-8x7B-v0.1.json")
        for line in ["param num_local_experts = 8", "param num_experts_per_tok = 2",
                     "moe(rmsnorm(x, eps = rms_norm_eps, impl = \"composite\", name = \"post_attention_layernorm\"), experts = num_local_experts, top_k = num_experts_per_tok, intermediate = intermediate_size, name = \"mlp\")",
                     "# MixtralSparseMoeBlock (each layer's mlp)"] {
            #expect(text.contains(line), "the spec lacks \(line)")
        }
        #expect(!text.contains("block mixtral_mlp"))
        let jitter = try #require(throws: NNFlopsError.self) {
            try HuggingFaceImporter.graph(fromJSON: Array(#"{"model_type": "mixtral", "hidden_act": "gelu"}"#.utf8), file: "c.json")
        }
        #expect(jitter.message.hasPrefix("hidden_act: the experts of the moe operator are silu-gated"))
    }

    // MARK: - Qwen2-MoE

    static func config(_ name: String) throws -> Data {
        try Data(contentsOf: fixtures.appendingPathComponent("hf/configs/" + name))
    }

    /// Qwen1.5-MoE-A2.7B ("14.3B parameters in total") by hand: per layer q, k, v 2048^2 + 2048
    /// each and o 2048^2 (16,783,360), the router 60 * 2048 (122,880), 60 experts of
    /// gate_up 2 * 1408 * 2048 and down 2048 * 1408 (519,045,120), the shared expert
    /// 3 * 5632 * 2048 (34,603,008) and its gate 2048, two norms (4,096); 24 layers,
    /// embed_tokens and lm_head 151936 * 2048 each, the final norm 2048.
    @Test func qwenMoEParametersByHand() throws {
        let graph = try HuggingFaceImporter.graph(fromJSON: Self.config("Qwen1.5-MoE-A2.7B.json"), file: "Qwen1.5-MoE-A2.7B.json")
        let perLayer = 16_783_360 + 122_880 + 519_045_120 + 34_603_008 + 2048 + 4096
        #expect(graph.parameterCount.value == 24 * perLayer + 2 * 151_936 * 2048 + 2048)
        #expect(graph.parameterCount.value == 14_315_784_192)
        let moe = try #require(graph.nodes.first { $0.name == "model.layers.23.mlp" }?.op as? MoE)
        #expect(moe.detail == "E60 top4 I1408 unnormalised shared 5632 gated")
    }

    /// decoder_sparse_step 2 and mlp_only_layers [3] on 4 layers: only layer 1 is sparse
    /// (Qwen2MoeDecoderLayer); the spec says so with a condition on the layer index.
    @Test func qwenMoEMixedLayers() throws {
        let text = try HuggingFaceImporter.spec(fromJSON: Self.config("tiny-qwen2_moe-mixed.json"), file: "tiny-qwen2_moe-mixed.json")
        #expect(text.contains("block qwen2_moe_decoder_layer(x, cos, sin, sparse):"))
        #expect(text.contains("x = qwen2_moe_decoder_layer(x, cos, sin, num_experts > 0 and (i + 1) % decoder_sparse_step == 0 and i != 3, name = i)"))
        #expect(text.contains("param qkv_bias = false"))
        let graph = try HuggingFaceImporter.graph(fromJSON: Self.config("tiny-qwen2_moe-mixed.json"), file: "tiny-qwen2_moe-mixed.json")
        #expect(graph.nodes.filter { $0.kind == "moe" }.map(\.name) == ["model.layers.1.mlp"])
        #expect(graph.nodes.contains { $0.name == "model.layers.3.mlp.gate_proj" })
        // Sparse everywhere when the step is 1 and no layer is listed.
        let all = try HuggingFaceImporter.graph(fromJSON: Self.config("tiny-qwen2_moe-mixed.json"), file: "m.json",
                                                overrides: ["decoder_sparse_step": .int(1)])
        #expect(all.nodes.filter { $0.kind == "moe" }.count == 3)
        // num_experts = 0: every layer dense (Qwen2MoeDecoderLayer's num_experts > 0).
        let dense = try HuggingFaceImporter.graph(fromJSON: Self.config("tiny-qwen2_moe-mixed.json"), file: "m.json",
                                                  overrides: ["num_experts": .int(0)])
        #expect(!dense.nodes.contains { $0.kind == "moe" })
        #expect(dense.nodes.filter { $0.name.hasSuffix("mlp.down_proj") }.count == 4)
    }

    @Test("bad Qwen2-MoE configs name the key", arguments: [
        (#"{"model_type": "qwen2_moe", "num_experts": 3}"#, "num_experts_per_tok (absent from config.json: Qwen2MoeConfig's default): 4 experts per token but only num_experts = 3"),
        (#"{"model_type": "qwen2_moe", "mlp_only_layers": "all"}"#, "mlp_only_layers: must be a list of layer indices"),
        (#"{"model_type": "qwen2_moe", "mlp_only_layers": [1, -2]}"#, "mlp_only_layers: layer indices are integers >= 0, got -2"),
        (#"{"model_type": "qwen2_moe", "decoder_sparse_step": 0}"#, "decoder_sparse_step: must be between 1 and"),
        (#"{"model_type": "qwen2_moe", "hidden_act": "gelu"}"#, "hidden_act: the experts of the moe operator are silu-gated"),
    ])
    func badQwenConfigs(_ json: String, _ message: String) throws {
        do {
            _ = try HuggingFaceImporter.graph(fromJSON: Array(json.utf8), file: "config.json")
            Issue.record("imported: \(json)")
        } catch let error as NNFlopsError {
            #expect(error.message.hasPrefix(message), "\(error.message)")
        }
    }
}
