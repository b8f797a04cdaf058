/// `pow(input, exponent)`: input ** exponent element-wise (torch.pow): `exponent` a number
/// (tensor ** scalar) or a tensor broadcast against the input (tensor ** tensor).
///
/// Reference algorithm, n = output elements. Tensor ** number runs torch's CPU kernel
/// (aten/src/ATen/native/cpu/PowKernel.cpp and Pow.cpp), whose cost depends on the
/// exponent (`PowerRule`): e = 0 fills ones and e = 1 copies (0 FLOPs); e = 2 is x * x
/// (1), e = 3 x * x * x (2), e = -2 1 / (x * x) (2), e = 0.5 sqrt (1), e = -0.5 rsqrt
/// (sqrt and divide: 2), e = -1 reciprocal (1); any other exponent, integer or not, one
/// `pow` call (1). So an integer exponent costs its repeated multiplications only for 2
/// and 3, as torch runs it; x ** 4 is one pow.
/// - input gradient (derivatives.yaml `pow_backward`: `grad * (exponent * self.pow(exponent
///   - 1))`): the power x^(e-1) by the same rule, times e, times dY: rule(e - 1) + 2 per
///   element; e = 0 gives zeros (0 FLOPs). Saved: the input.
///
/// Tensor ** tensor: forward one pow per output element (n).
/// - input gradient (`pow_backward_self`: `where(exponent == 0, 0, grad * (exponent *
///   pow(self, exponent - 1)))`): e - 1, pow, times e, times dY, the compare: 5n, + n adds
///   when the input was broadcast;
/// - exponent gradient (`pow_backward_exponent`: `grad * where(self == 0 & exponent >= 0,
///   0, result * log(self))`): two compares, and, log, multiply, times dY: 6n, + n adds
///   when the exponent was broadcast.
/// Saved: input and exponent for the input's gradient; input, exponent and the result for
/// the exponent's. MACs: 0.
///
/// Autocast: pow is on torch.autocast's CUDA fp32 list (aten/src/ATen/autocast_mode.cpp,
/// Tensor_Scalar and Tensor_Tensor): a half input is cast up; the result, and the input it
/// keeps, are fp32.
struct Pow: Operator {
    public static let kind = "pow"
    public static let summary = "element-wise power: tensor ** number or tensor ** tensor (broadcasting)"
    public static let signature: [ArgumentSpec] = [.required("input", .tensor), .required("exponent", .tensorOrNumber)]

    let operands: BinaryOperands

    public init(_ arguments: BoundArguments) throws {
        _ = try floatingPointInput(arguments, kind: Self.kind)
        operands = try BinaryOperands(arguments, otherName: "exponent")
        if let exponent = operands.right, !exponent.dtype.isFloatingPoint {
            throw OperatorError("pow needs a floating-point exponent tensor, got \(exponent)", argument: "exponent")
        }
    }

    public var outputs: [TensorType] { [operands.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.outputElements
        switch operands.other {
        case .number(let exponent):
            return .pointwise(n, forward: PowerRule(exponent).flops, inputGradient: PowerRule.gradientFLOPs(exponent), context)
        case .tensor(let exponent):
            var cost = OperatorCost(forward: .elementwise(n))
            if context.needsGradient(input: 0) {
                cost.inputGradient += .elementwise(n * 5 + operands.reductionFLOPs(to: operands.left.shape))
            }
            if context.needsGradient(input: 1) {
                cost.inputGradient += .elementwise(n * 6 + operands.reductionFLOPs(to: exponent.shape))
            }
            return cost
        }
    }

    public var detail: String {
        switch operands.other {
        case .number(let exponent): "x^\(exponent.rounded() == exponent && abs(exponent) < 1e15 ? String(Int(exponent)) : String(exponent))"
        case .tensor: "x^tensor"
        }
    }

    /// CUDA autocast's fp32 list.
    public var autocast: AutocastClass { .float32 }
}

// Memory (README, "Training and inference memory").
extension Pow {
    /// PowBackward0 keeps the input (`self`); PowBackward1 (tensor exponent) keeps self and
    /// exponent, and the result for the exponent's gradient.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard operands.right != nil else { return context.needsGradient(input: 0) ? [.input(0)] : [] }
        var saved: [SavedTensor] = []
        if context.anyInputNeedsGradient { saved += [.input(0), .input(1)] }
        if context.needsGradient(input: 1) { saved.append(.output(0)) }
        return saved
    }
}

/// How torch computes x ** e for a number e (PowKernel.cpp's special cases), and its FLOPs.
enum PowerRule: Sendable, Hashable {
    case ones, copy, square, cube, inverseSquare, squareRoot, inverseSquareRoot, reciprocal
    case general(Double)

    init(_ exponent: Double) {
        switch exponent {
        case 0: self = .ones
        case 1: self = .copy
        case 2: self = .square
        case 3: self = .cube
        case -2: self = .inverseSquare
        case 0.5: self = .squareRoot
        case -0.5: self = .inverseSquareRoot
        case -1: self = .reciprocal
        default: self = .general(exponent)
        }
    }

    /// FLOPs per element.
    var flops: Int {
        switch self {
        case .ones, .copy: 0
        case .square, .squareRoot, .reciprocal, .general: 1
        case .cube, .inverseSquare, .inverseSquareRoot: 2
        }
    }

    /// FLOPs per element of the gradient grad * (e * x^(e - 1)); 0 for e = 0 (zeros).
    static func gradientFLOPs(_ exponent: Double) -> Int {
        exponent == 0 ? 0 : PowerRule(exponent - 1).flops + 2
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Pow {
    /// Element by element, as the binary operators.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
