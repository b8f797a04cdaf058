/// `rope(input, heads, base=10000.0, cos=none, sin=none)`: rotary position embedding in
/// LLaMA's rotate_half form on [B, n, heads*d] or per head [B, n, heads, d] (d even):
/// out = x*cos + rotate_half(x)*sin per head, where rotate_half(x) = cat(-x[d/2:], x[:d/2])
/// and position t, pair i use the angle t * base^(-2i/d).
///
/// Tables: with `cos` and `sin` (the outputs of `rotary_tables`, [1, n, d]) the operator
/// reads the model's one shared pair, as transformers' apply_rotary_pos_emb does: every
/// layer keeps the same two tensors, and under autocast their fp32 makes the result fp32
/// (an element-wise op promotes to its widest input). Without them it builds its own
/// [n, d] pair from `base` (an `inv_freq` [d/2] buffer) and keeps that. Partial rotary
/// (GPT-NeoX's rotary_pct, Phi-3's partial_rotary_factor) is rope on a slice of each
/// head, then `concat` with the rest, as transformers writes it.
///
/// Reference algorithm, N = input elements. The tables depend only on n, d and `base` and
/// are constants (not counted).
/// - forward, per element: x*cos (1 mul), rotate_half's negation (for half the elements:
///   N/2 in all), *sin (1 mul), + (1 add): 3N + N/2 = 7N/2.
/// - input gradient dX = dY*cos + rotate_half^T(dY*sin), rotate_half^T(g) =
///   cat(g[d/2:], -g[:d/2]): the same 7N/2.
struct Rope: Operator {
    public static let kind = "rope"
    public static let summary = "rotary position embedding (rotate_half form), own or shared cos/sin tables"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("heads", .int),
        .defaulted("base", .float, .float(10000)),
        .defaulted("cos", .tensor, .none),
        .defaulted("sin", .tensor, .none),
    ]

    let input: TensorType
    let heads: Int
    let headDim: Int
    let base: Double
    /// The shared tables are inputs 1 and 2.
    let sharedTables: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        heads = try arguments.int("heads", atLeast: 1)
        base = try arguments.float("base")
        guard base.isFinite && base > 0 else { throw OperatorError("'base' must be positive, got \(base)", argument: "base") }
        guard (input.rank == 3 || input.rank == 4), input.dtype.isFloatingPoint else {
            throw OperatorError("input must be a float tensor [B, n, heads*d] or [B, n, heads, d], got \(input)", argument: "input")
        }
        if input.rank == 4 {
            guard input.shape[2] == heads else {
                throw OperatorError("input has shape \(input): its heads dimension is \(input.shape[2]), not heads = \(heads)", argument: "heads")
            }
            headDim = input.shape[3]
        } else {
            guard input.shape[2] % heads == 0 else {
                throw OperatorError("input has shape \(input): its last dimension \(input.shape[2]) is not divisible by heads = \(heads)", argument: "heads")
            }
            headDim = input.shape[2] / heads
        }
        guard headDim % 2 == 0 else {
            throw OperatorError("head dimension d = \(headDim) must be even", argument: "heads")
        }
        let cos = try arguments.optionalTensor("cos"), sin = try arguments.optionalTensor("sin")
        guard (cos == nil) == (sin == nil) else {
            throw OperatorError("give both tables, cos and sin, or neither", argument: cos == nil ? "cos" : "sin")
        }
        for (name, table) in [("cos", cos), ("sin", sin)] {
            guard let table else { continue }
            let shape = table.rank == 3 ? table.shape : [1] + table.shape
            guard (table.rank == 2 || table.rank == 3), table.dtype.isFloatingPoint, shape == [1, input.shape[1], headDim] else {
                throw OperatorError("'\(name)' must be a float table [1, n, d] = [1, \(input.shape[1]), \(headDim)] for input \(input), got \(table)", argument: name)
            }
        }
        sharedTables = cos != nil
    }

    /// Element-wise on x (with the broadcast tables): laid out as TensorIterator lays x's result out.
    public var outputs: [TensorType] { [.elementwiseResult(input.shape, input.dtype, operands: [input])] }
    public var buffers: [ParameterSpec] { sharedTables ? [] : [ParameterSpec("inv_freq", [headDim / 2])] }

    public func cost(_ context: CostContext) -> OperatorCost {
        // N is even (d is), so 7N/2 = 3N + N/2 exactly.
        let n = input.elements
        let work = n * 3 + Count(input.shape[0]) * input.shape[1] * heads * (headDim / 2)
        return OperatorCost(forward: .elementwise(work),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(work) : .zero)
    }

    public var detail: String { "h\(heads) d\(headDim)" + (sharedTables ? " shared" : "") }
}

// Memory (README, "Training and inference memory").
extension Rope {
    /// The rotation multiplies by the cos and sin tables and keeps them (MulBackward's
    /// other operand): the shared pair (inputs 1, 2: one storage for every layer), or its
    /// own [n, d] pair, computed once per forward; the rotate-half slicing keeps nothing.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        guard context.needsGradient(input: 0) else { return [] }
        if sharedTables { return [.input(1), .input(2)] }
        return [.extra("cos", shape: [input.shape[1], headDim], type: .output), .extra("sin", shape: [input.shape[1], headDim], type: .output)]
    }
}

// Tensor parallelism (README, "Training on many GPUs").
extension Rope {
    /// Per head: an input split along its heads (dimension 2 of [B, n, heads*d] or
    /// [B, n, heads, d]) is rotated on its rank with heads / T heads; the shared cos/sin
    /// tables stay whole.
    public func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule {
        guard case .sharded(2)? = request.inputs.first else { return .replicated(request) }
        guard heads % request.degree == 0 else {
            throw OperatorError("--tp \(request.degree) does not divide its \(heads) heads")
        }
        var inputs = request.inputs.map { _ in TensorParallelRule.Input.replicated }
        inputs[0] = .sharded(2)
        return TensorParallelRule(inputs: inputs, outputs: [.sharded(2)], arguments: ["heads": .int(heads / request.degree)])
    }
}
