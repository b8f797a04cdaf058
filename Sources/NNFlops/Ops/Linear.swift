/// `linear(x, out, bias=true)`: y = x W^T + b over the last dimension (torch.nn.Linear).
///
/// Reference algorithm, N = rows (product of leading dims), K = in, M = out:
/// - forward: each output is a K-term dot product (K MACs), plus one add for the bias:
///   MACs = N*K*M, FLOPs = 2*N*K*M + N*M (bias).
/// - input gradient dX = dY W: N*M*K MACs.
/// - weight gradient dW = dY^T X: N*M*K MACs; bias gradient db = sum over rows: N*M adds.
public struct Linear: Operator {
    public static let kind = "linear"
    public static let summary = "fully connected layer over the last dimension"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("out", .int),
        .optional("bias", .bool, .bool(true)),
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

    var inFeatures: Int { input.shape.last! }
    var rows: Count { Count.product(input.shape.dropLast()) }

    public var outputs: [TensorType] { [TensorType(input.shape.dropLast() + [outFeatures], input.dtype)] }

    public var parameters: [ParameterSpec] {
        [ParameterSpec("weight", [outFeatures, inFeatures])] + (hasBias ? [ParameterSpec("bias", [outFeatures])] : [])
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let macs = rows * inFeatures * outFeatures
        let outputs = rows * outFeatures
        var cost = OperatorCost(forward: Work(flops: macs * 2 + (hasBias ? outputs : .zero), macs: macs))
        if context.needsGradient(input: 0) { cost.inputGradient = .mac(macs) }
        if context.trainable(parameter: 0) { cost.weightGradient += .mac(macs) }
        if hasBias && context.trainable(parameter: 1) { cost.weightGradient += .elementwise(outputs) }
        return cost
    }

    public var detail: String { "\(inFeatures)->\(outFeatures)" + (hasBias ? "" : " no-bias") }
}

// Memory (README, "Training and inference memory").
extension Linear {
    /// addmm/mm keep the input (for the weight gradient) and the weight (for the input
    /// gradient); under autocast both are half copies. The bias is not kept.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        (context.trainable(parameter: 0) ? [.input(0)] : []) + (context.needsGradient(input: 0) ? [.parameter(0)] : [])
    }
    public var autocast: AutocastClass { .lowerPrecision }
    public func absorbingAffine() -> (any Operator)? {
        var folded = self
        folded.hasBias = true
        return folded
    }
}

// Roofline traffic (README, "Roofline").
extension Linear {
    /// dX = dY W reads the weight; dW = dY^T X reads the input (the bias gradient only dY).
    public func backwardReads(_ phase: BackwardPhase, _ context: CostContext) -> [SavedTensor] {
        savedTensors(context).filter { saved in
            switch (phase, saved) {
            case (.inputGradient, .parameter), (.weightGradient, .input): true
            default: false
            }
        }
    }
}
