/// `cast(input, dtype)`, and `float(input)` for `cast(input, dtype = "f32")`: the tensor in
/// another element type (torch's `x.to(dtype)`, `x.float()`), e.g. the loss's
/// `logits.float()` in transformers' ForCausalLMLoss. `dtype` is a type name of the
/// language (`f32`, `bf16`, `f16`, ...).
///
/// Types: an explicit cast is not a precision policy's business: its output has `dtype`
/// under every policy (`Operator.explicitOutputType`). When the input already has that
/// type at run time the output is the input itself (`.to` returns self): under fp32,
/// `logits.float()` costs nothing; under autocast, where the logits are bf16, it is a
/// full fp32 copy.
///
/// Reference algorithm: a conversion moves data, no arithmetic: 0 FLOPs forward; its
/// gradient is converted back to the input's type (a new tensor when the types differ),
/// 0 FLOPs. Keeps nothing (ToCopyBackward reads only the input's type).
struct Cast: Operator {
    public static let kind = "cast"
    public static let summary = "the tensor in another element type (x.to(dtype), x.float())"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("dtype", .string),
    ]

    let input: TensorType
    let dtype: DType

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let name = try arguments.string("dtype")
        guard let dtype = DType(spelling: name), dtype.isFloatingPoint else {
            throw OperatorError("'dtype' must be a floating-point type (f32, bf16, f16, or their aliases), got \"\(name)\"", argument: "dtype")
        }
        guard input.dtype.isFloatingPoint else {
            throw OperatorError("input must be a floating-point tensor, got \(input)", argument: "input")
        }
        self.dtype = dtype
    }

    /// `.to` keeps a dense input's layout (memory_format preserve).
    public var outputs: [TensorType] { [.elementwiseResult(input.shape, dtype, operands: [input])] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "-> " + dtype.rawValue }
}

// Memory (README, "Training and inference memory").
extension Cast {
    public var explicitOutputType: DType? { dtype }
    /// A new tensor unless the input already has the type in this run.
    public func alias(ofOutput index: Int, _ context: MemoryContext) -> OutputAlias? {
        context.inputType(0) == dtype ? .view(input: 0) : nil
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Cast {
    /// Element by element: each rank casts its piece.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
