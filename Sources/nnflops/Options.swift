import ArgumentParser
import NNFlops

// The option groups the subcommands share, and the parsers of option values. Each
// option is declared once; a command offers a group only when every option in it means
// something for the command.

/// Parsers of option values. Every bad value reads the same way, through ArgumentParser:
/// `Error: The value '0' is invalid for '--batch <n>': must be at least 1`, and exits 2.
enum ArgumentValue {
    /// An integer of at least `minimum`.
    static func integer(atLeast minimum: Int) -> @Sendable (String) throws -> Int {
        { text in
            guard let value = Int(text) else { throw ValidationError(notAnInteger(text)) }
            guard value >= minimum else { throw ValidationError("must be at least \(minimum)") }
            return value
        }
    }

    /// An integer in `range` (plan's `Plan.vocabRange` and the like).
    static func integer(in range: ClosedRange<Int>) -> @Sendable (String) throws -> Int {
        { text in
            guard let value = Int(text) else { throw ValidationError(notAnInteger(text)) }
            guard value >= range.lowerBound else { throw ValidationError("must be at least \(range.lowerBound)") }
            guard value <= range.upperBound else {
                throw ValidationError("'\(text)' is out of range (\(range.lowerBound) to \(range.upperBound.groupedDigits))")
            }
            return value
        }
    }

    /// Why `text` is not an Int: too many digits for 64 bits, or not a whole number.
    static func notAnInteger(_ text: String) -> String {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
            ? "'\(text)' is out of range (beyond 64 bits)" : "not an integer"
    }

    /// Ranges a decimal number option can ask for.
    enum Range: Sendable {
        /// > 0.
        case positive
        /// >= 0.
        case nonNegative
        /// In (0, 1].
        case fraction
        /// In [0, 1).
        case fractionBelowOne

        func contains(_ value: Double) -> Bool {
            switch self {
            case .positive: value > 0
            case .nonNegative: value >= 0
            case .fraction: value > 0 && value <= 1
            case .fractionBelowOne: value >= 0 && value < 1
            }
        }

        var requirement: String {
            switch self {
            case .positive: "must be a positive number"
            case .nonNegative: "must be a non-negative number"
            case .fraction: "must be in (0, 1]"
            case .fractionBelowOne: "must be in [0, 1)"
            }
        }
    }

    /// A finite decimal number (plain or scientific notation, no unit) in `range`.
    static func number(_ range: Range) -> @Sendable (String) throws -> Double {
        { text in
            let number = try quantity { try Quantity.parse(text) }
            if let unit = number.unit { throw ValidationError("takes a plain number, not a unit ('\(unit.rawValue)')") }
            guard range.contains(number.value) else { throw ValidationError(range.requirement) }
            return number.value
        }
    }

    /// A count with the vocabulary's count suffixes (`7B`, `1.28M`, `1e21`; README,
    /// "Numbers and units"), positive.
    @Sendable static func positiveCount(_ text: String) throws -> Double {
        let value = try quantity { try Quantity.count(text) }
        guard value > 0 else { throw ValidationError("must be a positive number") }
        return value
    }

    /// A count of at least 0 (`--price-per-gpu-hour`).
    @Sendable static func nonNegativeCount(_ text: String) throws -> Double {
        let value = try quantity { try Quantity.count(text) }
        guard value >= 0 else { throw ValidationError("must be a non-negative number") }
        return value
    }

    /// A positive count within `range` (plan's `Plan.computeRange` and the like).
    static func count(in range: ClosedRange<Double>) -> @Sendable (String) throws -> Double {
        { text in
            let value = try positiveCount(text)
            guard range.contains(value) else {
                throw ValidationError("outside the supported range \(PlanQuantity.scientific(range.lowerBound))...\(PlanQuantity.scientific(range.upperBound))")
            }
            return value
        }
    }

    /// A byte size with the vocabulary's byte units (`24GiB`, `80GB`, bytes).
    @Sendable static func bytes(_ text: String) throws -> Int {
        try quantity { try Quantity.bytes(text) }
    }

