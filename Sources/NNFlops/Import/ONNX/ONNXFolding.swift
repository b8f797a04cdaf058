#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Constant folding: a node whose inputs are all known at import time (shapes, constants,
/// initializers) computes a constant, never a counted operator. This is how the shape
/// arithmetic exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Range,
/// ConstantOfShape, Where, ...) disappears. Elements are computed when they are few
/// (`ONNXModelProto.maxDecodedElements`); otherwise only the shape (and a uniform fill
/// value) is known, which is all a larger constant is ever needed for.
extension ONNXGraphImporter {
    /// The op types `fold` handles when every input is a constant.
    static let foldableOpTypes: Set<String> = [
        "Identity", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Transpose", "Concat",
        "Slice", "Split", "Cast", "CastLike", "Expand", "Tile", "ConstantOfShape", "Range", "Where", "Not", "And", "Or",
        "Xor", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Add", "Sub", "Mul", "Div", "Mod", "Pow",
        "Min", "Max", "Sum", "Mean", "Neg", "Abs", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Exp", "Log", "Erf",
        "Cos", "Sin", "Sigmoid", "Tanh", "Relu", "Sign", "ReduceProd", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
        "RandomUniformLike", "RandomNormalLike", "Bernoulli", "ScatterND", "Dropout", "NonZero", "Clip",
    ]

