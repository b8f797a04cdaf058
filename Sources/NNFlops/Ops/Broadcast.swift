/// NumPy/PyTorch broadcasting of two shapes, right-aligned; nil when incompatible.
func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result: [Int] = []
    for i in 0..<rank {
        let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        guard x == y || x == 1 || y == 1 else { return nil }
        result.append(max(x, y))
    }
    return result
}

/// Shared shape logic of the element-wise binary operators (add, sub, mul, div):
/// the right operand may be a tensor (broadcast) or a plain number.
struct BinaryOperands: Sendable {
    let left: TensorType
    /// nil when the right operand is a number.
    let right: TensorType?
    /// The number, when the right operand is one.
    let number: Double?
    let output: TensorType

    init(_ arguments: BoundArguments, kind: String) throws {
        left = try arguments.tensor("input")
        // `other` is a tensor or a plain number (optionalTensor would reject the number).
        if case .tensor? = arguments.values["other"] {
            right = try arguments.tensor("other")
            number = nil
        } else {
            right = nil
            number = try arguments.float("other")
        }
        if let right {
            guard let shape = broadcastShapes(left.shape, right.shape) else {
                throw OperatorError("cannot broadcast \(left) with \(right)", argument: "other")
            }
            output = TensorType(shape, left.dtype)
        } else {
            output = left
        }
    }

    var outputElements: Count { output.elements }

    /// Gradient reaching an operand of `shape` must be summed over broadcast dimensions:
    /// a reduction of all output elements accumulated from zero, or nothing when no
    /// broadcasting happened.
    func reductionFLOPs(to shape: [Int]) -> Count {
        shape == output.shape ? .zero : outputElements
    }
}
