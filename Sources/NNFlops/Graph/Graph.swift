/// The elaborated model: a list of operator nodes in execution order over typed tensors.
/// Produced by `Elaborator`, consumed read-only by every analysis.
public struct Graph: Sendable {
    public var model: String
    /// Tensor types indexed by tensor id.
    public var tensors: [TensorType] = []
    /// Operator instances in program (execution) order.
    public var nodes: [Node] = []
    /// Unique learnable parameters; tied uses point at the same entry.
    public var parameters: [Parameter] = []
    public var inputs: [GraphInput] = []
    /// Tensor ids marked as model outputs.
    public var outputs: [Int] = []
    public var budgets: [Budget] = []
    /// Final values of the spec's `param` declarations (after CLI overrides).
    public var settings: [(name: String, value: Value)] = []
    /// No two nodes share a name (no module is called again). Only `GraphBuilder` sets
    /// it, and only while it holds; a graph put together any other way keeps `false`, so
    /// a reader skips grouping a module's calls by name only when this is known
    /// (AnalysisReport.aggregate: hashing every name cost 1,900 instructions a node).
    public internal(set) var nodeNamesAreUnique = false

    public init(model: String) { self.model = model }

    /// Node index that produced each tensor (nil for graph inputs).
    public func producers() -> [Int?] {
        var producer = [Int?](repeating: nil, count: tensors.count)
        for (index, node) in nodes.enumerated() {
            for output in node.outputs { producer[output] = index }
        }
        return producer
    }

    public var parameterCount: Count { Count.sum(parameters.map(\.elements)) }
    public var trainableParameterCount: Count { Count.sum(parameters.filter { !$0.frozen }.map(\.elements)) }
}

public struct GraphInput: Sendable {
    public var name: String
    public var tensor: Int
    public var location: SourceLocation
    /// An activation another pipeline stage sends (Analysis/PipelineStages.swift): its
    /// gradient is computed and sent back. A model's own inputs (data) need none.
    public var requiresGradient = false
}

/// One operator instance: a configured operator, the tensors it reads and writes, and
/// the graph parameters it uses (aligned with `op.parameters`).
public struct Node: Sendable {
    /// Stable hierarchical name, e.g. `layer2.1.conv2`.
    public var name: String
    var op: any Operator
    public var inputs: [Int]
    public var outputs: [Int]
    public var parameterIDs: [Int]
    public var location: SourceLocation
    /// The arguments `op` was built from (its tensor arguments name this graph's tensors):
    /// tensor parallelism rebuilds the operator from them at one rank's sizes
    /// (Analysis/TensorParallel.swift). nil once a rewrite replaced the operator
    /// (`foldingNormalizations`), when they no longer describe it.
    var arguments: BoundArguments?

    init(name: String, op: any Operator, inputs: [Int], outputs: [Int], parameterIDs: [Int], location: SourceLocation,
                arguments: BoundArguments? = nil) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.parameterIDs = parameterIDs
        self.location = location
        self.arguments = arguments
    }

    /// How the node was made: its operator kind and the value bound to each argument of
    /// the operator's signature, which `SpecPrinter` writes back as a call; nil with
    /// `arguments`. Read from `arguments` when asked for: building it for every node
    /// (an array of names and values) cost 700 instructions a node that only the printer
    /// reads.
    var call: OperatorCall? {
        guard let arguments else { return nil }
        let signature = OperatorCatalog.signature(of: type(of: op))
        return OperatorCall(kind: kind, arguments: signature.enumerated().map { index, spec in
            (spec.name, arguments.value(of: spec.name, likelyAt: index) ?? .none)
        })
    }

    public var kind: String { type(of: op).kind }
}

/// A catalog operator call as it was bound: every argument of the operator's signature,
/// in signature order, with its value (defaults filled in). Tensor values are the graph's
/// tensors (`TensorRef.id`).
struct OperatorCall: Sendable {
    public var kind: String
    public var arguments: [(name: String, value: Value)]

    public init(kind: String, arguments: [(name: String, value: Value)]) {
        self.kind = kind
        self.arguments = arguments
    }
}

/// A learnable parameter tensor, e.g. `layer1.0.conv1.weight`.
public struct Parameter: Sendable {
    public var name: String
    public var shape: [Int]
    public var frozen: Bool
    /// Number of nodes that use this parameter (more than one when tied).
    public var uses: Int
    public var elements: Count { Count.product(shape) }
}

/// A budget stated in the spec (`budget peak_memory <= 16GiB`); enforced by `check`.
public struct Budget: Sendable, Equatable {
    public var metric: BudgetMetric
    public var limit: Double
    public var location: SourceLocation
}