    /// `NAME=VALUE` of `--set`.
    @Sendable static func setting(_ text: String) throws -> String {
        do {
            _ = try SpecLoader.parseOverride(text)
        } catch let error as NNFlopsError {
            // The option is named already: `... for '--set <name=value>': batch: the number ...`.
            throw ValidationError(error.message.hasPrefix("--set expects") ? "expects NAME=VALUE"
                                  : error.message.hasPrefix("--set ") ? String(error.message.dropFirst(6)) : error.message)
        }
        return text
    }

    static func quantity<T>(_ parse: () throws -> T) throws -> T {
        do {
            return try parse()
        } catch let error as NNFlopsError {
            throw ValidationError(error.message)
        }
    }

    /// One of the output formats a command writes.
    static func format(_ supported: [OutputFormat], command: String) -> @Sendable (String) throws -> OutputFormat {
        { text in
            guard let format = OutputFormat(argument: text), supported.contains(format) else {
                let known = OutputFormat(argument: text) != nil
                throw ValidationError("\(known ? "" : "not a format; ")\(command) writes \(OutputFormat.list(supported))")
            }
            return format
        }
    }
}

// Closed sets list their values once, one per line with what each means (ArgumentParser's
// enumerated help, from `allValueDescriptions`); the option's own help does not repeat them.
extension OutputFormat: ExpressibleByArgument {}
extension AttentionConvention: ExpressibleByArgument {
    public static var allValueDescriptions: [String: String] {
        ["dense": "the full n x n score matrix even when causal, as FlopCounterMode and papers count",
         "executed": "what the implementation runs: fused causal attention skips the masked half"]
    }
}
extension Optimizer: ExpressibleByArgument {
    /// State tensors and step FLOPs per parameter, from the optimizer's own figures.
    public static var allValueDescriptions: [String: String] {
        Dictionary(uniqueKeysWithValues: allCases.map { optimizer in
            let state = optimizer.stateTensors == 0 ? "no state" : optimizer.stateTensors == 1 ? "1 state tensor" : "\(optimizer.stateTensors) state tensors"
            return (optimizer.rawValue, "\(state), \(optimizer.flopsPerParameter) FLOPs per parameter")
        })
    }
}
extension PrecisionPolicy: ExpressibleByArgument {
    public static var allValueDescriptions: [String: String] {
        ["fp32": "every tensor as declared",
         "amp-bf16": "torch.autocast to bf16: matmuls and convolutions in bf16, fp32 weights and state",
         "amp-fp16": "torch.autocast to fp16, as amp-bf16",
         "bf16": "pure bf16 weights, activations and gradients, fp32 master weights",
         "fp16": "pure fp16, as bf16"]
    }
}
extension WeightPrecision: ExpressibleByArgument {
    public static var allValueDescriptions: [String: String] {
        ["fp32": "4 bytes per weight", "fp16": "2 bytes per weight", "bf16": "2 bytes per weight",
         "int8": "1 byte per weight; int8 tensor cores where the GPU has them", "int4": "half a byte per weight, rounded up per tensor",
         "fp8": "1 byte per weight; fp8 tensor cores where the GPU has them"]
    }
}
extension KVCachePrecision: ExpressibleByArgument {
    public static var allValueDescriptions: [String: String] {
        ["fp8": "1 byte per cached element", "bf16": "2 bytes per cached element", "fp16": "2 bytes per cached element"]
    }
}
extension CheckpointPolicy: ExpressibleByArgument {
    public static var allValueStrings: [String] { CheckpointPolicy.spellings }
    public var defaultValueDescription: String { description }
    public static var allValueDescriptions: [String: String] {
        ["none": "keep every activation",
         "sqrt": "checkpoint_sequential with round(sqrt(L)) segments of the L units",
         "segments=K": "checkpoint_sequential with K segments; all but the last are recomputed in backward",
         "each=GLOB": "checkpoint each block matching GLOB, as gradient_checkpointing_enable does: each=h.*",
         "selective": "recompute only the attention cores, Korthikanti et al. 2022"]
    }
}
extension ZeROStage: ExpressibleByArgument {
    public init?(argument: String) {
        guard let stage = Int(argument).flatMap(ZeROStage.init(rawValue:)) else { return nil }
        self = stage
    }
    public static var allValueStrings: [String] { allCases.map { String($0.rawValue) } }
    public var defaultValueDescription: String { String(rawValue) }
    public static var allValueDescriptions: [String: String] {
        ["0": "plain data parallelism: every rank holds everything",
         "1": "shard the optimizer state; with pure half, the fp32 master weights too",
         "2": "also shard the gradients",
         "3": "also shard the parameters, gathered per top-level unit (FSDP; --fsdp)"]
    }
}
extension PipelineSchedule: ExpressibleByArgument {
    public static var allValueStrings: [String] { PipelineSchedule.spellings }
    public var defaultValueDescription: String { description }
    public static var allValueDescriptions: [String: String] {
        ["1f1b": "one forward, one backward (PipeDream-Flush): stage i holds P - i micro-batches",
         "gpipe": "every forward, then every backward: each stage holds all m micro-batches",
         "interleaved=V": "Megatron's interleaved 1F1B with V model chunks per GPU: the bubble shrinks by V"]
    }
}
extension TF32Ops: ExpressibleByArgument {
    public static var allValueStrings: [String] { TF32Ops.spellings }
    public static var allValueDescriptions: [String: String] {
        ["conv": "convolutions on TF32, matmuls on FP32 cores: PyTorch's defaults",
         "matmul": "matmuls, linear and attention on TF32, convolutions on FP32 cores",
         "all": "both on TF32, as allow_tf32 = True for both",
         "none": "every fp32 matrix product on the FP32 cores"]
    }
}
extension CheckpointUnits: ExpressibleByArgument {
    public var defaultValueDescription: String { description }
}
extension ScalingMethod: ExpressibleByArgument {
    /// Method names are case-insensitive (`--method Epoch`).
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
    public static var allValueDescriptions: [String: String] {
        ["tokens20": "D = 20N, the rule of thumb", "hoffmann": "Hoffmann et al. 2022 approach 3, constants as printed",
         "epoch": "the Epoch AI refit of approach 3, Besiroglu et al. 2024", "kaplan": "Kaplan et al. 2020"]
    }
}

