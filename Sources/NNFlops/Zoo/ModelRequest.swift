#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A model as a command asks for it: where it comes from (a spec file or a zoo name), the
/// params it overrides (`--set`) and its batch (`--batch`). Made once per command, it
/// produces the graph at any batch: `fit` probes many, `--micro-batch` elaborates at the
/// micro-batch, `validate --scale` at smaller inputs. The model is read and parsed once,
/// here; each graph is an elaboration of that parse.
public struct ModelRequest: Sendable {
    /// The path or zoo name, as given.
    public let reference: String
    /// `--set` values by param name.
    public private(set) var overrides: [String: Value]
    /// `--batch`: the value of the `batch` param (nil: the model's own).
    public let batch: Int?
    let model: LoadedModel

    /// A model read through one of the front ends. `load` picks the front end by the
    /// reference's file extension: a new format (an ONNX file, a Hugging Face
    /// `config.json`) is one more case here and one more branch in `load`, and produces
    /// graphs through `graph(overrides:)` like a spec does.
    enum LoadedModel: Sendable {
        /// A spec (a `.spec` file or a zoo name), parsed.
        case spec(file: String, lines: SourceLines, program: [Statement])
        /// A Hugging Face `config.json` (README, "Hugging Face configs"), read once.
        case huggingFace(HuggingFaceModel)
        /// An ONNX file (README, "Reading ONNX files"), decoded once: shapes only.
        case onnx(ONNXModel)

        static func load(_ reference: String) throws -> LoadedModel {
            switch PathText.pathExtension(of: reference).lowercased() {
            case "onnx":
                return .onnx(try ONNXModel(contentsOf: reference))
            case "json":
                return .huggingFace(try HuggingFaceModel(json: try SpecLoader.readFile(reference), file: reference))
            default:
                // `.spec` files, and names of the built-in zoo (which have no extension).
                let (source, file) = try SpecLoader.load(reference)
                let lines = SourceLines(source)
                return .spec(file: file, lines: lines, program: try Parser.parse(lines: lines, file: file))
            }
        }

        /// `flags`: how the user set an override other than by `--set` (`--batch 8`), for
        /// messages.
        func graph(overrides: [String: Value], flags: [String: String] = [:]) throws -> Graph {
            switch self {
            case .spec(let file, let lines, let program):
                try Elaborator.elaborate(program: program, lines: lines, file: file, overrides: overrides, overrideFlags: flags)
            case .huggingFace(let model):
                try model.graph(overrides: overrides, overrideFlags: flags)
            case .onnx(let model):
                try model.graph(overrides: overrides)
            }
        }
    }

    /// Reads and parses the model. `overrides` replace param defaults; `batch` sets the
    /// `batch` param.
    public init(_ reference: String, overrides: [String: Value] = [:], batch: Int? = nil) throws {
        if let batch, batch < 1 { throw NNFlopsError("--batch must be at least 1, got \(batch)") }
        self.reference = reference
        self.overrides = overrides
        self.batch = batch
        self.model = try LoadedModel.load(reference)
    }

    /// The same, with overrides as `--set NAME=VALUE` texts.
    public init(_ reference: String, settings: [String], batch: Int? = nil) throws {
        var values: [String: Value] = [:]
        for text in settings {
            let (name, value) = try SpecLoader.parseOverride(text)
            if let batch, name == "batch" {
                throw NNFlopsError("--batch \(batch) and --set \(text) both set the batch: give one of them")
            }
            if let earlier = values[name], earlier.description != value.description {
                throw NNFlopsError("--set gives '\(name)' twice (\(earlier) and \(value)): give it once")
            }
            values[name] = value
        }
        try self.init(reference, overrides: values, batch: batch)
    }

    /// The graph at the requested batch.
    public func graph() throws -> Graph {
        guard let batch else { return try model.graph(overrides: overrides) }
        return try graph(batch: batch, flag: "--batch \(batch)")
    }

    /// The graph at batch `batch`, whatever `--batch` asked for; `flag` is how an error
    /// about the `batch` param names where the batch came from (`--micro-batch 4`).
    public func graph(batch: Int, flag: String? = nil) throws -> Graph {
        guard batch >= 1 else { throw NNFlopsError("the batch must be at least 1, got \(batch)") }
        var values = overrides
        values["batch"] = .int(batch)
        return try model.graph(overrides: values, flags: ["batch": flag ?? "batch \(batch)"])
    }

