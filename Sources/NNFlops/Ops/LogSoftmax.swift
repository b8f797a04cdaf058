/// `log_softmax(input, dim=-1)`: x - max - log(sum(exp(x - max))) over `dim`.
///
/// Reference algorithm per row of n entries (N = input elements, N/n rows):
/// - forward: n compares for the max, n subtracts (x - max), n exps, n adds for the sum,
///   1 log, n subtracts (shifted - log sum): 5N + N/n.
/// - input gradient dX = dY - exp(Y) * sum(dY) (`_log_softmax_backward_data`): n adds for
///   the sum, n exps, n multiplies, n subtracts: 4N.
struct LogSoftmax: Operator {
    public static let kind = "log_softmax"
    public static let summary = "log of softmax along a dimension"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("dim", .int, .int(-1)),
    ]

    let input: TensorType
    let axis: Int

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        guard input.dtype.isFloatingPoint else { throw OperatorError("input must be a float tensor, got \(input)", argument: "input") }
        guard input.rank >= 1 else { throw OperatorError("input must have at least one dimension, got a scalar", argument: "input") }
        axis = try arguments.axis("dim", of: input)
    }

    /// A new contiguous tensor of the input's shape (torch's kernel allocates it so).
    public var outputs: [TensorType] { [input.contiguousCopy] }

    var rows: Count {
        var shape = input.shape
        shape.remove(at: axis)
        return Count.product(shape)
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        OperatorCost(forward: .elementwise(input.elements * 5 + rows),
                     inputGradient: context.needsGradient(input: 0) ? .elementwise(input.elements * 4) : .zero)
    }

    public var detail: String { "dim \(axis)" }
}

// Memory (README, "Training and inference memory").
extension LogSoftmax {
    /// _log_softmax_backward_data keeps the result; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.output(0)] : []
    }
    public var autocast: AutocastClass { .float32 }
}

// Tensor parallelism (README, "Training on many GPUs").
extension LogSoftmax {
    /// Along `dim`: a piece split along another dimension is computed on its rank.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        .elementwise(request, reducedDimensions: [axis])
    }
}