/// `--format` with the formats a command writes; the help lists them.
func formatHelp(_ supported: [OutputFormat]) -> ArgumentHelp {
    ArgumentHelp("Output format: \(OutputFormat.list(supported)); default table.", valueName: "format")
}

/// The model: a spec file or a zoo name, and `--set` overrides (every command that reads
/// a model).
struct ModelOptions: ParsableArguments {
    @Argument(help: "A .spec file, an ONNX file, a Hugging Face config.json, or the name of a built-in model: see `nnflops zoo`.")
    var spec: String

    @Option(name: .customLong("set"),
            help: ArgumentHelp("Override a spec param: --set seq=2048; repeatable. Values take the units of \"Numbers and units\" in the README.", valueName: "name=value"),
            transform: ArgumentValue.setting)
    var overrides: [String] = []

    func request(batch: Int? = nil) throws -> ModelRequest {
        try ModelRequest(spec, settings: overrides, batch: batch)
    }
}

/// The model and `--batch` (every command that runs the model at one batch size).
struct BatchedModelOptions: ParsableArguments {
    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("Batch size: sets the spec's `batch` param.", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 1))
    var batch: Int?

    func request() throws -> ModelRequest { try model.request(batch: batch) }
}

/// How attention FLOPs are counted (every command that prices attention analytically;
/// `validate` compares against what its kernels execute, so it has no choice).
struct CountingOptions: ParsableArguments {
    @Option(name: .customLong("attention-flops"),
            help: ArgumentHelp("How attention is counted.", valueName: "convention"))
    var attention = CountOptions().attention

    var countOptions: CountOptions { CountOptions(attention: attention) }

    /// The counting options of a run: attention's kernel follows its precision and cache.
    func countOptions(for configuration: RunConfiguration) -> CountOptions { countOptions.run(configuration) }
}