    /// Folds the current node, whose inputs are all constants. Returns false for an op
    /// type folding does not know.
    mutating func fold() throws -> Bool {
        let op = node.opType
        guard Self.foldableOpTypes.contains(op) else { return false }
        let inputs: [StaticTensor?] = try node.inputs.indices.map { try constantInput($0) }
        func argument(_ i: Int) throws -> StaticTensor {
            guard i < inputs.count, let t = inputs[i] else { throw failure("input \(i) is missing") }
            return t
        }
        let result: [StaticTensor]
        switch op {
        case "Identity", "Dropout":
            result = [try argument(0)]
        case "Shape":
            let shape = try shapeOfInput(0)
            var start = try int("start", default: 0), end = try int("end", default: shape.count)
            if start < 0 { start += shape.count }
            if end < 0 { end += shape.count }
            start = min(max(start, 0), shape.count)
            end = min(max(end, start), shape.count)
            result = [StaticTensor(shape: [end - start], element: .int64, values: .ints(Array(shape[start..<end])))]
        case "Size":
            result = [StaticTensor(shape: [], element: .int64, values: .ints([Count.product(try shapeOfInput(0)).value]))]
        case "Cast", "CastLike":
            let target = op == "Cast" ? try int("to", default: 1) : try argument(1).element.rawValue
            guard let element = ONNXElementType(rawValue: target) else { throw failure("Cast to unknown element type \(target)") }
            result = [try cast(try argument(0), to: element)]
        case "Reshape":
            let data = try argument(0)
            let shape = try reshapeTarget(data.shape, try staticInts(1, "the new shape") ?? [], allowZero: try int("allowzero", default: 0) == 1)
            result = [data.reshaped(shape)]
        case "Flatten":
            let data = try argument(0)
            result = [data.reshaped(try flattenShape(data.shape))]
        case "Unsqueeze":
            let data = try argument(0)
            result = [data.reshaped(try unsqueezeShape(data.shape, axes: try axesOperand(1) ?? []))]
        case "Squeeze":
            let data = try argument(0)
            result = [data.reshaped(try squeezeShape(data.shape, axes: try axesOperand(1)))]
        case "Transpose":
            result = [try transposed(try argument(0))]
        case "Gather":
            result = [try gather(try argument(0), try argument(1), axis: try int("axis", default: 0))]
        case "Concat":
            result = [try concat(inputs.compactMap { $0 }, axis: try int("axis", default: 0))]
        case "Slice":
            result = [try slice(try argument(0))]
        case "Split":
            result = try split(try argument(0))
        case "Expand":
            let data = try argument(0)
            guard let shape = StaticTensor.broadcast([data.shape, try staticInts(1, "the shape") ?? []]) else {
                throw failure("cannot expand \(shapeText(data.shape))")
            }
            result = [try broadcastTo(data, shape)]
        case "Tile":
            let data = try argument(0)
            let repeats = try staticInts(1, "the repeats") ?? []
            guard repeats.count == data.rank, repeats.allSatisfy({ $0 >= 0 && $0 <= 1 << 40 }) else {
                throw failure("repeats \(repeats) do not fit \(shapeText(data.shape))")
            }
            let tiled = zip(data.shape, repeats).map { Count($0) * $1 }
            guard !tiled.contains(where: \.overflowed) else { throw failure("Tile sizes overflow") }
            result = [StaticTensor(shape: try checkedShape(tiled.map(\.value)), element: data.element, uniform: data.uniform)]
        case "ConstantOfShape":
            let shape = try checkedShape(try staticInts(0, "the shape") ?? [])
            var element = ONNXElementType.float
            var fill = 0.0
            if let tensor = attribute("value")?.tensor {
                element = ONNXElementType(rawValue: tensor.dataType) ?? .float
                guard case let values? = tensor.values, values.count == 1 else { throw failure("attribute 'value' must hold one element") }
                fill = values.double(0)
            }
            result = [filled(shape, element, fill)]
        case "Range":
            result = [try range(try argument(0), try argument(1), try argument(2))]
        case "Where":
            result = [try elementwise([try argument(0), try argument(1), try argument(2)], element: try argument(1).element) { v in
                v[0] != 0 ? v[1] : v[2]
            }]
        case "RandomUniformLike", "RandomNormalLike", "Bernoulli":
            // Random values: the shape is known, the elements are not.
            let like = try argument(0)
            let element = ONNXElementType(rawValue: try int("dtype", default: like.element.rawValue)) ?? like.element
            result = [StaticTensor(shape: like.shape, element: element)]
        case "ScatterND":
            let data = try argument(0)
            result = [StaticTensor(shape: data.shape, element: data.element)]
        case "NonZero":
            let data = try argument(0)
            guard let values = data.doubles else { throw failure("NonZero of a constant whose elements are not known") }
            let strides = StaticTensor.strides(data.shape)
            let hits = values.indices.filter { values[$0] != 0 }
            var coordinates: [Int] = []
            for axis in 0..<data.rank { coordinates += hits.map { ($0 / strides[axis]) % data.shape[axis] } }
            result = [StaticTensor(shape: [data.rank, hits.count], element: .int64, values: .ints(coordinates))]
        case "ReduceProd", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin":
            result = [try reduce(try argument(0), op)]
        case "Clip":
            let data = try argument(0)
            let low = try staticNumber(1, "min") ?? -Double.infinity
            let high = try staticNumber(2, "max") ?? Double.infinity
            result = [try elementwise([data], element: data.element) { Swift.min(Swift.max($0[0], low), high) }]
        default:
            result = [try arithmetic(op, inputs.compactMap { $0 })]
        }
        try define(result.map(ONNXValue.constant))
        return true
    }

    // MARK: - Shapes

    /// The shape of input `index`, an activation or a constant.
    func shapeOfInput(_ index: Int) throws -> [Int] {
        switch try requiredInput(index) {
        case .tensor(let ref): return ref.type.shape
        case .constant(let c): return c.shape
        }
    }

    /// A shape made by folding: non-negative sizes whose product fits the counts.
    func checkedShape(_ shape: [Int]) throws -> [Int] {
        guard shape.count <= Self.maxRank, shape.allSatisfy({ $0 >= 0 }), !Count.product(shape).overflowed,
              Count.product(shape).value < (1 << 56) else {
            throw failure("computes a constant of shape \(shapeText(shape)), which is negative or too large")
        }
        return shape
    }

