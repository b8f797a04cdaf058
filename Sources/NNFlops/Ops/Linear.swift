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
    ]

    let input: TensorType
    let outFeatures: Int
    var hasBias: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        outFeatures = try arguments.int("out", atLeast: 1)
        hasBias = try arguments.bool("bias")
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
