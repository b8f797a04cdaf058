/// `globalavgpool(x)`: mean over the spatial positions of [N, C, H, W] -> [N, C, 1, 1]
/// (torchvision's AdaptiveAvgPool2d((1, 1))).
///
/// Reference algorithm (adaptive_avgpool with output 1): per (sample, channel) H*W adds
/// accumulated from zero and one div: forward = N*C*H*W + N*C (the usual count is
/// C*H*W adds per sample). Input gradient: per (sample, channel) one div (dY / (H*W))
/// and one add into each of the H*W positions of the zeroed dX: N*C*H*W + N*C.
/// MACs: 0. Saves nothing for backward.
struct GlobalAvgPool: Operator {
    public static let kind = "globalavgpool"
    public static let summary = "global average pooling to [N, C, 1, 1]"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
    ]

    let input: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try imageInput(arguments, kind: Self.kind)
    }

    public var outputs: [TensorType] { [TensorType([input.shape[0], input.shape[1], 1, 1], input.dtype)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let flops = input.elements + Count(input.shape[0]) * input.shape[1]
        return OperatorCost(forward: .elementwise(flops),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(flops) : .zero)
    }
}

// Memory (README, "Training and inference memory").
extension GlobalAvgPool {
    /// A mean over the spatial positions: keeps only sizes.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
