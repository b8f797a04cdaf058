/// `roll(input, shifts, dims=none)`: torch.roll: elements shifted cyclically by `shifts[i]`
/// along `dims[i]` (an int or a list each, of equal length; negative shifts roll back,
/// negative dims count from the end, a dimension may repeat and its shifts add up). With
/// `dims = none` the tensor is rolled as if flattened, by a single shift, and keeps its
/// shape. Swin Transformer's shifted windows roll the feature map by half a window.
///
/// Reference algorithm: a copy into a new tensor (element moves, no arithmetic): 0 FLOPs.
/// Input gradient (derivatives.yaml `roll`: `grad.roll(-shifts, dims)`): the same copy
/// backwards, 0 FLOPs. Keeps nothing (shifts and dims are numbers). The output is a new
/// contiguous tensor (torch's roll kernels allocate it so).
struct Roll: Operator {
    public static let kind = "roll"
    public static let summary = "cyclic shift along dimensions (torch.roll)"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("shifts", .intList),
        .defaulted("dims", .intList, .none),
    ]

    let input: TensorType
    /// The shift of every dimension in 0..<size (the flattened case: one entry, the
    /// shift over all elements, with `flattened` set).
    let shifts: [Int]
    let flattened: Bool

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        let requested = try arguments.intList("shifts")
        guard !requested.isEmpty else { throw OperatorError("'shifts' must not be empty", argument: "shifts") }
        if arguments.isNone("dims") {
            guard requested.count == 1 else {
                throw OperatorError("without dims, roll takes one shift (it rolls the flattened tensor), got \(shapeText(requested))", argument: "shifts")
            }
            let count = try dimensionProduct(input.shape, argument: "input")
            shifts = [Self.normalised(requested[0], size: count)]
            flattened = true
        } else {
            let dims = try arguments.intList("dims")
            guard dims.count == requested.count else {
                throw OperatorError("shifts \(shapeText(requested)) and dims \(shapeText(dims)) must have the same length", argument: "dims")
            }
            var perAxis = [Int](repeating: 0, count: input.rank)
            for (d, shift) in zip(dims, requested) {
                guard let axis = input.axis(d) else {
                    throw OperatorError("dimension \(d) is out of range for a tensor of rank \(input.rank) \(input)", argument: "dims")
                }
                perAxis[axis] = Self.normalised(perAxis[axis] + Self.normalised(shift, size: input.shape[axis]), size: input.shape[axis])
            }
            shifts = perAxis
            flattened = false
        }
    }

    /// `shift` mod `size`, in 0..<size.
    static func normalised(_ shift: Int, size: Int) -> Int {
        let r = shift % size
        return r < 0 ? r + size : r
    }

    public var outputs: [TensorType] { [input.contiguousCopy] }
    public func cost(_ context: CostContext) -> OperatorCost { OperatorCost(forward: .zero) }
    public var detail: String { (flattened ? "flat " : "") + shapeText(shifts) }
}

// Memory (README, "Training and inference memory").
extension Roll {
    /// RollBackward0 keeps only the shifts and dims.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
}
