/// `reshape(input, shape)`: the same elements in a new shape (torch.reshape); at most one
/// dimension may be -1 and is inferred. As torch does, it is a view when strides can
/// describe the new shape (always for a contiguous input) and otherwise a contiguous copy
/// (`_unsafe_view(self.clone(contiguous))`): a transposed or permuted tensor merged across
/// the moved dimensions, a slice merged with its neighbours. 0 FLOPs in every phase.
struct Reshape: Operator {
    public static let kind = "reshape"
    public static let summary = "same elements, new shape (one -1 inferred)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("shape", .intList),
    ]

    let input: TensorType
    let output: TensorType
    /// The input cannot be viewed as the new shape: the output is a new contiguous tensor.
    let copies: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let requested = try arguments.intList("shape")
        let inferred = requested.indices.filter { requested[$0] == -1 }
        guard inferred.count <= 1 else {
            throw OperatorError("only one dimension of the new shape may be -1, got \(shapeText(requested))", argument: "shape")
        }
        if let bad = requested.first(where: { $0 != -1 && $0 < 1 }) {
            throw OperatorError("new shape \(shapeText(requested)) has dimension \(bad); dimensions must be positive (or -1 once)", argument: "shape")
        }
        let elements = try dimensionProduct(input.shape, argument: "input")
        let known = try dimensionProduct(requested.filter { $0 != -1 }, argument: "shape")
        var shape = requested
        if let slot = inferred.first {
            guard elements % known == 0 else {
                throw OperatorError("cannot reshape \(input) (\(elements) elements) to \(shapeText(requested)): \(elements) is not divisible by \(known)", argument: "shape")
            }
            shape[slot] = elements / known
        } else {
            guard known == elements else {
                throw OperatorError("cannot reshape \(input) (\(elements) elements) to \(shapeText(requested)) (\(known) elements)", argument: "shape")
            }
        }
        (output, copies) = reshapeLayout(of: input, to: shape)
    }

    public var outputs: [TensorType] { [output] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "\(shapeText(input.shape))->\(shapeText(output.shape))" + (copies ? " copy" : "") }
}

/// The output of torch.reshape (and flatten, which is a reshape) of `input` to `shape`:
/// the view when strides can describe it, else a contiguous copy.
func reshapeLayout(of input: TensorType, to shape: [Int]) -> (output: TensorType, copies: Bool) {
    if let view = input.viewed(as: shape) { return (view, false) }
    return (TensorType(shape, input.dtype), true)
}

// Memory (README, "Training and inference memory").
extension Reshape {
    /// A view of the input, or a new tensor when it copies (the copy keeps nothing:
    /// clone's gradient is the identity).
    public func alias(ofOutput index: Int) -> OutputAlias? { copies ? nil : .view(input: 0) }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Reshape {
    /// A split dimension that is the outermost of the input dimensions a group of output
    /// dimensions regroups splits the outermost of those output dimensions that T divides
    /// ([b, n, 3h] -> [b, n, heads, 3 d]: the heads); each rank reshapes its piece to that.
    /// Otherwise it runs whole.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard let (_, dim) = request.firstSharded,
              let outputDim = reshapedDimension(from: input.shape, to: output.shape, splitting: dim, degree: request.degree) else {
            return .replicated(request)
        }
        var shape = output.shape
        shape[outputDim] /= request.degree
        return .moving(request, to: outputDim, arguments: ["shape": .list(shape.map(Value.int))])
    }
}

extension Flatten {
    /// As reshape: the split dimension must be the outermost of the merged ones.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard let (_, dim) = request.firstSharded else { return .replicated(request) }
        return .moving(request, to: reshapedDimension(from: input.shape, to: output.shape, splitting: dim, degree: request.degree))
    }
}

/// Where a split of input dimension `dim` lands when `from` is viewed as `to`: the
/// dimensions are cut into groups of equal products; the split must be the outermost
/// non-unit dimension of its group, and it lands on the outermost non-unit output dimension
/// of that group, which `degree` must divide (splitting the outermost dimension of a
/// contiguous group splits it into the same contiguous blocks on both sides). nil: no such
/// dimension.
func reshapedDimension(from: [Int], to: [Int], splitting dim: Int, degree: Int) -> Int? {
    var i = 0, j = 0
    while i < from.count && j < to.count {
        let firstIn = i, firstOut = j
        var a = from[i], b = to[j]
        i += 1
        j += 1
        while a != b {
            if a < b {
                guard i < from.count else { return nil }
                a *= from[i]
                i += 1
            } else {
                guard j < to.count else { return nil }
                b *= to[j]
                j += 1
            }
        }
        guard (firstIn..<i).contains(dim) else { continue }
        guard let outer = (firstIn..<i).first(where: { from[$0] > 1 }), outer == dim,
              let target = (firstOut..<j).first(where: { to[$0] > 1 }), to[target] % degree == 0 else { return nil }
        return target
    }
    return nil
}
