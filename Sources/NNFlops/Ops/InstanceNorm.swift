/// `instancenorm(x, eps=1e-5, affine=false)`: instance normalisation of [N, C, ...]
/// (torch.nn.InstanceNorm1d/2d/3d, track_running_stats = false): statistics over the
/// spatial positions of each (sample, channel); per-channel affine transform.
///
/// Parameters (affine): weight [C], bias [C]. No buffers.
///
/// Reference algorithm, R = N * C instances of M = n / R spatial values:
/// - forward: as groupnorm with one channel per group: 6n + 5R (+ 2n affine).
/// - backward: `standardizeBackward` (CNNSupport.swift): input gradient
///   7n + 2R + n (affine) + 2n (xhat, when the weight is not trainable);
///   weight gradient 4n (weight) + n (bias).
/// MACs: 0.
struct InstanceNorm: Operator {
    public static let kind = "instancenorm"
    public static let summary = "instance normalisation over the spatial positions of each channel"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("eps", .float, .float(1e-5)),
        .defaulted("affine", .bool, .bool(false)),
    ]

    let input: TensorType
    let affine: Bool
    let eps: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        affine = try arguments.bool("affine")
        eps = try arguments.float("eps")
        guard eps > 0, eps.isFinite else { throw OperatorError("eps must be positive, got \(eps)", argument: "eps") }
        guard input.rank >= 3 else {
            throw OperatorError("input must be [N, C, spatial...], got \(input)", argument: "input")
        }
        guard Count.product(input.shape.dropFirst(2)).value > 1 else {
            throw OperatorError("training needs more than one spatial value per channel, got input \(input)", argument: "input")
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
        let instances = Count(input.shape[0]) * input.shape[1]
        let forward = n * 6 + instances * 5 + (affine ? n * 2 : .zero)
        let backward = standardizeBackward(elements: n, groups: instances, hasWeight: affine, hasBias: affine, context)
        return OperatorCost(forward: .elementwise(forward), inputGradient: backward.input, weightGradient: backward.weight)
    }

    public var detail: String { affine ? "affine" : "" }
}

// Memory (README, "Training and inference memory").
extension InstanceNorm {
    /// instance_norm runs batch_norm on the [1, N*C, ...] view: keeps the input and
    /// fp32 save_mean / save_invstd of N*C values.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient || (0..<parameters.count).contains(where: context.trainable(parameter:)) else { return [] }
        let instances = input.shape[0] * input.shape[1]
        return [.input(0), .extra("save_mean", shape: [instances], type: .fixed(.float32)),
                .extra("save_invstd", shape: [instances], type: .fixed(.float32))]
    }
}
