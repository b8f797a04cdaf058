/// The family of element-wise operators of one tensor (relu, relu6, gelu, silu, sigmoid,
/// tanh, leaky_relu, hardswish, hardsigmoid, and the math functions exp, log, sqrt, rsqrt,
/// abs, neg, reciprocal, erf): y = f(x) per element, the output of the
/// input's shape and type. The skeleton lives here: the signature (`input`, the
/// operator's own arguments, then `inplace` when it has an in-place variant), the
/// initialiser, the outputs, the cost (FLOPs per element, forward and input gradient), the
/// saved-tensor rule and the in-place aliasing. An operator file gives its formula
/// (`flopsPerElement`), what its backward reads (`backwardReads`) and any extra
/// arguments; its kernel uses `elementwiseForward` / `elementwiseBackward`
/// (Execution/Kernels/ElementwiseSupport.swift).
protocol ElementwiseActivation: Operator {
    /// The arguments after `input` (and before `inplace`), e.g. leaky_relu's `slope`.
    /// Default: none.
    static var extraArguments: [ArgumentSpec] { get }
    /// Whether it takes `inplace = true` (torch's `inplace=True`, the trailing-underscore
    /// op): the output is the input's storage. Default: false.
    static var hasInPlaceVariant: Bool { get }
    /// Whether the input must be floating point. Default: true (relu also takes
    /// integers, as torch.relu does).
    static var needsFloatingPoint: Bool { get }
    /// What its backward formula reads (derivatives.yaml), which decides what it keeps.
    static var backwardReads: ElementwiseBackwardInput { get }

    var input: TensorType { get }
    /// In place (only when `hasInPlaceVariant`): changes memory, not FLOPs.
    var inplace: Bool { get }
    /// The reference algorithm's FLOPs per element (all element-wise: no MACs).
    var flopsPerElement: ElementwiseFLOPs { get }

    /// Validates the operator's own arguments; `input` and `inplace` are already read.
    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) throws
}

/// FLOPs per element of an element-wise operator: forward, and input gradient (counted
/// only when the input needs its gradient).
struct ElementwiseFLOPs: Sendable, Hashable {
    var forward: Int
    var inputGradient: Int
}

/// What an element-wise operator's backward reads, and so what it keeps for backward.
enum ElementwiseBackwardInput: Sendable, Hashable {
    /// Its output (derivatives.yaml: `sigmoid_backward(grad, result)`, `tanh_backward`,
    /// relu's `threshold_backward(grad, result, 0)`). In place the output is the input's
    /// storage: nothing new is kept.
    case output
    /// Its input; in place its result, which gives the same derivative: the in-place op
    /// has a derivatives.yaml entry of its own that reads `result` (`leaky_relu_`):
    /// leaky_relu.
    case inputOrResult
    /// Its input; in place, a clone of the original input (`SavedTensor.inputOrInPlaceClone`:
    /// autograd's `original_self`), because the in-place op has no entry of its own and the
    /// out-of-place formula reads `self`: gelu, silu, hardswish, hardsigmoid, relu6
    /// (`hardtanh_`).
    case inputOrClone
    /// Nothing: the derivative is a constant (neg: `grad.neg()`).
    case nothing
}

extension ElementwiseActivation {
    static var extraArguments: [ArgumentSpec] { [] }
    static var hasInPlaceVariant: Bool { false }
    static var needsFloatingPoint: Bool { true }
    var inplace: Bool { false }

    public static var signature: [ArgumentSpec] {
        [.required("input", .tensor)] + extraArguments + (hasInPlaceVariant ? [.defaulted("inplace", .bool, .bool(false))] : [])
    }

    public init(_ arguments: BoundArguments) throws {
        let input = Self.needsFloatingPoint ? try floatingPointInput(arguments, kind: Self.kind) : try arguments.tensor("input")
        let inplace = Self.hasInPlaceVariant ? try arguments.bool("inplace") : false
        try self.init(input: input, inplace: inplace, arguments)
    }

    /// The input's shape and type; in place the input itself, otherwise laid out as
    /// TensorIterator lays out a unary result (Graph/TensorLayout.swift).
    public var outputs: [TensorType] { [inplace ? input : .elementwiseResult(input.shape, input.dtype, operands: [input])] }

    public func cost(_ context: CostContext) -> OperatorCost {
        .pointwise(input.elements, forward: flopsPerElement.forward, inputGradient: flopsPerElement.inputGradient, context)
    }

    public var detail: String { inplace ? "inplace" : "" }

    // Memory (README, "Training and inference memory").
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.needsGradient(input: 0) else { return [] }
        switch Self.backwardReads {
        case .output: return [.output(0)]
        case .inputOrResult: return [inplace ? .output(0) : .input(0)]
        case .inputOrClone: return [.inputOrInPlaceClone(of: input, inplace: inplace)]
        case .nothing: return []
        }
    }

    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }
}

extension OperatorCost {
    /// An element-wise operator with no parameters: `forward` FLOPs per element, and
    /// `inputGradient` FLOPs per element when the input needs its gradient.
    static func pointwise(_ elements: Count, forward: Int, inputGradient: Int, _ context: CostContext) -> OperatorCost {
        OperatorCost(forward: .elementwise(elements * forward),
                     inputGradient: context.needsGradient(input: 0) ? .elementwise(elements * inputGradient) : .zero)
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension ElementwiseActivation {
    /// Element by element: each rank runs it on its piece of the input.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
