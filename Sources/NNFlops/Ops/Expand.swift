/// `expand(input, shape)`: a broadcast view (torch.Tensor.expand). `shape` is right-aligned
/// with the input's shape; it may add leading dimensions; -1 keeps the input's size; a
/// dimension of size 1 may grow to any size; other sizes must match.
///
/// Reference algorithm: forward is a view, 0 FLOPs. Input gradient: dY summed over the
/// broadcast dimensions back to the input's shape (sum_to_size), accumulated from zero:
/// one add per output element, or 0 FLOPs when nothing was broadcast (only size-1 leading
/// dimensions added; same rule as add's broadcast operand).
struct Expand: Operator {
    public static let kind = "expand"
    public static let summary = "broadcast view to a larger shape"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("shape", .intList),
    ]

    let input: TensorType
    let output: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let requested = try arguments.intList("shape")
        guard requested.count >= input.rank else {
            throw OperatorError("cannot expand \(input) to \(shapeText(requested)): the new shape has fewer dimensions", argument: "shape")
        }
        let lead = requested.count - input.rank
        var shape: [Int] = []
        for (i, size) in requested.enumerated() {
            if i < lead {
                guard size >= 1 else {
                    throw OperatorError("cannot expand \(input) to \(shapeText(requested)): new leading dimension \(i) must be positive, got \(size)", argument: "shape")
                }
                shape.append(size)
                continue
            }
            let old = input.shape[i - lead]
            if size == -1 || size == old {
                shape.append(old)
            } else if old == 1 && size >= 1 {
                shape.append(size)
            } else {
                throw OperatorError("cannot expand \(input) to \(shapeText(requested)): dimension \(i) has size \(old), which is not 1 and not \(size)", argument: "shape")
            }
        }
        output = input.expanded(to: shape)
    }

    public var outputs: [TensorType] { [output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let backward: Count = context.needsGradient(input: 0) && output.elements != input.elements ? output.elements : .zero
        return OperatorCost(forward: .zero, inputGradient: .elementwise(backward))
    }

    public var detail: String { "\(shapeText(input.shape))->\(shapeText(output.shape))" }
}

// Memory (README, "Training and inference memory").
extension Expand {
    /// A broadcast view; nothing kept.
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}
