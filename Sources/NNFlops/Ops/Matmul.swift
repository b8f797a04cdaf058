/// `matmul(input, other)`: batched matrix product with broadcasting of the batch
/// dimensions, like torch.matmul for operands of rank >= 2:
/// [..., M, K] x [..., K, N] -> [broadcast(batch), M, N].
///
/// Reference algorithm, batch = product of the broadcast batch dimensions:
/// - forward: every output element is a K-term dot product accumulated from zero
///   (K multiply-adds): MACs = batch*M*K*N, FLOPs = 2*MACs.
/// - input gradient dA = dC B^T, dB = A^T dC (each only when needed). Each gradient element
///   is one dot product accumulated from zero over every product it took part in, batch
///   broadcasting included (a broadcast operand's gradient folds the reduction over the
///   broadcast batch into the same dot product, as torch's folded matmul backward does):
///   batch*M*K*N MACs each, no separate reduction.
struct Matmul: Operator {
    public static let kind = "matmul"
    public static let summary = "batched matrix product with broadcast batch dimensions"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("other", .tensor),
    ]

    let left: TensorType
    let right: TensorType
    let batch: [Int]

    public init(_ arguments: BoundArguments) throws {
        left = try arguments.tensor("input")
        right = try arguments.tensor("other")
        guard left.rank >= 2 else { throw OperatorError("input must have rank 2 or more ([..., M, K]), got \(left)", argument: "input") }
        guard right.rank >= 2 else { throw OperatorError("other must have rank 2 or more ([..., K, N]), got \(right)", argument: "other") }
        guard left.dtype == right.dtype else {
            throw OperatorError("dtypes differ: \(left) and \(right)", argument: "other")
        }
        let k = left.shape[left.rank - 1]
        guard right.shape[right.rank - 2] == k else {
            throw OperatorError("cannot multiply \(left) by \(right): inner dimensions \(k) and \(right.shape[right.rank - 2]) differ", argument: "other")
        }
        guard let batch = broadcastShapes(Array(left.shape.dropLast(2)), Array(right.shape.dropLast(2))) else {
            throw OperatorError("batch dimensions of \(left) and \(right) do not broadcast", argument: "other")
        }
        self.batch = batch
    }

    var m: Int { left.shape[left.rank - 2] }
    var k: Int { left.shape[left.rank - 1] }
    var n: Int { right.shape[right.rank - 1] }
    var macs: Count { Count.product(batch) * m * k * n }

    public var outputs: [TensorType] { [TensorType(batch + [m, n], left.dtype)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        var cost = OperatorCost(forward: .mac(macs))
        if context.needsGradient(input: 0) { cost.inputGradient += .mac(macs) }
        if context.needsGradient(input: 1) { cost.inputGradient += .mac(macs) }
        return cost
    }

    public var detail: String { "\(m)x\(k)x\(n)" + (batch.isEmpty ? "" : " batch \(shapeText(batch))") }
}

// Memory (README, "Training and inference memory").
extension Matmul {
    /// matmul keeps `other` for the input's gradient and `input` for other's.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        (context.needsGradient(input: 1) ? [.input(0)] : []) + (context.needsGradient(input: 0) ? [.input(1)] : [])
    }
    public var autocast: AutocastClass { .lowerPrecision }
}
