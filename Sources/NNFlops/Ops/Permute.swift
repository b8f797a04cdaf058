/// `permute(input, dims)`: reorders all dimensions (torch.permute); `dims` is a
/// permutation of 0..<rank (negative indices allowed). A view: 0 FLOPs in every phase.
struct Permute: Operator {
    public static let kind = "permute"
    public static let summary = "reorder dimensions (a view)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("dims", .intList),
    ]

    let input: TensorType
    let order: [Int]

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let dims = try arguments.intList("dims")
        guard dims.count == input.rank else {
            throw OperatorError("dims \(shapeText(dims)) must list all \(input.rank) dimensions of \(input)", argument: "dims")
        }
        var order: [Int] = []
        for d in dims {
            guard let axis = input.axis(d) else {
                throw OperatorError("dimension \(d) is out of range for a tensor of rank \(input.rank) \(input)", argument: "dims")
            }
            guard !order.contains(axis) else {
                throw OperatorError("dims \(shapeText(dims)) is not a permutation: dimension \(axis) appears twice", argument: "dims")
            }
            order.append(axis)
        }
        self.order = order
    }

    /// A strided view (not contiguous unless the order only moves size-1 dimensions).
    public var outputs: [TensorType] { [input.permuted(order)] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { shapeText(order) }
}

// Memory (README, "Training and inference memory").
extension Permute {
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Permute {
    /// The split dimension goes where the permutation puts it.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard let (_, dim) = request.firstSharded else { return .replicated(request) }
        return .moving(request, to: order.firstIndex(of: dim))
    }
}
