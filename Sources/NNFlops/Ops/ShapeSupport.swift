/// Small shape helpers shared by the shape, attention and loss operators.

extension BoundArguments {
    /// An axis index of `tensor` (negative counts from the end), normalised; throws naming
    /// the argument when out of range.
    func axis(_ name: String, of tensor: TensorType) throws -> Int {
        let index = try int(name)
        guard let axis = tensor.axis(index) else {
            throw OperatorError("dimension \(index) is out of range for a tensor of rank \(tensor.rank) \(tensor)", argument: name)
        }
        return axis
    }

    /// True when the argument was given as (or defaults to) `none`.
    func isNone(_ name: String) -> Bool {
        if case .none? = self[name] { return true }
        return self[name] == nil
    }

    /// A float that may be `none`.
    func optionalFloat(_ name: String) throws -> Double? {
        isNone(name) ? nil : try float(name)
    }
}

/// Product of dimensions as an Int, or an error when it does not fit 64 bits.
func dimensionProduct(_ dims: some Sequence<Int>, argument: String? = nil) throws -> Int {
    let count = Count.product(dims)
    guard !count.overflowed else { throw OperatorError("the element count overflows 64-bit integers", argument: argument) }
    return count.value
}

/// Formats a shape as the spec writes it: `[2, 3, 4]`.
/// Appended in place: the generic `joined(separator:)` looked up its associated types at
/// run time on first use, 200,000 instructions (README, "Speed"); a reshape's `detail`
/// formats two shapes.
func shapeText(_ shape: [Int]) -> String {
    var text = "["
    for (index, size) in shape.enumerated() {
        if index > 0 { text += ", " }
        text += String(size)
    }
    return text + "]"
}
