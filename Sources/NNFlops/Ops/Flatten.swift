/// `flatten(input, start=1, end=-1)`: merges dimensions `start...end` into one
/// (torch.flatten). A view: no arithmetic forward, and the gradient is reshaped back:
/// 0 FLOPs in every phase.
public struct Flatten: Operator {
    public static let kind = "flatten"
    public static let summary = "merge a range of dimensions into one (a view)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("start", .int, .int(1)),
        .defaulted("end", .int, .int(-1)),
    ]

    let input: TensorType
    let output: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        guard input.rank >= 1 else { throw OperatorError("cannot flatten a scalar (rank 0)", argument: "input") }
        let start = try arguments.axis("start", of: input)
        let end = try arguments.axis("end", of: input)
        guard start <= end else {
            throw OperatorError("start dimension \(start) comes after end dimension \(end) for \(input)", argument: "start")
        }
        let merged = try dimensionProduct(input.shape[start...end], argument: "input")
        output = TensorType(Array(input.shape[..<start]) + [merged] + Array(input.shape[(end + 1)...]), input.dtype)
    }

    public var outputs: [TensorType] { [output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(shapeText(input.shape))->\(shapeText(output.shape))" }
}

// Memory (README, "Training and inference memory").
extension Flatten {
    public func alias(ofOutput index: Int) -> OutputAlias? { .view(input: 0) }
}
