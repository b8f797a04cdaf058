/// `arange(end, start=0)`: the integers start, start + 1, ..., end - 1 as an int64 tensor
/// [end - start] (torch.arange with integer arguments), e.g. the position ids transformers'
/// GPT-2 builds when the caller passes none (`torch.arange(seq).unsqueeze(0)`), which the
/// position embedding then keeps.
///
/// Reference algorithm: the values depend only on the arguments: 0 FLOPs. No inputs, no
/// parameters, no gradient (integers).
struct Arange: Operator {
    public static let kind = "arange"
    public static let summary = "int64 range start..<end (position ids a model builds itself)"
    public static let signature: [ArgumentSpec] = [
        .required("end", .int),
        .defaulted("start", .int, .int(0)),
    ]

    let start: Int
    let end: Int

    public init(_ arguments: BoundArguments) throws {
        end = try arguments.int("end")
        start = try arguments.int("start")
        guard end > start else { throw OperatorError("arange(\(end), start = \(start)) is empty: end must exceed start", argument: "end") }
        guard end.subtractingReportingOverflow(start).overflow == false else {
            throw OperatorError("arange(\(end), start = \(start)) has too many elements", argument: "end")
        }
    }

    public var outputs: [TensorType] { [TensorType([end - start], .int64)] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(start)..<\(end)" }
}
