/// Activation checkpointing (README, "Training and inference memory", and "The reference
/// executor"): torch.utils.checkpoint.checkpoint_sequential over a sequence of units.
/// Three steps, each one function: the graph is cut into units (`CheckpointUnits`), the
/// policy groups units into segments (`CheckpointPlan.init`), and each checkpointed
/// segment re-runs part of its forward during backward (`CheckpointPlan.recomputed`).
/// The memory replay, the roofline and the executor all read one `CheckpointPlan`.

/// Activation checkpointing policy (design §5), torch.utils.checkpoint.checkpoint_sequential
/// over the model's top-level sequence of units.
public enum CheckpointPolicy: Sendable, Hashable, CustomStringConvertible {
    case none
    /// K = round(sqrt(L)) segments for L units.
    case sqrt
    /// K segments (K >= 1).
    case segments(Int)

    public init?(argument: String) {
        switch argument {
        case "none": self = .none
        case "sqrt": self = .sqrt
        default:
            let prefix = "segments="
            guard argument.hasPrefix(prefix), let k = Int(argument.dropFirst(prefix.count)), k >= 1 else { return nil }
            self = .segments(k)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .sqrt: "sqrt"
        case .segments(let k): "segments=\(k)"
        }
    }

    /// The spellings `--help` lists.
    public static let spellings = ["none", "sqrt", "segments=K"]

    /// The number of segments for `units` units.
    public func segmentCount(units: Int) -> Int {
        switch self {
        case .none: return 1
        case .sqrt:
            let root = Int(Double(units).squareRoot().rounded())
            return max(1, min(units, root))
        case .segments(let k): return max(1, min(units, k))
        }
    }
}

/// How a graph is cut into the units checkpointing groups into segments: consecutive,
/// non-overlapping node ranges in execution order. Replaceable: a policy that names its
/// own units passes another function to `CheckpointPlan`.
public typealias CheckpointUnitInference = @Sendable (Graph) -> [Range<Int>]

public enum CheckpointUnits {
    /// The top-level sequence: consecutive nodes grouped by the first component of their
    /// names, or the first two when the second is a number (`h.3`, `layer2.1`): the
    /// children of an nn.Sequential / ModuleList, which checkpoint_sequential walks.
    @Sendable public static func topLevelSequence(of graph: Graph) -> [Range<Int>] {
        var units: [Range<Int>] = []
        var previous: Substring? = nil
        var start = 0
        for (i, node) in graph.nodes.enumerated() {
            let parts = node.name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
            var key = parts[0]
            if parts.count >= 2, Int(parts[1]) != nil {
                key = node.name[parts[0].startIndex..<parts[1].endIndex]
            }
            if key != previous {
                if i > start { units.append(start..<i) }
                start = i
                previous = key
            }
        }
        if graph.nodes.count > start { units.append(start..<graph.nodes.count) }
        return units
    }
}

/// Which nodes a run checkpoints and which it recomputes: a pure function of the graph,
/// its cost analysis (for the contexts and the forward work) and the run configuration.
public struct CheckpointPlan: Sendable, Equatable {
    /// The units segments are made of.
    public let units: [Range<Int>]
    /// Checkpointed segments as node ranges. checkpoint_sequential cuts K segments of
    /// L / K units and checkpoints the first K - 1; the last runs normally and is not
    /// listed.
    public let segments: [Range<Int>]
    /// Per checkpointed segment, the nodes re-run before its backward: from its first node
    /// up to its last node that keeps anything for backward (torch's non-reentrant
    /// checkpoint stops recomputing once every saved tensor is back; empty when none
    /// keeps anything).
    public let recomputed: [Range<Int>]
    /// The forward work of the recomputed nodes, per micro-step, from the cost analysis.
    public let recomputeWork: Work
    /// Node index -> its checkpointed segment.
    private let segmentOf: [Int?]

    /// - Parameter units: how the graph is cut into units (default: its top-level sequence).
    public init(graph: Graph, costs: CostAnalysis, configuration: RunConfiguration,
                units inferUnits: CheckpointUnitInference = CheckpointUnits.topLevelSequence) {
        let checkpointing = !configuration.inference && configuration.checkpoint != .none
        let units = checkpointing ? inferUnits(graph) : []
        var segments: [Range<Int>] = []
        let k = configuration.checkpoint.segmentCount(units: units.count)
        if checkpointing, k > 1 {
            let size = units.count / k
            for s in 0..<(k - 1) {
                segments.append(units[s * size].lowerBound..<units[(s + 1) * size - 1].upperBound)
            }
        }
        var segmentOf = [Int?](repeating: nil, count: graph.nodes.count)
        for (s, range) in segments.enumerated() { for n in range { segmentOf[n] = s } }

        let contexts = costs.contexts(for: configuration, graph: graph)
        var recomputed: [Range<Int>] = []
        var work = Work.zero
        for range in segments {
            var last = range.lowerBound - 1
            for n in range where contexts[n].recordsForBackward && !graph.nodes[n].op.savedTensors(contexts[n]).isEmpty { last = n }
            let nodes = range.lowerBound..<max(range.lowerBound, last + 1)
            recomputed.append(nodes)
            for n in nodes { work += costs.layers[n].cost.forward }
        }
        self.units = units
        self.segments = segments
        self.recomputed = recomputed
        self.segmentOf = segmentOf
        recomputeWork = work
    }

    /// The checkpointed segment node `node` belongs to (nil: none).
    public func segment(of node: Int) -> Int? { node < segmentOf.count ? segmentOf[node] : nil }
    /// Is `node` the first node of a checkpointed segment (its stored inputs are released
    /// after this node's backward)?
    public func segmentStarting(at node: Int) -> Int? {
        segment(of: node).flatMap { segments[$0].lowerBound == node ? $0 : nil }
    }
    /// Is `node` the last node of a checkpointed segment (its recomputation runs just
    /// before this node's backward)?
    public func segmentEnding(at node: Int) -> Int? {
        segment(of: node).flatMap { segments[$0].upperBound - 1 == node ? $0 : nil }
    }
}
