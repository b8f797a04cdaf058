/// `groupnorm(x, groups, eps=1e-5, affine=true)`: group normalisation of [N, C, ...]
/// (torch.nn.GroupNorm(groups, C)): statistics over each group of C / groups channels
/// and all positions of one sample; per-channel affine transform.
///
/// Parameters (affine): weight [C], bias [C]. No buffers.
///
/// Reference algorithm, R = N * groups groups of M = n / R values (n elements):
/// - forward, per group: mean (M adds + 1 div), var = sum (x - mean)^2 / M (3M + 1 div),
///   rstd = 1 / sqrt(var + eps) (3); xhat = (x - mean) * rstd (2n in all);
///   y = xhat * weight[c] + bias[c] (2n, affine). Total 6n + 5R (+ 2n affine).
/// - backward: `standardizeBackward` (CNNSupport.swift): input gradient
///   7n + 2R + n (affine) + 2n (xhat, when the weight is not trainable);
///   weight gradient 4n (weight) + n (bias).
/// MACs: 0.
struct GroupNorm: Operator {
    public static let kind = "groupnorm"
    public static let summary = "group normalisation over groups of channels"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("groups", .int),
        .defaulted("eps", .float, .float(1e-5)),
        .defaulted("affine", .bool, .bool(true)),
    ]

    let input: TensorType
    let groups: Int
    let affine: Bool
    let eps: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        groups = try arguments.int("groups", atLeast: 1)
        affine = try arguments.bool("affine")
        eps = try arguments.float("eps")
        guard eps > 0, eps.isFinite else { throw OperatorError("eps must be positive, got \(eps)", argument: "eps") }
        guard input.rank >= 2 else {
            throw OperatorError("input must have a channel dimension ([N, C, ...]), got \(input)", argument: "input")
        }
        guard input.shape[1] % groups == 0 else {
            throw OperatorError("groups = \(groups) must divide the \(input.shape[1]) channels of \(input)", argument: "groups")
        }
    }

    var channels: Int { input.shape[1] }

    /// A new contiguous tensor of the input's shape (torch's kernel allocates it so).
    public var outputs: [TensorType] { [input.contiguousCopy] }

    public var parameters: [ParameterSpec] {
        affine ? [ParameterSpec("weight", [channels]), ParameterSpec("bias", [channels])] : []
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        let statisticGroups = Count(input.shape[0]) * groups
        let forward = n * 6 + statisticGroups * 5 + (affine ? n * 2 : .zero)
        let backward = standardizeBackward(elements: n, groups: statisticGroups, hasWeight: affine, hasBias: affine, context)
        return OperatorCost(forward: .elementwise(forward), inputGradient: backward.input, weightGradient: backward.weight)
    }

    public var detail: String { "g\(groups)" + (affine ? "" : " no-affine") }
}

// Memory (README, "Training and inference memory").
extension GroupNorm {
    /// native_group_norm keeps input, mean and rstd ([N, groups], fp32); fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient || (0..<parameters.count).contains(where: context.trainable(parameter:)) else { return [] }
        return [.input(0), .extra("mean", shape: [input.shape[0], groups], type: .fixed(.float32)),
                .extra("rstd", shape: [input.shape[0], groups], type: .fixed(.float32))]
    }
    public var autocast: AutocastClass { .float32 }
}
