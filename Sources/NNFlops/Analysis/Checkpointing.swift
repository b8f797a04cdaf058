/// Activation checkpointing (README, "Training and inference memory", "Checkpointing", and
/// "The reference executor"): torch.utils.checkpoint as people call it. Three steps, each
/// one function: the graph is cut into units (`CheckpointUnits`), the policy groups units
/// into checkpointed segments (`CheckpointPlan.init`), and each segment re-runs part of its
/// forward during backward (`CheckpointPlan.recomputed`). The memory replay, the roofline and
/// the executor all read one `CheckpointPlan`.
///
/// Every policy is torch's non-reentrant checkpoint (torch/utils/checkpoint.py,
/// `_checkpoint_without_reentrant_generator`) applied to segments:
/// - forward: a segment's operators keep nothing (the checkpoint's pack hook stores a
///   `_Holder` for every tensor they save); `_NoopSaveInputs` keeps the segment's inputs;
/// - backward: the first unpack (the backward of the segment's last operator that keeps
///   anything) re-runs the segment from its inputs, saving, and stops once every saved
///   tensor is back (`_StopRecomputationError`, early stop on by default);
/// - the inputs are released with the checkpoint's frame, when the last of the segment's
///   saved tensors is: after the backward of its first operator that keeps anything. A
///   segment in which nothing keeps anything keeps nothing, not even its inputs.

/// Activation checkpointing policy: which segments are checkpointed.
public enum CheckpointPolicy: Sendable, Hashable, CustomStringConvertible {
    case none
    /// torch.utils.checkpoint.checkpoint_sequential with K = round(sqrt(L)) segments of
    /// the L units.
    case sqrt
    /// checkpoint_sequential with K segments (K >= 1): the first K - 1 segments of L / K
    /// units are checkpointed, the last (the rest) runs normally.
    case segments(Int)
    /// Every block instance whose name matches the pattern is checkpointed on its own
    /// (torch.utils.checkpoint around each block: Hugging Face's
    /// `gradient_checkpointing_enable()`, Megatron's full recompute).
    case each(NamePattern)
    /// Selective activation recomputation (Korthikanti et al. 2022, arXiv 2205.05198):
    /// every attention core (scores, softmax, dropout, the product with V) is
    /// checkpointed on its own; everything else keeps its activations.
    case selective

    public init?(argument: String) {
        switch argument {
        case "none": self = .none
        case "sqrt": self = .sqrt
        case "selective": self = .selective
        default:
            if argument.hasPrefix("segments=") {
                guard let k = Int(argument.dropFirst("segments=".count)), k >= 1 else { return nil }
                self = .segments(k)
            } else if argument.hasPrefix("each=") {
                guard let pattern = NamePattern(String(argument.dropFirst("each=".count))) else { return nil }
                self = .each(pattern)
            } else {
                return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .sqrt: "sqrt"
        case .segments(let k): "segments=\(k)"
        case .each(let pattern): "each=\(pattern)"
        case .selective: "selective"
        }
    }

    /// The spellings `--help` lists.
    public static let spellings = ["none", "sqrt", "segments=K", "each=GLOB", "selective"]

    /// Whether the policy walks a sequence of units (`--checkpoint-units` applies).
    public var usesUnitSequence: Bool {
        switch self {
        case .sqrt, .segments: true
        case .none, .each, .selective: false
        }
    }

    /// The number of segments for `units` units (checkpoint_sequential's policies; 1 for
    /// the others).
    public func segmentCount(units: Int) -> Int {
        switch self {
        case .none, .each, .selective: return 1
        case .sqrt:
            let root = Int(Double(units).squareRoot().rounded())
            return max(1, min(units, root))
        case .segments(let k): return max(1, min(units, k))
        }
    }
}

/// A glob over dotted names, matched one name component per pattern component: `*` is any
/// run of characters within a component, `?` one character, anything else itself.
/// `h.*` matches the block instances `h.0`, `h.1`, ... (and so every operator under them);
/// `model.layers.*`, `encoder.layer.*`, `transformer.h.*` likewise.
public struct NamePattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    let components: [String]

    /// nil for an empty pattern or an empty component (`a..b`, `h.`).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !text.isEmpty, !parts.contains(where: \.isEmpty), !text.contains(where: \.isWhitespace) else { return nil }
        self.text = text
        components = parts
    }

    public var description: String { text }

    /// The block instance of `name` the pattern selects: its first components, as many
    /// as the pattern has, when each matches (nil: none).
    public func instance(of name: String) -> Substring? {
        var start = name.startIndex, end = start
        for (i, pattern) in components.enumerated() {
            let dot = name[start...].firstIndex(of: ".") ?? name.endIndex
            guard Self.glob(Array(pattern.utf8)[...], Array(name[start..<dot].utf8)[...]) else { return nil }
            end = dot
            if i < components.count - 1 {
                guard dot < name.endIndex else { return nil }
                start = name.index(after: dot)
            }
        }
        return name[name.startIndex..<end]
    }

    static func glob(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        switch first {
        case UInt8(ascii: "*"):
            let rest = pattern.dropFirst()
            var t = text
            while true {
                if glob(rest, t) { return true }
                guard !t.isEmpty else { return false }
                t = t.dropFirst()
            }
        case UInt8(ascii: "?"):
            return !text.isEmpty && glob(pattern.dropFirst(), text.dropFirst())
        default:
            return text.first == first && glob(pattern.dropFirst(), text.dropFirst())
        }
    }
}

