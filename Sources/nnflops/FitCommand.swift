import ArgumentParser
import NNFlops

/// `nnflops fit`: the largest batch whose peak training memory fits a GPU or a memory
/// size, per precision policy and checkpointing policy (README, "`nnflops fit`").
struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "The largest batch that fits a GPU's memory, per precision and checkpoint policy.",
        usage: """
        nnflops fit <spec> --gpu <id> [<options>]
        nnflops fit <spec> --memory <size> [<options>]
        """,
        discussion: """
          nnflops fit resnet50 --gpu h100-sxm
          nnflops fit gpt2 --memory 24GiB --optimizer adamw --reserve 0.1
          nnflops fit model.spec --gpu a100-sxm-80gb --precision amp-bf16

        Rows: every precision policy with checkpointing none and sqrt; --precision and --checkpoint narrow them. A GPU gets only the policies it computes in: no bf16 on a V100. The spec needs a `batch` param.

        The usable memory is the capacity times 1 - reserve. A GPU's capacity is the total its driver reports, where a report is known, else its datasheet figure: see `nnflops gpus`. --memory takes byte units, 24GiB, 80GB or bytes: see "Numbers and units" in the README.

        Exit codes: 0 success, 2 a usage error or a bad spec.
        """)

    static let formats = FitReport.formats

    @OptionGroup var model: ModelOptions
    @OptionGroup var counting: CountingOptions
    @OptionGroup(title: "Training configuration") var training: TrainingOptions

    @Option(help: ArgumentHelp("GPU whose memory to fill: \(GPUProfile.builtinIDs.joined(separator: ", ")), or the id of a --hardware file.", valueName: "id"))
    var gpu: String?

    @OptionGroup var hardware: HardwareOptions

    @Option(help: ArgumentHelp("Memory size instead of a GPU: 24GiB, 80GB or bytes.", valueName: "size"), transform: ArgumentValue.bytes)
    var memory: Int?

    @Option(help: ArgumentHelp("Fraction of the memory kept for the framework, such as the CUDA context and allocator slack: at least 0, below 1.", valueName: "fraction"),
            transform: ArgumentValue.number(.fractionBelowOne))
    var reserve: Double = 0

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "fit"))
    var format: OutputFormat = .table

    func validate() throws {
        if (gpu == nil) == (memory == nil) { throw ValidationError("give exactly one of --gpu and --memory") }
        if gpu == nil && !hardware.hardwareFiles.isEmpty { throw ValidationError("--hardware adds a GPU for --gpu; with --memory it means nothing") }
    }

    func run() throws {
        let capacity: Int
        var profile: GPUProfile?
        if let gpu {
            let named = try GPUProfile.named(gpu, extra: try hardware.profiles())
            capacity = Int(named.usableMemoryBytes)
            profile = named
        } else if let memory {
            capacity = memory
        } else {
            throw ValidationError("give exactly one of --gpu and --memory")
        }
        // The precisions the GPU computes in (no bf16 on a V100), as `roofline` allows.
        var precisions = training.precision.map { [$0] } ?? PrecisionPolicy.allCases
        var unsupported: [PrecisionPolicy] = []
        if let profile {
            if let asked = training.precision { try profile.check(asked) }
            unsupported = precisions.filter { !profile.supports($0) }
            precisions = precisions.filter(profile.supports)
        }
        let usable = Int((Double(capacity) * (1 - reserve)).rounded(.down))
        let request = try model.request()
        let rows = try BatchFit.search(model: request, capacity: usable, base: training.configuration,
                                       precisions: precisions,
                                       checkpoints: training.checkpoint.map { [$0] } ?? [.none, .sqrt],
                                       attention: counting.attention)
        let source: FitReport.CapacitySource = profile.map { $0.reportedMemoryBytes != nil ? .reported : .datasheet } ?? .memory
        let report = FitReport(model: try request.graph().model, capacityBytes: capacity, usableBytes: usable,
                               optimizer: training.configuration.optimizer, rows: rows, gpu: profile?.id,
                               capacitySource: source, reserve: reserve, unsupportedPrecisions: unsupported.map(\.rawValue),
                               searchLimit: Limits.standard.batchSearch)
        emit(try report.render(format))
    }
}
