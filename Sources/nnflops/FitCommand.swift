import ArgumentParser
import NNFlops

/// `nnflops fit`: the largest batch whose peak training memory fits a GPU or a memory
/// size, per precision policy and checkpointing policy (README, "`nnflops fit`").
struct FitCommand: NamedCommand {
    static let commandName = "fit"
    static let configuration = CommandConfiguration(
        commandName: commandName,
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

        On many GPUs: with a layout (--tp, --pp, --zero, ...) each row is the largest micro-batch per GPU whose worst pipeline stage fits. --gpus N alone searches the layouts of N GPUs, T within a node, P and every ZeRO stage, and prints those that fit, fastest first: it needs --gpu and --global-batch, and uses --precision (default bf16, fp16 on a V100) and --checkpoint (default none).
          nnflops fit gpt3-175b --gpu a100-sxm-80gb --gpus 1536 \\
              --tp 8 --pp 16 --precision bf16
          nnflops fit gpt2 --gpu h100-sxm --gpus 16 --global-batch 512

        The usable memory is the capacity times 1 - reserve. A GPU's capacity is the total its driver reports, where a report is known, else its datasheet figure: see `nnflops gpus`. --memory takes byte units, 24GiB, 80GB or bytes: see "Numbers and units" in the README.

        Exit codes: 0 success, 2 a usage error or a bad spec.
        """)

    static let formats = FitReport.formats

    @OptionGroup var model: ModelOptions
    @OptionGroup var counting: CountingOptions
    @OptionGroup(title: "Training configuration") var training: TrainingOptions
    @OptionGroup(title: "Parallel layout") var parallel: ParallelOptions

    @Option(name: .customLong("global-batch"),
            help: ArgumentHelp("With a parallel layout: the global batch, D x micro-batches x micro-batch; the micro-batch divides its share of a data-parallel rank. "
                               + "Needed to search layouts (--gpus N alone).", valueName: "b"),
            transform: ArgumentValue.integer(atLeast: 1))
    var globalBatch: Int?

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

    /// --gpus N alone: search the layouts.
    var searchesLayouts: Bool {
        parallel.gpus != nil && parallel.tensor == nil && parallel.pipeline == nil && parallel.zero == nil && !parallel.fsdp
            && parallel.schedule == nil && parallel.splitPoints == nil
    }

    func validate() throws {
        if (gpu == nil) == (memory == nil) { throw ValidationError("give exactly one of --gpu and --memory") }
        if searchesLayouts && globalBatch == nil {
            throw ValidationError("--gpus \(parallel.gpus ?? 0) alone searches layouts for a global batch: give --global-batch B (or a layout: --tp, --pp, --zero)")
        }
        if searchesLayouts && gpu == nil { throw ValidationError("the layout search ranks layouts by step time: it needs --gpu, not --memory") }
        if globalBatch != nil && !parallel.isActive { throw ValidationError("--global-batch goes with a parallel layout (--gpus, --tp, --pp, ...)") }
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
        if parallel.isActive {
            try runLayouts(request: request, capacity: capacity, usable: usable, profile: profile, precisions: precisions, unsupported: unsupported)
            return
        }
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

    /// Many GPUs: one layout per precision and checkpoint policy, or the search.
    func runLayouts(request: ModelRequest, capacity: Int, usable: Int, profile: GPUProfile?, precisions: [PrecisionPolicy],
                    unsupported: [PrecisionPolicy]) throws {
        let source: FitReport.CapacitySource = profile.map { $0.reportedMemoryBytes != nil ? .reported : .datasheet } ?? .memory
        let roof = try profile.map { try Roof(gpu: $0) }
        var report = FitReport(model: try request.graph().model, capacityBytes: capacity, usableBytes: usable,
                               optimizer: training.configuration.optimizer, rows: [], gpu: profile?.id, capacitySource: source, reserve: reserve,
                               unsupportedPrecisions: unsupported.map(\.rawValue))
        report.globalBatch = globalBatch
        var base = training.configuration
        if searchesLayouts, let roof, let globalBatch, let gpus = parallel.gpus {
            base.precision = training.precision ?? (profile?.bf16Tensor != nil ? .bf16 : .fp16)
            base.checkpoint = training.checkpoint ?? .none
            base.parallel = ParallelLayout(gpus: gpus, sequenceParallel: parallel.sequenceParallel,
                                           gpusPerNode: parallel.gpusPerNode ?? ParallelLayout.defaultGPUsPerNode)
            let result = try ParallelFit.search(model: request, capacity: usable, base: base, gpus: gpus, globalBatch: globalBatch, roof: roof,
                                                attention: counting.attention)
            report.layouts = result.fits
            report.layoutsTried = result.tried
            report.refusedLayouts = result.refused
            report.searched = true
        } else {
            base.parallel = try parallel.layout()
            var rows: [ParallelFit.Row] = []
            for precision in precisions {
                for checkpoint in training.checkpoint.map({ [$0] }) ?? [.none, .sqrt] {
                    var configuration = base
                    configuration.precision = precision
                    configuration.checkpoint = checkpoint
                    let row = try ParallelFit.largestMicroBatch(model: request, capacity: usable, configuration: configuration,
                                                                globalBatch: globalBatch, attention: counting.attention, roof: roof)
                    rows.append(row)
                }
            }
            report.layouts = rows
        }
        emit(try report.render(format))
    }
}
