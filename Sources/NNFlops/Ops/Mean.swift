/// `mean(input, dim=none, keepdim=false)`: mean over `dim` (none = every dimension, giving
/// a scalar []).
///
/// Reference algorithm, N = input elements, R = output elements: N adds (sums from zero)
/// and R divides. Input gradient (mean_backward = sum_backward(dY) / count): dY expanded
/// to the input's shape, then one divide per input element: N.
struct Mean: Operator {
    public static let kind = "mean"
    public static let summary = "mean over dimensions"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("dim", .intList, .none),
        .defaulted("keepdim", .bool, .bool(false)),
    ]

    let reduction: Reduction

    public init(_ arguments: BoundArguments) throws {
        reduction = try Reduction(arguments)
        guard reduction.input.dtype.isFloatingPoint else {
            throw OperatorError("input must be a float tensor, got \(reduction.input)", argument: "input")
        }
    }

    public var outputs: [TensorType] { [reduction.output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = reduction.input.elements
        return OperatorCost(forward: .elementwise(n + reduction.output.elements),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(n) : .zero)
    }

    public var detail: String { reduction.detail }
}

// Memory (README, "Training and inference memory").
extension Mean {
    /// mean keeps only sizes.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
