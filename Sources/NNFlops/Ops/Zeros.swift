/// `zeros(shape, dtype="int64")`: a tensor of zeros (torch.zeros), e.g. the token type ids
/// transformers' BERT gathers from its all-zero buffer when the caller passes none (a new
/// int64 [1, n] that the token type embedding keeps). `dtype` is a type name of the
/// language (`int64`, `int32`, `bool`, `f32`, ...).
///
/// Reference algorithm: a fill, 0 FLOPs. No inputs, no parameters, no gradient.
struct Zeros: Operator {
    public static let kind = "zeros"
    public static let summary = "a tensor of zeros (ids a model builds itself)"
    public static let signature: [ArgumentSpec] = [
        .required("shape", .intList),
        .defaulted("dtype", .string, .string("int64")),
    ]

    let shape: [Int]
    let dtype: DType

    public init(_ arguments: BoundArguments) throws {
        shape = try arguments.intList("shape")
        if let bad = shape.first(where: { $0 < 1 }) {
            throw OperatorError("shape \(shapeText(shape)) has dimension \(bad); dimensions must be positive", argument: "shape")
        }
        _ = try dimensionProduct(shape, argument: "shape")
        let name = try arguments.string("dtype")
        guard let dtype = DType(spelling: name) else {
            throw OperatorError("unknown dtype \"\(name)\" (\(DType.spellings.joined(separator: ", ")))", argument: "dtype")
        }
        self.dtype = dtype
    }

    public var outputs: [TensorType] { [TensorType(shape, dtype)] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { shapeText(shape) + " " + dtype.rawValue }
}
