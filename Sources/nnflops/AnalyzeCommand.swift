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

/// Run-configuration options (README, "Training and inference memory"): how the model is trained or run. Shared by
/// analyze, fit and check.
struct RunOptions: ParsableArguments {
    @Option(help: "Optimizer: its step FLOPs and state (default adam).")
    var optimizer: Optimizer?

    @Option(help: "Precision policy: fp32, amp-bf16, amp-fp16 (autocast), bf16, fp16 (pure half + fp32 master weights).")
    var precision: PrecisionPolicy?

    @Option(help: ArgumentHelp("Activation checkpointing over the top-level sequence: none, sqrt, segments=K.", valueName: "policy"))
    var checkpoint: CheckpointPolicy?

    @Option(name: .customLong("micro-batch"), help: "Gradient accumulation: micro-batch size M (--batch must be a multiple of it).")
    var microBatch: Int?

    @Option(name: .customLong("weight-decay"), help: "Weight decay (coupled optimizers add 2 FLOPs per parameter and a temporary).")
    var weightDecay: Double?

    @Option(name: .customLong("grad-clip"), help: ArgumentHelp("Clip the gradient norm to this value (clip_grad_norm_).", valueName: "max-norm"))
    var gradClip: Double?

    @Flag(help: "Inference: forward only, no saved activations, gradients or optimizer state.")
    var inference = false

    @Flag(name: .customLong("fold-bn"), help: "With --inference: fold batchnorm into the preceding conv/linear.")
    var foldBN = false

    @Option(name: .customLong("weight-precision"), help: "With --inference: stored weight precision (model size): fp32, fp16, bf16, int8, int4.")
    var weightPrecision: WeightPrecision?

    @Flag(help: "Show memory with the default run configuration (adam, fp32).")
    var memory = false

    /// Whether any run option was given (the report then includes memory).
    var isActive: Bool {
        memory || optimizer != nil || precision != nil || checkpoint != nil || microBatch != nil || weightDecay != nil
            || gradClip != nil || inference || foldBN || weightPrecision != nil
    }

    func validate() throws {
        if let microBatch, microBatch < 1 { throw ValidationError("--micro-batch must be at least 1") }
        if let weightDecay, weightDecay < 0 || !weightDecay.isFinite { throw ValidationError("--weight-decay must be a non-negative number") }
        if let gradClip, gradClip <= 0 || !gradClip.isFinite { throw ValidationError("--grad-clip must be a positive number") }
        if foldBN && !inference { throw ValidationError("--fold-bn needs --inference (batchnorm folds only with frozen statistics)") }
        if weightPrecision != nil && !inference { throw ValidationError("--weight-precision needs --inference") }
        if inference && (checkpoint != nil || microBatch != nil || optimizer != nil) {
            throw ValidationError("--inference takes no --optimizer, --checkpoint or --micro-batch")
        }
    }

    func configuration(accumulationSteps: Int = 1) -> RunConfiguration {
        RunConfiguration(optimizer: optimizer ?? .adam, precision: precision ?? .fp32, checkpoint: checkpoint ?? .none,
                         accumulationSteps: accumulationSteps, weightDecay: weightDecay ?? 0, gradClip: gradClip,
                         inference: inference, weightPrecision: weightPrecision)
    }

    /// The graph for one micro-batch and the run configuration: with --micro-batch M the
    /// spec is elaborated at batch M and --batch (or the spec's batch) / M micro-batches
    /// are accumulated.
    func run(_ spec: SpecOptions) throws -> (Graph, RunConfiguration) {
        var graph = try spec.graph()
        var steps = 1
        if let microBatch {
            var batch: Int?
            for (name, value) in graph.settings where name == "batch" { if case .int(let b) = value { batch = b } }
            guard let batch else { throw NNFlopsError("--micro-batch needs a spec with a `batch` param") }
            guard batch % microBatch == 0 else {
                throw NNFlopsError("--micro-batch \(microBatch) must divide the batch size \(batch)")
            }
            steps = batch / microBatch
            var micro = spec
            micro.batch = microBatch
            graph = try micro.graph()
        }
        if foldBN { graph = graph.foldingNormalizations() }
        return (graph, configuration(accumulationSteps: steps))
    }
}

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Per-layer FLOPs, MACs, parameters and totals (the default command).")

    @OptionGroup var specOptions: SpecOptions

    @Option(help: "Aggregate layers by the first N components of their names (layer1.0.conv1 at depth 2 -> layer1.0).")
    var depth: Int?

    @OptionGroup(title: "Run configuration (memory, optimizer step)") var runOptions: RunOptions

    @Option(help: "Output format: table, json, csv or markdown.")
    var format: OutputFormat = .table

    func validate() throws {
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1") }
    }

    func run() throws {
        guard runOptions.isActive else {
            let graph = try specOptions.graph()
            let analysis = try CostAnalysis(graph: graph, options: specOptions.countOptions)
            let report = AnalysisReport(graph: graph, analysis: analysis, options: specOptions.countOptions, depth: depth)
            let text = try AnalysisRenderer.render(report, format: format)
            format == .table ? emitTable(text) : emit(text)
            return
        }
        let (graph, configuration) = try runOptions.run(specOptions)
        let analysis = try CostAnalysis(graph: graph, options: specOptions.countOptions)
        let memory = try MemoryAnalysis(graph: graph, costs: analysis, configuration: configuration)
        let report = AnalysisReport(graph: graph, analysis: analysis, options: specOptions.countOptions, depth: depth,
                                    memory: memory, foldBN: runOptions.foldBN)
        let text = try AnalysisRenderer.render(report, format: format)
        format == .table ? emitTable(text) : emit(text)
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

extension Optimizer: ExpressibleByArgument {}
extension PrecisionPolicy: ExpressibleByArgument {}
extension WeightPrecision: ExpressibleByArgument {}
extension CheckpointPolicy: ExpressibleByArgument {
    public static var allValueStrings: [String] { CheckpointPolicy.spellings }
    public var defaultValueDescription: String { description }
}
