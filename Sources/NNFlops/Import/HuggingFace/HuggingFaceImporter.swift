#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reads a Hugging Face transformers `config.json` and writes the model as a spec: source
/// text in the nnflops language, with a `param` for batch, seq and every size the config
/// gives, blocks for the decoder layer, attention and MLP, a loop over the layers, and
/// transformers' module names (`model.layers.0.self_attn.q_proj`,
/// `transformer.h.0.attn.c_attn`). The Graph comes from the ordinary elaborator on that
/// text, so what `graph(fromJSON:)` analyses is exactly the spec `spec(fromJSON:)` writes.
///
/// Each `model_type` is built as transformers builds it (README, "Hugging Face configs"):
/// decoder-only families as `*ForCausalLM` with the LM head, bert as `BertModel`. A key the
/// file does not give takes the transformers config class's default; malformed JSON,
/// wrong types, contradictory or absurd values are `NNFlopsError`s naming the key.
public enum HuggingFaceImporter {
    /// The model_type values this importer reads, and the transformers class each builds.
    public static let families: [(modelType: String, modelClass: String)] = Family.all.map { ($0.modelType, $0.modelClass) }

    /// The default `seq` of an imported model: max_position_embeddings, capped here (a
    /// choice of nnflops: long-context models would otherwise default to 128K tokens).
    public static let defaultSequenceCap = 4096

    /// The spec text for the config in `bytes` (`file` names it in errors and comments):
    /// what `nnflops import config.json -o model.spec` writes.
    public static func spec(fromJSON bytes: [UInt8], file: String) throws -> String {
        try HuggingFaceModel(json: bytes, file: file).source
    }

    public static func spec(fromJSON data: Data, file: String) throws -> String {
        try spec(fromJSON: [UInt8](data), file: file)
    }

    /// The Graph of the spec `spec(fromJSON:file:)` writes, elaborated with `overrides`
    /// (`--set` / `--batch`: `seq`, `batch`, or any param, which are named after the
    /// config's keys). An override of a config key is first checked by the rules the file
    /// is, so `--set num_attention_heads=7` that no longer divides hidden_size is the same
    /// error as in the file.
    public static func graph(fromJSON bytes: [UInt8], file: String, overrides: [String: Value] = [:]) throws -> Graph {
        try HuggingFaceModel(json: bytes, file: file).graph(overrides: overrides)
    }

    public static func graph(fromJSON data: Data, file: String, overrides: [String: Value] = [:]) throws -> Graph {
        try graph(fromJSON: [UInt8](data), file: file, overrides: overrides)
    }

    /// How diagnostics name the spec written for `file` (`config.json` -> `config.json.spec`).
    static func specFileName(for file: String) -> String { file + ".spec" }

    /// Writes the spec of the config `root` (parsed from `bytes`) with `overrides` applied
    /// to the keys it reads; throws on the first key that breaks its class's rules.
    static func importSpec(_ root: JSONValue, _ bytes: [UInt8], file: String, overrides: [String: Value]) throws -> String {
        guard case .object = root.kind else {
            throw NNFlopsError("a transformers config.json is a JSON object; \(file) holds \(root.summary)",
                               at: root.location, sourceLine: SourceLines(String(decoding: bytes, as: UTF8.self)).text(ofLine: root.location.line))
        }
        var probe = ConfigReader(root: root, bytes: bytes, file: file, configClass: "PreTrainedConfig", overrides: [:])
        guard probe.contains("model_type") else {
            throw NNFlopsError("\(file) has no \"model_type\" key: it does not say which transformers model it configures",
                               notes: ["model types nnflops reads: " + Family.all.map(\.modelType).joined(separator: ", ")])
        }
        let modelType = try probe.string("model_type", default: "")
        guard let family = Family.all.first(where: { $0.modelType == modelType }) else {
            let hint = closestMatch(to: modelType, in: Family.all.map(\.modelType)).map { "did you mean '\($0)'? " } ?? ""
            throw probe.error("model_type", "unknown model_type '\(modelType)'",
                              notes: [hint + "model types nnflops reads: " + Family.all.map(\.modelType).joined(separator: ", ")])
        }
        var reader = ConfigReader(root: root, bytes: bytes, file: file, configClass: family.configClass, overrides: overrides)
        let model = modelName(root: root, file: file, modelType: modelType)
        return try family.write(&reader, SpecContext(model: model, file: file, family: family))
    }

