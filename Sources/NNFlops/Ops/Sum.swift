/// Shape logic shared by `sum` and `mean`: the reduced dimensions (`dim` = none: all of
/// them; an int or a list of ints, negative allowed, no repeats) and `keepdim`.
struct Reduction: Sendable {
    let input: TensorType
    let axes: [Int]
    let keepdim: Bool

    init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        keepdim = try arguments.bool("keepdim")
        if arguments.isNone("dim") {
            axes = Array(0..<input.rank)
        } else {
            var axes: [Int] = []
            for d in try arguments.intList("dim") {
                guard let axis = input.axis(d) else {
                    throw OperatorError("dimension \(d) is out of range for a tensor of rank \(input.rank) \(input)", argument: "dim")
                }
                guard !axes.contains(axis) else { throw OperatorError("dimension \(axis) appears twice in 'dim'", argument: "dim") }
                axes.append(axis)
            }
            guard !axes.isEmpty else { throw OperatorError("'dim' must not be an empty list (use none for all dimensions)", argument: "dim") }
            self.axes = axes.sorted()
        }
    }

    var output: TensorType {
        var shape: [Int] = []
        for (i, size) in input.shape.enumerated() {
            if axes.contains(i) {
                if keepdim { shape.append(1) }
            } else {
                shape.append(size)
            }
        }
        return TensorType(shape, input.dtype)
    }

    var detail: String { (axes.count == input.rank ? "all" : "dim \(axes.map(String.init).joined(separator: ","))") + (keepdim ? " keepdim" : "") }
}

/// `sum(input, dim=none, keepdim=false)`: sum over `dim` (none = every dimension, giving a
/// scalar []).
///
/// Reference algorithm, N = input elements: each output accumulates its terms from zero,
/// N adds in all. Input gradient: dY expanded back to the input's shape (a broadcast
/// view), 0 FLOPs.
struct Sum: Operator {
    public static let kind = "sum"
    public static let summary = "sum over dimensions"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("dim", .intList, .none),
        .defaulted("keepdim", .bool, .bool(false)),
    ]

    let reduction: Reduction

    public init(_ arguments: BoundArguments) throws { reduction = try Reduction(arguments) }

    public var outputs: [TensorType] { [reduction.output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .elementwise(reduction.input.elements)) }
    public var detail: String { reduction.detail }
}

// Memory (README, "Training and inference memory").
extension Sum {
    /// sum keeps only sizes; fp32 under autocast (fp32_set_opt_dtype).
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
    public var autocast: AutocastClass { .float32 }
}
