/// `transpose(input, dim0, dim1)`: swaps two dimensions (torch.transpose). A view; the
/// gradient is transposed back: 0 FLOPs in every phase.
struct Transpose: Operator {
    public static let kind = "transpose"
    public static let summary = "swap two dimensions (a view)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("dim0", .int),
        .required("dim1", .int),
    ]

    let input: TensorType
    let dims: (Int, Int)

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        dims = (try arguments.axis("dim0", of: input), try arguments.axis("dim1", of: input))
    }

    /// A strided view (not contiguous unless a swapped dimension has size 1).
    public var outputs: [TensorType] {
        var order = Array(0..<input.rank)
        order.swapAt(dims.0, dims.1)
        return [input.permuted(order)]
    }

    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(dims.0)<->\(dims.1)" }
}

// Memory (README, "Training and inference memory").
extension Transpose {
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Transpose {
    /// The split dimension moves with the swap.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard let (_, dim) = request.firstSharded else { return .replicated(request) }
        return .moving(request, to: dim == dims.0 ? dims.1 : dim == dims.1 ? dims.0 : dim)
    }
}
