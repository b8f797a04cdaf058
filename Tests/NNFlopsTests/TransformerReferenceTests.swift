import Foundation
import Testing
@testable import NNFlops

extension ExecutorTests {
    struct TransformerFixture: Decodable {
        var spec: String
        var ids: [Int]
        var targets: [Int]
        var parameters: [String: [Double]]
        var loss: Double
        var gradients: [String: [Double]]
    }

    /// A small transformer LM (embedding + learned positions, layernorm, GQA attention with
    /// rope, GELU MLP, tied head, cross-entropy) with fixed weights against float64 values
    /// computed independently with NumPy (scripts/reference_transformer.py ->
    /// Tests/Fixtures/reference_transformer.json), in float32, with attention run fused and
    /// naive. Also: the training step agrees with the analysis everywhere.
    @Test(arguments: ["fused", "naive"])
    func smallTransformerMatchesNumPyReference(_ impl: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/reference_transformer.json")
        let fixture = try JSONDecoder().decode(TransformerFixture.self, from: Data(contentsOf: url))
        let spec = fixture.spec.replacingOccurrences(of: "impl = \"fused\"", with: "impl = \"\(impl)\"")
        let graph = try Elaborator.elaborate(source: spec, file: "fixture.spec")
        let engine = try ExecutionEngine<Float>(graph: graph, options: ExecutionOptions())
        try #require(engine.inputValues.count == 2)
        for (tensor, values) in zip(engine.inputValues, [fixture.ids, fixture.targets]) {
            try #require(tensor.count == values.count)
            for (i, v) in values.enumerated() { tensor.indices[i] = Int32(v) }
        }
        for (id, parameter) in graph.parameters.enumerated() {
            let values = try #require(fixture.parameters[parameter.name], "fixture lacks \(parameter.name)")
            try #require(values.count == engine.parameters[id].count)
            for (i, v) in values.enumerated() { engine.parameters[id][i] = Float(v) }
        }
        func close(_ a: Double, _ b: Double) -> Bool { Tolerance.close(a, b) }
        let (loss, gradients) = try engine.lossAndGradients()
        #expect(close(loss, fixture.loss), "loss \(loss) vs \(fixture.loss)")
        #expect(Set(fixture.gradients.keys) == Set(graph.parameters.map(\.name)))
        var worst = 0.0
        for (id, parameter) in graph.parameters.enumerated() {
            let expected = try #require(fixture.gradients[parameter.name])
            let gradient = try #require(gradients[id])
            try #require(expected.count == gradient.count)
            for (i, v) in expected.enumerated() {
                worst = max(worst, abs(Double(gradient[i]) - v))
                #expect(close(Double(gradient[i]), v), "\(parameter.name)[\(i)]: \(gradient[i]) vs \(v)")
            }
        }
        #expect(worst < 1e-5)
        // The same graph's training step: analytic == executed in every phase.
        let report = try ReferenceExecutor.run(graph)
        #expect(report.ok, "mismatches: \(report.mismatches.map { "\($0.name) \($0.phase): \($0.analyticFLOPs) vs \($0.executedFLOPs)" })")
    }
}
