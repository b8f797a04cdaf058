import Foundation
import Testing
@testable import NNFlops

/// Exports whose exporter decomposes operators (scripts/make_onnx_fixtures.py,
/// export_more): a transformers Llama, whose RMSNorm and rotary embedding become Pow,
/// ReduceMean, Sqrt, Div, Neg, Slice and Concat, and torchvision's Swin-T, with Pad,
/// shifted-window masks and relative position biases. Against PyTorch's own parameter
/// counts and FlopCounterMode, measured once by the script (Tests/Fixtures/onnx/exports.json).
@Suite("ONNX: decomposed exports")
struct ONNXExportsTests {
    static func measured(_ model: String, _ key: String) -> Any? {
        guard let data = try? Data(contentsOf: ONNXFixtures.root.appendingPathComponent("exports.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else { return nil }
        return json[model]?[key]
    }

    static func figure(_ model: String, _ key: String) throws -> Int {
        try #require(measured(model, key) as? Int, "\(model).\(key)")
    }

    @Test("tiny Llama: torch's parameters, FlopCounterMode's forward, RMSNorm and RoPE as the exporter wrote them")
    func tinyLlama() throws {
        let seq = try Self.figure("tiny_llama", "seq")
        let graph = try ONNXFixtures.graph("exports/tiny_llama.onnx", ["seq": .int(seq)])
        #expect(graph.settings.map(\.name) == ["batch", "seq"])
        #expect(graph.parameterCount.value == (try Self.figure("tiny_llama", "parameters")))
        let costs = try CostAnalysis(graph: graph)
        #expect(costs.forward.macs.value * 2 == (try Self.figure("tiny_llama", "forward_flops")))
        let kinds = graph.nodes.map(\.kind)
        // Five RMSNorms (two per layer and the final one), each x^2, mean, rsqrt.
        #expect(kinds.filter { $0 == "rsqrt" }.count == 5)
        #expect(kinds.filter { $0 == "pow" }.count == 5)
        // rotate_half negates half of q and of k in each layer.
        #expect(kinds.filter { $0 == "neg" }.count == 4)
        // Eager attention: the scores and the weighted values are matmuls, two per layer.
        #expect(kinds.filter { $0 == "matmul" }.count == 4)
        #expect(graph.nodes.contains { $0.name == "model.model.layers.0.self_attn.q_proj" && $0.kind == "linear" })
        // Every size follows batch and seq: at batch 3 and seq 5 the MACs are those of the
        // linear layers at 15 tokens plus the attention's 3 * 4 heads * 5 * 5 * 12 * 2.
        let small = try CostAnalysis(graph: try ONNXFixtures.graph("exports/tiny_llama.onnx", ["batch": .int(3), "seq": .int(5)]))
        let perToken = 48 * 48 + 2 * 48 * 24 + 48 * 48 + 3 * 48 * 80   // q, k and v, o, gate, up, down
        let expected: Int = 15 * (2 * perToken + 48 * 96) + 2 * (3 * 4 * 5 * 5 * 12 * 2)
        #expect(small.forward.macs.value == expected)
    }

    /// The exporter's constant folding turns each block's
    /// relative_position_bias_table[relative_position_index] (a table of (2 * 7 - 1)^2 =
    /// 169 rows per head) into a [1, heads, 49, 49] initializer: a learned tensor of 2401
    /// values per head in the file. The MACs are exact.
    @Test("Swin-T (eval export): FlopCounterMode's forward exactly; the folded position biases in the parameters")
    func swin() throws {
        let graph = try ONNXFixtures.graph("exports/swin_t_eval.onnx")
        let costs = try CostAnalysis(graph: graph)
        #expect(costs.forward.macs.value * 2 == (try Self.figure("swin_t_eval", "forward_flops")))
        let heads = try #require(Self.measured("swin_t_eval", "heads") as? [Int])
        // Stages of 2, 2, 6 and 2 blocks with 3, 6, 12 and 24 heads.
        let stageHeads: Int = 2 * 3 + 2 * 6 + 6 * 12 + 2 * 24
        #expect(heads.reduce(0, +) == stageHeads)
        let tables = try Self.figure("swin_t_eval", "relative_position_bias_tables")
        #expect(tables == 169 * heads.reduce(0, +))
        let folded = 49 * 49 * heads.reduce(0, +)
        #expect(graph.parameterCount.value == (try Self.figure("swin_t_eval", "parameters")) - tables + folded)
        // Each stage pads its feature map to a multiple of the 7 x 7 window; at 224 (56, 28,
        // 14 and 7) it is one already, so the Pads add nothing.
        #expect(!graph.nodes.contains { $0.kind == "pad" })
    }

    /// The train export keeps the position-bias gather: relative_position_bias, with the
    /// stored table as its parameter (named as torch names it).
    @Test("Swin-T (train export): torch's parameters and FlopCounterMode's forward exactly")
    func swinTrain() throws {
        let graph = try ONNXFixtures.graph("exports/swin_t_train.onnx")
        #expect(graph.parameterCount.value == (try Self.figure("swin_t_train", "parameters")))
        #expect(try CostAnalysis(graph: graph).forward.macs.value * 2 == (try Self.figure("swin_t_train", "forward_flops")))
        let biases = graph.nodes.filter { $0.kind == "relative_position_bias" }
        #expect(biases.count == 12)
        #expect(biases.first?.name == "features.1.0.attn")
        #expect(graph.parameters.contains { $0.name == "features.5.3.attn.relative_position_bias_table" && $0.shape == [169, 12] })
    }
}