    /// Reshape's target: 0 copies the input's size (unless allowzero), one -1 is inferred.
    func reshapeTarget(_ input: [Int], _ requested: [Int], allowZero: Bool) throws -> [Int] {
        var shape = requested
        for (i, size) in requested.enumerated() where size == 0 && !allowZero {
            guard i < input.count else { throw failure("new shape \(shapeText(requested)) copies dimension \(i) of \(shapeText(input)), which has none") }
            shape[i] = input[i]
        }
        let inferred = shape.indices.filter { shape[$0] == -1 }
        guard inferred.count <= 1, shape.allSatisfy({ $0 >= -1 }) else { throw failure("invalid new shape \(shapeText(requested))") }
        let total = Count.product(input)
        let known = Count.product(shape.filter { $0 != -1 })
        if let slot = inferred.first {
            guard known.value > 0, total.value % known.value == 0 else {
                throw failure("cannot reshape \(shapeText(input)) to \(shapeText(requested))")
            }
            shape[slot] = total.value / known.value
        } else {
            guard known == total else { throw failure("cannot reshape \(shapeText(input)) (\(total.value) elements) to \(shapeText(requested))") }
        }
        return try checkedShape(shape)
    }

    /// ONNX Flatten: always two dimensions, split before `axis`.
    func flattenShape(_ shape: [Int]) throws -> [Int] {
        var axis = try int("axis", default: 1)
        if axis < 0 { axis += shape.count }
        guard axis >= 0, axis <= shape.count else { throw failure("axis \(axis) out of range for \(shapeText(shape))") }
        return [Count.product(shape[..<axis]).value, Count.product(shape[axis...]).value]
    }

    /// Axes from the attribute (opset < 13) or input `index` (13 and later).
    func axesOperand(_ index: Int) throws -> [Int]? {
        if let attribute = try ints("axes") { return attribute }
        return try staticInts(index, "the axes")
    }

    func unsqueezeShape(_ shape: [Int], axes: [Int]) throws -> [Int] {
        let rank = shape.count + axes.count
        var normalized = Set<Int>()
        for axis in axes {
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0, a < rank, normalized.insert(a).inserted else { throw failure("invalid axes \(axes) for \(shapeText(shape))") }
        }
        var result: [Int] = []
        var next = shape.makeIterator()
        for i in 0..<rank {
            if normalized.contains(i) {
                result.append(1)
            } else {
                guard let dimension = next.next() else { throw failure("invalid axes \(axes) for \(shapeText(shape))") }
                result.append(dimension)
            }
        }
        return result
    }

    func squeezeShape(_ shape: [Int], axes: [Int]?) throws -> [Int] {
        guard let axes, !axes.isEmpty else { return shape.filter { $0 != 1 } }
        var drop = Set<Int>()
        for axis in axes {
            let a = axis < 0 ? axis + shape.count : axis
            guard a >= 0, a < shape.count, shape[a] == 1 else { throw failure("cannot squeeze axis \(axis) of \(shapeText(shape))") }
            drop.insert(a)
        }
        return shape.indices.filter { !drop.contains($0) }.map { shape[$0] }
    }

    /// Transpose's permutation (default: reversed), checked.
    func permutation(rank: Int) throws -> [Int] {
        let perm = try ints("perm") ?? Array((0..<rank).reversed())
        guard perm.count == rank, Set(perm) == Set(0..<rank) else { throw failure("perm \(perm) is not a permutation of \(rank) axes") }
        return perm
    }

    func normalizedAxis(_ axis: Int, rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < max(rank, 1) else { throw failure("axis \(axis) out of range for rank \(rank)") }
        return a
    }

    /// An axis that names one of the tensor's dimensions, whose size is then read: Split,
    /// Concat, Gather, Slice and Pad's axes, each in [-rank, rank - 1] (onnx/defs), so a
    /// scalar has none. `normalizedAxis` also takes 0 of a scalar (softmax and the
    /// reductions, as torch wraps a dim of a 0-d tensor); reading that dimension's size
    /// trapped (a fuzzed Split of a scalar).
    func dimensionAxis(_ axis: Int, rank: Int) throws -> Int {
        guard rank > 0 else { throw failure("axis \(axis) of a scalar: \(node.opType) needs a tensor with a dimension") }
        return try normalizedAxis(axis, rank: rank)
    }

