#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nnflops zoo`'s listing (schema `nnflops.zoo/1`): every built-in model with its
/// parameters and forward FLOPs at its default sizes.
public struct ZooReport: Encodable, Sendable {
    public struct Entry: Encodable, Sendable {
        public var name: String
        public var params: Int
        public var forwardFlops: Int
        /// The shape of the first input at the spec's defaults (the size the figures are for).
        public var inputShape: [Int]
        /// The spec's first comment line.
        public var description: String
        enum CodingKeys: String, CodingKey {
            case name, params, description
            case forwardFlops = "forward_flops"
            case inputShape = "input_shape"
        }
    }

    public var schema = "nnflops.zoo/1"
    public var models: [Entry]

    /// Elaborates and counts every zoo model at its defaults.
    public init() throws {
        models = try Zoo.models.map { model in
            let graph = try Elaborator.elaborate(source: model.source, file: model.name + ".spec")
            let analysis = try CostAnalysis(graph: graph)
            let first = model.source.split(separator: "\n").first.map(String.init) ?? ""
            let summary = first.hasPrefix("#") ? String(first.dropFirst()).trimmingWhitespace() : ""
            let shape = graph.inputs.first.map { graph.tensors[$0.tensor].shape } ?? []
            return Entry(name: model.name, params: analysis.parameters, forwardFlops: analysis.forward.flops.value,
                         inputShape: shape, description: summary)
        }
    }

    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json:
            return try AnalysisRenderer.json(self)
        case .csv:
            return CSV.render(headers: ["name", "params", "forward_flops", "input_shape", "description"],
                              rows: models.map { [$0.name, String($0.params), String($0.forwardFlops),
                                                  $0.inputShape.map(String.init).joined(separator: "x"), $0.description] })
        case .table, .markdown:
            var table = TextTable(headers: ["model", "params", "forward", "default input", "description"],
                                  alignments: [.left, .right, .right, .left, .left])
            for e in models {
                table.add([e.name, Units.count(e.params), Units.flops(e.forwardFlops), shapeText(e.inputShape), e.description])
            }
            return format == .table ? table.render() : table.renderMarkdown()
        }
    }
}
