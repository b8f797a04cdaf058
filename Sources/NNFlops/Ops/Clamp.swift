/// `clamp(x, min=none, max=none, inplace=false)`: x limited to [min, max] element-wise
/// (torch.clamp; hardtanh is clamp to [min_val, max_val]; ONNX Clip). At least one bound
/// is given; a bound left out does not limit.
///
/// Reference algorithm, n elements, b = the number of bounds given (1 or 2): forward one
/// max and/or one min per element (bn); input gradient dX = dY where min <= x <= max, else
/// 0 (derivatives.yaml `clamp`: `clamp_backward(grad, self, min, max)`): b compares per
/// element select dY or 0 (bn; the select itself is not arithmetic, as for relu). MACs: 0.
/// Saved for backward: the input; in place (`clamp_`, which has no derivatives.yaml entry
/// of its own) a clone of the input, as for relu6. Autocast: promote.
struct Clamp: ElementwiseActivation {
    public static let kind = "clamp"
    public static let summary = "x limited to [min, max] element-wise (hardtanh, ONNX Clip)"
    static let extraArguments: [ArgumentSpec] = [.defaulted("min", .float, .none), .defaulted("max", .float, .none)]
    static let hasInPlaceVariant = true
    /// clamp's formula reads `self`; in place, autograd keeps `original_self`.
    static let backwardReads = ElementwiseBackwardInput.inputOrClone

    let input: TensorType
    let inplace: Bool
    let lower: Double?
    let upper: Double?

    init(input: TensorType, inplace: Bool, _ arguments: BoundArguments) throws {
        self.input = input
        self.inplace = inplace
        func bound(_ name: String) throws -> Double? {
            if case .none? = arguments[name] { return nil }
            return try arguments.float(name)
        }
        lower = try bound("min")
        upper = try bound("max")
        guard lower != nil || upper != nil else {
            throw OperatorError("clamp needs min, max or both (torch: at least one of 'min' or 'max' must not be None)", argument: "min")
        }
        for (bound, name) in [(lower, "min"), (upper, "max")] {
            if let bound, !bound.isFinite { throw OperatorError("\(name) must be a finite number, got \(bound)", argument: name) }
        }
    }

    var bounds: Int { (lower == nil ? 0 : 1) + (upper == nil ? 0 : 1) }

    var flopsPerElement: ElementwiseFLOPs { ElementwiseFLOPs(forward: bounds, inputGradient: bounds) }

    public var detail: String {
        func text(_ v: Double) -> String { v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(v) }
        let range: String
        switch (lower, upper) {
        case (let lo?, let hi?): range = "[\(text(lo)), \(text(hi))]"
        case (let lo?, nil): range = "min \(text(lo))"
        case (nil, let hi?): range = "max \(text(hi))"
        case (nil, nil): range = ""
        }
        return ([range] + (inplace ? ["inplace"] : [])).joined(separator: " ")
    }
}