/// How a graph is cut into the units checkpointing groups into segments: consecutive,
/// non-overlapping node ranges in execution order. Replaceable: a caller that names its own
/// units passes another function to `CheckpointPlan`.
typealias CheckpointUnitInference = @Sendable (Graph) throws -> [Range<Int>]

/// What the sequence `checkpoint_sequential` walks is made of (`--checkpoint-units`):
/// the children of the Sequential the caller passes.
public enum CheckpointUnits: Sendable, Hashable, CustomStringConvertible {
    /// The default: the top-level sequence inferred from names (`topLevelSequence`).
    case inferred
    /// The block instances whose names match a pattern (`encoder.layer.*`); operators
    /// outside them belong to no unit.
    case matching(NamePattern)
    /// Consecutive operators sharing their first N name components (as `--depth N`
    /// groups rows): depth=1 is a model's children (`conv1`, `layer1`, ..., `fc`).
    case depth(Int)

    /// `GLOB` or `depth=N` (N >= 1); nil for anything else.
    public init?(argument: String) {
        if argument.hasPrefix("depth=") {
            guard let n = Int(argument.dropFirst("depth=".count)), n >= 1 else { return nil }
            self = .depth(n)
        } else {
            guard let pattern = NamePattern(argument) else { return nil }
            self = .matching(pattern)
        }
    }

    public var description: String {
        switch self {
        case .inferred: "inferred"
        case .matching(let pattern): pattern.text
        case .depth(let n): "depth=\(n)"
        }
    }

    /// The units of `graph` (throws when a pattern matches no operator).
    public func units(of graph: Graph) throws -> [Range<Int>] {
        switch self {
        case .inferred: return Self.topLevelSequence(of: graph)
        case .matching(let pattern): return try Self.instances(of: pattern, in: graph)
        case .depth(let n):
            return Self.runs(of: graph) { name in
                var end = name.endIndex, seen = 0
                for i in name.indices where name[i] == "." {
                    seen += 1
                    if seen == n { end = i; break }
                }
                return name[name.startIndex..<end]
            }
        }
    }

    /// The top-level sequence: consecutive nodes grouped by the first component of their
    /// names, or the first two when the second is a number (`h.3`, `layer2.1`): the
    /// children of an nn.Sequential / ModuleList, which checkpoint_sequential walks.
    @Sendable public static func topLevelSequence(of graph: Graph) -> [Range<Int>] {
        runs(of: graph) { name in
            let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count >= 2, Int(parts[1]) != nil { return name[parts[0].startIndex..<parts[1].endIndex] }
            return parts[0]
        }
    }

    /// The block instances `pattern` selects, in execution order (consecutive operators of
    /// one instance form one unit).
    public static func instances(of pattern: NamePattern, in graph: Graph) throws -> [Range<Int>] {
        let units = runs(of: graph) { pattern.instance(of: $0) }
        guard !units.isEmpty else {
            var examples: [String] = []
            for node in graph.nodes {
                let prefix = node.name.split(separator: ".").prefix(pattern.components.count).joined(separator: ".")
                if !examples.contains(prefix) { examples.append(prefix) }
                if examples.count == 4 { break }
            }
            throw NNFlopsError("no operator's name matches the checkpoint pattern '\(pattern)'",
                               notes: ["note: names here look like \(examples.joined(separator: ", ")); `*` matches within one name component"])
        }
        return units
    }

    /// Maximal runs of consecutive nodes with the same key; nodes whose key is nil belong
    /// to no run.
    static func runs(of graph: Graph, key: (String) -> Substring?) -> [Range<Int>] {
        var units: [Range<Int>] = []
        var current: (key: Substring, start: Int)? = nil
        for i in graph.nodes.indices {
            let k = key(graph.nodes[i].name)
            if let c = current, k != c.key {
                units.append(c.start..<i)
                current = nil
            }
            if current == nil, let k { current = (k, i) }
        }
        if let c = current { units.append(c.start..<graph.nodes.count) }
        return units
    }
}

