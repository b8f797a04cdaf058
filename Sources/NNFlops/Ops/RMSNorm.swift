/// `rmsnorm(x, eps=1e-6, affine=true)`: root-mean-square normalisation over the last
/// dimension, as in LLaMA: y = x * rsqrt(mean(x^2) + eps) * weight (no mean, no bias).
///
/// Parameters (affine): weight [D]. No buffers.
///
/// Reference algorithm, R rows of D values (n = R * D elements):
/// - forward, per row: ms = sum x * x / D (2D: mul, add; + 1 div);
///   r = 1 / sqrt(ms + eps) (3: add, sqrt, div); y = x * r (D) * weight (D, affine).
///   Total 3n + 4R (+ n affine): 4 FLOPs per element, against 8 for layernorm.
/// - backward (saved: x and r per row): xn = x * r recomputed (n), once, charged to the
///   weight gradient when the weight is trainable, else to the input gradient.
///   Weight gradient dW = sum over rows of dY * xn: 2n (+ n for xn).
///   Input gradient: g = dY * weight (n, affine); b = sum g * xn per row (2n);
///   b / D (1 per row); dX = (g - xn * b) * r (3n). Total 5n + R (+ n affine,
///   + n xn when the weight is not trainable).
/// MACs: 0.
public struct RMSNorm: Operator {
    public static let kind = "rmsnorm"
    public static let summary = "RMS normalisation over the last dimension (LLaMA)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("eps", .float, .float(1e-6)),
        .defaulted("affine", .bool, .bool(true)),
    ]

    let input: TensorType
    let affine: Bool
    let eps: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        affine = try arguments.bool("affine")
        eps = try arguments.float("eps")
        guard eps > 0, eps.isFinite else { throw OperatorError("eps must be positive, got \(eps)", argument: "eps") }
        guard input.rank >= 1 else { throw OperatorError("input must have at least one dimension", argument: "input") }
    }

    var rows: Count { Count.product(input.shape.dropLast()) }

    public var outputs: [TensorType] { [input] }

    public var parameters: [ParameterSpec] { affine ? [ParameterSpec("weight", [input.shape[input.rank - 1]])] : [] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        var cost = OperatorCost(forward: .elementwise(n * 3 + rows * 4 + (affine ? n : .zero)))
        let weightTrainable = affine && context.trainable(parameter: 0)
        if weightTrainable { cost.weightGradient = .elementwise(n + n * 2) }
        if context.needsGradient(input: 0) {
            cost.inputGradient = .elementwise(n * 5 + rows + (affine ? n : .zero) + (weightTrainable ? .zero : n))
        }
        return cost
    }

    public var detail: String { affine ? "" : "no-affine" }
}

// Memory (README, "Training and inference memory").
extension RMSNorm {
    /// torch's fused rms_norm keeps the input and one fp32 rstd per row; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient || context.trainable(parameter: 0) else { return [] }
        return [.input(0), .extra("rstd", shape: Array(input.shape.dropLast()), type: .fixed(.float32))]
    }
    public var autocast: AutocastClass { .float32 }
}
