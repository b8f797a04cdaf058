/// `contiguous(input)`: the tensor laid out row-major (torch.Tensor.contiguous): the input
/// itself when it already is contiguous, otherwise a contiguous copy (a clone), e.g. of a
/// transposed or permuted view before a reshape or a matmul that needs one (MHA's
/// `attn_output.permute(2, 0, 1, 3).contiguous()`). Whether the input is contiguous
/// follows from how its producer lays it out (Graph/TensorLayout.swift).
///
/// Reference algorithm: a copy moves elements, no arithmetic: 0 FLOPs forward. The
/// gradient of a copy is the output's gradient (clone's derivative is the identity):
/// 0 FLOPs. Keeps nothing.
struct Contiguous: Operator {
    public static let kind = "contiguous"
    public static let summary = "contiguous copy of a strided view (the input itself when contiguous)"
    public static let signature: [ArgumentSpec] = [.required("input", .tensor)]

    let input: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
    }

    /// The input is not contiguous: the output is a new tensor.
    var copies: Bool { !input.isContiguous }

    public var outputs: [TensorType] { [input.contiguousCopy] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { copies ? "copy" : "view" }
}

// Memory (README, "Training and inference memory").
extension Contiguous {
    /// The input itself when it is already contiguous; a new tensor when it copies. A copy
    /// keeps nothing for backward.
    public func alias(ofOutput index: Int) -> OutputAlias? { copies ? nil : .view(input: 0) }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Contiguous {
    /// Each rank copies (or views) its own piece.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
