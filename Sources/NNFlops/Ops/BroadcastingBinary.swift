/// NumPy/PyTorch broadcasting of two shapes, right-aligned; nil when incompatible.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result: [Int] = []
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard x == y || x == 1 || y == 1 else { return nil }
        result.append(max(x, y))
    }
    return result
}

/// The family of broadcasting binary operators (add, sub, mul, div; `x + y` and the
/// like): `input` a tensor, `other` a tensor broadcast against it or a plain number; one
/// operation per output element. The skeleton lives here: the signature, the
/// initialiser, the output, and the cost. An operand's gradient costs
/// `gradientFLOPsPerElement` per output element, plus one add per output element when it
/// was broadcast (its gradient is dY summed over the broadcast dimensions, accumulated
/// from zero). An operator file gives those counts and its saved-tensor rule; its kernel
/// uses `broadcastingForward` and `operandGradient` (Execution/Kernels/ElementwiseSupport.swift).
protocol BroadcastingBinaryOperator: Operator {
    /// FLOPs per output element of each operand's gradient before the reduction over
    /// broadcast dimensions: (input, other). `other`'s counts only when it is a tensor.
    static var gradientFLOPsPerElement: (input: Int, other: Int) { get }
    /// Whether it takes `inplace = true` (torch's `x += y`, `add_`): the result is written
    /// into `input`'s storage, which must then have the broadcast shape. Default: false.
    static var hasInPlaceVariant: Bool { get }

    var operands: BinaryOperands { get }
    /// In place (only when `hasInPlaceVariant`): changes memory, not FLOPs.
    var inplace: Bool { get }
    /// Validates anything beyond the shapes (div rejects dividing by the number 0).
    init(operands: BinaryOperands, _ arguments: BoundArguments) throws
}

extension BroadcastingBinaryOperator {
    static var hasInPlaceVariant: Bool { false }
    var inplace: Bool { false }

    public static var signature: [ArgumentSpec] {
        [.required("input", .tensor), .required("other", .tensorOrNumber)] + (hasInPlaceVariant ? [.defaulted("inplace", .bool, .bool(false))] : [])
    }

    public init(_ arguments: BoundArguments) throws {
        let operands = try BinaryOperands(arguments)
        if Self.hasInPlaceVariant, try arguments.bool("inplace"), operands.output.shape != operands.left.shape {
            throw OperatorError("in place, the result must keep the input's shape \(operands.left); broadcasting with the other operand gives \(shapeText(operands.output.shape))", argument: "other")
        }
        try self.init(operands: operands, arguments)
    }

    /// The broadcast result; in place, the input itself (its storage and layout).
    public var outputs: [TensorType] { [inplace ? operands.left : operands.output] }

    public var detail: String { inplace ? "inplace" : "" }

    /// In place the result is the input's storage.
    public func alias(ofOutput index: Int) -> OutputAlias? { inplace ? .inPlace(input: 0) : nil }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = operands.outputElements
        let perElement = Self.gradientFLOPsPerElement
        var cost = OperatorCost(forward: .elementwise(n))
        if context.needsGradient(input: 0) {
            cost.inputGradient += .elementwise(n * perElement.input + operands.reductionFLOPs(to: operands.left.shape))
        }
        if case .tensor(let right) = operands.other, context.needsGradient(input: 1) {
            cost.inputGradient += .elementwise(n * perElement.other + operands.reductionFLOPs(to: right.shape))
        }
        return cost
    }
}

/// The operands of a broadcasting binary operator: a tensor, and a tensor or a number.
struct BinaryOperands: Sendable {
    enum Other: Sendable {
        case tensor(TensorType)
        case number(Double)
    }

    let left: TensorType
    let other: Other
    let output: TensorType

    /// Reads `input` and the argument named `otherName` (`other`; pow's `exponent`).
    init(_ arguments: BoundArguments, otherName: String = "other") throws {
        left = try arguments.tensor("input")
        // `other` is a tensor or a plain number (optionalTensor would reject the number).
        if case .tensor? = arguments[otherName] {
            let right = try arguments.tensor(otherName)
            guard let shape = broadcastShapes(left.shape, right.shape) else {
                throw OperatorError("cannot broadcast \(left) with \(right)", argument: otherName)
            }
            other = .tensor(right)
            output = .elementwiseResult(shape, left.dtype, operands: [left, right])
        } else {
            other = .number(try arguments.float(otherName))
            output = .elementwiseResult(left.shape, left.dtype, operands: [left])
        }
    }

    /// The right operand when it is a tensor.
    var right: TensorType? {
        if case .tensor(let right) = other { right } else { nil }
    }

    var outputElements: Count { output.elements }

    /// Gradient reaching an operand of `shape` must be summed over broadcast dimensions:
    /// a reduction of all output elements accumulated from zero, or nothing when no
    /// broadcasting happened.
    func reductionFLOPs(to shape: [Int]) -> Count {
        shape == output.shape ? .zero : outputElements
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension BroadcastingBinaryOperator {
    /// Element by element: each rank runs it on its piece of the output; a whole operand
    /// that does not broadcast along the split dimension is read in pieces too.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
