/// `rope(input, heads, base=10000.0)`: rotary position embedding in LLaMA's rotate_half
/// form on [B, n, heads*d] (d even): out = x*cos + rotate_half(x)*sin per head, where
/// rotate_half(x) = cat(-x[d/2:], x[:d/2]) and position t, pair i use the angle
/// t * base^(-2i/d).
///
/// Reference algorithm, N = input elements. The cos/sin tables depend only on n, d and
/// `base` and are constants (not counted); `inv_freq` [d/2] is declared as a buffer, as
/// Hugging Face keeps it.
/// - forward, per element: x*cos (1 mul), rotate_half's negation (for half the elements:
///   N/2 in all), *sin (1 mul), + (1 add): 3N + N/2 = 7N/2.
/// - input gradient dX = dY*cos + rotate_half^T(dY*sin), rotate_half^T(g) =
///   cat(g[d/2:], -g[:d/2]): the same 7N/2.
public struct Rope: Operator {
    public static let kind = "rope"
    public static let summary = "rotary position embedding (rotate_half form)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("heads", .int),
        .defaulted("base", .float, .float(10000)),
    ]

    let input: TensorType
    let heads: Int
    let headDim: Int
    let base: Double

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        heads = try arguments.int("heads", atLeast: 1)
        base = try arguments.float("base")
        guard base.isFinite && base > 0 else { throw OperatorError("'base' must be positive, got \(base)", argument: "base") }
        guard input.rank == 3, input.dtype.isFloatingPoint else {
            throw OperatorError("input must be a float tensor [B, n, heads*d], got \(input)", argument: "input")
        }
        guard input.shape[2] % heads == 0 else {
            throw OperatorError("input has shape \(input): its last dimension \(input.shape[2]) is not divisible by heads = \(heads)", argument: "heads")
        }
        headDim = input.shape[2] / heads
        guard headDim % 2 == 0 else {
            throw OperatorError("head dimension d = \(input.shape[2]) / \(heads) = \(headDim) must be even", argument: "heads")
        }
    }

    public var outputs: [TensorType] { [input] }
    public var buffers: [ParameterSpec] { [ParameterSpec("inv_freq", [headDim / 2])] }

    public func cost(_ context: CostContext) -> OperatorCost {
        // N is even (d is), so 7N/2 = 3N + N/2 exactly.
        let n = input.elements
        let work = n * 3 + Count(input.shape[0]) * input.shape[1] * heads * (headDim / 2)
        return OperatorCost(forward: .elementwise(work),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(work) : .zero)
    }

    public var detail: String { "h\(heads) d\(headDim)" }
}

// Memory (README, "Training and inference memory").
extension Rope {
    /// The rotation multiplies by cos and sin tables ([n, d] each, computed once per
    /// forward) and keeps them; the rotate-half slicing keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0)
            ? [.extra("cos", shape: [input.shape[1], headDim], type: .output), .extra("sin", shape: [input.shape[1], headDim], type: .output)]
            : []
    }
}
