/// `split(input, size, dim=-1)`: cuts `input` along `dim` (torch.split). `size` is an int
/// (pieces of that size, the last one smaller if the dimension does not divide) or a list
/// of sizes that must add up to the dimension. Returns one output per piece (a list in the
/// spec, e.g. `q, k, v = split(qkv, 768)`; a single piece is returned as a tensor).
///
/// Reference algorithm: views, 0 FLOPs; backward concatenates the pieces' gradients
/// (zeros for unused pieces), 0 FLOPs.
struct Split: Operator {
    public static let kind = "split"
    public static let summary = "cut a tensor into pieces of given sizes"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("size", .intList),
        .defaulted("dim", .int, .int(-1)),
    ]

    let input: TensorType
    let axis: Int
    let sizes: [Int]

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        axis = try arguments.axis("dim", of: input)
        let length = input.shape[axis]
        if case .int(let size)? = arguments["size"] {
            guard size >= 1 else { throw OperatorError("'size' must be at least 1, got \(size)", argument: "size") }
            guard length / size < Self.maxPieces else {
                throw OperatorError("size \(size) cuts dimension \(axis) of \(input) into more than \(Self.maxPieces) pieces", argument: "size")
            }
            sizes = Self.pieces(length: length, size: size)
        } else {
            let list = try arguments.intList("size")
            guard !list.isEmpty else { throw OperatorError("'size' must not be an empty list", argument: "size") }
            if let bad = list.first(where: { $0 < 1 }) {
                throw OperatorError("split sizes must be positive, got \(bad) in \(shapeText(list))", argument: "size")
            }
            let total = try list.reduce(0) { sum, size in
                let (r, o) = sum.addingReportingOverflow(size)
                guard !o else { throw OperatorError("split sizes overflow", argument: "size") }
                return r
            }
            guard total == length else {
                throw OperatorError("split sizes \(shapeText(list)) add up to \(total), but dimension \(axis) of \(input) is \(length)", argument: "size")
            }
            sizes = list
        }
    }

    /// Most outputs one split or chunk may produce (each is a tensor in the graph).
    static let maxPieces = 100_000

    /// Pieces of `size` along a dimension of `length`; the last one holds the remainder.
    static func pieces(length: Int, size: Int) -> [Int] {
        var result: [Int] = []
        var left = length
        while left > 0 {
            result.append(min(size, left))
            left -= min(size, left)
        }
        return result
    }

    /// Strided views (pieces along the first dimension of a contiguous tensor stay contiguous).
    public var outputs: [TensorType] { sizes.map { input.sliced(axis: axis, length: $0) } }

    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(shapeText(sizes)) on dim \(axis)" }
}

// Memory (README, "Training and inference memory").
extension Split {
    /// The pieces are views of the input; split_backward keeps only sizes.
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Split {
    /// Along another dimension than the split one, each rank cuts its piece the same way.
    /// Along the split dimension (q, k and v of a column-parallel projection), each rank
    /// cuts its piece into sizes / T, which T must divide; otherwise it runs whole.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard let (_, dim) = request.firstSharded else { return .replicated(request) }
        guard dim == axis else { return .moving(request, to: dim) }
        guard sizes.allSatisfy({ $0 % request.degree == 0 }) else { return .replicated(request) }
        return .moving(request, to: dim, arguments: ["size": .list(sizes.map { .int($0 / request.degree) })])
    }
}
