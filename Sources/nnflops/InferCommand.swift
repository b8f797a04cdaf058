import ArgumentParser
import NNFlops

/// `nnflops infer`: LLM inference on one GPU (README, "Inference"): prefill, decode, the KV
/// cache, memory and how many sequences or how long a context fit.
struct InferCommand: NamedCommand {
    static let commandName = "infer"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "LLM inference: prefill and decode lower bounds, the KV cache, memory and capacity on a GPU.",
        usage: "nnflops infer <spec> --prompt <P> --generate <G> [<options>]",
        discussion: """
          nnflops infer gpt2 --prompt 512 --generate 128
          nnflops infer config.json --prompt 2048 --generate 256 --batch 16
          nnflops infer llama2-7b --prompt 1024 --generate 64 --weight-precision int8
          nnflops infer gpt2 --prompt 512 --generate 64 --kv-precision fp8
          nnflops infer gpt2 --prompt 256 --generate 64 --reserve 0.1 --format json
          nnflops infer llama2-7b --prompt 1024 --generate 64 --tp 2

        The model runs at the prompt's length for the prefill, the time to first token, and at one token per sequence for each of the G decode steps, whose token sits at positions P to P + G - 1 and attends to the keys its causal attention cached: with a sliding window, its last W. Times are roofline lower bounds on the GPU: peak FLOP/s or full bandwidth per kernel, no launch or host overhead.

        The spec needs a `seq` param, and a `batch` param for --batch and the largest batch. P + G must fit the model's positions when it declares them: a param positions, n_positions, max_position_embeddings or max_positions.

        Exit codes: 0 success, 2 a usage error or a bad spec.
        """)

    /// The model's type in inference (`model.to(dtype)`).
    enum Precision: String, CaseIterable, ExpressibleByArgument {
        case bf16, fp16, fp32
        var policy: PrecisionPolicy {
            switch self {
            case .bf16: .bf16
            case .fp16: .fp16
            case .fp32: .fp32
            }
        }
        static var allValueDescriptions: [String: String] {
            ["bf16": "model.to(torch.bfloat16)", "fp16": "model.to(torch.float16)", "fp32": "float32, matmuls on the FP32 units"]
        }
    }

    static let formats = InferenceReport.formats

    @OptionGroup var model: ModelOptions

    @Option(help: ArgumentHelp("Prompt tokens per sequence: the prefill's length.", valueName: "P"), transform: ArgumentValue.integer(atLeast: 1))
    var prompt: Int

    @Option(help: ArgumentHelp("Tokens to generate per sequence: decode steps at positions P to P + G - 1.", valueName: "G"),
            transform: ArgumentValue.integer(atLeast: 1))
    var generate: Int

    @Option(help: ArgumentHelp("Sequences decoded together: sets the spec's `batch` param. Default: the spec's.", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 1))
    var batch: Int?

    @Option(help: ArgumentHelp("GPU: \(GPUProfile.builtinIDs.joined(separator: ", ")), or the id of a --hardware file. Default: h100-sxm.", valueName: "id"))
    var gpu: String?

    @OptionGroup var hardware: HardwareOptions

    @Option(help: "The model's type.")
    var precision: Precision = .bf16

    @Option(name: .customLong("weight-precision"),
            help: ArgumentHelp("The stored weights' precision: the bytes read, the model's size and, for int8 and fp8, the tensor cores. "
                               + "Default: the model's type.", valueName: "precision"))
    var weightPrecision: WeightPrecision?

    @Option(name: .customLong("kv-precision"), help: ArgumentHelp("The KV cache's element type. Default: the model's type.", valueName: "precision"))
    var kvPrecision: KVCachePrecision?

    @Option(help: ArgumentHelp("Fraction of the GPU's memory kept for the framework (capacity): at least 0, below 1.", valueName: "fraction"),
            transform: ArgumentValue.number(.fractionBelowOne))
    var reserve: Double = 0

    @Option(name: .customLong("tp"),
            help: ArgumentHelp("Tensor-parallel GPUs T on one node: the model split as Megatron splits it (its parallel annotations), "
                               + "every figure one GPU's, the all-reduces priced over the GPU link.", valueName: "t"))
    var tensorParallel: Int = 1

    @OptionGroup var counting: CountingOptions

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "infer"))
    var format: OutputFormat = .table

    func run() throws {
        let profile = try GPUProfile.named(gpu ?? "h100-sxm", extra: try hardware.profiles())
        let request = InferenceRequest(prompt: prompt, generate: generate, batch: batch, precision: precision.policy,
                                       weightPrecision: weightPrecision, kvPrecision: kvPrecision,
                                       attention: counting.attention, gpu: profile, reserve: reserve, tensorParallel: tensorParallel)
        let analysis = try InferenceAnalysis(model: try model.request(), request: request)
        emit(try InferenceReport(analysis).render(format))
    }
}
