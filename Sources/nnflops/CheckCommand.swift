import ArgumentParser
import NNFlops

/// `nnflops check`: CI budgets (README, "`nnflops check`"). Exit 0 within every budget, 1
/// when any is exceeded, 2 on a usage error or a bad spec.
struct CheckCommand: NamedCommand {
    static let commandName = "check"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Exit 1 when the model exceeds a memory, parameter or FLOP budget.",
        discussion: """
          nnflops check model.spec --batch 64 --max-peak-memory 16GiB
          nnflops check model.spec --max-params 125M --max-train-flops 5e12
          nnflops check model.spec --precision amp-bf16 --format json

        Limits come from the flags and from the spec's `budget METRIC <= LIMIT` statements. Metrics: \(BudgetMetric.allCases.map(\.rawValue).joined(separator: ", ")). train_flops is one optimizer step: forward, backward and recompute for every micro-batch, plus the optimizer.

        Memory limits take byte units, KiB to TiB, KB to TB or bytes; the others take counts, K, M, B, T or 1e12. B is a billion, not a byte: see "Numbers and units" in the README.

        Exit codes: 0 within budget, 1 a budget exceeded, 2 a usage error or a bad spec.
        """)

    static let formats = BudgetReport.formats

    @OptionGroup var model: BatchedModelOptions
    @OptionGroup var counting: CountingOptions
    @OptionGroup(title: "Run configuration") var runOptions: RunOptions

    @Option(name: .customLong("max-peak-memory"), help: ArgumentHelp("Peak memory limit: 16GiB, 80GB or bytes.", valueName: "size"),
            transform: ArgumentValue.bytes)
    var maxPeakMemory: Int?

    @Option(name: .customLong("max-params"), help: ArgumentHelp("Parameter limit: 125M, 7B, ...", valueName: "count"),
            transform: ArgumentValue.positiveCount)
    var maxParams: Double?

    @Option(name: .customLong("max-train-flops"), help: ArgumentHelp("FLOPs of one training step: 5e12, 2T, ...", valueName: "flops"),
            transform: ArgumentValue.positiveCount)
    var maxTrainFlops: Double?

    @Option(name: .customLong("max-activation-memory"), help: ArgumentHelp("Saved-activation limit: 8GiB, ...", valueName: "size"),
            transform: ArgumentValue.bytes)
    var maxActivationMemory: Int?

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "check"))
    var format: OutputFormat = .table

    /// The limits the flags set, in flag order.
    var flagLimits: [BudgetLimit] {
        let flags: [(BudgetMetric, Double?, String)] = [
            (.peakMemory, maxPeakMemory.map(Double.init), "--max-peak-memory"), (.params, maxParams, "--max-params"),
            (.trainFlops, maxTrainFlops, "--max-train-flops"), (.activationMemory, maxActivationMemory.map(Double.init), "--max-activation-memory"),
        ]
        return flags.compactMap { metric, limit, flag in limit.map { BudgetLimit(metric: metric, limit: $0, source: flag) } }
    }

    func run() throws {
        let (graph, configuration) = try runOptions.run(try model.request())
        let limits = BudgetCheck.limits(of: graph) + flagLimits
        guard !limits.isEmpty else {
            throw NNFlopsError("nothing to check: give --max-peak-memory, --max-params, --max-train-flops or --max-activation-memory, or add `budget` statements to the spec")
        }
        let costs = try CostAnalysis(graph: graph, options: counting.countOptions(for: configuration))
        warn(costs.warnings)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration.onOneGPU)
        var metrics = try RunMetrics(costs: costs, memory: memory)
        var run = RunDescription.text(graph: graph, configuration: configuration)
        if !configuration.parallel.isSingleGPU {
            // Memory budgets are one GPU's: the pipeline stage with the highest peak.
            let parallel = try ParallelAnalysis(graph: graph, options: counting.countOptions, configuration: configuration)
            metrics.perGPU(parallel)
            run += "; " + configuration.parallel.summary + ", memory per GPU (\(parallel.peak.name))"
        }
        let report = BudgetReport(model: graph.model, run: run, metrics: metrics, limits: limits)
        ProcessLifetime.keepUntilExit(graph, costs, memory)
        emit(try report.render(format))
        if !report.ok { throw ExitCode(1) }
    }
}
