/// `dropout(x, p=0.5, inplace=false)`: zeroes each element with probability p and scales the kept ones
/// by 1 / (1 - p), in training mode (torch.nn.Dropout, torch's native_dropout). In eval
/// mode (inference, `CostContext.mode`) it returns its input itself (aten's dropout:
/// `if (p == 0 || !train) return input`): no FLOPs, no bytes, no new tensor.
///
/// Reference algorithm, n elements: forward draws u ~ U[0, 1) per element (random number
/// generation is not counted as FLOPs), keep = u >= p (1 compare), y = x * keep * scale
/// (2 muls): 3n. Input gradient dX = dY * mask * scale: 2n (native_dropout_backward).
/// With p = 0 the operator is the identity, as torch returns its input: no FLOPs, no mask.
/// MACs: 0. Saved for backward: the 1-byte mask.
struct Dropout: Operator {
    public static let kind = "dropout"
    public static let summary = "dropout (training mode)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .defaulted("p", .float, .float(0.5)),
        .defaulted("inplace", .bool, .bool(false)),
    ]

    let input: TensorType
    /// In place (torch's inplace=True): changes memory, not FLOPs.
    let inplace: Bool
    let p: Double

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        inplace = try arguments.bool("inplace")
        p = try arguments.float("p")
        guard p >= 0, p < 1 else { throw OperatorError("p must be in [0, 1), got \(p)", argument: "p") }
    }

    /// In place (or p = 0) the input itself; otherwise an element-wise result.
    public var outputs: [TensorType] { [inplace || p == 0 ? input : .elementwiseResult(input.shape, input.dtype, operands: [input])] }

    public func cost(_ context: CostContext) -> OperatorCost {
        p == 0 || context.evaluates ? OperatorCost(forward: .zero) : .pointwise(input.elements, forward: 3, inputGradient: 2, context)
    }

    public var detail: String { ["p=\(p)", inplace ? "inplace" : ""].filter { !$0.isEmpty }.joined(separator: " ") }
}

// Memory (README, "Training and inference memory").
extension Dropout {
    /// native_dropout keeps its 1-byte bool mask. In place (F.dropout(inplace=True))
    /// torch multiplies by a noise tensor of the input's type and keeps that; p = 0
    /// returns the input itself.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard p > 0, context.anyInputNeedsGradient else { return [] }
        return [.extra(inplace ? "noise" : "mask", shape: input.shape, type: inplace ? .output : .fixed(.bool))]
    }
    public func alias(ofOutput index: Int) -> OutputAlias? {
        p == 0 ? .view(input: 0) : inplace ? .inPlace(input: 0) : nil
    }
    /// Eval mode: the input itself.
    public func alias(ofOutput index: Int, _ context: MemoryContext) -> OutputAlias? {
        context.evaluates ? .view(input: 0) : alias(ofOutput: index)
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Dropout {
    /// Element by element: each rank drops elements of its own piece (its mask is a piece too).
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule { .elementwise(request) }
}