/// How the model is trained (README, "Training and inference memory"): shared by
/// analyze, check, roofline (inside `RunOptions`) and fit.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Optimizer: its step FLOPs and state. Default adam.")
    var optimizer: Optimizer?

    @Option(help: "Precision policy. Default fp32; fit tries every policy.")
    var precision: PrecisionPolicy?

    @Option(help: ArgumentHelp("Activation checkpointing. Default none; fit tries none and sqrt.", valueName: "policy"))
    var checkpoint: CheckpointPolicy?

    @Option(name: .customLong("checkpoint-units"),
            help: ArgumentHelp("With --checkpoint sqrt or segments=K: the sequence's units, a name glob (encoder.layer.*) or depth=N. Default: inferred from names.", valueName: "units"))
    var checkpointUnits: CheckpointUnits?

    @Option(name: .customLong("weight-decay"), help: ArgumentHelp("Weight decay: coupled optimizers add 2 FLOPs per parameter and a temporary.", valueName: "w"),
            transform: ArgumentValue.number(.nonNegative))
    var weightDecay: Double?

    @Option(name: .customLong("grad-clip"), help: ArgumentHelp("Clip the gradient norm to this value, as clip_grad_norm_ does.", valueName: "max-norm"),
            transform: ArgumentValue.number(.positive))
    var gradClip: Double?

    @Option(name: .customLong("use-cache"),
            help: ArgumentHelp("transformers' use_cache: true, its default in training too, keeps the KV cache's copies of " +
                "k and v for attention marked cache = true; false as under gradient checkpointing.", valueName: "true|false"))
    var useCache: Bool?

    func validate() throws {
        if checkpointUnits != nil && !(checkpoint?.usesUnitSequence ?? false) {
            throw ValidationError("--checkpoint-units goes with --checkpoint sqrt or segments=K (each=GLOB names its own units)")
        }
    }

    var isActive: Bool {
        optimizer != nil || precision != nil || checkpoint != nil || checkpointUnits != nil || weightDecay != nil || gradClip != nil
            || useCache != nil
    }

    /// The configuration with the defaults (adam, fp32, no checkpointing, the KV cache on).
    var configuration: RunConfiguration {
        RunConfiguration(optimizer: optimizer ?? .adam, precision: precision ?? .fp32, checkpoint: checkpoint ?? .none,
                         weightDecay: weightDecay ?? 0, gradClip: gradClip, useCache: useCache ?? true,
                         checkpointUnits: checkpointUnits ?? .inferred)
    }
}

/// The parallel layout (README, "Training on many GPUs"): shared by analyze, check,
/// roofline (inside `RunOptions`) and fit.
struct ParallelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("GPUs in all, N = D x T x P: D = N / (T x P) data-parallel ranks share the global --batch. Default T x P.", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 1))
    var gpus: Int?

    @Option(name: .customLong("tp"),
            help: ArgumentHelp("Tensor-parallel ranks T: operators annotated parallel = \"column\" / \"row\" / \"vocab\" and attention split over them; "
                               + "the rest is replicated. Default 1.", valueName: "t"),
            transform: ArgumentValue.integer(atLeast: 1))
    var tensor: Int?

    @Option(name: .customLong("pp"), help: ArgumentHelp("Pipeline stages P over the top-level units, balanced by FLOPs. Default 1.", valueName: "p"),
            transform: ArgumentValue.integer(atLeast: 1))
    var pipeline: Int?

    @Option(help: ArgumentHelp("ZeRO stage over the data-parallel ranks.", valueName: "stage"))
    var zero: ZeROStage?

    @Flag(help: "FSDP: the name for --zero 3.")
    var fsdp = false

    @Flag(name: .customLong("sequence-parallel"), help: "With --tp: split the norms' and dropouts' activations along the sequence, with reduce-scatter and all-gather instead of all-reduce.")
    var sequenceParallel = false

    @Option(name: .customLong("pipeline-schedule"), help: ArgumentHelp("With --pp: the schedule. Default 1f1b.", valueName: "schedule"))
    var schedule: PipelineSchedule?

    @Option(name: .customLong("pipeline-split"), help: ArgumentHelp("With --pp: the top-level units that start stages 2, 3, ... (h.6,h.12), instead of balancing by FLOPs.", valueName: "units"))
    var splitPoints: String?

    @Option(name: .customLong("gpus-per-node"), help: ArgumentHelp("GPUs per node, joined by NVLink (PCIe cards: PCIe); nodes by the network. Default 8.", valueName: "g"),
            transform: ArgumentValue.integer(atLeast: 1))
    var gpusPerNode: Int?

    var isActive: Bool {
        gpus != nil || tensor != nil || pipeline != nil || zero != nil || fsdp || sequenceParallel || schedule != nil || splitPoints != nil || gpusPerNode != nil
    }

    func validate() throws {
        if fsdp, let zero, zero != .parameters { throw ValidationError("--fsdp is --zero 3; it cannot go with --zero \(zero.rawValue)") }
    }

    /// The layout the options describe (N defaults to T x P); checked as a whole.
    func layout(inference: Bool = false) throws -> ParallelLayout {
        let t = tensor ?? 1, p = pipeline ?? 1
        var layout = ParallelLayout(gpus: gpus ?? t * p, tensor: t, pipeline: p, zero: fsdp ? .parameters : zero ?? .none,
                                    sequenceParallel: sequenceParallel, schedule: schedule ?? .oneForwardOneBackward,
                                    gpusPerNode: gpusPerNode ?? ParallelLayout.defaultGPUsPerNode)
        if let splitPoints {
            layout.splitPoints = splitPoints.split(separator: ",").map { $0.trimmingWhitespace() }
        }
        try layout.validate()
        if layout.zero != .none {
            if inference { throw NNFlopsError("--zero and --fsdp shard training state; an --inference run has none") }
            if layout.data <= 1 {
                throw NNFlopsError("--zero \(layout.zero.rawValue) shards over the data-parallel ranks, but --gpus \(layout.gpus) / (--tp \(t) x --pp \(p)) leaves one",
                                   notes: ["note: give --gpus N with N a multiple of T x P larger than it"])
            }
        }
        return layout
    }
}