    // MARK: - Data movement on constants

    func transposed(_ data: StaticTensor) throws -> StaticTensor {
        let perm = try permutation(rank: data.rank)
        let shape = perm.map { data.shape[$0] }
        var result = StaticTensor(shape: shape, element: data.element, uniform: data.uniform, source: data.source)
        if let values = data.values {
            let strides = StaticTensor.strides(data.shape)
            result.values = values.gathered(indices(of: shape) { coordinate in
                zip(perm, coordinate).reduce(0) { $0 + strides[$1.0] * $1.1 }
            })
        }
        return result
    }

    /// For each element of a tensor of `shape` (row-major), `map` of its coordinate.
    func indices(of shape: [Int], _ map: ([Int]) -> Int) -> [Int] {
        let count = Count.product(shape).value
        var result: [Int] = []
        result.reserveCapacity(count)
        var coordinate = [Int](repeating: 0, count: shape.count)
        for _ in 0..<count {
            result.append(map(coordinate))
            var axis = shape.count - 1
            while axis >= 0 {
                coordinate[axis] += 1
                if coordinate[axis] < shape[axis] { break }
                coordinate[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    func gather(_ data: StaticTensor, _ indexTensor: StaticTensor, axis requested: Int) throws -> StaticTensor {
        let axis = try dimensionAxis(requested, rank: data.rank)
        let size = data.shape[axis]
        let shape = try checkedShape(Array(data.shape[..<axis]) + indexTensor.shape + Array(data.shape[(axis + 1)...]))
        var result = StaticTensor(shape: shape, element: data.element, uniform: data.uniform)
        guard let values = data.values, let ids = indexTensor.ints, StaticTensor.holds(Count.product(shape).value) else { return result }
        let normalized = try ids.map { id -> Int in
            let i = id < 0 ? id + size : id
            guard i >= 0, i < size else { throw failure("index \(id) out of range for dimension \(axis) of size \(size)") }
            return i
        }
        let strides = StaticTensor.strides(data.shape)
        let indexStrides = StaticTensor.strides(indexTensor.shape)
        result.values = values.gathered(indices(of: shape) { c in
            var flat = 0
            for d in 0..<axis { flat += c[d] * strides[d] }
            var idFlat = 0
            for (k, s) in indexStrides.enumerated() { idFlat += c[axis + k] * s }
            flat += normalized[idFlat] * strides[axis]
            for d in (axis + 1)..<max(data.rank, axis + 1) { flat += c[d - 1 + indexTensor.rank] * strides[d] }
            return flat
        })
        return result
    }

    func concat(_ parts: [StaticTensor], axis requested: Int) throws -> StaticTensor {
        guard let first = parts.first else { throw failure("Concat of nothing") }
        let axis = try dimensionAxis(requested, rank: first.rank)
        var shape = first.shape
        shape[axis] = 0
        for part in parts {
            guard part.rank == first.rank, part.shape.indices.allSatisfy({ $0 == axis || part.shape[$0] == first.shape[$0] }) else {
                throw failure("cannot concatenate \(parts.map { shapeText($0.shape) }.joined(separator: ", ")) on axis \(axis)")
            }
            shape[axis] += part.shape[axis]
        }
        shape = try checkedShape(shape)
        var result = StaticTensor(shape: shape, element: first.element)
        if Count.product(shape).value == 0 {
            result.values = first.element.isFloatingPoint ? .floats([]) : .ints([])
            return result
        }
        let outer = Count.product(shape[..<axis]).value
        guard StaticTensor.holds(Count.product(shape).value), parts.allSatisfy({ $0.values != nil || $0.elements == 0 }) else {
            if let u = first.uniform, parts.allSatisfy({ $0.uniform == u }) { result.uniform = u }
            return result
        }
        var ints: [Int] = [], doubles: [Double] = []
        let isInt = parts.allSatisfy { if case .floats? = $0.values { false } else { true } }
        for o in 0..<outer {
            for part in parts where part.elements > 0 {
                let block = part.elements / max(outer, 1)
                let range = (o * block)..<((o + 1) * block)
                // Every part with elements has values (the guard above).
                guard let values = part.values else { return result }
                switch values {
                case .ints(let v): if isInt { ints += v[range] } else { doubles += v[range].map(Double.init) }
                case .floats(let v): doubles += v[range]
                }
            }
        }
        result.values = isInt ? .ints(ints) : .floats(doubles)
        return result
    }

    /// Slice (opset 10+: starts, ends, axes, steps as inputs) on a constant.
    func slice(_ data: StaticTensor) throws -> StaticTensor {
        let ranges = try sliceRanges(data.shape)
        var shape = data.shape
        for r in ranges { shape[r.axis] = r.count }
        var result = StaticTensor(shape: shape, element: data.element, uniform: data.uniform)
        if let values = data.values {
            let strides = StaticTensor.strides(data.shape)
            var start = [Int](repeating: 0, count: data.rank), step = [Int](repeating: 1, count: data.rank)
            for r in ranges {
                start[r.axis] = r.start
                step[r.axis] = r.step
            }
            result.values = values.gathered(indices(of: shape) { c in
                (0..<c.count).reduce(0) { $0 + (start[$1] + c[$1] * step[$1]) * strides[$1] }
            })
        }
        return result
    }

    /// The slices the current Slice node takes: per axis its first index, step and length
    /// (ONNX clamping rules; negative steps allowed).
    func sliceRanges(_ shape: [Int]) throws -> [(axis: Int, start: Int, step: Int, count: Int)] {
        let starts = try staticInts(1, "starts") ?? []
        let ends = try staticInts(2, "ends") ?? []
        let axes = try staticInts(3, "axes") ?? Array(0..<starts.count)
        let steps = try staticInts(4, "steps") ?? Array(repeating: 1, count: starts.count)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else {
            throw failure("starts, ends, axes and steps have different lengths")
        }
        var result: [(axis: Int, start: Int, step: Int, count: Int)] = []
        for i in starts.indices {
            let axis = try dimensionAxis(axes[i], rank: shape.count)
            guard !result.contains(where: { $0.axis == axis }) else { throw failure("axis \(axis) is sliced twice") }
            let size = shape[axis]
            // Steps beyond the size take one element; bounding them keeps -step finite.
            let step = Swift.min(Swift.max(steps[i], -(size + 1)), size + 1)
            guard step != 0 else { throw failure("a slice step is 0") }
            func clamp(_ v: Int, _ low: Int, _ high: Int) -> Int { Swift.min(Swift.max(v, low), high) }
            var start = starts[i] < 0 ? starts[i] &+ size : starts[i]
            var end = ends[i] < 0 ? ends[i] &+ size : ends[i]
            let count: Int
            if step > 0 {
                start = clamp(start, 0, size)
                end = clamp(end, 0, size)
                count = end > start ? (end - start - 1) / step + 1 : 0
            } else {
                start = clamp(start, 0, size - 1)
                end = clamp(end, -1, size - 1)
                count = start > end ? (start - end - 1) / (-step) + 1 : 0
            }
            result.append((axis, start, step, count))
        }
        return result
    }

    /// The sizes the current Split node cuts `length` into (split attribute before
    /// opset 13, input after; num_outputs from 18; else equal parts).
    func splitSizes(length: Int) throws -> [Int] {
        let outputs = node.outputs.count
        if let sizes = try ints("split") ?? (opset >= 13 ? try staticInts(1, "the split sizes") : nil) {
            guard sizes.count == outputs, sizes.allSatisfy({ $0 >= 0 && $0 <= length }), Count.sum(sizes.map { Count($0) }).value == length else {
                throw failure("split sizes \(sizes) do not cut \(length) into \(outputs) parts")
            }
            return sizes
        }
        let parts = try int("num_outputs", default: outputs)
        guard parts >= 1, parts == outputs else { throw failure("num_outputs \(parts) but \(outputs) outputs") }
        let size = (length + parts - 1) / parts
        guard size * (parts - 1) < length || parts == 1 else { throw failure("cannot split \(length) into \(parts) parts") }
        return (0..<parts).map { $0 < parts - 1 ? size : length - size * (parts - 1) }
    }

    func split(_ data: StaticTensor) throws -> [StaticTensor] {
        let axis = try dimensionAxis(try int("axis", default: 0), rank: data.rank)
        var offset = 0
        return try splitSizes(length: data.shape[axis]).map { size in
            var shape = data.shape
            shape[axis] = size
            var part = StaticTensor(shape: shape, element: data.element, uniform: data.uniform)
            if let values = data.values {
                let strides = StaticTensor.strides(data.shape)
                let start = offset
                part.values = values.gathered(indices(of: shape) { c in
                    (0..<c.count).reduce(0) { $0 + (c[$1] + ($1 == axis ? start : 0)) * strides[$1] }
                })
            }
            offset += size
            return part
        }
    }

    func broadcastTo(_ data: StaticTensor, _ shape: [Int]) throws -> StaticTensor {
        let shape = try checkedShape(shape)
        var result = StaticTensor(shape: shape, element: data.element, uniform: data.uniform)
        if let values = data.values, StaticTensor.holds(Count.product(shape).value) {
            result.values = values.gathered(StaticTensor.broadcastIndex(from: data.shape, to: shape))
        }
        return result
    }

    func filled(_ shape: [Int], _ element: ONNXElementType, _ value: Double) -> StaticTensor {
        let count = Count.product(shape).value
        guard StaticTensor.holds(count), element.isFloatingPoint || (value.isFinite && abs(value) < 9e15) else {
            return StaticTensor(shape: shape, element: element, uniform: value)
        }
        let values: ONNXTensorValues = element.isFloatingPoint ? .floats(Array(repeating: value, count: count))
            : .ints(Array(repeating: Int(value), count: count))
        return StaticTensor(shape: shape, element: element, values: values, uniform: value)
    }

    func range(_ start: StaticTensor, _ limit: StaticTensor, _ delta: StaticTensor) throws -> StaticTensor {
        guard let a = start.scalar, let b = limit.scalar, let d = delta.scalar, d != 0, a.isFinite, b.isFinite else {
            throw failure("Range needs known start, limit and a non-zero delta")
        }
        let length = ((b - a) / d).rounded(.up)
        guard length < Double(1 << 56) else { throw failure("Range of \(length) elements") }
        let count = max(0, Int(length))
        let shape = try checkedShape([count])
        guard StaticTensor.holds(count) else { return StaticTensor(shape: shape, element: start.element) }
        let items = (0..<count).map { a + Double($0) * d }
        if start.element.isFloatingPoint { return StaticTensor(shape: shape, element: start.element, values: .floats(items)) }
        guard items.allSatisfy({ abs($0) < 9e15 }) else { return StaticTensor(shape: shape, element: start.element) }
        return StaticTensor(shape: shape, element: start.element, values: .ints(items.map { Int($0) }))
    }

    func cast(_ data: StaticTensor, to element: ONNXElementType) throws -> StaticTensor {
        var result = StaticTensor(shape: data.shape, element: element, uniform: data.uniform, source: data.source)
        switch (data.values, element.isFloatingPoint) {
        case (.ints(let v)?, true): result.values = .floats(v.map(Double.init))
        case (.floats(let v)?, false):
            if element == .bool { result.values = .ints(v.map { $0 != 0 ? 1 : 0 }) }
            else {
                guard v.allSatisfy({ $0.isFinite && abs($0) < 9.2e18 }) else { return result.withoutValues() }
                result.values = .ints(v.map { Int($0.rounded(.towardZero)) })
            }
        case (.ints(let v)?, false) where element == .bool: result.values = .ints(v.map { $0 != 0 ? 1 : 0 })
        default: result.values = data.values
        }
        if element == .bool, let u = result.uniform { result.uniform = u != 0 ? 1 : 0 }
        return result
    }

    func reduce(_ data: StaticTensor, _ op: String) throws -> StaticTensor {
        let keep = try int("keepdims", default: 1) == 1
        var axes: [Int]
        let operand = op == "ReduceSum" && opset >= 13 || opset >= 18 ? try staticInts(1, "the axes") : try ints("axes")
        if let operand, !operand.isEmpty {
            axes = try operand.map { try normalizedAxis($0, rank: data.rank) }
        } else if try int("noop_with_empty_axes", default: 0) == 1 {
            return data
        } else {
            axes = Array(0..<data.rank)
        }
        axes = Array(Set(axes)).sorted()
        var shape: [Int] = []
        for (i, size) in data.shape.enumerated() {
            if axes.contains(i) { if keep { shape.append(1) } } else { shape.append(size) }
        }
        var result = StaticTensor(shape: shape, element: data.element)
        guard let values = data.doubles, StaticTensor.holds(Count.product(shape).value) else { return result }
        let kept = data.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let target = StaticTensor.strides(kept)
        var groups = [[Double]](repeating: [], count: max(Count.product(kept).value, 1))
        let flat = indices(of: data.shape) { c in c.indices.reduce(0) { $0 + (axes.contains($1) ? 0 : c[$1] * target[$1]) } }
        for (i, g) in flat.enumerated() { groups[g].append(values[i]) }
        let reduced: [Double] = groups.map { g in
            switch op {
            case "ReduceProd": g.reduce(1, *)
            case "ReduceSum": g.reduce(0, +)
            case "ReduceMean": g.isEmpty ? .nan : g.reduce(0, +) / Double(g.count)
            case "ReduceMax": g.max() ?? -.infinity
            default: g.min() ?? .infinity
            }
        }
        if data.element.isFloatingPoint {
            result.values = .floats(reduced)
        } else if reduced.allSatisfy({ $0.isFinite && abs($0) < 9e15 }) {
            result.values = .ints(reduced.map { Int($0) })
        }
        return result
    }

    // MARK: - Element-wise arithmetic on constants

    func arithmetic(_ op: String, _ inputs: [StaticTensor]) throws -> StaticTensor {
        guard let first = inputs.first else { throw failure("no inputs") }
        // The ONNX operator set's arity: Min, Max, Sum and Mean are variadic, the rest of the
        // binary ones take two inputs and the others one (a Div with one input is malformed).
        let binary: Set<String> = ["Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater", "LessOrEqual",
                                   "GreaterOrEqual", "And", "Or", "Xor"]
        let variadic: Set<String> = ["Min", "Max", "Sum", "Mean"]
        let arity = binary.contains(op) ? 2 : 1
        guard variadic.contains(op) || inputs.count == arity else {
            throw failure("\(op) takes \(arity) input\(arity == 1 ? "" : "s"), got \(inputs.count)")
        }
        let comparison: Set<String> = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor"]
        let element: ONNXElementType = comparison.contains(op) ? .bool : first.element
        let isInteger = !element.isFloatingPoint
        let fmod = try int("fmod", default: 0) == 1
        func integral(_ v: Double) -> Double { isInteger ? v.rounded(.towardZero) : v }
        return try elementwise(inputs, element: element) { v in
            switch op {
            case "Add": return v[0] + v[1]
            case "Sub": return v[0] - v[1]
            case "Mul": return v[0] * v[1]
            case "Div": return v[1] == 0 ? (isInteger ? nil : v[0] / v[1]) : integral(v[0] / v[1])
            case "Mod":
                guard v[1] != 0 else { return nil }
                let r = v[0].truncatingRemainder(dividingBy: v[1])  // C fmod
                return fmod || r == 0 || (r < 0) == (v[1] < 0) ? r : r + v[1]
            case "Pow": return integral(pow(v[0], v[1]))
            case "Min": return v.min()
            case "Max": return v.max()
            case "Sum": return v.reduce(0, +)
            case "Mean": return v.reduce(0, +) / Double(v.count)
            case "Neg": return -v[0]
            case "Abs": return Swift.abs(v[0])
            case "Sqrt": return v[0].squareRoot()
            case "Reciprocal": return 1 / v[0]
            case "Floor": return v[0].rounded(.down)
            case "Ceil": return v[0].rounded(.up)
            case "Round": return v[0].rounded(.toNearestOrEven)
            case "Exp": return exp(v[0])
            case "Log": return log(v[0])
            case "Erf": return erf(v[0])
            case "Cos": return cos(v[0])
            case "Sin": return sin(v[0])
            case "Sigmoid": return 1 / (1 + exp(-v[0]))
            case "Tanh": return tanh(v[0])
            case "Relu": return Swift.max(v[0], 0)
            case "Sign": return v[0] > 0 ? 1 : v[0] < 0 ? -1 : 0
            case "Equal": return v[0] == v[1] ? 1 : 0
            case "Less": return v[0] < v[1] ? 1 : 0
            case "Greater": return v[0] > v[1] ? 1 : 0
            case "LessOrEqual": return v[0] <= v[1] ? 1 : 0
            case "GreaterOrEqual": return v[0] >= v[1] ? 1 : 0
            case "Not": return v[0] == 0 ? 1 : 0
            case "And": return v[0] != 0 && v[1] != 0 ? 1 : 0
            case "Or": return v[0] != 0 || v[1] != 0 ? 1 : 0
            case "Xor": return (v[0] != 0) != (v[1] != 0) ? 1 : 0
            default: return nil
            }
        }
    }

    /// Applies `f` element by element with broadcasting. Integers are exact up to 2^53
    /// (shapes and indices are far smaller); a result that is not a finite integer where
    /// one is needed, or a nil from `f`, leaves the elements unknown.
    func elementwise(_ inputs: [StaticTensor], element: ONNXElementType, _ f: ([Double]) -> Double?) throws -> StaticTensor {
        guard let shape = StaticTensor.broadcast(inputs.map(\.shape)) else {
            throw failure("shapes \(inputs.map { shapeText($0.shape) }.joined(separator: ", ")) do not broadcast")
        }
        let checked = try checkedShape(shape)
        var result = StaticTensor(shape: checked, element: element)
        let count = Count.product(checked).value
        let knownColumns = inputs.compactMap(\.doubles)
        if StaticTensor.holds(count), knownColumns.count == inputs.count {
            let columns = knownColumns
            let maps = inputs.map { StaticTensor.broadcastIndex(from: $0.shape, to: checked) }
            var out: [Double] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                guard let v = f(inputs.indices.map { columns[$0][maps[$0][i]] }) else { return result }
                out.append(v)
            }
            if element.isFloatingPoint {
                result = StaticTensor(shape: checked, element: element, values: .floats(out))
            } else {
                guard out.allSatisfy({ $0.isFinite && $0.rounded() == $0 && abs($0) < 9e15 }) else { return result }
                result = StaticTensor(shape: checked, element: element, values: .ints(out.map { Int($0) }))
            }
        } else if case let uniforms = inputs.compactMap(\.uniform), uniforms.count == inputs.count, let v = f(uniforms) {
            result.uniform = v
        }
        return result
    }
}

extension StaticTensor {
    func withoutValues() -> StaticTensor {
        var copy = self
        copy.values = nil
        return copy
    }
}
