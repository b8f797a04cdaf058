/// Shape and data movement on activations: Reshape, Flatten, Squeeze, Unsqueeze,
/// Transpose, Concat, Split, Slice, Gather, Expand, Cast, and the reductions ReduceMean
/// and ReduceSum, onto the catalog's views (reshape, flatten, permute, slice, select,
/// expand), concat, split, mean and sum. An operation that changes nothing (a reshape to
/// the same shape, an identity permutation, a full slice) adds no operator; Expand is
/// kept (see `importExpand`).
extension ONNXGraphImporter {
    mutating func importReshape() throws {
        let x = try tensorInput(0)
        let shape: [Int]
        switch node.opType {
        case "Reshape":
            guard let requested = try staticInts(1, "the new shape") else { throw failure("Reshape has no shape (input 1)") }
            shape = try reshapeTarget(x.type.shape, requested, allowZero: try int("allowzero", default: 0) == 1)
        case "Flatten": shape = try flattenShape(x.type.shape)
        case "Squeeze": shape = try squeezeShape(x.type.shape, axes: try axesOperand(1))
        default: shape = try unsqueezeShape(x.type.shape, axes: try axesOperand(1) ?? [])
        }
        if shape == x.type.shape {
            try define(.tensor(x))
        } else if node.opType == "Flatten", x.type.rank >= 2, shape == [x.type.shape[0], Count.product(x.type.shape.dropFirst()).value] {
            try define(.tensor(try add("flatten", ["input": .tensor(x), "start": .int(1), "end": .int(-1)])[0]))
        } else {
            try define(.tensor(try add("reshape", ["input": .tensor(x), "shape": .list(shape.map(Value.int))])[0]))
        }
    }

    mutating func importTranspose() throws {
        let x = try tensorInput(0)
        let perm = try permutation(rank: x.type.rank)
        if perm == Array(0..<x.type.rank) {
            try define(.tensor(x))
        } else {
            try define(.tensor(try add("permute", ["input": .tensor(x), "dims": .list(perm.map(Value.int))])[0]))
        }
    }

    mutating func importConcat() throws {
        let parts = try node.inputs.indices.filter { !node.inputs[$0].isEmpty }.map { try tensorInput($0) }
        guard let first = parts.first else { throw failure("Concat of nothing") }
        let axis = try dimensionAxis(try int("axis", default: 1), rank: first.type.rank)
        if parts.count == 1 {
            try define(.tensor(first))
            return
        }
        try define(.tensor(try add("concat", ["inputs": .list(parts.map(Value.tensor)), "dim": .int(axis)])[0]))
    }

    mutating func importSplit() throws {
        let x = try tensorInput(0)
        let axis = try dimensionAxis(try int("axis", default: 0), rank: x.type.rank)
        let sizes = try splitSizes(length: x.type.shape[axis])
        if sizes.count == 1 {
            try define(.tensor(x))
            return
        }
        guard sizes.allSatisfy({ $0 >= 1 }) else { throw failure("split sizes \(sizes) include an empty part") }
        let parts = try add("split", ["input": .tensor(x), "size": .list(sizes.map(Value.int)), "dim": .int(axis)])
        try define(parts.map(ONNXValue.tensor))
    }

    mutating func importSlice() throws {
        var x = try tensorInput(0)
        let ranges = try sliceRanges(x.type.shape)
        for r in ranges.sorted(by: { $0.axis < $1.axis }) {
            let size = x.type.shape[r.axis]
            guard r.step > 0 else {
                throw failure("Slice with step \(r.step) (reversing axis \(r.axis)); the catalog's slice steps forward")
            }
            guard r.count > 0 else { throw failure("Slice takes nothing of axis \(r.axis) of \(x.type)") }
            if r.count == size { continue }
            let end = r.start + (r.count - 1) * r.step + 1
            x = try add("slice", ["input": .tensor(x), "dim": .int(r.axis), "start": .int(r.start), "end": .int(end),
                                  "step": .int(r.step)])[0]
        }
        try define(.tensor(x))
    }

