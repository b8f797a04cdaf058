/// `hinge_loss(input, target)`: mean hinge loss -> scalar []. Two forms, chosen by the
/// target:
/// - binary: a float target of the input's shape holding labels +-1:
///   mean over N elements of max(0, 1 - t*x).
/// - multi-class (torch.nn.MultiMarginLoss, p = 1, margin = 1): input [R, C] (or [C]),
///   integer class ids [R] (or []): l_r = sum over c != y of max(0, 1 - x_y + x_c) / C,
///   mean over the R rows.
///
/// Reference algorithm:
/// - binary forward: multiply, subtract from 1, max with 0 = 3 per element; N adds, 1
///   divide: 4N + 1. Backward: s = dL / N and ns = -s (2) when any input needs a
///   gradient; dX = (t * ns) * [1 - t*x > 0]: multiply, subtract, compare, multiply,
///   multiply = 5N; dT = (x * ns) * [1 - t*x > 0]: 5N.
/// - multi-class forward, per row: 1 - x_y (1), then for each of the C-1 other classes
///   + x_c and max with 0 (2), C-1 adds for the row sum, 1 divide by C: 3C - 1; R adds and
///   1 divide for the mean: 3N + 1 (N = R*C). Input gradient: g = dL / (R*C) (1, R*C a
///   constant); per row: 1 - x_y (1); for each c != y: + x_c, compare with 0, multiply
///   by g (3); dX_y = -(sum of those C-1 values) (C-1 adds, 1 negate): 4C - 2 per row:
///   R*(4C - 2) + 1. Class ids have no gradient.
struct HingeLoss: Operator {
    public static let kind = "hinge_loss"
    public static let summary = "hinge loss: binary (+-1 labels) or multi-class margin (mean reduction)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("target", .tensor),
    ]

    let input: TensorType
    let target: TensorType
    let multiClass: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        target = try arguments.tensor("target")
        guard input.dtype.isFloatingPoint else { throw OperatorError("input must be a float tensor, got \(input)", argument: "input") }
        if target.dtype.isFloatingPoint {
            guard target.shape == input.shape else {
                throw OperatorError("binary target has shape \(target) but input has shape \(input); they must match (or give integer class ids for the multi-class form)", argument: "target")
            }
            multiClass = false
        } else {
            guard input.rank == 1 || input.rank == 2 else {
                throw OperatorError("multi-class hinge needs input [R, C] or [C], got \(input)", argument: "input")
            }
            guard target.dtype != .bool, target.shape == Array(input.shape.dropLast()) else {
                throw OperatorError("class-id target has shape \(target) but input has shape \(input); ids need shape \(shapeText(Array(input.shape.dropLast())))", argument: "target")
            }
            multiClass = true
        }
    }

    public var outputs: [TensorType] { [TensorType([], input.dtype)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let n = input.elements
        if multiClass {
            let classes = input.shape[input.rank - 1]
            let rows = Count.product(input.shape.dropLast())
            let backward: Count = context.needsGradient(input: 0) ? rows * (Count(classes) * 4 - 2) + 1 : .zero
            return OperatorCost(forward: .elementwise(n * 3 + 1), inputGradient: .elementwise(backward))
        }
        var backward = Count.zero
        if context.anyInputNeedsGradient { backward += 2 }
        if context.needsGradient(input: 0) { backward += n * 5 }
        if context.needsGradient(input: 1) { backward += n * 5 }
        return OperatorCost(forward: .elementwise(n * 4 + 1), inputGradient: .elementwise(backward))
    }

    public var detail: String { multiClass ? "multi-class" : "binary" }
}

// Memory (README, "Training and inference memory").
extension HingeLoss {
    /// hinge_embedding_loss / multi_margin_loss keep input and target; fp32 under autocast.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.anyInputNeedsGradient ? [.input(0), .input(1)] : []
    }
    public var autocast: AutocastClass { .float32 }
}
