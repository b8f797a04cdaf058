#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nnflops import model.onnx`: the ONNX graph written back as a spec (SpecPrinter), with
/// sizes written in terms of the symbolic dimensions (`param batch = 1`,
/// `input input: [batch, 3, 224, 224]`) when the graph follows them, and a header saying
/// where it came from and what the spec keeps of the file.
extension ONNXModel {
    /// The spec source of the graph with the symbolic dimensions set by `overrides`
    /// (their values become the params' defaults).
    public func specSource(overrides: [String: Value] = [:]) throws -> String {
        let graph = try self.graph(overrides: overrides)
        var probes: [SpecPrinter.Probe] = []
        for settings in SpecPrinter.probeSettings(for: graph.settings) {
            // A graph that cannot be built at other sizes keeps its own: shapes are fixed.
            guard let probe = try? self.graph(overrides: settings.mapValues(Value.int)) else {
                probes = []
                break
            }
            probes.append(SpecPrinter.Probe(settings: settings, graph: probe))
        }
        let opset = proto.opsetImports.filter { $0.domain == "" || $0.domain == "ai.onnx" }.map(\.version).max() ?? 0
        let producer = [proto.producerName, proto.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        let stem = PathText.lastComponent(of: file)
        let header = [
            "Written by `nnflops import` from \(stem) (ONNX opset \(opset)\(producer.isEmpty ? "" : ", exported by \(producer)")).",
            "One line per operator the ONNX graph maps onto (README, \"Reading ONNX files\"); names are the exporter's"
                + " module paths and parameter names; shape arithmetic was folded away. ONNX has no in-place operators, so"
                + " every activation is out of place.",
        ]
        return try SpecPrinter.source(of: graph, probes: probes, header: header)
    }
}
