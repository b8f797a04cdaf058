/// `adaptive_avgpool(x, output)` on [N, C, H, W] (torch.nn.AdaptiveAvgPool2d); `output`
/// is an int (square) or [h, w].
///
/// Bins follow torch: output i of o along an axis of size H averages input rows
/// [floor(i*H/o), ceil((i+1)*H/o)). Bins may overlap (o not dividing H) and o may
/// exceed H. The bin sizes along an axis sum to H + o - gcd(H, o).
///
/// Reference algorithm: each output sums its bin accumulated from zero (bin-size adds)
/// and divides once: forward = N*C * ((sum of bin heights) * (sum of bin widths) + o_h*o_w).
/// Input gradient (adaptive_avg_pool2d_backward): per output one div, then one add into
/// each input position of its bin in the zeroed dX: the same count as forward.
/// MACs: 0. Saves nothing for backward.
struct AdaptiveAvgPool: Operator {
    public static let kind = "adaptive_avgpool"
    public static let summary = "2-D adaptive average pooling to a fixed output size"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("output", .intTuple(count: 2)),
    ]

    let input: TensorType
    let size: [Int]

    public init(_ arguments: BoundArguments) throws {
        input = try imageInput(arguments, kind: Self.kind)
        size = try arguments.ints("output", count: 2)
        guard size.allSatisfy({ $0 >= 1 }) else {
            throw OperatorError("output size must be positive, got \(size)", argument: "output")
        }
    }

    public var outputs: [TensorType] { [TensorType([input.shape[0], input.shape[1]] + size, input.dtype)] }

    /// Sum over the o bins of an axis of size `length` of the bin sizes: H + o - gcd(H, o).
    static func binSum(length: Int, bins: Int) -> Count {
        var a = length, b = bins
        while b != 0 { (a, b) = (b, a % b) }
        return Count(length) + bins - a
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let planes = Count(input.shape[0]) * input.shape[1]
        let flops = planes * Self.binSum(length: input.shape[2], bins: size[0]) * Self.binSum(length: input.shape[3], bins: size[1])
            + planes * size[0] * size[1]
        return OperatorCost(forward: .elementwise(flops),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(flops) : .zero)
    }

    public var detail: String { size[0] == size[1] ? "\(size[0])x\(size[0])" : "\(size[0])x\(size[1])" }
}

// Memory (README, "Training and inference memory").
extension AdaptiveAvgPool {
    /// torch's adaptive_avg_pool2d to 1x1 is `mean` (keeps only sizes); other sizes keep
    /// the input for `_adaptive_avg_pool2d_backward`.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        size == [1, 1] || !context.anyInputNeedsGradient ? [] : [.input(0)]
    }
}
