/// Reads the keys of a transformers `config.json`, each with the default of the config
/// class (`LlamaConfig`, `GPT2Config`, ...) when the key is absent, as
/// `PreTrainedConfig.from_dict` does. Every value is type- and range-checked; an error
/// names the key and points at its value in the file (or says that it is the class's
/// default, or a `--set` override).
///
/// Overrides (`--set NAME=VALUE`) replace the value of the key of the same name: the
/// imported spec's params carry the config's key names, so `graph(fromJSON:overrides:)`
/// checks an overridden config by the same rules as the file (a `--set
/// num_key_value_heads=5` that does not divide the heads is the same error).
struct ConfigReader {
    /// The largest hidden size, intermediate size or head dimension accepted (2^24): far
    /// beyond any published model (the widest are ~50K), small enough that no size product
    /// the importer forms comes near 64 bits.
    static let maxWidth = 1 << 24
    /// The largest vocabulary accepted (2^26; published vocabularies are at most ~1M).
    static let maxVocabulary = 1 << 26
    /// The most layers accepted (published models have at most ~200).
    static let maxLayers = 10_000
    /// The most attention heads (or experts) accepted.
    static let maxHeads = 1 << 16
    /// The largest max_position_embeddings accepted for rotary models, where it sizes no
    /// tensor (2^40); learned position tables are held to `maxWidth` rows.
    static let maxPositions = 1 << 40

    let file: String
    let configClass: String
    let overrides: [String: Value]
    private let root: JSONValue
    private let lines: SourceLines
    /// How each key read so far was resolved, for messages and the spec's notes.
    private(set) var origins: [String: Origin] = [:]

    enum Origin: Equatable {
        case config
        case classDefault
        case override
    }

    init(root: JSONValue, bytes: [UInt8], file: String, configClass: String, overrides: [String: Value]) {
        self.root = root
        self.file = file
        self.configClass = configClass
        self.overrides = overrides
        self.lines = SourceLines(String(decoding: bytes, as: UTF8.self))
    }

    /// True when the config file does not give `key` (or gives null), so the class's
    /// default applies.
    func isDefaulted(_ key: String) -> Bool { origins[key] == .classDefault }

    /// The key's non-null value in the file.
    func member(_ key: String) -> JSONValue? {
        guard let value = root.member(key) else { return nil }
        if case .null = value.kind { return nil }
        return value
    }

    /// True when the file gives `key` a value (null counts as given: it is written out).
    func contains(_ key: String) -> Bool { root.member(key) != nil }

    // MARK: - Errors

    /// An error about `key`: located at its value when the file gives it, otherwise saying
    /// where the value came from.
    func error(_ key: String, _ message: String, notes: [String] = []) -> NNFlopsError {
        switch origins[key] {
        case .override?:
            return NNFlopsError("--set \(key): \(message)", notes: notes)
        case .classDefault?:
            return NNFlopsError("\(key) (absent from \(file): \(configClass)'s default): \(message)", notes: notes)
        default:
            if let value = root.member(key) {
                return NNFlopsError("\(key): \(message)", at: value.location, sourceLine: lines.text(ofLine: value.location.line), notes: notes)
            }
            return NNFlopsError("\(key) (in \(file)): \(message)", notes: notes)
        }
    }

    /// An error located at a value inside the file (a nested key such as rope_scaling.rope_type).
    func error(at value: JSONValue, _ message: String) -> NNFlopsError {
        NNFlopsError(message, at: value.location, sourceLine: lines.text(ofLine: value.location.line))
    }

    // MARK: - Typed reads

    /// Where a key's value comes from.
    private enum Source {
        case override(Value)
        case json(JSONValue)
        /// The file gives the key as null (Python's None).
        case null(JSONValue)
        case absent
    }

    /// Resolves `key` (or one of its `aliases`, transformers' `attribute_map`): an override
    /// first, then the file.
    private mutating func lookup(_ key: String, aliases: [String] = []) throws -> Source {
        if let override = overrides[key] {
            origins[key] = .override
            return .override(override)
        }
        let given = ([key] + aliases).compactMap { name in root.member(name).map { (name, $0) } }
        if given.count > 1, Set(given.map { $0.1.summary }).count > 1 {
            let names = given.map { "\($0.0) = \($0.1.summary)" }.joined(separator: " and ")
            throw error(at: given[1].1, "contradictory keys: \(names) name the same setting (\(configClass).attribute_map)")
        }
        guard let (_, value) = given.first else {
            origins[key] = .classDefault
            return .absent
        }
        origins[key] = .config
        if case .null = value.kind { return .null(value) }
        return .json(value)
    }

