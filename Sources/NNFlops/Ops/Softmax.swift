/// `softmax(input, dim=-1)`: exp(x - max) / sum over `dim` (torch.softmax).
///
/// Reference algorithm per row of n entries (N = input elements, N/n rows):
/// - forward: n compares for the row max (from -inf), n subtracts, n exps, n adds for the
///   sum (from zero), n divides: 5N.
/// - input gradient dX = Y * (dY - sum(dY * Y)) (`_softmax_backward_data`): n multiplies
///   and n adds for the dot product, n subtracts, n multiplies: 4N.
struct Softmax: Operator {
    public static let kind = "softmax"
    public static let summary = "softmax along a dimension"
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

    public func cost(_ context: CostContext) -> OperatorCost {
        OperatorCost(forward: .elementwise(input.elements * 5),
                     inputGradient: context.needsGradient(input: 0) ? .elementwise(input.elements * 4) : .zero)
    }

    public var detail: String { "dim \(axis)" }
}

// Memory (README, "Training and inference memory").
extension Softmax {
    /// _softmax_backward_data keeps the result; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.output(0)] : []
    }
    public var autocast: AutocastClass { .float32 }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Softmax {
    /// Along `dim`: a piece split along another dimension is computed on its rank.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        .elementwise(request, reducedDimensions: [axis])
    }
}
