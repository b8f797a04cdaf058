import Foundation

/// `rotary_tables(x, dim, base=10000.0)`: the cos and sin tables of rotary position
/// embedding for the positions of `x` [B, n, ...] (transformers' `LlamaRotaryEmbedding`,
/// `model.rotary_emb`): cos, sin [1, n, dim], angle t * base^(-2i/dim) for position t and
/// pair i, each half repeated (`torch.cat((freqs, freqs), dim=-1)`). One pair per model,
/// computed once per forward and shared by every layer's `rope(..., cos = cos, sin = sin)`,
/// so every layer keeps the same two tensors.
///
/// Parameters: none; buffer `inv_freq` [dim/2] (transformers registers it, not persistent).
/// Types: the tables take `x`'s type (`cos.to(dtype=x.dtype)`): fp32 under autocast, where
/// the hidden states are fp32, so `rope` promotes q and k to fp32; half under pure half.
/// Reference algorithm: the tables depend only on n, dim and `base`, constants of the
/// shapes: 0 FLOPs (README, "Counting conventions"). It runs under `torch.no_grad()`: no
/// backward, its outputs carry no gradient.
struct RotaryTables: Operator {
    public static let kind = "rotary_tables"
    public static let summary = "cos/sin tables of rotary embedding, one pair per model (rotary_emb)"
    public static let signature: [ArgumentSpec] = [
        .required("x", .tensor),
        .required("dim", .int),
        .defaulted("base", .float, .float(10000)),
    ]

    let positions: Int
    let dim: Int
    let base: Double
    let dtype: DType

    public init(_ arguments: BoundArguments) throws {
        let x = try arguments.tensor("x")
        dim = try arguments.int("dim", atLeast: 2)
        base = try arguments.float("base")
        guard base.isFinite && base > 0 else { throw OperatorError("'base' must be positive, got \(base)", argument: "base") }
        guard dim % 2 == 0 else { throw OperatorError("'dim' = \(dim) must be even: rotary embedding pairs dimensions", argument: "dim") }
        guard x.rank >= 2, x.dtype.isFloatingPoint else {
            throw OperatorError("x must be a float tensor [B, n, ...] whose positions the tables cover, got \(x)", argument: "x")
        }
        positions = x.shape[1]
        dtype = x.dtype
    }

    public var outputs: [TensorType] { [TensorType([1, positions, dim], dtype), TensorType([1, positions, dim], dtype)] }
    public var buffers: [ParameterSpec] { [ParameterSpec("inv_freq", [dim / 2])] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { "n\(positions) d\(dim)" }

}

// Memory (README, "Training and inference memory").
extension RotaryTables {
    /// Two new tables, kept by the ropes that read them; nothing of its own.
    public var detachesOutputs: Bool { true }
}
