import ArgumentParser
import Foundation
import NNFlops

/// Where user hardware files come in (`--hardware my-gpu.json`, repeatable).
struct HardwareOptions: ParsableArguments {
    @Option(name: .customLong("hardware"),
            help: ArgumentHelp("A JSON file describing your own GPU (format: README, section Roofline, \"Your own hardware\"); repeatable. Its id becomes a --gpu choice.", valueName: "file.json"))
    var hardwareFiles: [String] = []

    func profiles() throws -> [GPUProfile] {
        var profiles: [GPUProfile] = []
        for file in hardwareFiles {
            let profile = try GPUProfile.load(hardwareFile: file)
            if profiles.contains(where: { $0.id == profile.id }) {
                throw NNFlopsError("\(file): 'id' \"\(profile.id)\" is already defined by another --hardware file")
            }
            profiles.append(profile)
        }
        return profiles
    }
}

struct RooflineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roofline",
        abstract: "Where each operator sits on a GPU's roofline, and a lower bound on the step time.",
        discussion: """
        For every operator and phase (forward, input gradient, weight gradient, recompute,
        optimizer): FLOPs, minimum bytes moved at the run's types, arithmetic intensity,
        bound (compute or memory), attainable FLOP/s and the lower-bound time
        max(FLOPs / peak, bytes / bandwidth). Matrix (multiply-accumulate) work uses the
        tensor-core peak of its type (TF32 for fp32 only with --tf32), element-wise work
        the vector peak. Dense datasheet peaks; see `nnflops gpus`.

          nnflops roofline resnet50 --gpu h100-sxm --batch 32
          nnflops roofline gpt2 --gpu h100-sxm --precision amp-bf16 --svg roofline.svg
          nnflops roofline resnet50 --gpu v100-sxm2 --precision amp-fp16 --batch 256 --samples 1.28M --epochs 90 --gpus 8
          nnflops roofline model.spec --hardware my-gpu.json --gpu my-gpu
        """)

    @OptionGroup var specOptions: SpecOptions
    @OptionGroup(title: "Run configuration (the same as analyze)") var runOptions: RunOptions

    @Flag(help: "Run fp32 matmuls and convolutions on TF32 tensor cores (torch allow_tf32).")
    var tf32 = false
    @OptionGroup var hardware: HardwareOptions

    @Option(help: ArgumentHelp("GPU: \(GPUProfile.builtinIDs.joined(separator: ", ")), or the id of a --hardware file.", valueName: "id"))
    var gpu: String

    @Option(help: "Output format: table, json, csv or markdown.")
    var format: OutputFormat = .table

    @Option(help: "Rows of the table (largest time share first); 0 lists every entry.")
    var top: Int = 25

    @Option(help: ArgumentHelp("Also write a log-log roofline chart to this SVG file.", valueName: "file.svg"))
    var svg: String?

    @Option(help: ArgumentHelp("Training run: dataset size in samples (1.28M, 1281167).", valueName: "N"))
    var samples: String?

    @Option(help: "Training run: passes over the --samples.")
    var epochs: Double?

    @Option(help: ArgumentHelp("Training run: total tokens processed (sequence models), e.g. 300B.", valueName: "D"))
    var tokens: String?

    @Option(help: "Training run: GPUs in data parallel.")
    var gpus: Int?

    @Option(help: "Training run: fraction of the precision's dense matrix peak sustained (default 0.5).")
    var utilization: Double?

    func validate() throws {
        if top < 0 { throw ValidationError("--top must be 0 (all) or more") }
    }

    func run() throws {
        let extra = try hardware.profiles()
        let profile = try GPUProfile.named(gpu, extra: extra)
        let roof = try Roof(gpu: profile, tf32: tf32)
        let (graph, configuration) = try runOptions.run(specOptions)
        let costs = try CostAnalysis(graph: graph, options: specOptions.countOptions)
        let analysis = try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: configuration,
                                            attention: specOptions.attention)

        var trainingRun: TrainingRun? = nil
        if samples != nil || tokens != nil || epochs != nil || gpus != nil || utilization != nil {
            guard !configuration.inference else { throw NNFlopsError("--samples/--tokens describe a training run; drop --inference") }
            let request = TrainingRunRequest(samples: try samples.map { try Self.quantity($0, "--samples") }, epochs: epochs ?? 1,
                                             tokens: try tokens.map { try Self.quantity($0, "--tokens") }, gpus: gpus ?? 1,
                                             utilization: utilization ?? TrainingRunRequest.defaultUtilization)
            trainingRun = try TrainingRun(request: request, graph: graph, costs: costs, roofline: analysis)
        }
        let precisionLabel = configuration.precision.rawValue + (tf32 ? "+tf32" : "")
        let report = RooflineReport(graph: graph, analysis: analysis, trainingRun: trainingRun)
        if let svg {
            let text = SVGRoofline.render(analysis, model: graph.model, precision: precisionLabel)
            do {
                try text.write(toFile: svg, atomically: true, encoding: .utf8)
            } catch {
                throw NNFlopsError("cannot write '\(svg)': \(error.localizedDescription)")
            }
        }
        emit(try RooflineRenderer.render(report, format: format, top: top))
    }

    /// A count such as 1281167, 1.28M, 300B, 1.5e12.
    static func quantity(_ text: String, _ flag: String) throws -> Double {
        let suffixes: [Character: Double] = ["K": 1e3, "k": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12]
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        var scale = 1.0
        if let last = body.last, let s = suffixes[last] {
            scale = s
            body = body.dropLast()
        }
        guard let value = Double(body.replacingOccurrences(of: "_", with: "")), value.isFinite else {
            throw NNFlopsError("\(flag) expects a number such as 1281167, 1.28M or 300B (got '\(text)')")
        }
        return value * scale
    }
}
