/// `pad(input, padding, mode="constant", value=0.0)`: torch.nn.functional.pad. `padding`
/// lists (before, after) pairs from the last dimension backwards, as torch does:
/// [left, right] pads the last dimension, [left, right, top, bottom] the last two. Modes:
/// - "constant": `value` outside the input, any number of dimensions (up to the rank);
/// - "reflect": mirrored without repeating the edge (each padding smaller than its
///   dimension);
/// - "replicate": the edge value repeated;
/// reflect and replicate pad the last 1, 2 or 3 dimensions of an input with one or two
/// more (torch's supported combinations: [N, C, W] or [C, W] for 1, [N, C, H, W] or
/// [C, H, W] for 2, ...). Paddings are non-negative (torch's negative constant padding,
/// which crops, is not supported: use `slice`).
///
/// Reference algorithm: forward copies into a new tensor (0 FLOPs). Input gradient:
/// constant — the slice of dY over the input (derivatives.yaml `constant_pad_nd_backward`),
/// a copy, 0 FLOPs; reflect, replicate — dY scattered back into a zeroed dX, one add per
/// output element (aten/src/ATen/native/cpu/PaddingKernel.cpp `cpu_padding_backward`,
/// accumulated from zero). Saved: constant keeps nothing; reflect and replicate keep the
/// input (derivatives.yaml's `reflection_pad2d_backward(grad, self, padding)` reads
/// `self`). The output is a new contiguous tensor.
struct Pad: Operator {
    public static let kind = "pad"
    public static let summary = "pad the last dimensions (constant, reflect, replicate)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("padding", .intList),
        .defaulted("mode", .string, .string("constant")),
        .defaulted("value", .float, .float(0)),
    ]

    enum Mode: String, Sendable, CaseIterable {
        case constant, reflect, replicate
    }

    let input: TensorType
    let mode: Mode
    let value: Double
    /// (before, after) per dimension of the input, in dimension order (0 for unpadded ones).
    let before: [Int]
    let after: [Int]
    let output: TensorType

    public init(_ arguments: BoundArguments) throws {
        input = try floatingPointInput(arguments, kind: Self.kind)
        guard let mode = Mode(rawValue: try arguments.choice("mode", Mode.allCases.map(\.rawValue))) else {
            throw OperatorError("unknown padding mode", argument: "mode")
        }
        self.mode = mode
        value = try arguments.float("value")
        let padding = try arguments.intList("padding")
        guard !padding.isEmpty, padding.count % 2 == 0 else {
            throw OperatorError("padding must list (before, after) pairs, got \(shapeText(padding))", argument: "padding")
        }
        let padded = padding.count / 2
        guard padded <= input.rank else {
            throw OperatorError("padding \(shapeText(padding)) pads \(padded) dimensions, but \(input) has \(input.rank)", argument: "padding")
        }
        if let bad = padding.first(where: { $0 < 0 }) {
            throw OperatorError("padding must be non-negative, got \(bad) in \(shapeText(padding)) (crop with slice)", argument: "padding")
        }
        if mode != .constant {
            guard padded <= 3, input.rank == padded + 1 || input.rank == padded + 2 else {
                throw OperatorError("\(mode.rawValue) padding of \(padded) dimension(s) needs an input of rank \(padded + 1) or \(padded + 2), got \(input)", argument: "padding")
            }
        }
        var before = [Int](repeating: 0, count: input.rank), after = before
        for k in 0..<padded {
            let axis = input.rank - 1 - k
            before[axis] = padding[2 * k]
            after[axis] = padding[2 * k + 1]
            if mode == .reflect, max(before[axis], after[axis]) >= input.shape[axis] {
                throw OperatorError("reflect padding \(max(before[axis], after[axis])) must be smaller than dimension \(axis) of \(input)", argument: "padding")
            }
        }
        self.before = before
        self.after = after
        var shape = input.shape
        for axis in shape.indices {
            let (sum, overflow) = shape[axis].addingReportingOverflow(before[axis] + after[axis])
            guard !overflow else { throw OperatorError("the padded size overflows", argument: "padding") }
            shape[axis] = sum
        }
        output = TensorType(shape, input.dtype)
    }

    public var outputs: [TensorType] { [output] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let backward: Count = context.needsGradient(input: 0) && mode != .constant ? output.elements : .zero
        return OperatorCost(forward: .zero, inputGradient: .elementwise(backward))
    }

    public var detail: String {
        let pairs = before.indices.filter { before[$0] != 0 || after[$0] != 0 }.map { "\(before[$0]),\(after[$0])" }
        return "\(mode.rawValue) " + pairs.joined(separator: " ")
    }
}

// Memory (README, "Training and inference memory").
extension Pad {
    /// constant_pad_nd keeps only the padding; reflection / replication padding keep the input.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        mode != .constant && context.needsGradient(input: 0) ? [.input(0)] : []
    }
}
