/// `relative_position_bias(heads, window)`: the learned relative position bias of windowed
/// attention (Swin; torchvision's ShiftedWindowAttention): a table of one value per head
/// for each relative offset inside a Wh x Ww window, gathered by a constant int index
/// into [1, heads, N, N] (N = Wh * Ww), to pass as attention's `mask`.
///
/// Parameter `relative_position_bias_table` [(2Wh - 1)(2Ww - 1), heads]; buffer
/// `relative_position_index` [N * N] int64, torchvision's `_get_relative_position_index`:
/// for window positions p = (ph, pw) and q = (qh, qw), (ph - qh + Wh - 1) * (2Ww - 1) +
/// (pw - qw + Ww - 1). Forward: `table[index]` [N*N, heads] (a gather, a transient), then
/// `.view(N, N, heads).permute(2, 0, 1).contiguous().unsqueeze(0)`: the output is that
/// contiguous copy. `window` is an int (square) or [Wh, Ww].
///
/// Reference algorithm: forward gathers, 0 FLOPs; the weight gradient scatter-adds dY's
/// N * N * heads values into a zeroed table gradient (index_put with accumulate, as
/// embedding's backward): N * N * heads adds. Keeps nothing but the index buffer (static).
struct RelativePositionBias: Operator {
    public static let kind = "relative_position_bias"
    public static let summary = "learned relative position bias of windowed attention (Swin), gathered by a constant index"
    public static let signature: [ArgumentSpec] = [
        .required("heads", .int),
        .required("window", .intTuple(count: 2)),
    ]

    let heads: Int
    let window: [Int]

    public init(_ arguments: BoundArguments) throws {
        heads = try arguments.int("heads", atLeast: 1)
        window = try arguments.ints("window", count: 2)
        guard window.allSatisfy({ $0 >= 1 && $0 <= 1 << 12 }) else {
            throw OperatorError("'window' sizes must be in 1...4096, got \(window)", argument: "window")
        }
        _ = try dimensionProduct([positions, positions, heads], argument: "window")
    }

    /// N: the positions of one window.
    var positions: Int { window[0] * window[1] }
    var offsets: Int { (2 * window[0] - 1) * (2 * window[1] - 1) }

    public var outputs: [TensorType] { [TensorType([1, heads, positions, positions], .float32)] }
    public var parameters: [ParameterSpec] { [ParameterSpec("relative_position_bias_table", [offsets, heads])] }
    public var buffers: [ParameterSpec] { [ParameterSpec("relative_position_index", [positions * positions], dtype: .int64)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        OperatorCost(forward: .zero,
                     weightGradient: context.trainable(parameter: 0) ? .elementwise(Count(positions) * positions * heads) : .zero)
    }

    public var detail: String { "h\(heads) \(window[0])x\(window[1])" }

    /// The table row of the offset from window position p to q.
    func index(_ p: Int, _ q: Int) -> Int {
        let (ph, pw) = p.quotientAndRemainder(dividingBy: window[1]), (qh, qw) = q.quotientAndRemainder(dividingBy: window[1])
        return (ph - qh + window[0] - 1) * (2 * window[1] - 1) + (pw - qw + window[1] - 1)
    }
}

// Memory (README, "Training and inference memory").
extension RelativePositionBias {
    /// The gathered [N*N, heads] before its contiguous permute: live while it runs.
    public func forwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] {
        [WorkspaceTensor("gathered", [positions * positions, heads], .fixed(.float32))]
    }
}