    /// The spec's model name: the config's `_name_or_path` (its last component), else the
    /// file's name unless that is just `config`, else the model_type; characters the
    /// `model` statement does not take become `-`.
    static func modelName(root: JSONValue, file: String, modelType: String) -> String {
        func clean(_ text: String) -> String? {
            let allowed = text.map { c -> Character in c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-" || c == ".") ? c : "-" }
            let name = String(allowed).trimmingLeading("-._")
            return name.isEmpty ? nil : name
        }
        if let value = root.member("_name_or_path"), case .string(let path) = value.kind,
           let last = path.split(separator: "/").last, let name = clean(String(last)) {
            return name
        }
        var stem = String(file.split(separator: "/").last ?? Substring(file))
        if stem.hasSuffix(".json") { stem = String(stem.dropLast(5)) }
        if stem != "config", let name = clean(stem) { return name }
        return modelType
    }
}

/// A config read once: the spec text written for it, parsed, and what checks overrides
/// against the config's rules. Front ends that elaborate a model at many batches (`fit`
/// probes them) hold one of these and call `graph(overrides:)` for each.
struct HuggingFaceModel: Sendable {
    /// The config's file name, as given.
    public let file: String
    /// The spec text (`nnflops import config.json -o model.spec` writes it).
    public let source: String
    private let root: JSONValue
    private let bytes: [UInt8]
    private let lines: SourceLines
    private let program: [Statement]

    public init(json bytes: [UInt8], file: String) throws {
        self.file = file
        self.bytes = bytes
        root = try JSONReader.parse(bytes, file: file)
        source = try HuggingFaceImporter.importSpec(root, bytes, file: file, overrides: [:])
        lines = SourceLines(source)
        program = try Parser.parse(lines: lines, file: HuggingFaceImporter.specFileName(for: file))
    }

    public init(json data: Data, file: String) throws {
        try self.init(json: [UInt8](data), file: file)
    }

    /// The model's Graph with `overrides` (`--set`, `--batch`); an override of a key the
    /// config gives is checked by the rules the file is.
    /// `overrideFlags`: how the user set an override other than by `--set` (`Elaborator`).
    /// `limits`: what the elaboration may do (README, "Limits"); the hf fuzz target's are
    /// `Limits.fuzzing`, as the spec target's.
    public func graph(overrides: [String: Value] = [:], overrideFlags: [String: String] = [:], limits: Limits = .standard) throws -> Graph {
        if !overrides.isEmpty { _ = try HuggingFaceImporter.importSpec(root, bytes, file: file, overrides: overrides) }
        return try Elaborator.elaborate(program: program, lines: lines, file: HuggingFaceImporter.specFileName(for: file), overrides: overrides,
                                        overrideFlags: overrideFlags, limits: limits)
    }
}

extension String {
    fileprivate func trimmingLeading(_ characters: String) -> String {
        String(drop { characters.contains($0) })
    }
}

/// What every family's writer needs besides the config.
struct SpecContext {
    var model: String
    var file: String
    var family: Family
}

/// One transformers model family: its model_type, the classes it builds and how its spec
/// is written (each family's file holds its defaults and its template).
struct Family: Sendable {
    var modelType: String
    /// The transformers config class whose defaults apply (`LlamaConfig`).
    var configClass: String
    /// The class the spec reproduces (`LlamaForCausalLM`, `BertModel`).
    var modelClass: String
    var write: @Sendable (inout ConfigReader, SpecContext) throws -> String

    static let all: [Family] = DecoderFamily.families + [GPT2Family.family, GPTNeoXFamily.family, BertFamily.family]
}
