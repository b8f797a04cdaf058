/// `batchnorm(x, eps=1e-5, momentum=0.1, affine=true)`: batch normalisation over
/// channel dimension 1 of a rank >= 2 input (torch.nn.BatchNorm1d/2d/3d): batch
/// statistics in training mode, the running statistics in eval mode (inference).
///
/// Parameters (affine): weight [C], bias [C]. Buffers: running_mean [C] and running_var
/// [C] (float32) and num_batches_tracked, torch's int64 scalar, stored as [1] int64 = 8
/// bytes. That is what torchvision's ResNet-50 reports: 53 batchnorms over 26,560
/// channels give 2 * 26,560 * 4 + 53 * 8 = 212,904 buffer bytes
/// (reference/h100-calibration.json).
///
/// Reference algorithm, C channels of m = n / C values each (n elements):
/// - forward, per channel: mean = sum x / m (m adds + 1 div); var = sum (x - mean)^2 / m
///   (3m: sub, mul, add; + 1 div); rstd = 1 / sqrt(var + eps) (3: add, sqrt, div);
///   xhat = (x - mean) * rstd (2m); y = xhat * weight + bias (2m, affine only);
///   running statistics: unbiased = sum (x - mean)^2 / (m - 1) (1 div),
///   running += momentum * (new - running) for mean and var (3 + 3).
///   Total 6n + 12C, + 2n affine: 8 FLOPs per element against the usual "~7 per
///   element" approximation, which counts the normalisation's subtract once (mean 1,
///   variance 3, normalise 1, scale/shift 2) and leaves out the per-channel terms.
/// - backward (torch's native_batch_norm_backward / derivatives.yaml), per channel:
///   s = sum dY (m adds) and p = sum (x - mean) * dY (3m) are computed once; s is charged
///   to the bias gradient and p to the weight gradient when those are trainable, else to
///   the input gradient. Weight gradient: dW = p * rstd (1 per channel), db = s (0).
///   Input gradient: k = p * rstd * rstd / m (3), meanGrad = s / m (1),
///   scale = rstd * weight (1, affine only) per channel; per element
///   dX = (dY - meanGrad - (x - mean) * k) * scale (5m).
///   With trainable affine parameters: input 5n + 5C, weight 4n + C.
/// - eval mode (inference, `CostContext.mode`): the running statistics make it a scale
///   and a shift per channel, as PyTorch's inference kernel computes it
///   (batch_norm_cpu_transform_input, the CUDA batch_norm_elementwise): per channel
///   invstd = 1 / sqrt(running_var + eps) (3: add, sqrt, div), alpha = weight * invstd (1),
///   beta = bias - running_mean * alpha (2); without affine alpha = invstd and
///   beta = -running_mean * invstd (2); per element y = x * alpha + beta (2). Total
///   2n + 6C (2n + 5C without affine); no backward. `--fold-bn` folds it into the
///   preceding conv or linear instead: nothing left.
/// MACs: 0 (normalisation is element-wise work).
struct BatchNorm: Operator {
    public static let kind = "batchnorm"
    public static let summary = "batch normalisation over channel dimension 1 (training mode, running statistics)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("eps", .float, .float(1e-5)),
        .defaulted("momentum", .float, .float(0.1)),
        .defaulted("affine", .bool, .bool(true)),
    ]

    let input: TensorType
    let affine: Bool
    let eps: Double
    let momentum: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        affine = try arguments.bool("affine")
        eps = try arguments.float("eps")
        momentum = try arguments.float("momentum")
        guard input.rank >= 2 else {
            throw OperatorError("input must have a channel dimension ([N, C, ...]), got \(input)", argument: "input")
        }
        guard eps > 0, eps.isFinite else { throw OperatorError("eps must be positive, got \(eps)", argument: "eps") }
        guard momentum >= 0, momentum <= 1 else {
            throw OperatorError("momentum must be between 0 and 1, got \(momentum)", argument: "momentum")
        }
        guard perChannel.value > 1 else {
            throw OperatorError("training needs more than one value per channel, got input \(input)", argument: "input")
        }
    }

    var channels: Int { input.shape[1] }
    /// Values per channel: every dimension but 1.
    var perChannel: Count { Count.product(input.shape.enumerated().filter { $0.offset != 1 }.map(\.element)) }

    /// A new contiguous tensor of the input's shape (torch's kernel allocates it so).
    public var outputs: [TensorType] { [input.contiguousCopy] }

    public var parameters: [ParameterSpec] {
        affine ? [ParameterSpec("weight", [channels]), ParameterSpec("bias", [channels])] : []
    }

    public var buffers: [ParameterSpec] {
        [ParameterSpec("running_mean", [channels]), ParameterSpec("running_var", [channels]),
         ParameterSpec("num_batches_tracked", [1], dtype: .int64)]
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        let c = Count(channels)
        if context.evaluates { return OperatorCost(forward: .elementwise(n * 2 + c * (affine ? 6 : 5))) }
        var cost = OperatorCost(forward: .elementwise(n * 6 + c * 12 + (affine ? n * 2 : .zero)))
        let weightTrainable = affine && context.trainable(parameter: 0)
        let biasTrainable = affine && context.trainable(parameter: 1)
        let sumGrad = n                 // s = sum dY
        let dotGrad = n * 3             // p = sum (x - mean) * dY
        var weight = Count.zero
        if weightTrainable { weight += dotGrad + c }
        if biasTrainable { weight += sumGrad }
        cost.weightGradient = .elementwise(weight)
        if context.needsGradient(input: 0) {
            var inputFLOPs = n * 5 + c * 4 + (affine ? c : .zero)
            if !weightTrainable { inputFLOPs += dotGrad }
            if !biasTrainable { inputFLOPs += sumGrad }
            cost.inputGradient = .elementwise(inputFLOPs)
        }
        return cost
    }

    public var detail: String { affine ? "" : "no-affine" }
}

// Memory (README, "Training and inference memory").
extension BatchNorm {
    /// native/cudnn batch_norm keeps the input and the per-channel save_mean and
    /// save_invstd, fp32 even for half inputs. The output is not kept.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.anyInputNeedsGradient || (0..<parameters.count).contains(where: context.trainable(parameter:)) else { return [] }
        return [.input(0), .extra("save_mean", shape: [channels], type: .fixed(.float32)),
                .extra("save_invstd", shape: [channels], type: .fixed(.float32))]
    }
    /// Inference folds it into a preceding conv/linear (W' = W g/s, b' = (b - m) g/s + beta).
    public var foldsIntoProducer: Bool { true }
}
