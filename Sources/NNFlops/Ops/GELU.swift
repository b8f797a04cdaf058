/// `gelu(x, approximate="none")`: Gaussian error linear unit element-wise
/// (torch.nn.GELU); `approximate="tanh"` is the tanh approximation (GPT-2's gelu_new).
///
/// Reference algorithm (torch's gelu / gelu_backward kernels), n elements;
/// erf, exp and tanh count one FLOP each (design §4):
/// - "none": forward y = x * 0.5 * (1 + erf(x * 1/sqrt(2))): mul, erf, add, mul, mul = 5n.
///   Input gradient: cdf = 0.5 * (1 + erf(x / sqrt 2)) (4: mul, erf, add, mul),
///   pdf = exp(-0.5 * x * x) / sqrt(2 pi) (4: mul, mul, exp, mul),
///   dX = dY * (cdf + x * pdf) (3: mul, add, mul) = 11n.
/// - "tanh": forward inner = sqrt(2/pi) * (x + 0.044715 * x^3) (5: mul, mul, mul, add,
///   mul), y = 0.5 * x * (1 + tanh(inner)) (4: tanh, add, mul, mul) = 9n.
///   Input gradient: x^2, x^3 (2), inner (3), t = tanh(inner) (1), left = 0.5 * x (1),
///   right = 1 + t (1), dleft = 0.5 * right (1), dright = 1 - t * t (2),
///   dinner = sqrt(2/pi) * (1 + 3 * 0.044715 * x^2) (3), d = dleft + left * dright * dinner
///   (3), dX = dY * d (1) = 18n.
/// MACs: 0. Saved for backward: the input. Papers often quote ~8 FLOPs per element for
/// GELU's forward; these are the kernels' exact counts.
struct GELU: ElementwiseActivation {
    public static let kind = "gelu"
    public static let summary = "Gaussian error linear unit (exact erf or tanh approximation)"
    static let extraArguments: [ArgumentSpec] = [
        .defaulted("approximate", .string, .string("none")),
        .defaulted("impl", .string, .string("fused")),
    ]
    /// gelu_backward(grad, self): torch's gelu keeps its input.
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType
    let tanhApproximation: Bool
    /// Memory and types only: "composite" is GELU written as separate torch ops, as Hugging
    /// Face's NewGELUActivation ("gelu_new": 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 *
    /// pow(x, 3))))) is; the FLOPs stay those of the reference algorithm.
    let composite: Bool

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) throws {
        self.input = input
        tanhApproximation = try arguments.choice("approximate", ["none", "tanh"]) == "tanh"
        composite = try arguments.choice("impl", ["fused", "composite"]) == "composite"
    }

    var flopsPerElement: ElementwiseFLOPs {
        tanhApproximation ? ElementwiseFLOPs(forward: 9, inputGradient: 18) : ElementwiseFLOPs(forward: 5, inputGradient: 11)
    }

    public var detail: String { [tanhApproximation ? "tanh" : "", composite ? "composite" : ""].filter { !$0.isEmpty }.joined(separator: " ") }
}

// Memory (README, "Training and inference memory").
extension GELU {
    /// The fused op keeps its input. The composite keeps what its ops keep. tanh form
    /// (transformers' NewGELUActivation: 0.5 * x * (1.0 + tanh(sqrt(2/pi) * (x + 0.044715 *
    /// pow(x, 3.0))))): pow (its input x: under autocast an fp32 copy, since `pow` is on
    /// CUDA autocast's fp32 list), tanh (its result), the final product (0.5 * x and
    /// 1 + tanh): four tensors of the input's size; everything computed from pow's result
    /// is fp32 under autocast (tanh, 1 + tanh, the output), 0.5 * x keeps the input's type.
    /// erf form (x * 0.5 * (1 + erf(x / sqrt 2))): erf (its input x / sqrt 2) and the
    /// final product (0.5 * x and 1 + erf): three, the input itself not among them, all
    /// in the input's type (erf is not on autocast's lists).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.needsGradient(input: 0) else { return [] }
        guard composite else { return [.input(0)] }
        let shape = input.shape
        if tanhApproximation {
            return [.inputAs(0, .primitive(0)), .extra("tanh", shape: shape, type: .primitive(0)),
                    .extra("half_x", shape: shape, type: .input(0)), .extra("one_plus_tanh", shape: shape, type: .primitive(0))]
        }
        return [.extra("x_over_sqrt2", shape: shape, type: .input(0)),
                .extra("half_x", shape: shape, type: .input(0)), .extra("one_plus_erf", shape: shape, type: .input(0))]
    }

    /// The composite's ops as autocast sees them: tanh form `pow` (fp32-listed) then
    /// promoting ops (mul, add, tanh): its result is fp32 under autocast; erf form only
    /// promoting ops. The fused op is one promoting op.
    public var autocastPrimitives: [AutocastClass] {
        guard composite else { return [] }
        return tanhApproximation ? [.float32, .promote] : [.promote]
    }
}
