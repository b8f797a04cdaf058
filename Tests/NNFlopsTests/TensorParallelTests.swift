import Foundation
import Testing
@testable import NNFlops

/// Tensor parallelism in the graph (README, "Training on many GPUs"): one rank's graph,
/// checked against hand counts of Megatron-LM's scheme (Shoeybi et al. 2019, §3).
@Suite struct TensorParallelTests {
    static func zoo(_ name: String, batch: Int = 1, set: [String: Value] = [:]) throws -> Graph {
        var overrides = set
        overrides["batch"] = .int(batch)
        return try ModelRequest(name, overrides: overrides).graph()
    }

    static func count(_ graph: Graph, kind: String) -> Int { graph.nodes.filter { $0.kind == kind }.count }

    /// GPT-2 small over T = 2: every matrix of a layer halves, the vocabulary-parallel
    /// embedding holds ceil(50257 / 2) = 25129 rows (tied to the LM head, which holds the
    /// same rows), wpe and the norms stay whole.
    @Test func gpt2ParametersPerRank() throws {
        let rank = try TensorParallelGraph(graph: Self.zoo("gpt2"), degree: 2)
        let d = 768
        // c_attn [3d/2, d] + bias 3d/2; attn c_proj [d, d/2] + bias d (whole); c_fc [2d, d] + 2d;
        // mlp c_proj [d, 2d] + d; ln_1, ln_2 weight and bias.
        let perLayer = (3 * d / 2) * d + 3 * d / 2 + d * (d / 2) + d + (2 * d) * d + 2 * d + d * (2 * d) + d + 4 * d
        let expected = 25129 * d + 1024 * d + 12 * perLayer + 2 * d
        #expect(rank.graph.parameterCount.value == expected)
        // Forward: one all-reduce after each row-parallel projection and after the embedding;
        // f (backward all-reduce) before each column-parallel one and before the LM head.
        #expect(Self.count(rank.graph, kind: "all_reduce") == 2 * 12 + 1)
        #expect(Self.count(rank.graph, kind: "tp_copy") == 2 * 12 + 1)
        #expect(rank.replicated.contains("wpe") && rank.replicated.contains("h.0.ln_1"))
        #expect(!rank.replicated.contains("h.0.attn.c_attn"))
        #expect(rank.notes.contains { $0.contains("50258") })
    }
}

extension TensorParallelTests {
    /// The Hugging Face configs are annotated like the zoo: on T = 2 only the norms (and
    /// GPT-2's learned positions, BERT's position and token-type tables and its pooler, as
    /// Megatron's BERT keeps them) stay whole; every projection, the vocabulary and the
    /// heads split.
    @Test(arguments: [("gpt2.json", ["transformer.wpe"]), ("Llama-2-7b-hf.json", []), ("Phi-3-mini-4k-instruct.json", []),
                      ("Qwen2-0.5B.json", []), ("Mistral-7B-v0.1.json", []), ("pythia-1b.json", []),
                      ("bert-base-uncased.json", ["embeddings.token_type_embeddings", "embeddings.position_embeddings", "pooler.dense"])])
    func huggingFaceConfigsSplit(_ file: String, _ wholeBesidesNorms: [String]) throws {
        let graph = try HuggingFaceTests.graph(file)
        let rank = try TensorParallelGraph(graph: graph, degree: 2)
        let norms = Set(graph.nodes.filter { $0.kind.contains("norm") }.map(\.name))
        #expect(Set(rank.replicated).subtracting(norms) == Set(wholeBesidesNorms), "\(file): \(rank.replicated)")
        #expect(rank.graph.parameterCount.value < graph.parameterCount.value * 3 / 5)
    }

    /// A pipeline over a Hugging Face config cuts between its layers, however deep the
    /// ModuleList sits (`transformer.h.0`).
    @Test func huggingFaceStagesAreLayers() throws {
        let graph = try HuggingFaceTests.graph("gpt2.json")
        var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
        configuration.parallel = ParallelLayout(gpus: 2, pipeline: 2)
        let analysis = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: configuration)
        #expect(analysis.stages[0].part.firstUnit == "transformer")
        #expect(analysis.stages[1].part.firstUnit.hasPrefix("transformer.h."))
        #expect(analysis.stages[0].part.lastUnit.hasPrefix("transformer.h."))
    }
}