/// Which nodes a run checkpoints and which it recomputes: a pure function of the graph,
/// its cost analysis (for the contexts and the forward work) and the run configuration.
struct CheckpointPlan: Sendable, Equatable {
    /// The units segments are made of (the sequence policies; for `each`, the matched
    /// block instances; empty for `selective` and `none`).
    public let units: [Range<Int>]
    /// Checkpointed segments as node ranges. checkpoint_sequential cuts K segments of
    /// L / K units and checkpoints the first K - 1 (the last runs normally and is not
    /// listed); `each` checkpoints every unit; `selective` every attention core.
    public let segments: [Range<Int>]
    /// Per checkpointed segment, the nodes re-run before its backward: from its first node
    /// up to its last node that keeps anything for backward (torch's non-reentrant
    /// checkpoint stops recomputing once every saved tensor is back; empty when none
    /// keeps anything).
    public let recomputed: [Range<Int>]
    /// Per checkpointed segment, its first node that keeps anything (nil: none does):
    /// the segment's stored inputs are released after this node's backward.
    public let firstKeeper: [Int?]
    /// The forward work of the recomputed nodes, per micro-step, from the cost analysis.
    public let recomputeWork: Work
    /// Node index -> its checkpointed segment.
    private let segmentOf: [Int?]

    /// - Parameter units: how the graph is cut into units (default: the configuration's
    ///   `checkpointUnits`, for the sequence policies, or the `each` pattern's instances).
    public init(graph: Graph, costs: CostAnalysis, configuration: RunConfiguration,
                units inferUnits: CheckpointUnitInference? = nil) throws {
        let policy = configuration.inference ? CheckpointPolicy.none : configuration.checkpoint
        let contexts = costs.contexts(for: configuration, graph: graph)
        var units: [Range<Int>] = []
        var segments: [Range<Int>] = []
        switch policy {
        case .none: break
        case .sqrt, .segments:
            units = try inferUnits?(graph) ?? configuration.checkpointUnits.units(of: graph)
            let k = policy.segmentCount(units: units.count)
            if k > 1 {
                let size = units.count / k
                for s in 0..<(k - 1) {
                    segments.append(units[s * size].lowerBound..<units[(s + 1) * size - 1].upperBound)
                }
            }
        case .each(let pattern):
            units = try inferUnits?(graph) ?? CheckpointUnits.instances(of: pattern, in: graph)
            segments = units
        case .selective:
            // Each operator that declares itself an attention core, when autograd records it.
            for (n, node) in graph.nodes.enumerated() where node.op.isAttentionCore && contexts[n].recordsForBackward {
                segments.append(n..<(n + 1))
            }
            guard !segments.isEmpty else {
                throw NNFlopsError("--checkpoint selective recomputes attention cores, and this model has no `attention` operator that trains",
                                   notes: ["note: checkpoint whole blocks with --checkpoint each=GLOB or segments=K"])
            }
        }
        var segmentOf = [Int?](repeating: nil, count: graph.nodes.count)
        for (s, range) in segments.enumerated() { for n in range { segmentOf[n] = s } }

        var recomputed: [Range<Int>] = []
        var firstKeeper: [Int?] = []
        var work = Work.zero
        for range in segments {
            var first: Int? = nil, last = range.lowerBound - 1
            for n in range where contexts[n].recordsForBackward && !graph.nodes[n].op.savedTensors(contexts[n]).isEmpty {
                if first == nil { first = n }
                last = n
            }
            let nodes = range.lowerBound..<max(range.lowerBound, last + 1)
            recomputed.append(nodes)
            firstKeeper.append(first)
            for n in nodes { work += costs.layers[n].cost.forward }
        }
        self.units = units
        self.segments = segments
        self.recomputed = recomputed
        self.firstKeeper = firstKeeper
        self.segmentOf = segmentOf
        recomputeWork = work
    }

    /// The checkpointed segment node `node` belongs to (nil: none).
    public func segment(of node: Int) -> Int? { node < segmentOf.count ? segmentOf[node] : nil }
    /// Is `node` the first node of a checkpointed segment (where its inputs are stored)?
    public func segmentStarting(at node: Int) -> Int? {
        segment(of: node).flatMap { segments[$0].lowerBound == node ? $0 : nil }
    }
    /// Is `node` the last node of a checkpointed segment?
    public func segmentEnding(at node: Int) -> Int? {
        segment(of: node).flatMap { segments[$0].upperBound - 1 == node ? $0 : nil }
    }
    /// Does segment `s` store its inputs (does anything in it keep anything)?
    public func storesInputs(_ s: Int) -> Bool { firstKeeper[s] != nil }
    /// The segment recomputed just before `node`'s backward: the one whose last keeping
    /// node `node` is (its backward unpacks the segment's first saved tensor).
    public func segmentRecomputed(before node: Int) -> Int? {
        segment(of: node).flatMap { s in !recomputed[s].isEmpty && recomputed[s].upperBound - 1 == node ? s : nil }
    }
    /// The segment whose stored inputs are released after `node`'s backward: the one whose
    /// first keeping node `node` is.
    public func segmentReleasingInputs(after node: Int) -> Int? {
        segment(of: node).flatMap { s in firstKeeper[s] == node ? s : nil }
    }
}
