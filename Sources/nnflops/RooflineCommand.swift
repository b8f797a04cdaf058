import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNFlops

struct RooflineCommand: NamedCommand {
    static let commandName = "roofline"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Where each operator sits on a GPU's roofline, and a lower bound on the step time.",
        usage: "nnflops roofline <spec> --gpu <id> [<options>]",
        discussion: """
          nnflops roofline resnet50 --gpu h100-sxm --batch 32
          nnflops roofline gpt2 --gpu h100-sxm --precision amp-bf16 --svg gpt2.svg
          nnflops roofline resnet50 --gpu v100-sxm2 --precision amp-fp16 \\
              --batch 256 --samples 1.28M --epochs 90 --gpus 8
          nnflops roofline gpt3-175b --gpu a100-sxm-80gb --precision bf16 --gpus 1536 \\
              --tp 8 --pp 16 --batch 1536 --micro-batch 1 --checkpoint sqrt
          nnflops roofline model.spec --hardware my-gpu.json --gpu my-gpu

        For every operator and phase, forward, input_gradient, weight_gradient, recompute and optimizer, the report gives the FLOPs, the minimum bytes moved at the run's types, the arithmetic intensity, the bound, the attainable FLOP/s and the lower-bound time: the larger of FLOPs / peak and bytes / bandwidth.

        With a parallel layout the entries are one GPU's, of the stage that sets the step, and the step is m micro-batches plus the pipeline bubble plus the communication it waits for: tensor-parallel collectives and pipeline sends are exposed, the data-parallel gradient reduction overlaps the last backward except its last bucket.

        Matrix work, the multiply-accumulates, runs at the dense tensor-core peak of its type; in fp32, convolutions use TF32 tensor cores and matmuls the FP32 cores, as PyTorch does by default, and --tf32 changes which. Element-wise work runs at the vector peak. Peaks are dense datasheet figures: see `nnflops gpus`. --samples and --tokens take counts: 1.28M, 300B, 1e12.

        Exit codes: 0 success, 2 a usage error or a bad spec.
        """)

    static let formats = OutputFormat.allCases

    @OptionGroup var model: BatchedModelOptions
    @OptionGroup var counting: CountingOptions
    @OptionGroup(title: "Run configuration, as for analyze") var runOptions: RunOptions

    @Option(help: ArgumentHelp("The fp32 matrix work on TF32 tensor cores: torch's cudnn.allow_tf32 is conv, cuda.matmul.allow_tf32 is matmul. "
                               + "Default conv, PyTorch's defaults; none on GPUs without TF32.", valueName: "ops"))
    var tf32: TF32Ops?
    @OptionGroup var hardware: HardwareOptions

    @Option(help: ArgumentHelp("GPU: \(GPUProfile.builtinIDs.joined(separator: ", ")), or the id of a --hardware file.", valueName: "id"))
    var gpu: String

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "roofline"))
    var format: OutputFormat = .table

    @Option(help: ArgumentHelp("Rows of the entry table, largest time share first; 0 lists every entry.", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 0))
    var top: Int = 25

    @Option(help: ArgumentHelp("Also write a log-log roofline chart to this SVG file.", valueName: "file.svg"))
    var svg: String?

    @Option(help: ArgumentHelp("Training run: dataset size in samples, 1.28M or 1281167.", valueName: "N"), transform: ArgumentValue.positiveCount)
    var samples: Double?

    @Option(help: ArgumentHelp("Training run: passes over the --samples.", valueName: "E"), transform: ArgumentValue.number(.positive))
    var epochs: Double?

    @Option(help: ArgumentHelp("Training run: total tokens a sequence model processes, e.g. 300B.", valueName: "D"), transform: ArgumentValue.positiveCount)
    var tokens: Double?

    @Option(help: ArgumentHelp("Training run: fraction of the precision's dense matrix peak sustained, above 0 and at most 1; default 0.5.", valueName: "fraction"),
            transform: ArgumentValue.number(.fraction))
    var utilization: Double?

    var describesTrainingRun: Bool { samples != nil || tokens != nil || epochs != nil || utilization != nil }

    func validate() throws {
        if describesTrainingRun && runOptions.inference { throw ValidationError("--samples/--tokens describe a training run; drop --inference") }
    }

    func run() throws {
        // A chart path that cannot be written is refused before the analysis runs.
        if let svg { try OutputFile(path: svg, role: "the roofline chart").checkWritable() }
        let profile = try GPUProfile.named(gpu, extra: try hardware.profiles())
        let roof = try Roof(gpu: profile, tf32: tf32)
        let (graph, configuration) = try runOptions.run(try model.request())
        let costs = try CostAnalysis(graph: graph, options: counting.countOptions(for: configuration))
        if format != .json { warn(costs.warnings) }
        let request = TrainingRunRequest(samples: samples, epochs: epochs ?? 1, tokens: tokens, gpus: configuration.parallel.gpus,
                                         utilization: utilization ?? TrainingRunRequest.defaultUtilization)
        let report: RooflineReport
        let chart: RooflineAnalysis
        if configuration.parallel.isSingleGPU {
            let analysis = try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: configuration)
            let trainingRun = describesTrainingRun ? try TrainingRun(request: request, graph: graph, costs: costs, roofline: analysis) : nil
            report = RooflineReport(graph: graph, analysis: analysis, trainingRun: trainingRun, warnings: costs.warnings)
            chart = analysis
        } else {
            // A parallel layout: each stage's GPU on the roofline, the step with its bubble and
            // the communication it waits for (README, "Step time").
            let parallel = try ParallelAnalysis(graph: graph, options: counting.countOptions, configuration: configuration)
            let time = try ParallelStepTime(analysis: parallel, roof: roof)
            var trainingRun: TrainingRun? = nil
            if describesTrainingRun {
                let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration.onOneGPU)
                trainingRun = try TrainingRun(request: request, parallel: parallel, time: time, modelCosts: costs, modelMemory: memory,
                                              roof: roof, peak: time.stages[time.critical].roofline.peak)
            }
            var parallelReport = RooflineReport(parallel: parallel, time: time, trainingRun: trainingRun)
            parallelReport.warnings = costs.warnings.isEmpty ? nil : costs.warnings
            report = parallelReport
            chart = time.stages[time.critical].roofline
        }
        if let svg { try OutputFile(path: svg, role: "the roofline chart").write(SVGRoofline.render(chart, report: report)) }
        let output = try RooflineRenderer.render(report, format: format, top: top)
        ProcessLifetime.keepUntilExit(graph, costs, chart, report, output)
        emit(output)
    }
}
