/// `layernorm(x, normalized=1, eps=1e-5, affine=true, bias=true)`: layer normalisation
/// over the last `normalized` dimensions (torch.nn.LayerNorm with
/// normalized_shape = x.shape[-normalized:], elementwise_affine = affine).
///
/// Parameters (affine): weight of the normalised shape, and bias of that shape when
/// `bias` is true. No buffers.
///
/// Reference algorithm, R rows of M normalised values (n = R * M elements):
/// - forward, per row: mean = sum x / M (M adds + 1 div); var = sum (x - mean)^2 / M
///   (3M + 1 div); rstd = 1 / sqrt(var + eps) (3: add, sqrt, div);
///   xhat = (x - mean) * rstd (2M); y = xhat * weight (M, affine) + bias (M, bias).
///   Total 6n + 5R (+ n weight, + n bias): 8 FLOPs per element with both, the same
///   per-element work as batchnorm; the usual approximations say 5-8 per element.
/// - backward: `standardizeBackward` (CNNSupport.swift): input gradient
///   7n + 2R + n (weight) + 2n (xhat, when the weight is not trainable);
///   weight gradient 4n (weight: xhat 2n + dY * xhat summed 2n) + n (bias).
/// MACs: 0.
struct LayerNorm: Operator {
    public static let kind = "layernorm"
    public static let summary = "layer normalisation over the last dimensions"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("normalized", .int, .int(1)),
        .defaulted("eps", .float, .float(1e-5)),
        .defaulted("affine", .bool, .bool(true)),
        .defaulted("bias", .bool, .bool(true)),
    ]

    let input: TensorType
    let normalized: Int
    let affine: Bool
    let hasBias: Bool
    let eps: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        normalized = try arguments.int("normalized", atLeast: 1)
        affine = try arguments.bool("affine")
        let bias = try arguments.bool("bias")
        hasBias = affine && bias
        eps = try arguments.float("eps")
        guard eps > 0, eps.isFinite else { throw OperatorError("eps must be positive, got \(eps)", argument: "eps") }
        guard normalized <= input.rank else {
            throw OperatorError("cannot normalise over the last \(normalized) dimensions of \(input), which has \(input.rank)", argument: "normalized")
        }
    }

    var normalizedShape: [Int] { Array(input.shape.suffix(normalized)) }
    var rows: Count { Count.product(input.shape.dropLast(normalized)) }

    /// A new contiguous tensor of the input's shape (torch's kernel allocates it so).
    public var outputs: [TensorType] { [input.contiguousCopy] }

    public var parameters: [ParameterSpec] {
        (affine ? [ParameterSpec("weight", normalizedShape)] : []) + (hasBias ? [ParameterSpec("bias", normalizedShape)] : [])
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        let forward = n * 6 + rows * 5 + (affine ? n : .zero) + (hasBias ? n : .zero)
        let backward = standardizeBackward(elements: n, groups: rows, hasWeight: affine, hasBias: hasBias, context)
        return OperatorCost(forward: .elementwise(forward), inputGradient: backward.input, weightGradient: backward.weight)
    }

    public var detail: String {
        (normalized == 1 ? "" : "last \(normalized)") + (affine ? (hasBias ? "" : " no-bias") : " no-affine")
    }
}

// Memory (README, "Training and inference memory").
extension LayerNorm {
    /// native_layer_norm keeps input, mean and rstd (one fp32 value per row each);
    /// fp32 under autocast. The output is not kept.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient || (0..<parameters.count).contains(where: context.trainable(parameter:)) else { return [] }
        let rowShape = Array(input.shape.dropLast(normalized))
        return [.input(0), .extra("mean", shape: rowShape, type: .fixed(.float32)),
                .extra("rstd", shape: rowShape, type: .fixed(.float32))]
    }
    public var autocast: AutocastClass { .float32 }
}

// Tensor parallelism (README, "Training on many GPUs").
extension LayerNorm {
    /// Row by row: a piece split along a dimension it does not normalise over (the
    /// sequence, under sequence parallelism) is normalised on its rank; its weight and bias
    /// stay whole, so their gradients are partial sums over the ranks.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        .elementwise(request, reducedDimensions: Set((input.rank - normalized)..<input.rank))
    }
}
