/// Where a constant came from when it is a stored tensor: an initializer or a Constant
/// node's value. A view of it (transposed, reshaped) keeps the source, so it still counts
/// as that tensor.
struct WeightSource: Hashable, Sendable {
    /// The ONNX value name (the initializer's name, or the Constant's output).
    var name: String
    /// A learned weight: a floating-point initializer, except a single stored value under
    /// an exporter-made name (`onnx::Div_12`, a constant folded into an initializer).
    /// Constant nodes, integer initializers and such scalars are fixed constants.
    var isLearned: Bool
}

/// A tensor known at import time: its shape and element type always, its elements when
/// they are few enough to hold (`ONNXModelProto.maxDecodedElements`) and were stored or
/// computed, and whether every element is known to be one value (`uniform`, for large
/// fills such as ConstantOfShape).
struct StaticTensor: Sendable {
    var shape: [Int]
    var element: ONNXElementType
    var values: ONNXTensorValues?
    var uniform: Double?
    var source: WeightSource?

    init(shape: [Int], element: ONNXElementType, values: ONNXTensorValues? = nil, uniform: Double? = nil, source: WeightSource? = nil) {
        self.shape = shape
        self.element = element
        self.values = values
        self.uniform = uniform
        self.source = source
        if let values, values.count > 0, uniform == nil {
            let first = values.double(0)
            if (0..<values.count).allSatisfy({ values.double($0) == first }) { self.uniform = first }
        }
    }

    /// An initializer or a Constant's tensor.
    init(_ tensor: ONNXTensorProto, source: WeightSource?, file: String) throws {
        guard let element = ONNXElementType(rawValue: tensor.dataType) else {
            throw NNFlopsError("\(file): tensor '\(tensor.name)' has unknown element type \(tensor.dataType)")
        }
        guard tensor.dims.count <= ONNXGraphImporter.maxRank else {
            throw NNFlopsError("\(file): tensor '\(tensor.name)' has rank \(tensor.dims.count)")
        }
        guard let count = ONNXTensorProto.elementCount(tensor.dims), Count(count).value < (1 << 56) else {
            throw NNFlopsError("\(file): tensor '\(tensor.name)' has dimensions \(tensor.dims), which are negative or too large")
        }
        _ = count
        self.init(shape: tensor.dims.map { Int($0) }, element: element, values: tensor.values, source: source)
    }

    /// Element count (shapes are checked against overflow where they are made).
    var elements: Int {
        let count = Count.product(shape)
        return count.overflowed ? Int.max : count.value
    }
    var rank: Int { shape.count }
    var isLearned: Bool { source?.isLearned == true }

    /// Whether an initializer of this type and name is a learned weight (see `WeightSource`).
    static func isLearnedInitializer(_ tensor: ONNXTensorProto) -> Bool {
        guard ONNXElementType(rawValue: tensor.dataType)?.isFloatingPoint == true else { return false }
        let single = ONNXTensorProto.elementCount(tensor.dims) == 1 && tensor.values != nil
        return !(single && ONNXGraphImporter.layerName(fromParameter: tensor.name, parameterNode: true) == nil)
    }
    var isScalarLike: Bool { elements == 1 }

    /// The elements as integers, when known (floats that are whole numbers included).
    var ints: [Int]? {
        switch values {
        case .ints(let v)?: return v
        case .floats(let v)?:
            guard v.allSatisfy({ $0.rounded() == $0 && abs($0) < 9.2e18 }) else { return nil }
            return v.map { Int($0) }
        case nil:
            if let uniform, elements <= ONNXModelProto.maxDecodedElements, uniform.rounded() == uniform, abs(uniform) < 9.2e18 {
                return Array(repeating: Int(uniform), count: elements)
            }
            return nil
        }
    }

    /// The elements as numbers, when known.
    var doubles: [Double]? {
        switch values {
        case .ints(let v)?: return v.map(Double.init)
        case .floats(let v)?: return v
        case nil:
            if let uniform, elements <= ONNXModelProto.maxDecodedElements { return Array(repeating: uniform, count: elements) }
            return nil
        }
    }

    /// The single value of a one-element tensor, or the value every element has.
    var scalar: Double? { uniform ?? (isScalarLike ? doubles?.first : nil) }

    /// The same elements with a new shape (a view keeps the source).
    func reshaped(_ newShape: [Int]) -> StaticTensor {
        var copy = self
        copy.shape = newShape
        return copy
    }

    /// Row-major strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    /// Multidirectional (NumPy) broadcasting of several shapes; nil when incompatible.
    static func broadcast(_ shapes: [[Int]]) -> [Int]? {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (i, size) in shape.enumerated() {
                let current = result[offset + i]
                if current == 1 { result[offset + i] = size }
                else if size != 1 && size != current { return nil }
            }
        }
        return result
    }

    /// For each element of `output` (row-major), the index of the element of a tensor of
    /// `shape` that broadcasts to it.
    static func broadcastIndex(from shape: [Int], to output: [Int]) -> [Int] {
        let count = output.reduce(1, *)
        let offset = output.count - shape.count
        let inputStrides = strides(shape)
        var indices = [Int](repeating: 0, count: count)
        var coordinate = [Int](repeating: 0, count: output.count)
        for flat in 0..<count {
            var index = 0
            for (i, size) in shape.enumerated() where size != 1 { index += coordinate[offset + i] * inputStrides[i] }
            indices[flat] = index
            var axis = output.count - 1
            while axis >= 0 {
                coordinate[axis] += 1
                if coordinate[axis] < output[axis] { break }
                coordinate[axis] = 0
                axis -= 1
            }
        }
        return indices
    }

    /// Whether holding `count` elements is within the limit.
    static func holds(_ count: Int) -> Bool { count <= ONNXModelProto.maxDecodedElements }
}

extension ONNXTensorValues {
    var count: Int {
        switch self {
        case .ints(let v): v.count
        case .floats(let v): v.count
        }
    }

    func double(_ i: Int) -> Double {
        switch self {
        case .ints(let v): Double(v[i])
        case .floats(let v): v[i]
        }
    }

    /// The elements at `indices`, in that order.
    func gathered(_ indices: [Int]) -> ONNXTensorValues {
        switch self {
        case .ints(let v): .ints(indices.map { v[$0] })
        case .floats(let v): .floats(indices.map { v[$0] })
        }
    }
}
