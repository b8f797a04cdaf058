import ArgumentParser
import Foundation
import NNFlops

/// `nnflops fit`: the largest batch whose peak training memory fits a GPU or a memory
/// size, per precision policy and checkpointing policy (README, "Training and inference memory").
struct FitCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Largest batch that fits a GPU's memory, per precision and checkpoint policy.",
        discussion: """
          nnflops fit resnet50 --gpu h100-sxm
          nnflops fit gpt2 --memory 24GiB --optimizer adamw --reserve 0.1
          nnflops fit model.spec --gpu a100-80gb-sxm --precision amp-bf16 --checkpoint sqrt

        Rows: every precision policy x checkpointing none / sqrt (--precision and --checkpoint
        narrow them). Usable memory = capacity x (1 - reserve). The spec needs a `batch` param.
        Exit codes: 0 success, 2 usage error or bad spec.
        """)

    @Argument(help: "A .spec file, or the name of a built-in model.")
    var spec: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a spec param (repeatable).", valueName: "name=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("GPU whose memory to fill: \(GPUProfile.builtinIDs.joined(separator: ", ")).", valueName: "id"))
    var gpu: String?

    @Option(help: ArgumentHelp("Memory size instead of a GPU: 24GiB, 80GB, or bytes.", valueName: "size"))
    var memory: String?

    @Option(help: ArgumentHelp("Fraction of the memory kept for the framework (CUDA context, allocator slack), in [0, 1).", valueName: "fraction"))
    var reserve: Double = 0

    @Option(help: "Optimizer (default adam).")
    var optimizer: Optimizer?

    @Option(help: "Only this precision policy.")
    var precision: PrecisionPolicy?

    @Option(help: ArgumentHelp("Only this checkpoint policy: none, sqrt, segments=K.", valueName: "policy"))
    var checkpoint: CheckpointPolicy?

    @Option(name: .customLong("weight-decay"), help: "Weight decay.")
    var weightDecay: Double?

    @Option(name: .customLong("grad-clip"), help: ArgumentHelp("Gradient clipping max norm.", valueName: "max-norm"))
    var gradClip: Double?

    @Option(name: .customLong("attention-flops"), help: "Attention counting convention: dense or executed.")
    var attention: AttentionConvention = .dense

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    struct Report: Codable {
        var schema = "nnflops.fit/1"
        var model: String
        var capacityBytes: Int
        var usableBytes: Int
        var optimizer: String
        var rows: [BatchFit.Row]
        enum CodingKeys: String, CodingKey {
            case schema, model, optimizer, rows
            case capacityBytes = "capacity_bytes"
            case usableBytes = "usable_bytes"
        }
    }

    func validate() throws {
        if (gpu == nil) == (memory == nil) { throw ValidationError("give exactly one of --gpu and --memory") }
        if !(reserve >= 0 && reserve < 1) { throw ValidationError("--reserve must be in [0, 1)") }
    }

    func run() throws {
        let capacity: Int
        if let gpu { capacity = Int(try GPUProfile.named(gpu).memoryBytes) }
        else { capacity = try BatchFit.parseBytes(memory!, what: "--memory") }
        let usable = Int((Double(capacity) * (1 - reserve)).rounded(.down))
        let (source, file) = try SpecLoader.load(spec)
        var values: [String: Value] = [:]
        for text in overrides {
            let (name, value) = try SpecLoader.parseOverride(text)
            values[name] = value
        }
        let probe = try Elaborator.elaborate(source: source, file: file, overrides: values)
        guard probe.settings.contains(where: { $0.name == "batch" }) else {
            throw NNFlopsError("\(spec) has no `batch` param to search over")
        }
        let precisions = precision.map { [$0] } ?? PrecisionPolicy.allCases
        let checkpoints = checkpoint.map { [$0] } ?? [CheckpointPolicy.none, .sqrt]
        var rows: [BatchFit.Row] = []
        for p in precisions {
            for c in checkpoints {
                let config = RunConfiguration(optimizer: optimizer ?? .adam, precision: p, checkpoint: c,
                                              weightDecay: weightDecay ?? 0, gradClip: gradClip)
                rows.append(try BatchFit.search(capacity: usable, configuration: config, attention: attention) { batch in
                    var v = values
                    v["batch"] = .int(batch)
                    return try Elaborator.elaborate(source: source, file: file, overrides: v)
                })
            }
        }
        switch format {
        case .json:
            emit(try AnalysisRenderer.json(Report(model: probe.model, capacityBytes: capacity, usableBytes: usable,
                                                  optimizer: (optimizer ?? .adam).rawValue, rows: rows)))
        case .table:
            var table = TextTable(headers: ["precision", "checkpoint", "max batch", "peak"], alignments: [.left, .left, .right, .right])
            for r in rows { table.add([r.precision, r.checkpoint, String(r.maxBatch), Units.bytes(r.peakBytes)]) }
            let reserveText = reserve > 0 ? ", \(reserve * 100)% reserved" : ""
            emit("\(probe.model): largest batch within \(Units.bytes(usable)) (\(gpu ?? Units.bytes(capacity))\(reserveText)), \((optimizer ?? .adam).rawValue)\n\n"
                 + table.render())
        }
    }
}