/// The whole run configuration (README, "Training and inference memory"): training,
/// gradient accumulation, inference and the parallel layout. Shared by analyze, check and
/// roofline.
struct RunOptions: ParsableArguments {
    @OptionGroup var training: TrainingOptions
    @OptionGroup(title: "Parallel layout") var parallel: ParallelOptions

    @Option(name: .customLong("micro-batch"),
            help: ArgumentHelp("Gradient accumulation: micro-batch size M; --batch (the global batch with --gpus) must be a multiple of it (of D x M).",
                               valueName: "m"),
            transform: ArgumentValue.integer(atLeast: 1))
    var microBatch: Int?

    @Flag(help: "Inference: forward only, no saved activations, gradients or optimizer state.")
    var inference = false

    @Flag(name: .customLong("fold-bn"), help: "With --inference: fold batchnorm into the preceding conv or linear.")
    var foldBN = false

    @Option(name: .customLong("weight-precision"), help: ArgumentHelp("With --inference: the precision weights are stored in, the model's size.", valueName: "precision"))
    var weightPrecision: WeightPrecision?

    /// Whether any run option was given.
    var isActive: Bool { training.isActive || microBatch != nil || inference || foldBN || weightPrecision != nil || parallel.isActive }

    func validate() throws {
        if foldBN && !inference { throw ValidationError("--fold-bn needs --inference (batchnorm folds only with frozen statistics)") }
        if weightPrecision != nil && !inference { throw ValidationError("--weight-precision needs --inference") }
        if inference && (training.checkpoint != nil || training.checkpointUnits != nil || microBatch != nil || training.optimizer != nil) {
            throw ValidationError("--inference takes no --optimizer, --checkpoint or --micro-batch")
        }
    }

    func configuration() throws -> RunConfiguration {
        var configuration = training.configuration
        configuration.inference = inference
        configuration.weightPrecision = weightPrecision
        configuration.parallel = try parallel.layout(inference: inference)
        return configuration
    }

    /// The graph one micro-batch runs and its configuration (`ModelRequest.run`).
    func run(_ model: ModelRequest) throws -> (graph: Graph, configuration: RunConfiguration) {
        try model.run(try configuration(), microBatch: microBatch, foldNormalizations: foldBN)
    }
}

/// Where user hardware files come in (`--hardware my-gpu.json`, repeatable).
struct HardwareOptions: ParsableArguments {
    @Option(name: .customLong("hardware"),
            help: ArgumentHelp("A JSON file describing your own GPU, repeatable; its id becomes a --gpu choice. The README describes the format under \"Your own hardware\".", valueName: "file.json"))
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
