/// `linear(x, out, bias=true)`: y = x W^T + b over the last dimension (torch.nn.Linear).
///
/// Reference algorithm, N = rows (product of leading dims), K = in, M = out:
/// - forward: each output is a K-term dot product (K MACs), plus one add for the bias:
///   MACs = N*K*M, FLOPs = 2*N*K*M + N*M (bias).
/// - input gradient dX = dY W: N*M*K MACs.
/// - weight gradient dW = dY^T X: N*M*K MACs; bias gradient db = sum over rows: N*M adds.
struct Linear: WeightedLayer {
    public static let kind = "linear"
    public static let summary = "fully connected layer over the last dimension"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("out", .int),
        .defaulted("bias", .bool, .bool(true)),
        .defaulted("parallel", .string, .string("none")),
    ]

    let input: TensorType
    let outFeatures: Int
    var hasBias: Bool
    /// Tensor parallelism (Megatron-LM): "column" splits the output features over the
    /// ranks, "row" the input features; "none" runs whole on every rank.
    let parallel: String

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        outFeatures = try arguments.int("out", atLeast: 1)
        hasBias = try arguments.bool("bias")
        parallel = try arguments.choice("parallel", ["none", "column", "row"])
        guard input.rank >= 1 else { throw OperatorError("input must have at least one dimension", argument: "input") }
    }

    /// The input's last dimension (the initialiser checks there is one).
    var inFeatures: Int { input.shape.last ?? 0 }
    var rows: Count { Count.product(input.shape.dropLast()) }
    var outChannels: Int { outFeatures }

    public var outputs: [TensorType] { [TensorType(input.shape.dropLast() + [outFeatures], input.dtype)] }

    var weightShape: [Int] { [outFeatures, inFeatures] }
    var macs: Count { rows * inFeatures * outFeatures }

    public var detail: String { "\(inFeatures)->\(outFeatures)" + (hasBias ? "" : " no-bias") }
}

// Tensor parallelism (README, "Training on many GPUs"; Shoeybi et al. 2019, §3).
extension Linear {
    /// Column-parallel (`parallel = "column"`): every rank reads the whole input through
    /// Megatron's f (its input gradient is a partial sum, all-reduced backward) and makes
    /// out / T features (rounded up: a vocabulary that T does not divide is padded, as
    /// Megatron pads its vocabulary); under sequence parallelism an input split along the
    /// sequence is gathered by the linear itself. Row-parallel (`parallel = "row"`): every
    /// rank reads its piece of the input features and holds a partial sum of the whole
    /// output, reduced after it (the bias is added to every rank's sum before the
    /// reduction's result is used: its FLOPs are every rank's).
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        let last = input.rank - 1
        switch parallel {
        case "column":
            let perRank = (outFeatures + request.degree - 1) / request.degree
            var notes: [String] = []
            if outFeatures % request.degree != 0 {
                notes.append("a column-parallel linear of \(outFeatures) features is padded to \(perRank * request.degree) (\(perRank) per rank), as Megatron pads its vocabulary")
            }
            return TensorParallelRule(inputs: [.gradientReduced], outputs: [.sharded(last)], arguments: ["out": .int(perRank)],
                                      gathersSequenceShardedInput: true, notes: notes)
        case "row":
            guard input.shape[last] % request.degree == 0 else {
                throw OperatorError("a row-parallel linear splits its \(input.shape[last]) input features over --tp \(request.degree), which does not divide them")
            }
            return TensorParallelRule(inputs: [.sharded(last)], outputs: [.partial])
        default:
            return .replicated(request)
        }
    }
}
