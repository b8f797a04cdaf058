/// `flatten(input, start=1, end=-1)`: merges dimensions `start...end` into one
/// (torch.flatten, a reshape): a view, or a contiguous copy when the merged dimensions of
/// a strided input cannot be viewed as one (as `reshape`). No arithmetic forward, and the
/// gradient is reshaped back: 0 FLOPs in every phase.
struct Flatten: Operator {
    public static let kind = "flatten"
    public static let summary = "merge a range of dimensions into one (a view)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("start", .int, .int(1)),
        .defaulted("end", .int, .int(-1)),
    ]

    let input: TensorType
    let output: TensorType
    /// The merged dimensions cannot be viewed as one: the output is a new contiguous tensor.
    let copies: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        guard input.rank >= 1 else { throw OperatorError("cannot flatten a scalar (rank 0)", argument: "input") }
        let start = try arguments.axis("start", of: input)
        let end = try arguments.axis("end", of: input)
        guard start <= end else {
            throw OperatorError("start dimension \(start) comes after end dimension \(end) for \(input)", argument: "start")
        }
        let merged = try dimensionProduct(input.shape[start...end], argument: "input")
        (output, copies) = reshapeLayout(of: input, to: Array(input.shape[..<start]) + [merged] + Array(input.shape[(end + 1)...]))
    }

    public var outputs: [TensorType] { [output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(shapeText(input.shape))->\(shapeText(output.shape))" + (copies ? " copy" : "") }
}

// Memory (README, "Training and inference memory").
extension Flatten {
    /// A view of the input, or a new tensor when it copies.
    public func alias(ofOutput index: Int) -> OutputAlias? { copies ? nil : .view(input: 0) }
}