    /// An integer key in `range` that may not be null (`int` in the config class);
    /// `defaultValue` nil means the class has no default.
    mutating func int(_ key: String, default defaultValue: Int?, in range: ClosedRange<Int>, aliases: [String] = []) throws -> Int {
        let value: Int
        switch try lookup(key, aliases: aliases) {
        case .override(let override):
            guard case .int(let v) = override else { throw error(key, "expected an integer, got \(override.typeName) \(override)") }
            value = v
        case .json(let json):
            guard case .int(let v) = json.kind else { throw error(key, "must be an integer, got \(json.summary)") }
            value = v
        case .null:
            throw error(key, "must be an integer, got null (\(configClass) does not take None for it)")
        case .absent:
            guard let defaultValue else { throw error(key, "\(file) must give \(key): \(configClass) has no default for it") }
            value = defaultValue
        }
        guard range.contains(value) else { throw error(key, "must be between \(range.lowerBound) and \(Self.grouped(range.upperBound)), got \(value)") }
        return value
    }

    /// An integer key that may be null (`int | None` in the config class): nil when the
    /// file gives null, `defaultValue` when it does not give the key.
    mutating func optionalInt(_ key: String, default defaultValue: Int?, in range: ClosedRange<Int>, aliases: [String] = []) throws -> Int? {
        switch try lookup(key, aliases: aliases) {
        case .null:
            return nil
        case .absent where defaultValue == nil:
            return nil
        default:
            origins[key] = nil
            return try int(key, default: defaultValue, in: range, aliases: aliases)
        }
    }

    enum FloatRule {
        /// A dropout probability: 0 <= p < 1.
        case probability
        /// Positive and finite (epsilons, rotary bases, scale factors).
        case positive
        /// A fraction 0 < f <= 1 (partial rotary factors).
        case fraction
    }

    /// A float key (an integer in the file is accepted: the classes declare `float | int`).
    mutating func float(_ key: String, default defaultValue: Double?, _ rule: FloatRule, aliases: [String] = []) throws -> Double {
        let value: Double
        switch try lookup(key, aliases: aliases) {
        case .override(let override):
            switch override {
            case .int(let v): value = Double(v)
            case .float(let v): value = v
            default: throw error(key, "expected a number, got \(override.typeName) \(override)")
            }
        case .json(let json):
            switch json.kind {
            case .int(let v): value = Double(v)
            case .float(let v): value = v
            default: throw error(key, "must be a number, got \(json.summary)")
            }
        case .null:
            throw error(key, "must be a number, got null")
        case .absent:
            guard let defaultValue else { throw error(key, "\(file) must give \(key): \(configClass) has no default for it") }
            value = defaultValue
        }
        switch rule {
        case .probability:
            guard value >= 0 && value < 1 else { throw error(key, "must be a dropout probability in [0, 1), got \(value)") }
        case .positive:
            guard value.isFinite && value > 0 else { throw error(key, "must be a positive number, got \(value)") }
        case .fraction:
            guard value > 0 && value <= 1 else { throw error(key, "must be a fraction in (0, 1], got \(value)") }
        }
        return value
    }

    mutating func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        switch try lookup(key) {
        case .override(let override):
            guard case .bool(let b) = override else { throw error(key, "expected true or false, got \(override.typeName) \(override)") }
            return b
        case .json(let json):
            guard case .bool(let b) = json.kind else { throw error(key, "must be true or false, got \(json.summary)") }
            return b
        case .null:
            throw error(key, "must be true or false, got null")
        case .absent:
            return defaultValue
        }
    }

    /// A bool key that may be null (`bool | None`): nil when null or absent.
    mutating func optionalBool(_ key: String) throws -> Bool? {
        switch try lookup(key) {
        case .null, .absent: return nil
        default:
            origins[key] = nil
            return try bool(key, default: false)
        }
    }

    mutating func string(_ key: String, default defaultValue: String) throws -> String {
        switch try lookup(key) {
        case .override(let override):
            guard case .string(let s) = override else { throw error(key, "expected a string, got \(override.typeName) \(override)") }
            return s
        case .json(let json):
            guard case .string(let s) = json.kind else { throw error(key, "must be a string, got \(json.summary)") }
            return s
        case .null:
            throw error(key, "must be a string, got null")
        case .absent:
            return defaultValue
        }
    }

    /// `seq` and `batch`, the spec's own params: `--set` overrides only.
    mutating func runSize(_ name: String) throws -> Int? {
        guard let override = overrides[name] else { return nil }
        origins[name] = .override
        guard case .int(let v) = override else { throw error(name, "expected an integer, got \(override.typeName) \(override)") }
        guard v >= 1 else { throw error(name, "must be at least 1, got \(v)") }
        return v
    }
}

extension ConfigReader {
    /// 16777216 -> "16,777,216".
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = n < 0 ? "-" : ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }
}
