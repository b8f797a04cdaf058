/// What several families share: activations (transformers' ACT2FN), rotary settings, the
/// `seq` / `batch` params.

/// An activation named by a config (`hidden_act`, `activation_function`) as the spec
/// writes it. Built-in operators where transformers calls the torch kernel; the
/// activations transformers writes as Python composites are written op by op, so the
/// tensors they keep for backward are the ones autograd keeps.
struct Activation {
    /// The config's name for it ("gelu_new").
    var configName: String
    /// The transformers class (transformers/activations.py ACT2CLS).
    var transformersClass: String
    /// The spec's helper block, when the activation is a composite of operators.
    var helperBlock: String?
    /// Set when the config's name was read as another (Gemma's "gelu").
    var readAs: String?
    private var callTemplate: String

    /// The spec expression applying the activation to `input`, named `name`.
    func call(_ input: String, name: String) -> String {
        callTemplate.replacingAll("INPUT", with: input).replacingAll("NAME", with: name)
    }

    private init(_ configName: String, _ transformersClass: String, _ callTemplate: String, helperBlock: String? = nil) {
        self.configName = configName
        self.transformersClass = transformersClass
        self.callTemplate = callTemplate
        self.helperBlock = helperBlock
    }

    static let supported: [Activation] = [
        Activation("silu", "SiLUActivation (torch silu)", "silu(INPUT, name = \"NAME\")"),
        Activation("swish", "nn.SiLU", "silu(INPUT, name = \"NAME\")"),
        Activation("gelu", "GELUActivation (torch gelu, exact erf)", "gelu(INPUT, name = \"NAME\")"),
        Activation("gelu_pytorch_tanh", "GELUTanh (torch gelu, tanh approximation)", "gelu(INPUT, approximate = \"tanh\", name = \"NAME\")"),
        // NewGELUActivation: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) as torch ops;
        // gelu's composite variant keeps what those ops keep (README, gelu).
        Activation("gelu_new", "NewGELUActivation (Python composite, tanh approximation)",
                   "gelu(INPUT, approximate = \"tanh\", impl = \"composite\", name = \"NAME\")"),
        Activation("gelu_fast", "FastGELUActivation (Python composite)", "fast_gelu(INPUT, name = \"NAME\")", helperBlock: """
            # FastGELUActivation (gelu_fast): 0.5 * x * (1 + tanh(x * 0.7978845608 * (1 + 0.044715 * x * x))),
            # op by op as transformers/activations.py evaluates it (autograd keeps what each op keeps).
            block fast_gelu(x):
                half = x * 0.5
                inner = (x * 0.7978845608) * ((x * 0.044715) * x + 1.0)
                return half * (tanh(inner) + 1.0)
            """),
        Activation("quick_gelu", "QuickGELUActivation (Python composite)", "quick_gelu(INPUT, name = \"NAME\")", helperBlock: """
            # QuickGELUActivation (quick_gelu): x * sigmoid(1.702 * x), op by op.
            block quick_gelu(x):
                return x * sigmoid(x * 1.702)
            """),
        Activation("relu", "nn.ReLU", "relu(INPUT, name = \"NAME\")"),
        Activation("tanh", "nn.Tanh", "tanh(INPUT, name = \"NAME\")"),
        Activation("sigmoid", "nn.Sigmoid", "sigmoid(INPUT, name = \"NAME\")"),
    ]

    /// Reads the activation key. `legacyGeluIsTanh`: GemmaConfig turns "gelu" into
    /// "gelu_pytorch_tanh" (its __post_init__: the released Gemma configs say "gelu" and
    /// mean the tanh approximation).
    static func read(_ key: String, default defaultValue: String, _ reader: inout ConfigReader,
                     legacyGeluIsTanh: Bool = false) throws -> Activation {
        var name = try reader.string(key, default: defaultValue)
        var readAs: String?
        if legacyGeluIsTanh && name == "gelu" {
            name = "gelu_pytorch_tanh"
            readAs = "\(key) \"gelu\" is read as gelu_pytorch_tanh, as \(reader.configClass).__post_init__ does"
        }
        guard var activation = supported.first(where: { $0.configName == name }) else {
            throw reader.error(key, "activation '\(name)' is not one nnflops can write yet",
                               notes: ["supported: " + supported.map(\.configName).joined(separator: ", ")])
        }
        activation.readAs = readAs
        return activation
    }
}

