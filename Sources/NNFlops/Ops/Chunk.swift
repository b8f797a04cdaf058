/// `chunk(input, chunks, dim=-1)`: cuts `input` into `chunks` pieces along `dim` like
/// torch.chunk: each piece has ceil(n / chunks) entries, the last one the remainder, so
/// fewer than `chunks` pieces come out when n does not divide (torch does the same;
/// n = 6, chunks = 4 gives sizes 2, 2, 2). Views: 0 FLOPs forward and backward.
struct Chunk: Operator {
    public static let kind = "chunk"
    public static let summary = "cut a tensor into a number of equal pieces"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("chunks", .int),
        .defaulted("dim", .int, .int(-1)),
    ]

    let input: TensorType
    let axis: Int
    let sizes: [Int]

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let chunks = try arguments.int("chunks", atLeast: 1)
        axis = try arguments.axis("dim", of: input)
        let length = input.shape[axis]
        let size = length / chunks + (length % chunks == 0 ? 0 : 1)
        guard length / size < Split.maxPieces else {
            throw OperatorError("more than \(Split.maxPieces) chunks", argument: "chunks")
        }
        sizes = Split.pieces(length: length, size: size)
    }

    /// Strided views (pieces along the first dimension of a contiguous tensor stay contiguous).
    public var outputs: [TensorType] { sizes.map { input.sliced(axis: axis, length: $0) } }

    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(sizes.count) on dim \(axis)" }
}

// Memory (README, "Training and inference memory").
extension Chunk {
    /// The pieces are views of the input; nothing is kept.
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Chunk {
    /// As split: along the chunked dimension, each rank's piece is chunked the same number
    /// of times when every chunk divides evenly over the ranks.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard let (_, dim) = request.firstSharded else { return .replicated(request) }
        guard dim == axis else { return .moving(request, to: dim) }
        let length = input.shape[axis]
        guard length % request.degree == 0, sizes.allSatisfy({ $0 % request.degree == 0 }),
              (length / request.degree) % sizes.count == 0, sizes.allSatisfy({ $0 == sizes[0] }) else { return .replicated(request) }
        return .moving(request, to: dim)
    }
}
