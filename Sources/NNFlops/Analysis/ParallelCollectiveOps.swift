/// The operators tensor parallelism inserts between the model's own (README, "Training on
/// many GPUs"): Megatron-LM's communication functions (megatron/core/tensor_parallel/
/// mappings.py: `_CopyToModelParallelRegion` f, `_ReduceFromModelParallelRegion` g,
/// `_GatherFromModelParallelRegion`, `_ScatterToModelParallelRegion`,
/// `_ReduceScatterToSequenceParallelRegion`) and the sequence-parallel column linear
/// (layers.py, `LinearWithGradAccumulationAndAsyncCommunication`). They are not in the
/// spec language's catalog: only `TensorParallelGraph` makes them, and no spec or kernel
/// runs them. Each declares the collectives it runs (`collectives`), which the
/// communication analysis prices; a collective moves no FLOPs (NCCL's reduction adds are
/// not counted) and its bytes are priced over the interconnect, not on the roofline
/// (`isCollective`).

/// The arguments every inserted operator takes.
enum TensorParallelMoveSignature {
    static let arguments: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("dim", .int),
        .required("degree", .int),
        .defaulted("size", .int, .none),
    ]
}

/// An inserted operator: one input moved between placements along `dim` over `degree` ranks.
protocol TensorParallelMove: Operator {
    var input: TensorType { get }
    var dim: Int { get }
    var degree: Int { get }
    init(input: TensorType, dim: Int, degree: Int, size: Int?) throws
}

extension TensorParallelMove {
    public static var signature: [ArgumentSpec] { TensorParallelMoveSignature.arguments }
    public static var summary: String { "inserted by tensor parallelism: \(kind)" }

    public init(_ arguments: BoundArguments) throws {
        let input = try arguments.tensor("input")
        let dim = try arguments.int("dim")
        let degree = try arguments.int("degree", atLeast: 1)
        guard dim >= 0, dim < max(1, input.rank) else { throw OperatorError("dimension \(dim) is not one of \(input)", argument: "dim") }
        try self.init(input: input, dim: dim, degree: degree, size: try arguments.optionalInt("size"))
    }

    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var isCollective: Bool { true }

    /// A move that splits dimension `dim` into `degree` equal pieces needs it to divide.
    static func checkDivides(_ input: TensorType, _ dim: Int, _ degree: Int) throws {
        guard input.shape[dim] % degree == 0 else {
            throw OperatorError("dimension \(dim) of \(input) does not divide over \(degree) ranks", argument: "dim")
        }
    }

    /// The input with dimension `dim` set to `length`, contiguous.
    func resized(_ length: Int) -> TensorType {
        var shape = input.shape
        shape[dim] = length
        return TensorType(shape, input.dtype)
    }
}

/// Megatron's f before a column-parallel operator: the identity forward (a view); backward,
/// every rank's gradient is a partial sum, all-reduced over the tensor-parallel group.
struct TensorParallelCopy: TensorParallelMove {
    static let kind = "tp_copy"
    let input: TensorType, dim: Int, degree: Int
    init(input: TensorType, dim: Int, degree: Int, size: Int?) throws {
        self.input = input
        self.dim = dim
        self.degree = degree
    }
    var outputs: [TensorType] { [input] }
    func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
    func collectives(_ context: CostContext) -> [OperatorCollective] {
        context.needsGradient(input: 0) ? [OperatorCollective(.allReduce, .backward, shape: input.shape, type: .input(0))] : []
    }
}

/// Megatron's g after a row-parallel operator: the partial sums all-reduced in place
/// forward; backward the identity (the gradient is whole on every rank).
struct TensorParallelAllReduce: TensorParallelMove {
    static let kind = "all_reduce"
    let input: TensorType, dim: Int, degree: Int
    init(input: TensorType, dim: Int, degree: Int, size: Int?) throws {
        self.input = input
        self.dim = dim
        self.degree = degree
    }
    var outputs: [TensorType] { [input] }
    /// NCCL reduces in place: the result is the partial sum's storage.
    func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
    func collectives(_ context: CostContext) -> [OperatorCollective] {
        [OperatorCollective(.allReduce, .forward, shape: input.shape, type: .input(0))]
    }
}

/// A split tensor gathered for an operator that runs whole: all-gather forward (a new
/// tensor of `size` along `dim`); backward each rank keeps its own piece of the whole
/// gradient (a local split, no communication).
struct TensorParallelAllGather: TensorParallelMove {
    static let kind = "all_gather"
    let input: TensorType, dim: Int, degree: Int
    let size: Int
    init(input: TensorType, dim: Int, degree: Int, size: Int?) throws {
        self.input = input
        self.dim = dim
        self.degree = degree
        self.size = size ?? input.shape[dim] * degree
    }
    var outputs: [TensorType] { [resized(size)] }
    func collectives(_ context: CostContext) -> [OperatorCollective] {
        [OperatorCollective(.allGather, .forward, shape: resized(size).shape, type: .input(0))]
    }
}