/// Rotary position embedding settings: transformers 5 keeps them in `rope_parameters`
/// (older files: `rope_scaling`, plus a top-level `rope_theta`), with priority to the dict
/// (PreTrainedConfig.convert_rope_params_to_dict).
struct RotarySettings {
    var theta: Double
    var thetaNote: String?
    /// "default", "linear", "dynamic", "yarn", "longrope", "llama3": the scaled types
    /// change the frequencies (and yarn's cos/sin scale), not the operations counted.
    var type: String
    var scalingFactor: Double?
    var partialRotaryFactor: Double
    var partialNote: String?
    /// The key partial_rotary_factor was read from, for errors.
    var partialSource: String

    static let types = ["default", "linear", "dynamic", "yarn", "longrope", "llama3"]

    /// `thetaKey` / `partialKey`: the top-level keys the family reads (GPT-NeoX:
    /// rotary_emb_base, rotary_pct); the spec's params are always rope_theta and
    /// partial_rotary_factor. `partialKey` nil: the family's rotary is always full.
    static func read(_ reader: inout ConfigReader, defaultTheta: Double, thetaKey: String = "rope_theta",
                     partialKey: String? = nil, defaultPartial: Double = 1.0) throws -> RotarySettings {
        var dict: JSONValue?
        for key in ["rope_scaling", "rope_parameters"] {
            guard let value = reader.member(key) else { continue }
            guard case .object(let members) = value.kind else {
                throw reader.error(at: value, "\(key) must be an object (or null), got \(value.summary)")
            }
            if members.isEmpty { continue }
            if let nested = members.first(where: { if case .object = $0.value.kind { true } else { false } }) {
                throw reader.error(at: nested.value, "\(key).\(nested.key): rotary parameters per layer type are not supported")
            }
            dict = value
            break
        }
        func nestedNumber(_ name: String, _ rule: ConfigReader.FloatRule) throws -> Double? {
            guard let value = dict?.member(name) else { return nil }
            let number: Double
            switch value.kind {
            case .int(let v): number = Double(v)
            case .float(let v): number = v
            case .null: return nil
            default: throw reader.error(at: value, "rope_scaling.\(name) must be a number, got \(value.summary)")
            }
            let ok = switch rule {
            case .positive: number.isFinite && number > 0
            case .fraction: number > 0 && number <= 1
            case .probability: number >= 0 && number < 1
            }
            guard ok else { throw reader.error(at: value, "rope_scaling.\(name) must be \(rule == .fraction ? "a fraction in (0, 1]" : "a positive number"), got \(number)") }
            return number
        }

        var type = "default"
        if let value = dict?.member("rope_type") ?? dict?.member("type") {
            guard case .string(let s) = value.kind else { throw reader.error(at: value, "rope_scaling.rope_type must be a string, got \(value.summary)") }
            guard types.contains(s) else {
                throw reader.error(at: value, "rope_scaling.rope_type '\(s)' is not one nnflops reads (\(types.joined(separator: ", ")))")
            }
            type = s
        }
        let factor = try nestedNumber("factor", .positive)

        var theta: Double
        var thetaNote: String?
        if reader.overrides["rope_theta"] != nil {
            theta = try reader.float("rope_theta", default: defaultTheta, .positive)
        } else if let nested = try nestedNumber("rope_theta", .positive) {
            theta = nested
        } else {
            theta = try reader.float(thetaKey, default: defaultTheta, .positive)
            if reader.isDefaulted(thetaKey) { thetaNote = "absent: \(reader.configClass)'s default" }
            else if thetaKey != "rope_theta" { thetaNote = "\(thetaKey) in \(reader.file)" }
        }

        var partial = 1.0
        var partialNote: String?
        var partialSource = partialKey ?? "partial_rotary_factor"
        if let partialKey {
            if reader.overrides["partial_rotary_factor"] != nil {
                partial = try reader.float("partial_rotary_factor", default: defaultPartial, .fraction)
                partialSource = "partial_rotary_factor"
            } else if let nested = try nestedNumber("partial_rotary_factor", .fraction) {
                partial = nested
            } else {
                partial = try reader.float(partialKey, default: defaultPartial, .fraction)
                if reader.isDefaulted(partialKey) { partialNote = "absent: \(reader.configClass)'s default" }
                else if partialKey != "partial_rotary_factor" { partialNote = "\(partialKey) in \(reader.file)" }
            }
        }
        return RotarySettings(theta: theta, thetaNote: thetaNote, type: type, scalingFactor: factor,
                              partialRotaryFactor: partial, partialNote: partialNote, partialSource: partialSource)
    }

