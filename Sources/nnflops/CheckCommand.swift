import ArgumentParser
import Foundation
import NNFlops

/// `nnflops check`: CI budgets (README, "Training and inference memory"). Exit 0 within every budget, 1 when any
/// is exceeded, 2 on a usage error or a bad spec.
struct CheckCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Fail (exit 1) when the model exceeds a memory, parameter or FLOP budget.",
        discussion: """
          nnflops check model.spec --batch 64 --max-peak-memory 16GiB
          nnflops check model.spec --max-params 125M --max-train-flops 5e12 --precision amp-bf16

        Limits come from the flags and from the spec's `budget METRIC <= LIMIT` statements
        (metrics: \(Budget.metrics.joined(separator: ", "))). train_flops is one optimizer step:
        forward + backward (+ recompute) for every micro-batch, plus the optimizer.
        Exit codes: 0 within budget, 1 a budget exceeded, 2 usage error or bad spec.
        """)

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup(title: "Run configuration") var runOptions: RunOptions

    @Option(name: .customLong("max-peak-memory"), help: ArgumentHelp("Peak memory limit: 16GiB, 80GB or bytes.", valueName: "size"))
    var maxPeakMemory: String?

    @Option(name: .customLong("max-params"), help: ArgumentHelp("Parameter limit: 125M, 7B, ...", valueName: "count"))
    var maxParams: String?

    @Option(name: .customLong("max-train-flops"), help: ArgumentHelp("FLOPs of one training step: 5e12, 2T, ...", valueName: "flops"))
    var maxTrainFlops: String?

    @Option(name: .customLong("max-activation-memory"), help: ArgumentHelp("Saved-activation limit: 8GiB, ...", valueName: "size"))
    var maxActivationMemory: String?

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    struct Report: Codable {
        var schema = "nnflops.check/1"
        var model: String
        var ok: Bool
        var violations: [BudgetViolation]
        var checked: Int
    }

    func limit(_ text: String, _ flag: String, bytes: Bool) throws -> Double {
        if bytes { return Double(try BatchFit.parseBytes(text, what: flag)) }
        let value = try PlanQuantity.parse(text, what: flag)
        guard value > 0 else { throw NNFlopsError("\(flag) must be positive, got '\(text)'") }
        return value
    }

    func run() throws {
        var limits: [BudgetLimit] = []
        if let t = maxPeakMemory { limits.append(BudgetLimit(metric: "peak_memory", limit: try limit(t, "--max-peak-memory", bytes: true), source: "--max-peak-memory")) }
        if let t = maxParams { limits.append(BudgetLimit(metric: "params", limit: try limit(t, "--max-params", bytes: false), source: "--max-params")) }
        if let t = maxTrainFlops { limits.append(BudgetLimit(metric: "train_flops", limit: try limit(t, "--max-train-flops", bytes: false), source: "--max-train-flops")) }
        if let t = maxActivationMemory { limits.append(BudgetLimit(metric: "activation_memory", limit: try limit(t, "--max-activation-memory", bytes: true), source: "--max-activation-memory")) }
        let (graph, configuration) = try runOptions.run(specOptions)
        limits = BudgetCheck.limits(of: graph) + limits
        guard !limits.isEmpty else {
            throw NNFlopsError("nothing to check: give --max-peak-memory, --max-params, --max-train-flops or --max-activation-memory, or add `budget` statements to the spec")
        }
        let costs = try CostAnalysis(graph: graph, options: specOptions.countOptions)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
        let metrics = try RunMetrics(costs: costs, memory: memory)
        let violations = try BudgetCheck.violations(metrics, limits)
        switch format {
        case .json:
            emit(try AnalysisRenderer.json(Report(model: graph.model, ok: violations.isEmpty, violations: violations, checked: limits.count)))
        case .table:
            func show(_ metric: String, _ value: Double) -> String {
                RunMetrics.isBytes(metric) ? Units.bytes(Int(value)) : metric.hasSuffix("flops") ? Units.flops(value) : Units.count(Int(value))
            }
            var out = ""
            for l in limits {
                let actual = Double(metrics.value(of: l.metric) ?? 0)
                let over = actual > l.limit
                out += "\(over ? "FAIL" : "ok  ")  \(l.metric) \(show(l.metric, actual)) \(over ? ">" : "<=") \(show(l.metric, l.limit))  (\(l.source))\n"
            }
            out += violations.isEmpty ? "within budget (\(limits.count) checked)\n" : "budget exceeded: \(violations.count) of \(limits.count)\n"
            emit(out)
        }
        if !violations.isEmpty { throw ExitCode(1) }
    }
}
