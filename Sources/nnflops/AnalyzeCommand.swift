import ArgumentParser
import NNFlops

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Per-layer FLOPs, MACs, parameters and totals (the default command).")

    static let formats = OutputFormat.allCases

    @OptionGroup var model: BatchedModelOptions
    @OptionGroup var counting: CountingOptions

    @Option(help: ArgumentHelp("Aggregate layers by the first N components of their names (layer1.0.conv1 at depth 2 -> layer1.0).", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 1))
    var depth: Int?

    @OptionGroup(title: "Run configuration (memory, optimizer step)") var runOptions: RunOptions

    @Flag(help: "Show memory with the default run configuration (adam, fp32).")
    var memory = false

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "analyze"))
    var format: OutputFormat = .table

    func run() throws {
        let request = try model.request()
        let options = counting.countOptions
        let report: AnalysisReport
        if runOptions.isActive || memory {
            let (graph, configuration) = try runOptions.run(request)
            let analysis = try CostAnalysis(graph: graph, options: options)
            let memory = try MemoryAnalysis(graph: graph, costs: analysis, configuration: configuration)
            report = AnalysisReport(graph: graph, analysis: analysis, options: options, depth: depth, memory: memory, foldBN: runOptions.foldBN)
        } else {
            let graph = try request.graph()
            report = AnalysisReport(graph: graph, analysis: try CostAnalysis(graph: graph, options: options), options: options, depth: depth)
        }
        emit(try AnalysisRenderer.render(report, format: format, emphasis: useColour))
    }
}

struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "List the built-in models with their parameter counts and forward FLOPs at their default sizes.")

    static let formats = OutputFormat.allCases

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "zoo"))
    var format: OutputFormat = .table

    func run() throws {
        emit(try ZooReport().render(format))
    }
}