    /// The graph with the params in `settings` set as well (`infer` sets `seq` and
    /// `batch` for its prefill and decode graphs); a `--set` of the same param is an error.
    public func graph(setting settings: [String: Value]) throws -> Graph {
        var values = overrides
        if let batch { values["batch"] = .int(batch) }
        for (name, value) in settings {
            if let given = values[name], given.description != value.description {
                throw NNFlopsError("--set \(name)=\(given) conflicts with the \(name) this command sets (\(value)): drop the --set")
            }
            values[name] = value
        }
        return try model.graph(overrides: values)
    }

    /// The value of the model's `batch` param at the requested batch, nil when it has none.
    public func batchSize() throws -> Int? {
        if let batch { return batch }
        return Self.batch(of: try graph())
    }

    static func batch(of graph: Graph) -> Int? {
        for (name, value) in graph.settings where name == "batch" {
            if case .int(let b) = value { return b }
        }
        return nil
    }

    /// The request with the params named `image` and `seq` (the zoo's input resolution and
    /// sequence length) multiplied by `factor`, rounded and at least 1, unless `--set`
    /// gives them: `validate --scale` checks a big model at a small size.
    public func scalingInputs(by factor: Double) throws -> ModelRequest {
        guard factor.isFinite, factor > 0 else { throw NNFlopsError("--scale must be a positive number, got \(factor)") }
        guard factor != 1 else { return self }
        var scaled = self
        for (name, value) in try graph().settings where (name == "image" || name == "seq") && overrides[name] == nil {
            if case .int(let v) = value { scaled.overrides[name] = .int(max(1, Int((Double(v) * factor).rounded()))) }
        }
        return scaled
    }

    /// The graph one micro-batch runs and the run configuration it runs under: with
    /// `microBatch` M the model is elaborated at batch M and the requested batch (or the
    /// model's own) / M micro-batches accumulate per step (`configuration`'s
    /// `accumulationSteps`); `foldNormalizations` folds batchnorm into its producer
    /// (`--fold-bn`, inference).
    public func run(_ configuration: RunConfiguration, microBatch: Int? = nil,
                    foldNormalizations: Bool = false) throws -> (graph: Graph, configuration: RunConfiguration) {
        var graph = try self.graph()
        var configuration = configuration
        configuration.accumulationSteps = 1
        let ranks = configuration.parallel.data
        if ranks > 1 {
            // Data parallelism: the batch is the global batch; each rank runs batch / D,
            // in micro-batches of `microBatch` (README, "Training on many GPUs").
            try configuration.parallel.validate()
            guard let batch = Self.batch(of: graph) else {
                throw NNFlopsError("\(ranks) data-parallel ranks split the batch: the model needs a `batch` param")
            }
            let layout = "--gpus \(configuration.parallel.gpus) / (--tp \(configuration.parallel.tensor) x --pp \(configuration.parallel.pipeline))"
            guard batch % ranks == 0 else {
                throw NNFlopsError("the batch \(batch) is the global batch over \(ranks) data-parallel ranks (\(layout)): it must be a multiple of \(ranks)")
            }
            let perRank = batch / ranks
            let micro = microBatch ?? perRank
            guard micro >= 1, perRank % micro == 0 else {
                throw NNFlopsError("the batch \(batch) is the global batch: each of the \(ranks) data-parallel ranks runs \(perRank), which --micro-batch \(micro) must divide",
                                   notes: ["note: the global batch must be a multiple of D x micro-batch = \(ranks) x \(micro)"])
            }
            configuration.accumulationSteps = perRank / micro
            graph = try self.graph(batch: micro)
            if foldNormalizations { graph = graph.foldingNormalizations() }
            return (graph, configuration)
        }
        if let microBatch {
            guard microBatch >= 1 else { throw NNFlopsError("--micro-batch must be at least 1, got \(microBatch)") }
            guard let batch = Self.batch(of: graph) else { throw NNFlopsError("--micro-batch needs a spec with a `batch` param") }
            guard batch % microBatch == 0 else {
                throw NNFlopsError("--micro-batch \(microBatch) must divide the batch size \(batch)")
            }
            configuration.accumulationSteps = batch / microBatch
            graph = try self.graph(batch: microBatch, flag: "--micro-batch \(microBatch)")
        }
        if foldNormalizations { graph = graph.foldingNormalizations() }
        return (graph, configuration)
    }
}
