/// `conv_transpose2d(x, out, kernel, stride=1, padding=0, output_padding=0, dilation=1,
/// groups=1, bias=true)` on [N, C, H, W] (torch.nn.ConvTranspose2d; weight
/// [C, out/groups, kh, kw]).
///
/// Output size per axis: (H - 1)*s - 2p + d(k - 1) + output_padding + 1, with
/// output_padding smaller than the stride or the dilation (as torch requires).
///
/// Reference algorithm (direct scatter, the adjoint of conv2d's im2col): every input
/// element is multiplied by its (out/groups) * kh * kw weights and accumulated into the
/// zeroed output (taps that land in the cropped padding included), so
/// MACs = N * C * H * W * (out/groups) * kh * kw, the figure of PyTorch's
/// FlopCounterMode (its conv formula over the input's spatial size when transposed);
/// FLOPs = 2 * MACs + N*out*Ho*Wo for the bias.
/// - input gradient (conv2d of dY with the same weight): the same MACs.
/// - weight gradient (x^T against the unfolded dY): the same MACs; bias gradient:
///   N*out*Ho*Wo adds.
public struct ConvTranspose2d: WeightedLayer {
    public static let kind = "conv_transpose2d"
    public static let summary = "2-D transposed convolution (stride, padding, output padding, dilation, groups)"
    /// derivatives.yaml's `convolution` (transposed = true): one formula for input, weight and bias.
    static let savesInputAndWeightTogether = true
    static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("out", .int),
        .required("kernel", .intTuple(count: 2)),
        .defaulted("stride", .intTuple(count: 2), .int(1)),
        .defaulted("padding", .intTuple(count: 2), .int(0)),
        .defaulted("output_padding", .intTuple(count: 2), .int(0)),
        .defaulted("dilation", .intTuple(count: 2), .int(1)),
        .defaulted("groups", .int, .int(1)),
        .defaulted("bias", .bool, .bool(true)),
    ]

    let input: TensorType
    let outChannels: Int
    let kernel: [Int]
    let stride: [Int]
    let padding: [Int]
    let outputPadding: [Int]
    let dilation: [Int]
    let groups: Int
    var hasBias: Bool
    let outputSize: [Int]

    init(_ arguments: BoundArguments) throws {
        input = try imageInput(arguments, kind: Self.kind)
        outChannels = try arguments.int("out", atLeast: 1)
        kernel = try arguments.ints("kernel", count: 2)
        stride = try arguments.ints("stride", count: 2)
        padding = try arguments.ints("padding", count: 2)
        outputPadding = try arguments.ints("output_padding", count: 2)
        dilation = try arguments.ints("dilation", count: 2)
        groups = try arguments.int("groups", atLeast: 1)
        hasBias = try arguments.bool("bias")
        guard kernel.allSatisfy({ $0 >= 1 }) else { throw OperatorError("kernel must be positive, got \(kernel)", argument: "kernel") }
        guard stride.allSatisfy({ $0 >= 1 }) else { throw OperatorError("stride must be positive, got \(stride)", argument: "stride") }
        guard padding.allSatisfy({ $0 >= 0 }) else { throw OperatorError("padding must not be negative, got \(padding)", argument: "padding") }
        guard dilation.allSatisfy({ $0 >= 1 }) else { throw OperatorError("dilation must be positive, got \(dilation)", argument: "dilation") }
        for axis in 0..<2 {
            guard outputPadding[axis] >= 0, outputPadding[axis] < max(stride[axis], dilation[axis]) else {
                throw OperatorError("output_padding \(outputPadding[axis]) must be non-negative and smaller than " +
                    "the stride (\(stride[axis])) or the dilation (\(dilation[axis]))", argument: "output_padding")
            }
        }
        let channels = input.shape[1]
        guard channels % groups == 0, outChannels % groups == 0 else {
            throw OperatorError("groups = \(groups) must divide both input channels (\(channels)) and output channels (\(outChannels))", argument: "groups")
        }
        var size: [Int] = []
        for axis in 0..<2 {
            let h = input.shape[2 + axis]
            let (scaled, o1) = (h - 1).multipliedReportingOverflow(by: stride[axis])
            let (span, o2) = dilation[axis].multipliedReportingOverflow(by: kernel[axis] - 1)
            let (twicePadding, o3) = padding[axis].multipliedReportingOverflow(by: 2)
            let (grown, o4) = scaled.addingReportingOverflow(span)
            let (full, o5) = grown.addingReportingOverflow(outputPadding[axis] + 1)
            guard !(o1 || o2 || o3 || o4 || o5) else { throw OperatorError("transposed convolution sizes overflow", argument: "stride") }
            let result = full - twicePadding
            guard result >= 1 else {
                throw OperatorError("padding \(padding[axis]) crops the whole output: (\(h) - 1) * \(stride[axis]) + \(dilation[axis]) * (\(kernel[axis]) - 1) " +
                    "+ \(outputPadding[axis]) + 1 - 2 * \(padding[axis]) = \(result) in spatial dimension \(axis) of \(input)", argument: "padding")
            }
            size.append(result)
        }
        outputSize = size
    }

    public var outputs: [TensorType] { [TensorType([input.shape[0], outChannels] + outputSize, input.dtype)] }

    var weightShape: [Int] { [input.shape[1], outChannels / groups] + kernel }
    /// Every input element is multiplied by its (out/groups) * kh * kw weights.
    var macs: Count { input.elements * (outChannels / groups) * kernel[0] * kernel[1] }

    public var detail: String {
        var text = kernel[0] == kernel[1] ? "\(kernel[0])x\(kernel[0])" : "\(kernel[0])x\(kernel[1])"
        if stride != [1, 1] { text += "/\(stride[0] == stride[1] ? "\(stride[0])" : "\(stride)")" }
        if padding != [0, 0] { text += " p\(padding[0] == padding[1] ? "\(padding[0])" : "\(padding)")" }
        if outputPadding != [0, 0] { text += " op\(outputPadding[0] == outputPadding[1] ? "\(outputPadding[0])" : "\(outputPadding)")" }
        if dilation != [1, 1] { text += " d\(dilation[0])" }
        if groups != 1 { text += " g\(groups)" }
        return text
    }
}

// Roofline (README, "Roofline"): torch runs convolutions in cuDNN (`torch.backends.cudnn.allow_tf32`).
extension ConvTranspose2d {
    var matrixLibrary: MatrixLibrary { .cuDNN }
}
