/// `concat(inputs, dim=1)`: joins a list of tensors along `dim` (torch.cat). All tensors
/// have the same rank and dtype and agree in every other dimension.
///
/// Reference algorithm: forward copies each input into its slot of the output (0 FLOPs);
/// backward hands each input its slice of dY (0 FLOPs).
struct Concat: Operator {
    public static let kind = "concat"
    public static let summary = "join tensors along a dimension"
    public static let signature: [ArgumentSpec] = [
        .required("inputs", .tensorList),
        .defaulted("dim", .int, .int(1)),
    ]

    let inputs: [TensorType]
    let axis: Int
    let output: TensorType

    public init(_ arguments: BoundArguments) throws {
        inputs = try arguments.tensors("inputs")
        guard let first = inputs.first else { throw OperatorError("needs at least one tensor", argument: "inputs") }
        axis = try arguments.axis("dim", of: first)
        var total = 0
        for (index, tensor) in inputs.enumerated() {
            guard tensor.rank == first.rank else {
                throw OperatorError("tensor \(index) has shape \(tensor) but tensor 0 has shape \(first); all must have rank \(first.rank)", argument: "inputs")
            }
            guard tensor.dtype == first.dtype else {
                throw OperatorError("tensor \(index) has dtype \(tensor.dtype.rawValue) but tensor 0 has \(first.dtype.rawValue)", argument: "inputs")
            }
            for d in 0..<first.rank where d != axis && tensor.shape[d] != first.shape[d] {
                throw OperatorError("tensor \(index) has shape \(tensor) but tensor 0 has shape \(first); all dimensions except \(axis) must match", argument: "inputs")
            }
            let (sum, overflow) = total.addingReportingOverflow(tensor.shape[axis])
            guard !overflow else { throw OperatorError("the concatenated size overflows", argument: "inputs") }
            total = sum
        }
        var shape = first.shape
        shape[axis] = total
        output = TensorType(shape, first.dtype)
    }

    public var outputs: [TensorType] { [output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(inputs.count) on dim \(axis)" }
}

// Memory (README, "Training and inference memory").
extension Concat {
    /// cat keeps only sizes.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