    mutating func importGather() throws {
        let data = try requiredInput(0), indices = try requiredInput(1)
        if case .constant(let table) = data, case .tensor(let ids) = indices {
            try importEmbedding(table: table, ids: ids)
            return
        }
        if case .constant(let table) = data, case .constant(let index) = indices, try importRelativePositionBias(table, index) {
            return
        }
        let x = try tensorInput(0)
        guard case .constant(let index) = indices else {
            throw failure("Gather of an activation by run-time indices; nnflops maps constant indices (select, slice) and embeddings")
        }
        let axis = try dimensionAxis(try int("axis", default: 0), rank: x.type.rank)
        let size = x.type.shape[axis]
        guard let ids = index.ints else { throw failure("Gather indices whose values nnflops does not know") }
        let normalized = try ids.map { id -> Int in
            let i = id < 0 ? id + size : id
            guard i >= 0, i < size else { throw failure("index \(id) out of range for axis \(axis) of \(x.type)") }
            return i
        }
        if index.rank == 0 {
            try define(.tensor(try add("select", ["input": .tensor(x), "dim": .int(axis), "index": .int(normalized[0])])[0]))
            return
        }
        // A run of evenly spaced indices is a strided slice.
        let step = normalized.count > 1 ? normalized[1] - normalized[0] : 1
        guard index.rank == 1, let last = normalized.last, step > 0,
              normalized.indices.allSatisfy({ normalized[$0] == normalized[0] + $0 * step }) else {
            throw failure("Gather of \(ids.count) scattered indices \(index.rank == 1 ? "\(ids.prefix(8))" : "of shape \(shapeText(index.shape))"); " +
                "nnflops maps a single index (select) or evenly spaced ones (slice)")
        }
        if normalized.count == size {
            try define(.tensor(x))
            return
        }
        try define(.tensor(try add("slice", ["input": .tensor(x), "dim": .int(axis), "start": .int(normalized[0]),
                                             "end": .int(last + 1), "step": .int(step)])[0]))
    }

    mutating func importExpand() throws {
        let x = try tensorInput(0)
        guard let requested = try staticInts(1, "the shape") else { throw failure("Expand has no shape (input 1)") }
        guard let shape = StaticTensor.broadcast([x.type.shape, requested]) else {
            throw failure("cannot expand \(x.type) to \(shapeText(requested))")
        }
        // An expand is kept even where it changes nothing: torch expands to the batch
        // (ViT's class token), a no-op at batch 1 only, and the graph has the same
        // operators at every batch (what `nnflops import` needs to write sizes in terms
        // of it). Unbroadcast, it costs nothing either way.
        try define(.tensor(try add("expand", ["input": .tensor(x), "shape": .list(shape.map(Value.int))])[0]))
    }

    mutating func importCast() throws {
        let x = try tensorInput(0)
        let target: Int
        if node.opType == "Cast" {
            target = try int("to", default: 0)
        } else {
            switch try requiredInput(1) {
            case .tensor(let like): target = ONNXElementType.allCases.first { $0.dtype == like.type.dtype }?.rawValue ?? 0
            case .constant(let like): target = like.element.rawValue
            }
        }
        guard let element = ONNXElementType(rawValue: target) else { throw failure("Cast to unknown element type \(target)") }
        guard element.dtype != x.type.dtype else {
            try define(.tensor(x))   // a cast to the type it has: nothing
            return
        }
        guard let dtype = element.dtype, dtype.isFloatingPoint, x.type.dtype.isFloatingPoint else {
            throw failure("Cast of \(x.type) to \(element.name); the catalog's cast converts between floating-point types")
        }
        try define(.tensor(try add("cast", ["input": .tensor(x), "dtype": .string(dtype.rawValue)])[0]))
    }

    mutating func importReduce() throws {
        let x = try tensorInput(0)
        let keep = try int("keepdims", default: 1) == 1
        let axesFromInput = node.opType == "ReduceSum" ? opset >= 13 : opset >= 18
        let axes = axesFromInput ? try staticInts(1, "the axes") : try ints("axes")
        let dim: Value
        if let axes, !axes.isEmpty {
            dim = .list(try axes.map { .int(try normalizedAxis($0, rank: x.type.rank)) })
        } else if try int("noop_with_empty_axes", default: 0) == 1 {
            try define(.tensor(x))
            return
        } else {
            dim = .none
        }
        let kind = node.opType == "ReduceSum" ? "sum" : "mean"
        try define(.tensor(try add(kind, ["input": .tensor(x), "dim": dim, "keepdim": .bool(keep)])[0]))
    }
}

