import Foundation
import Testing
@testable import NNFlops

/// nnflops against onnx-tool (https://github.com/ThanatosShinji/onnx-tool), the peer that
/// reads ONNX files for inference MACs, on the same committed exports
/// (Tests/Fixtures/onnx/onnx_tool.json, written by scripts/onnx_tool_figures.py). The
/// counts differ by convention, each difference accounted for here and in the README
/// ("Reading ONNX files", "Against onnx-tool"):
/// - onnx-tool counts a convolution's or Gemm's bias add as one MAC per output; nnflops
///   counts it as a FLOP, not a MAC. Without them its Conv, ConvTranspose, Gemm and
///   MatMul MACs are nnflops' forward MACs exactly.
/// - onnx-tool also calls element-wise work MACs, weighted by its own estimates of each
///   op's cost (an exp is 32, a division 4, a square root 24; Relu and Add 1 per
///   element); nnflops counts it in FLOPs, one per scalar operation, and none as MACs.
///   Where both count one operation per element (Relu: one compare), they agree.
/// - onnx-tool's parameter count is every initializer a node reads: batchnorm running
///   statistics (buffers) and integer shape constants included, a one-value one counted
///   as 0 (its volume of a scalar). Without those it is torchvision's count exactly.
@Suite("ONNX: against onnx-tool")
struct ONNXToolComparisonTests {
    struct Figures: Sendable, CustomTestStringConvertible {
        var export: String
        var macs: Int
        var macsByOp: [String: Int]
        var biasAdds: Int
        var params: Int
        var runningStatistics: Int
        var otherConstants: Int
        var testDescription: String { export }
    }

    static let figures: [Figures] = {
        guard let data = try? Data(contentsOf: ONNXFixtures.root.appendingPathComponent("onnx_tool.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let exports = json["exports"] as? [String: [String: Any]] else { return [] }
        // A malformed entry empties the list, which the coverage test reports.
        var figures: [Figures] = []
        for (name, entry) in exports.sorted(by: { $0.key < $1.key }) {
            guard let macs = entry["macs"] as? Int, let macsByOp = entry["macs_by_op"] as? [String: Int],
                  let biasAdds = entry["bias_adds"] as? Int, let params = entry["params"] as? Int,
                  let runningStatistics = entry["running_statistics"] as? Int, let otherConstants = entry["other_constants"] as? Int else { return [] }
            figures.append(Figures(export: name, macs: macs, macsByOp: macsByOp, biasAdds: biasAdds, params: params,
                                   runningStatistics: runningStatistics, otherConstants: otherConstants))
        }
        return figures
    }()

    static func graph(_ export: String) throws -> Graph { try ONNXFixtures.graph("torchvision/\(export).onnx") }

    @Test("onnx-tool's figures cover every committed export")
    func coverage() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: ONNXFixtures.root.appendingPathComponent("torchvision").path)
        #expect(Set(Self.figures.map { $0.export + ".onnx" }) == Set(files.filter { $0.hasSuffix(".onnx") }))
    }

    @Test("onnx-tool's matrix-product MACs less its bias adds are nnflops' forward MACs exactly", arguments: figures)
    func macs(_ reference: Figures) throws {
        let ours = try CostAnalysis(graph: try Self.graph(reference.export)).forward.macs.value
        let products = ["Conv", "ConvTranspose", "Gemm", "MatMul"].reduce(0) { $0 + (reference.macsByOp[$1] ?? 0) }
        #expect(products - reference.biasAdds == ours, "\(reference.export): \(products) - \(reference.biasAdds) against \(ours)")
        // The rest of its total is element-wise work it weighs as MACs: more than nothing.
        #expect(reference.macs > products)
    }

    @Test("one compare per element: onnx-tool's Relu MACs are nnflops' relu FLOPs", arguments: figures.filter { $0.macsByOp["Relu"] != nil })
    func relu(_ reference: Figures) throws {
        let costs = try CostAnalysis(graph: try Self.graph(reference.export))
        let flops = costs.layers.filter { $0.kind == "relu" }.reduce(0) { $0 + $1.cost.forward.flops.value }
        #expect(flops == reference.macsByOp["Relu"])
    }

    @Test("onnx-tool's parameters less running statistics and constants are nnflops' parameters", arguments: figures)
    func parameters(_ reference: Figures) throws {
        let graph = try Self.graph(reference.export)
        #expect(reference.params - reference.runningStatistics - reference.otherConstants == graph.parameterCount.value)
        // The running statistics are the batchnorms' running mean and variance: buffers.
        let running = graph.nodes.flatMap(\.op.buffers).filter { $0.name.hasPrefix("running_") }.reduce(0) { $0 + $1.elements.value }
        #expect(reference.runningStatistics == running)
    }
}
