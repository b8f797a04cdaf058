/// Convolutions and pooling: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool
/// onto conv2d, conv_transpose2d, maxpool, avgpool and globalavgpool. A 1-D convolution
/// or pooling runs as its 2-D form over a height of 1 (same output, same work).
///
/// The catalog pads both sides of an axis alike; ONNX may pad them differently
/// (`pads` = begins then ends, or `auto_pad` SAME_UPPER / SAME_LOWER). A convolution's
/// cost depends only on its input, kernel and output sizes, so uneven padding maps onto
/// the even padding that gives the same output; pooling also needs the same windows, so
/// it maps only when padding the end is what leaves the output unchanged. Anything else
/// is an error naming the node.
extension ONNXGraphImporter {
    /// Padding of one spatial axis.
    struct AxisPadding {
        var begin: Int
        var end: Int
    }

    /// The node's padding per spatial axis from `pads` or `auto_pad`.
    func spatialPadding(input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [AxisPadding] {
        let n = input.count
        switch try string("auto_pad", default: "NOTSET") {
        case "NOTSET":
            let pads = try ints("pads") ?? Array(repeating: 0, count: 2 * n)
            guard pads.count == 2 * n, pads.allSatisfy({ $0 >= 0 }) else { throw failure("pads \(pads) must be \(2 * n) non-negative sizes") }
            return (0..<n).map { AxisPadding(begin: pads[$0], end: pads[n + $0]) }
        case "VALID":
            return Array(repeating: AxisPadding(begin: 0, end: 0), count: n)
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            return try (0..<n).map { axis in
                let output = (input[axis] + strides[axis] - 1) / strides[axis]
                let span = Count(output - 1) * strides[axis] + Count(kernel[axis] - 1) * dilations[axis] + 1
                guard !span.overflowed else { throw failure("window sizes overflow") }
                let total = max(0, span.value - input[axis])
                let small = total / 2
                return mode == "SAME_UPPER" ? AxisPadding(begin: small, end: total - small) : AxisPadding(begin: total - small, end: small)
            }
        case let other:
            throw failure("auto_pad '\(other)' is not an ONNX padding mode")
        }
    }

    /// Output size of a window sweep (floor mode); 0 when no window fits (or the sizes
    /// are absurd).
    static func windowOutput(_ input: Int, _ padding: Int, _ kernel: Int, _ stride: Int, _ dilation: Int) -> Int {
        let span = Count(dilation) * Count(kernel - 1) + 1
        let padded = Count(input) + Count(padding)
        guard !span.overflowed, !padded.overflowed, padded.value >= span.value, stride >= 1 else { return 0 }
        return (padded.value - span.value) / stride + 1
    }

    /// The even padding of a convolution that gives the output of `padding` (see above).
    func evenConvPadding(_ padding: [AxisPadding], input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
        try padding.indices.map { axis in
            let p = padding[axis]
            if p.begin == p.end { return p.begin }
            let wanted = Self.windowOutput(input[axis], p.begin + p.end, kernel[axis], strides[axis], dilations[axis])
            for even in [p.begin, p.end, min(p.begin, p.end), max(p.begin, p.end)] {
                if Self.windowOutput(input[axis], 2 * even, kernel[axis], strides[axis], dilations[axis]) == wanted { return even }
            }
            throw failure("pads \(p.begin) before and \(p.end) after on spatial axis \(axis) give an output no even padding gives; the catalog's conv2d pads both sides alike",
                          notes: ["export with symmetric padding (e.g. padding=(k-1)//2), or pad explicitly"])
        }
    }

    mutating func importConv() throws {
        let x = try tensorInput(0)
        guard let kernelWeight = try weightSource(1, "kernel") else { throw failure("has no kernel (input 1)") }
        let bias = try weightSource(2, "bias")
        let spatial = x.type.rank - 2
        guard spatial == 1 || spatial == 2 else {
            throw failure("a \(max(spatial, 0))-D convolution on \(x.type); the catalog has 2-D convolutions (conv2d), onto which 1-D ones are mapped")
        }
        guard kernelWeight.shape.count == x.type.rank else {
            throw failure("kernel of shape \(shapeText(kernelWeight.shape)) for input \(x.type)")
        }
        let kernel = try ints("kernel_shape") ?? Array(kernelWeight.shape[2...])
        guard kernel == Array(kernelWeight.shape[2...]) else {
            throw failure("kernel_shape \(kernel) differs from the kernel's \(shapeText(kernelWeight.shape))")
        }
        let strides = try ints("strides") ?? Array(repeating: 1, count: spatial)
        let dilations = try ints("dilations") ?? Array(repeating: 1, count: spatial)
        guard strides.count == spatial, dilations.count == spatial, strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
            throw failure("strides \(strides) and dilations \(dilations) must be \(spatial) positive sizes")
        }
        let input = Array(x.type.shape[2...])
        let padding = try evenConvPadding(try spatialPadding(input: input, kernel: kernel, strides: strides, dilations: dilations),
                                          input: input, kernel: kernel, strides: strides, dilations: dilations)
        let out = kernelWeight.shape[0]
        if let bias, bias.shape != [out] { throw failure("bias of shape \(shapeText(bias.shape)) for \(out) output channels") }
        let group = try int("group", default: 1)
        let lift = spatial == 1
        let source = lift ? try addReshape(x, [x.type.shape[0], x.type.shape[1], 1, input[0]], role: "unsqueeze") : x
        let y = try add("conv2d", [
            "input": .tensor(source), "out": .int(out),
            "kernel": Self.intList(lift ? [1] + kernel : kernel), "stride": Self.intList(lift ? [1] + strides : strides),
            "padding": Self.intList(lift ? [0] + padding : padding), "dilation": Self.intList(lift ? [1] + dilations : dilations),
            "groups": .int(group), "bias": .bool(bias != nil),
        ], weights: [kernelWeight.source, bias?.source])[0]
        try define(.tensor(lift ? try addReshape(y, [y.type.shape[0], y.type.shape[1], y.type.shape[3]], role: "squeeze") : y))
    }

