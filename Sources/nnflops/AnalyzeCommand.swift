import ArgumentParser
import Foundation
import NNFlops

/// Options shared by every command that elaborates a spec.
struct SpecOptions: ParsableArguments {
    @Argument(help: "A .spec file, or the name of a built-in model (see `nnflops zoo`).")
    var spec: String

    @Option(help: "Batch size: sets the spec's `batch` param.")
    var batch: Int?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a spec param, e.g. --set seq=2048 (repeatable).", valueName: "name=value"))
    var overrides: [String] = []

    @Option(name: .customLong("attention-flops"),
            help: "How attention is counted: dense = full n x n score matrix even when causal (FlopCounterMode, papers); executed = what the implementation runs (fused causal skips the masked half).")
    var attention: AttentionConvention = .dense

    func graph() throws -> Graph {
        let (source, file) = try SpecLoader.load(spec)
        var values: [String: Value] = [:]
        for text in overrides {
            let (name, value) = try SpecLoader.parseOverride(text)
            values[name] = value
        }
        if let batch {
            guard batch >= 1 else { throw NNFlopsError("--batch must be at least 1, got \(batch)") }
            values["batch"] = .int(batch)
        }
        return try Elaborator.elaborate(source: source, file: file, overrides: values)
    }

    var countOptions: CountOptions { CountOptions(attention: attention) }
}

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Per-layer FLOPs, MACs, parameters and totals (the default command).")

    @OptionGroup var specOptions: SpecOptions

    @Option(help: "Aggregate layers by the first N components of their names (layer1.0.conv1 at depth 2 -> layer1.0).")
    var depth: Int?

    @Option(help: "Output format: table, json, csv or markdown.")
    var format: OutputFormat = .table

    func validate() throws {
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1") }
    }

    func run() throws {
        let graph = try specOptions.graph()
        let analysis = try CostAnalysis(graph: graph, options: specOptions.countOptions)
        let report = AnalysisReport(graph: graph, analysis: analysis, options: specOptions.countOptions, depth: depth)
        emit(try AnalysisRenderer.render(report, format: format))
    }
}

struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "List the built-in models with their parameter counts and forward FLOPs at their default sizes.")

    @Option(help: "Output format: table, json, csv or markdown.")
    var format: OutputFormat = .table

    struct Entry: Codable {
        var name: String
        var params: Int
        var forwardFlops: Int
        var description: String
        enum CodingKeys: String, CodingKey {
            case name, params, description
            case forwardFlops = "forward_flops"
        }
    }

    func run() throws {
        var entries: [Entry] = []
        for model in Zoo.models {
            let graph = try Elaborator.elaborate(source: model.source, file: model.name + ".spec")
            let analysis = try CostAnalysis(graph: graph)
            let summary = model.source.split(separator: "\n").first.map { $0.hasPrefix("#") ? String($0.dropFirst()).trimmingCharacters(in: .whitespaces) : "" } ?? ""
            entries.append(Entry(name: model.name, params: analysis.parameters, forwardFlops: analysis.forward.flops.value, description: summary))
        }
        switch format {
        case .json:
            struct ZooReport: Codable { var schema = "nnflops.zoo/1"; var models: [Entry] }
            emit(try AnalysisRenderer.json(ZooReport(models: entries)))
        case .csv:
            emit(CSV.render(headers: ["name", "params", "forward_flops", "description"],
                            rows: entries.map { [$0.name, String($0.params), String($0.forwardFlops), $0.description] }))
        case .table, .markdown:
            var table = TextTable(headers: ["model", "params", "forward (default size)", "description"], alignments: [.left, .right, .right, .left])
            for e in entries { table.add([e.name, Units.count(e.params), Units.flops(e.forwardFlops), e.description]) }
            emit(format == .table ? table.render() : table.renderMarkdown())
        }
    }
}