extension ONNXGraphImporter {
    /// Pad (opsets 11 and later: pads, constant_value and, from 18, axes as inputs) onto
    /// the catalog's pad, whose padding lists (before, after) pairs from the last
    /// dimension backwards, as torch.nn.functional.pad does. ONNX's `edge` is torch's
    /// `replicate`. Negative pads (crops) and `wrap` (torch's circular) are errors.
    mutating func importPad() throws {
        let x = try tensorInput(0)
        let rank = x.type.rank
        let modes = ["constant": "constant", "reflect": "reflect", "edge": "replicate"]
        let onnxMode = try string("mode", default: "constant")
        guard let mode = modes[onnxMode] else {
            throw failure("Pad mode '\(onnxMode)'; the catalog's pad has constant, reflect and replicate (ONNX edge)")
        }
        let pads = opset >= 11 ? try staticInts(1, "the pads") : try ints("pads")
        guard let pads else { throw failure("Pad has no pads") }
        var axes = Array(0..<rank)
        if opset >= 18, let given = try staticInts(3, "the axes") {
            axes = try given.map { try dimensionAxis($0, rank: rank) }
        }
        guard pads.count == 2 * axes.count, Set(axes).count == axes.count else {
            throw failure("pads \(pads) must give a begin and an end for each of \(axes.count) axes")
        }
        var before = [Int](repeating: 0, count: rank), after = [Int](repeating: 0, count: rank)
        for (i, axis) in axes.enumerated() {
            before[axis] = pads[i]
            after[axis] = pads[axes.count + i]
        }
        if let negative = (before + after).first(where: { $0 < 0 }) {
            throw failure("Pad by \(negative) (a crop); the catalog's pad only adds (crop with Slice)")
        }
        guard let outermost = (0..<rank).first(where: { before[$0] != 0 || after[$0] != 0 }) else {
            try define(.tensor(x))
            return
        }
        let padding = (outermost..<rank).reversed().flatMap { [before[$0], after[$0]] }
        let value = opset >= 11 ? try staticNumber(2, "the constant value") ?? 0 : try float("value", default: 0)
        guard value.isFinite else { throw failure("Pad with the value \(value)") }
        try define(.tensor(try add("pad", ["input": .tensor(x), "padding": Self.intList(padding), "mode": .string(mode),
                                           "value": .float(value)])[0]))
    }
}

extension ONNXGraphImporter {
    /// torchvision's ShiftedWindowAttention (Swin) as a train export writes it:
    /// Gather(relative_position_bias_table [(2W - 1)^2, heads], relative_position_index
    /// [N * N]) -> Reshape [N, N, heads] -> Transpose [2, 0, 1] -> Unsqueeze 0, N = W * W:
    /// the catalog's relative_position_bias(heads, window = W), whose table is the stored
    /// one. True when it matched. (An eval export folds the chain into one [1, heads, N, N]
    /// initializer, which is then a learned tensor of that size: README, "Reading ONNX
    /// files".)
    mutating func importRelativePositionBias(_ table: StaticTensor, _ index: StaticTensor) throws -> Bool {
        guard let source = table.source, source.isLearned, source.name.hasSuffix("relative_position_bias_table"),
              table.rank == 2, index.rank == 1, try int("axis", default: 0) == 0 else { return false }
        let positions = Int(Double(index.elements).squareRoot().rounded())
        let window = Int(Double(positions).squareRoot().rounded())
        let heads = table.shape[1]
        guard positions * positions == index.elements, window * window == positions,
              table.shape[0] == (2 * window - 1) * (2 * window - 1) else { return false }
        // The chain of views after the Gather, each read by the next alone.
        var value = node.outputs.first ?? ""
        var chain: [Int] = []
        for expected in ["Reshape", "Transpose", "Unsqueeze"] {
            guard let reader = soleReader(of: value), nodes[reader].node.opType == expected, nodes[reader].node.inputs.first == value,
                  let output = nodes[reader].node.outputs.first else { return false }
            chain.append(reader)
            value = output
        }
        let perm = nodes[chain[1]].node.attribute("perm")?.ints.map { Int($0) }
        guard perm == [2, 0, 1] else { return false }
        if let declared = declaredShapes[value], declared.count != 4 { return false }
        let y = try add("relative_position_bias", ["heads": .int(heads), "window": .int(window)], weights: [source],
                        hint: NameHint(weight: source.name))[0]
        consumed.formUnion(chain)
        values[value] = .tensor(y)
        return true
    }
}
