import ArgumentParser
import NNFlops

struct AnalyzeCommand: NamedCommand {
    static let commandName = "analyze"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Per-layer FLOPs, MACs, parameters and totals: the default command.",
        discussion: """
          nnflops analyze resnet50 --depth 1
          nnflops gpt2 --batch 8 --set seq=512 --format json
          nnflops resnet50 --batch 32 --optimizer adam --precision amp-bf16
          nnflops model.spec --memory

        analyze is the default command: `nnflops SPEC` runs it. Backward is counted per phase: the input gradient only where something upstream needs it, the weight gradient only for trainable parameters.

        A run option adds the memory each layer keeps, the memory totals and the optimizer step: --optimizer, --precision, --checkpoint, --micro-batch, --inference and the others under Run configuration.

        A parallel layout, --gpus, --tp, --pp, --zero and the others under Parallel layout, gives one GPU's memory (the pipeline stage with the highest peak), every stage, and each GPU's communication per step: `nnflops gpt3-175b --gpus 64 --tp 8 --pp 8 --precision bf16 --checkpoint sqrt --batch 64 --micro-batch 1`.

        Exit codes: 0 success, 2 a usage error or a bad spec.
        """)

    static let formats = OutputFormat.allCases
    static let defaultFormat = OutputFormat.table

    @OptionGroup var model: BatchedModelOptions
    @OptionGroup var counting: CountingOptions

    @Option(help: ArgumentHelp("Aggregate layers by the first N components of their names: layer1.0.conv1 at depth 2 is part of layer1.0.", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 1))
    var depth: Int?

    @OptionGroup(title: "Run configuration") var runOptions: RunOptions

    @Flag(help: "Show memory with the default run configuration: adam, fp32.")
    var memory = false

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "analyze"))
    var format = AnalyzeCommand.defaultFormat

    func run() throws {
        let request = try model.request()
        let options = counting.countOptions
        guard runOptions.isActive || memory else {
            return try Self.writeCounts(of: request, options: options, depth: depth, format: format)
        }
        let (graph, configuration) = try runOptions.run(request)
        let analysis = try CostAnalysis(graph: graph, options: counting.countOptions(for: configuration))
        let memory = try MemoryAnalysis(graph: graph, costs: analysis, configuration: configuration.onOneGPU, estimatingAllocator: true)
        let parallel = configuration.parallel.isSingleGPU ? nil
            : try ParallelAnalysis(graph: graph, options: counting.countOptions, configuration: configuration)
        let report = AnalysisReport(graph: graph, analysis: analysis, options: options, depth: depth, memory: memory, foldBN: runOptions.foldBN,
                                    parallel: parallel)
        ProcessLifetime.keepUntilExit(graph, analysis, memory, parallel as Any)
        try Self.write(report, format: format)
    }

    /// The counts alone, no run configuration: `nnflops MODEL` (and `PlainAnalysis`, which
    /// reads that line without ArgumentParser).
    static func writeCounts(of request: ModelRequest, options: CountOptions, depth: Int?, format: OutputFormat) throws {
        let graph = try request.graph()
        let analysis = try CostAnalysis(graph: graph, options: options)
        let report = AnalysisReport(graph: graph, analysis: analysis, options: options, depth: depth)
        ProcessLifetime.keepUntilExit(graph, analysis)
        try write(report, format: format)
    }

    static func write(_ report: AnalysisReport, format: OutputFormat) throws {
        // JSON carries the warnings in its document; the other formats print them on stderr.
        if format != .json { warn(report.warnings ?? []) }
        let output = try AnalysisRenderer.render(report, format: format, emphasis: useColour)
        ProcessLifetime.keepUntilExit(report, output)
        emit(output)
    }
}

struct ZooCommand: NamedCommand {
    static let commandName = "zoo"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "The built-in models: parameters and forward FLOPs at their default input.",
        discussion: """
          nnflops zoo
          nnflops zoo --format json

        Every built-in model works by name from any directory: `nnflops resnet50`. Its spec is in the repository's specs/ folder.
        """)

    static let formats = OutputFormat.allCases

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "zoo"))
    var format: OutputFormat = .table

    func run() throws {
        emit(try ZooReport().render(format))
    }
}