    /// The rotated dimensions per head, int(head_dim * partial_rotary_factor) as
    /// transformers computes them; they must be even (rotate_half pairs them) and not zero.
    func rotaryDimensions(headDim: Int, _ reader: ConfigReader) throws -> Int {
        let dims = Int(Double(headDim) * partialRotaryFactor)
        guard dims >= 2, dims % 2 == 0 else {
            throw reader.error(partialSource, "int(head_dim \(headDim) * \(partialRotaryFactor)) = \(dims) rotary dimensions: rotate_half needs a positive even number")
        }
        return dims
    }

    /// A comment line on the rotary embedding.
    var summary: String {
        var text = "rotary embedding: base \(SpecLiteral.float(theta)), rope_type \"\(type)\""
        if let scalingFactor { text += " (factor \(SpecLiteral.float(scalingFactor)))" }
        if type != "default" { text += ": rescaled frequencies, the same operations" }
        return text
    }
}

extension ConfigReader {
    /// `seq` defaults to min(positions, 4096); an override is checked against learned
    /// position tables (`learnedPositions`: their row count), which cannot index past it.
    mutating func checkRunSizes(positionsKey: String, positions: Int, learned: Bool) throws {
        _ = try runSize("batch")
        if let seq = try runSize("seq"), learned, seq > positions {
            throw error("seq", "\(seq) tokens exceed \(positionsKey) = \(positions), the rows of the learned position embedding")
        }
    }
}

/// The common header lines about `seq`, `batch` and attention.
enum SpecNotes {
    static let sequence = "seq defaults to min(max_position_embeddings, \(HuggingFaceImporter.defaultSequenceCap)), a choice of nnflops: --set seq=N; batch: --batch N."
}

/// transformers' `attn_implementation` (a from_pretrained / from_config argument, which a
/// config may carry as `attn_implementation` or `_attn_implementation`): "sdpa", the
/// default, runs torch's scaled_dot_product_attention (attention impl "auto": the kernel
/// torch picks for the run's dtype); "eager" the model's eager_attention_forward (impl
/// "eager"). The spec's `attn_implementation` param holds it (`--set
/// attn_implementation=eager`).
struct AttentionImplementation {
    var name: String
    var note: String?

    static let names = ["sdpa", "eager"]

    var literal: String { "\"\(name)\"" }

    /// The attention call's `impl` argument, from the spec param.
    static let implExpression = "\"auto\" if attn_implementation == \"sdpa\" else \"eager\""

    static func read(_ reader: inout ConfigReader) throws -> AttentionImplementation {
        let key = reader.contains("_attn_implementation") && !reader.contains("attn_implementation") && reader.overrides["attn_implementation"] == nil
            ? "_attn_implementation" : "attn_implementation"
        let name = try reader.string(key, default: "sdpa")
        guard names.contains(name) else {
            throw reader.error(key, "attention implementation '\(name)' is not one nnflops models (\(names.joined(separator: ", ")))")
        }
        return AttentionImplementation(name: name, note: reader.isDefaulted(key) ? "transformers' default" : nil)
    }
}