    mutating func importConvTranspose() throws {
        let x = try tensorInput(0)
        guard x.type.rank == 4 else { throw failure("a transposed convolution on \(x.type); the catalog has the 2-D one (conv_transpose2d)") }
        guard let kernelWeight = try weightSource(1, "kernel"), kernelWeight.shape.count == 4 else {
            throw failure("needs a 4-D kernel (input 1)")
        }
        let bias = try weightSource(2, "bias")
        let group = try int("group", default: 1)
        let kernel = try ints("kernel_shape") ?? Array(kernelWeight.shape[2...])
        let strides = try ints("strides") ?? [1, 1]
        let dilations = try ints("dilations") ?? [1, 1]
        var outputPadding = try ints("output_padding") ?? [0, 0]
        guard kernel.count == 2, strides.count == 2, dilations.count == 2, outputPadding.count == 2,
              strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
            throw failure("kernel_shape, strides, dilations and output_padding must each give 2 sizes")
        }
        let input = Array(x.type.shape[2...])
        var pads: [AxisPadding]
        if let outputShape = try ints("output_shape") {
            guard outputShape.count == 2 else { throw failure("output_shape \(outputShape) must give 2 sizes") }
            let upper = try string("auto_pad", default: "NOTSET") == "SAME_UPPER"
            pads = try (0..<2).map { axis in
                let full = Count(strides[axis]) * Count(input[axis] - 1) + outputPadding[axis] + Count(kernel[axis] - 1) * dilations[axis] + 1
                guard !full.overflowed, outputShape[axis] >= 1, full.value >= outputShape[axis] else {
                    throw failure("output_shape \(outputShape) cannot be reached from \(x.type)")
                }
                let total = full.value - outputShape[axis]
                return upper ? AxisPadding(begin: total / 2, end: total - total / 2) : AxisPadding(begin: total - total / 2, end: total / 2)
            }
        } else {
            let mode = try string("auto_pad", default: "NOTSET")
            if mode == "SAME_UPPER" || mode == "SAME_LOWER" {
                pads = try (0..<2).map { axis in
                    let full = Count(strides[axis]) * Count(input[axis] - 1) + outputPadding[axis] + Count(kernel[axis] - 1) * dilations[axis] + 1
                    let wanted = Count(input[axis]) * strides[axis]
                    guard !full.overflowed, !wanted.overflowed else { throw failure("transposed convolution sizes overflow") }
                    let total = max(0, full.value - wanted.value)
                    return mode == "SAME_UPPER" ? AxisPadding(begin: total / 2, end: total - total / 2) : AxisPadding(begin: total - total / 2, end: total / 2)
                }
            } else {
                pads = try spatialPadding(input: input, kernel: kernel, strides: strides, dilations: dilations)
            }
        }
        // Even padding p and output padding op' with op' - 2p = op - (begin + end): the same output.
        var padding = [0, 0]
        guard kernel.allSatisfy({ $0 >= 1 }), outputPadding.allSatisfy({ $0 >= 0 }) else {
            throw failure("kernel_shape \(kernel) and output_padding \(outputPadding) must be positive and non-negative")
        }
        for axis in 0..<2 {
            let total = pads[axis].begin + pads[axis].end - outputPadding[axis]
            guard pads[axis].begin >= 0, pads[axis].end >= 0 else { throw failure("negative padding \(pads[axis])") }
            let p = total > 0 ? (total + 1) / 2 : 0
            let extra = 2 * p - total
            guard extra >= 0, extra < max(strides[axis], dilations[axis]) else {
                throw failure("padding \(pads[axis].begin) + \(pads[axis].end) with output_padding " +
                    "\(outputPadding[axis]) cannot be expressed by conv_transpose2d's even padding on spatial axis \(axis)")
            }
            padding[axis] = p
            outputPadding[axis] = extra
        }
        let out = kernelWeight.shape[1] * group
        if let bias, bias.shape != [out] { throw failure("bias of shape \(shapeText(bias.shape)) for \(out) output channels") }
        let y = try add("conv_transpose2d", [
            "input": .tensor(x), "out": .int(out), "kernel": Self.intList(kernel), "stride": Self.intList(strides),
            "padding": Self.intList(padding), "output_padding": Self.intList(outputPadding), "dilation": Self.intList(dilations),
            "groups": .int(group), "bias": .bool(bias != nil),
        ], weights: [kernelWeight.source, bias?.source])[0]
        try define(.tensor(y))
    }

    mutating func importPool() throws {
        let x = try tensorInput(0)
        let isMax = node.opType == "MaxPool"
        let spatial = x.type.rank - 2
        guard spatial == 1 || spatial == 2 else {
            throw failure("\(max(spatial, 0))-D pooling on \(x.type); the catalog pools 2-D inputs (1-D ones are mapped onto them)")
        }
        if isMax { try requireUnused(outputsFrom: 1, "the argmax indices") }
        guard let kernel = try ints("kernel_shape"), kernel.count == spatial, kernel.allSatisfy({ $0 >= 1 }) else {
            throw failure("kernel_shape must give \(spatial) positive sizes")
        }
        let strides = try ints("strides") ?? Array(repeating: 1, count: spatial)
        let dilations = try ints("dilations") ?? Array(repeating: 1, count: spatial)
        guard strides.count == spatial, dilations.count == spatial else { throw failure("strides and dilations must give \(spatial) sizes") }
        if !isMax && dilations.contains(where: { $0 != 1 }) {
            throw failure("AveragePool with dilations \(dilations); the catalog's avgpool has no dilation")
        }
        let ceilMode = try int("ceil_mode", default: 0) == 1
        let input = Array(x.type.shape[2...])
        let pads = try spatialPadding(input: input, kernel: kernel, strides: strides, dilations: dilations)
        var padding: [Int] = []
        for (axis, p) in pads.enumerated() {
            if p.begin != p.end {
                // The same windows: they start at o * s - begin either way; the output must match.
                let uneven = Self.windowOutput(input[axis], p.begin + p.end, kernel[axis], strides[axis], dilations[axis])
                let even = Self.windowOutput(input[axis], 2 * p.begin, kernel[axis], strides[axis], dilations[axis])
                guard !ceilMode, uneven == even else {
                    throw failure("pads \(p.begin) before and \(p.end) after on spatial axis \(axis) change the windows; the catalog's pooling pads both sides alike")
                }
            }
            padding.append(p.begin)
        }
        let lift = spatial == 1
        let source = lift ? try addReshape(x, [x.type.shape[0], x.type.shape[1], 1, input[0]], role: "unsqueeze") : x
        let lifted: ([Int], Int) -> Value = { values, fill in ONNXGraphImporter.intList(lift ? [fill] + values : values) }
        let y: TensorRef
        if isMax {
            y = try add("maxpool", ["input": .tensor(source), "kernel": lifted(kernel, 1), "stride": lifted(strides, 1),
                                    "padding": lifted(padding, 0), "dilation": lifted(dilations, 1), "ceil_mode": .bool(ceilMode)])[0]
        } else {
            let includePad = try int("count_include_pad", default: 0) == 1
            y = try add("avgpool", ["input": .tensor(source), "kernel": lifted(kernel, 1), "stride": lifted(strides, 1),
                                    "padding": lifted(padding, 0), "ceil_mode": .bool(ceilMode), "count_include_pad": .bool(includePad)])[0]
        }
        try define(.tensor(lift ? try addReshape(y, [y.type.shape[0], y.type.shape[1], y.type.shape[3]], role: "squeeze") : y))
    }

    mutating func importGlobalAveragePool() throws {
        let x = try tensorInput(0)
        guard x.type.rank == 4 else { throw failure("GlobalAveragePool on \(x.type); the catalog's globalavgpool takes [N, C, H, W]") }
        try define(.tensor(try add("globalavgpool", ["input": .tensor(x)])[0]))
    }

    /// Sizes as an argument value (`kernel = [3, 5]`).
    static func intList(_ values: [Int]) -> Value { .list(values.map(Value.int)) }

    /// A reshape the mapping adds around the operator (a view: no cost), named after it.
    mutating func addReshape(_ x: TensorRef, _ shape: [Int], role: String) throws -> TensorRef {
        if x.type.shape == shape { return x }
        return try add("reshape", ["input": .tensor(x), "shape": .list(shape.map(Value.int))], hint: NameHint(role: role))[0]
    }
}
