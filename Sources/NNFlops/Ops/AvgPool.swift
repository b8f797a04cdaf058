/// `avgpool(x, kernel, stride=none, padding=0, ceil_mode=false, count_include_pad=true)`
/// on [N, C, H, W] (torch.nn.AvgPool2d; stride defaults to the kernel size).
///
/// Output size as maxpool (dilation 1). Reference algorithm (torch's CPU kernel): each
/// output sums the v taps of its window that lie inside the input, accumulated from
/// zero (v adds; padded zeros are not read), then divides once by the divisor (the
/// window size clipped to the padded input with count_include_pad, else v; the divisor
/// is integer work): forward = N*C * (sum over outputs of v + Ho*Wo). Without padding:
/// N*C*Ho*Wo * (kh*kw + 1), against the usual kh*kw per output.
/// Input gradient (avg_pool2d_backward): per output one div (dY / divisor), then one add
/// into each of its v valid taps of the zeroed dX: the same count as forward.
/// MACs: 0. Saves nothing for backward.
struct AvgPool: Operator {
    public static let kind = "avgpool"
    public static let summary = "2-D average pooling"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("kernel", .intTuple(count: 2)),
        .defaulted("stride", .intTuple(count: 2), .none),
        .defaulted("padding", .intTuple(count: 2), .int(0)),
        .defaulted("ceil_mode", .bool, .bool(false)),
        .defaulted("count_include_pad", .bool, .bool(true)),
    ]

    let input: TensorType
    let axes: [PoolAxis]
    let countIncludePad: Bool

    public init(_ arguments: BoundArguments) throws {
        let input = try imageInput(arguments, kind: Self.kind)
        let kernel = try arguments.ints("kernel", count: 2)
        let stride = try poolStride(arguments, kernel: kernel)
        let padding = try arguments.ints("padding", count: 2)
        let ceilMode = try arguments.bool("ceil_mode")
        countIncludePad = try arguments.bool("count_include_pad")
        self.input = input
        axes = try (0..<2).map {
            try PoolAxis(input: input.shape[2 + $0], kernel: kernel[$0], stride: stride[$0], padding: padding[$0],
                         dilation: 1, ceilMode: ceilMode, axis: $0)
        }
    }

    public var outputs: [TensorType] { [TensorType([input.shape[0], input.shape[1], axes[0].output, axes[1].output], input.dtype)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let planes = Count(input.shape[0]) * input.shape[1]
        let flops = planes * axes[0].taps.valid * axes[1].taps.valid + planes * axes[0].output * axes[1].output
        return OperatorCost(forward: .elementwise(flops),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(flops) : .zero)
    }

    public var detail: String { poolDetail(axes) + (countIncludePad ? "" : " exclude-pad") }
}

// Memory (README, "Training and inference memory").
extension AvgPool {
    /// avg_pool2d_backward(grad, self, ...) keeps the input.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.input(0)] : []
    }
}
