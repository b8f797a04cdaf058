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

/// `nnflops plan`: compute-optimal model and data size (design.md §7, README, "Planning").
struct PlanCommand: NamedCommand {
    static let commandName = "plan"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Chinchilla planning: compute-optimal parameters and tokens for a budget, training time, memory and a spec.",
        usage: """
        nnflops plan --compute <flops> [<options>]
        nnflops plan --params <count> [--tokens <count>] [<options>]
        nnflops plan --tokens <count> [<options>]
        """,
        discussion: """
        Give one or two of --compute, --params and --tokens: C = 6ND fixes the third.

          nnflops plan --compute 1e21            compute-optimal N and D per method
          nnflops plan --params 7B               compute-optimal tokens and compute
          nnflops plan --tokens 1.4T             the N for which D is optimal
          nnflops plan --params 7B --tokens 2T   a fixed run against the optimal one
          nnflops plan --compute 5.76e23 --gpu h100-sxm --gpus 1024 --mfu 0.4
          nnflops plan --compute 1e21 --emit-spec plan.spec

        --compute, --params and --tokens are counts, plain or scientific or with a suffix: 1e21, 2.5e9, 7B, 1.4T, 70M, 1.5K. See "Numbers and units" in the README.

        Methods, side by side: tokens20 is D = 20N; hoffmann is Hoffmann et al. 2022 approach 3, constants as printed; epoch is the Epoch AI refit, Besiroglu et al. 2024; kaplan is Kaplan et al. 2020, N = 1.3e9 x (C/8.64e19)^0.73. The default is epoch: it reproduces Chinchilla's own allocation, 70B parameters and 1.4T tokens at 5.76e23 FLOPs, with 72B and 1.33T, and predicts a loss, while the rounded printed constants put that optimum at 32B and 3.0T. --method picks the run that the fleet and spec sections use.

        The fleet section comes from the emitted spec's graph, trained with FSDP over the GPUs, Adam and bf16 (fp16 on the V100), one micro-batch of --micro-batch sequences per GPU per step: steps = tokens / (GPUs x micro-batch x seq); time = steps x the graph's step FLOPs per GPU / (dense tensor peak x MFU); the bound is the step on the fleet's roofline, FSDP communication included, with the MFU it implies; the fewest GPUs whose graph peak fits, without and with every block recomputed. C / (GPUs x peak x MFU) with C = 6ND is shown for comparison. GPUs: \(GPUProfile.builtinIDs.joined(separator: ", ")), or the id of a --hardware file.

        Exit codes: 0 success, 2 a usage error.
        """)

    static let formats = Plan.formats

    @Option(help: ArgumentHelp("Training compute budget C in FLOPs, e.g. 1e21.", valueName: "flops"), transform: ArgumentValue.count(in: Plan.computeRange))
    var compute: Double?

    @Option(help: ArgumentHelp("Parameters N, e.g. 7B.", valueName: "count"), transform: ArgumentValue.count(in: Plan.paramsRange))
    var params: Double?

    @Option(help: ArgumentHelp("Training tokens D, e.g. 1.4T.", valueName: "count"), transform: ArgumentValue.count(in: Plan.tokensRange))
    var tokens: Double?

    @Option(help: ArgumentHelp("The method whose run the fleet and spec sections use.", valueName: "method"))
    var method: ScalingMethod = .default

    @Option(help: ArgumentHelp("GPU for the fleet section: \(GPUProfile.builtinIDs.joined(separator: ", ")), or the id of a --hardware file.", valueName: "id"))
    var gpu: String?

    @OptionGroup var hardware: HardwareOptions

    @Option(help: ArgumentHelp("Number of GPUs; default 1.", valueName: "n"), transform: ArgumentValue.integer(atLeast: 1))
    var gpus: Int?

    @Option(help: ArgumentHelp("Model FLOPs utilisation, above 0 and at most 1; default 0.4.", valueName: "fraction"), transform: ArgumentValue.number(.fraction))
    var mfu: Double?

    @Option(name: .customLong("price-per-gpu-hour"), help: ArgumentHelp("Price of one GPU-hour, for the cost.", valueName: "dollars"),
            transform: ArgumentValue.nonNegativeCount)
    var pricePerGPUHour: Double?

    @Option(name: .customLong("micro-batch"), help: ArgumentHelp("Sequences per GPU per step in the fleet section; default 1.", valueName: "b"),
            transform: ArgumentValue.integer(in: Plan.microBatchRange))
    var microBatch: Int?

    @Option(help: ArgumentHelp("Sequence length of the emitted spec and the fleet section.", valueName: "s"), transform: ArgumentValue.integer(in: Plan.sequenceRange))
    var seq: Int = TransformerShape.defaultSequence

    @Option(help: ArgumentHelp("Vocabulary size of the emitted spec.", valueName: "v"), transform: ArgumentValue.integer(in: Plan.vocabRange))
    var vocab: Int = TransformerShape.defaultVocab

    @Option(name: .customLong("emit-spec"), help: ArgumentHelp("Write a decoder-only transformer spec with about N parameters to this file.", valueName: "file"))
    var emitSpec: String?

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "plan"))
    var format: OutputFormat = .table

    func validate() throws {
        if gpu == nil {
            let orphans = [("--gpus", gpus != nil), ("--mfu", mfu != nil), ("--price-per-gpu-hour", pricePerGPUHour != nil),
                           ("--micro-batch", microBatch != nil), ("--hardware", !hardware.hardwareFiles.isEmpty)].filter(\.1).map(\.0)
            if !orphans.isEmpty {
                throw ValidationError("\(orphans.joined(separator: ", ")) \(orphans.count == 1 ? "needs" : "need") --gpu (e.g. --gpu h100-sxm --gpus 1024 --mfu 0.4)")
            }
        }
    }

    func run() throws {
        // A spec path that cannot be written is refused before the plan is made.
        if let emitSpec { try OutputFile(path: emitSpec, role: "the spec").checkWritable() }
        var plan = try Plan(try request())
        if let path = emitSpec, let spec = plan.spec {
            try OutputFile(path: path, role: "the spec").write(spec.source)
            plan.spec?.path = path
        }
        emit(try plan.render(format))
    }

    /// The library request from the flags.
    func request() throws -> PlanRequest {
        let extra = try hardware.profiles()
        let fleet = gpu.map {
            FleetRequest(gpu: $0, gpus: gpus ?? 1, mfu: mfu ?? FleetRequest.defaultMFU, pricePerGPUHour: pricePerGPUHour,
                         microBatch: microBatch ?? 1, hardware: extra)
        }
        return PlanRequest(compute: compute, params: params, tokens: tokens, method: method, fleet: fleet,
                           emitSpec: emitSpec != nil, vocab: vocab, sequence: seq)
    }
}
