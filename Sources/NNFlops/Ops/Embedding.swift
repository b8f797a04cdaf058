/// `embedding(input, num, dim)`: looks up rows of a learned table (torch.nn.Embedding).
/// `input` is an integer tensor of ids (declare it `input ids: [b, n] int`); the output is
/// [..., dim] float32; the parameter is `weight` [num, dim] (tie a linear head to it with
/// `tie="<name>"`: it counts once).
///
/// Reference algorithm, T = number of ids:
/// - forward: a gather of T rows, 0 FLOPs.
/// - input gradient: none (ids are integers).
/// - weight gradient: dW starts at zero and each of the T rows of dY is added into the row
///   of its id (scatter-add, embedding_dense_backward): T*dim adds.
struct Embedding: Operator {
    public static let kind = "embedding"
    public static let summary = "lookup table of learned vectors indexed by integer ids"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("num", .int),
        .required("dim", .int),
        .defaulted("parallel", .string, .string("none")),
    ]

    let input: TensorType
    let num: Int
    let dim: Int
    /// Tensor parallelism: "vocab" splits the rows (Megatron's VocabParallelEmbedding).
    let parallel: String

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        num = try arguments.int("num", atLeast: 1)
        dim = try arguments.int("dim", atLeast: 1)
        parallel = try arguments.choice("parallel", ["none", "vocab"])
        guard !input.dtype.isFloatingPoint, input.dtype != .bool else {
            throw OperatorError("input must be an integer tensor of ids (declare it e.g. `input ids: [b, n] int`), got \(input)", argument: "input")
        }
    }

    public var outputs: [TensorType] { [TensorType(input.shape + [dim], .float32)] }
    public var parameters: [ParameterSpec] { [ParameterSpec("weight", [num, dim])] }

    public func cost(_ context: CostContext) -> OperatorCost {
        OperatorCost(forward: .zero,
                     weightGradient: context.trainable(parameter: 0) ? .elementwise(input.elements * dim) : .zero)
    }

    public var detail: String { "\(num)x\(dim)" }
}

// Memory (README, "Training and inference memory").
extension Embedding {
    /// embedding_backward keeps the indices (only when the table is trained).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.trainable(parameter: 0) ? [.input(0)] : []
    }
}

// Roofline traffic (README, "Roofline").
extension Embedding {
    /// The forward gather reads only the rows its ids select: at most min(T, num) rows.
    public func elementsRead(ofParameter index: Int) -> Count {
        index == 0 ? Count.product([min(input.elements.value, num), dim]) : .zero
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Embedding {
    /// Vocabulary-parallel (`parallel = "vocab"`, Megatron's VocabParallelEmbedding): each
    /// rank holds num / T rows (rounded up: padded as Megatron pads its vocabulary) and
    /// looks up the ids in its range, zeros elsewhere: its output is a partial sum, reduced
    /// after it. The ids themselves are whole on every rank.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard parallel == "vocab" else { return .replicated(request) }
        let perRank = (num + request.degree - 1) / request.degree
        let notes = num % request.degree == 0 ? [] :
            ["a vocabulary-parallel embedding of \(num) rows is padded to \(perRank * request.degree) (\(perRank) per rank), as Megatron pads its vocabulary"]
        return TensorParallelRule(inputs: [.replicated], outputs: [.partial], arguments: ["num": .int(perRank)], notes: notes)
    }
}