/// Sequence parallelism after a row-parallel operator: the partial sums reduce-scattered
/// along the sequence dimension forward; backward the gradient pieces all-gathered.
struct TensorParallelReduceScatter: TensorParallelMove {
    static let kind = "reduce_scatter"
    let input: TensorType, dim: Int, degree: Int
    init(input: TensorType, dim: Int, degree: Int, size: Int?) throws {
        try Self.checkDivides(input, dim, degree)
        self.input = input
        self.dim = dim
        self.degree = degree
    }
    var outputs: [TensorType] { [resized(input.shape[dim] / degree)] }
    func collectives(_ context: CostContext) -> [OperatorCollective] {
        [OperatorCollective(.reduceScatter, .forward, shape: input.shape, type: .input(0))]
            + (context.needsGradient(input: 0) ? [OperatorCollective(.allGather, .backward, shape: input.shape, type: .input(0))] : [])
    }
}

/// A whole tensor read in pieces (a row-parallel operator's whole input, a replicated
/// operand meeting a split one): each rank copies its piece forward (local, a contiguous
/// copy as Megatron's split does); backward the gradient pieces are all-gathered, so the
/// whole tensor's gradient is whole again.
struct TensorParallelScatter: TensorParallelMove {
    static let kind = "scatter"
    let input: TensorType, dim: Int, degree: Int
    init(input: TensorType, dim: Int, degree: Int, size: Int?) throws {
        try Self.checkDivides(input, dim, degree)
        self.input = input
        self.dim = dim
        self.degree = degree
    }
    var outputs: [TensorType] { [resized(input.shape[dim] / degree)] }
    /// The split is a local copy, priced on the roofline like any copy.
    var isCollective: Bool { false }
    func collectives(_ context: CostContext) -> [OperatorCollective] {
        context.needsGradient(input: 0) ? [OperatorCollective(.allGather, .backward, shape: input.shape, type: .input(0))] : []
    }
}

/// Megatron's column-parallel linear under sequence parallelism: its input arrives split
/// along the sequence; forward it all-gathers the whole input into a buffer, multiplies,
/// and keeps only its own piece for backward; backward it all-gathers the input again
/// (for the weight gradient) and reduce-scatters the input gradient back to the pieces.
/// `inner` is the linear at the whole input's size: FLOPs, parameters and outputs are its.
struct SequenceParallelLinear: Operator {
    static let kind = "linear"
    static let summary = "inserted by sequence parallelism: column-parallel linear gathering its input"
    static let signature: [ArgumentSpec] = [.required("input", .tensor)]

    let inner: any Operator
    /// One rank's piece of the input.
    let shard: TensorType
    let dim: Int
    let degree: Int

    init(inner: any Operator, shard: TensorType, dim: Int, degree: Int) {
        self.inner = inner
        self.shard = shard
        self.dim = dim
        self.degree = degree
    }

    init(_ arguments: BoundArguments) throws {
        throw OperatorError("the sequence-parallel linear is made by tensor parallelism, not written in a spec")
    }

    /// The whole input, as gathered.
    var gatheredShape: [Int] {
        var shape = shard.shape
        shape[dim] *= degree
        return shape
    }

    var outputs: [TensorType] { inner.outputs }
    var parameters: [ParameterSpec] { inner.parameters }
    var buffers: [ParameterSpec] { inner.buffers }
    func cost(_ context: CostContext) -> OperatorCost { inner.cost(context) }
    var detail: String { inner.detail + " gathered" }
    var autocast: AutocastClass { inner.autocast }
    var autocastPrimitives: [AutocastClass] { inner.autocastPrimitives }
    /// What the linear keeps: its input is the piece (index 0), not the gathered buffer.
    func savedTensors(_ context: MemoryContext) -> [SavedTensor] { inner.savedTensors(context) }
    func backwardReads(_ phase: BackwardPhase, _ context: CostContext) -> [SavedTensor] { inner.backwardReads(phase, context) }
    func elementsRead(ofParameter index: Int) -> Count { inner.elementsRead(ofParameter: index) }
    func forwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] {
        inner.forwardWorkspace(context) + [WorkspaceTensor("gathered input", gatheredShape, .compute)]
    }
    func backwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] {
        var workspace = inner.backwardWorkspace(context)
        if context.trainable(parameter: 0) { workspace.append(WorkspaceTensor("input gathered again", gatheredShape, .compute)) }
        if context.needsGradient(input: 0) { workspace.append(WorkspaceTensor("whole input gradient", gatheredShape, .input(0))) }
        return workspace
    }
    func collectives(_ context: CostContext) -> [OperatorCollective] {
        var calls = [OperatorCollective(.allGather, .forward, shape: gatheredShape, type: .compute)]
        if context.trainable(parameter: 0) { calls.append(OperatorCollective(.allGather, .backward, shape: gatheredShape, type: .compute)) }
        if context.needsGradient(input: 0) { calls.append(OperatorCollective(.reduceScatter, .backward, shape: gatheredShape, type: .input(0))) }
        return calls
    }
}
