/// `conv2d(x, out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true)` on
/// [N, C, H, W] (torch.nn.Conv2d; depthwise is groups = C).
///
/// Reference algorithm (im2col with explicit zero padding): every output element is a
/// dot product over (C/groups) * kh * kw taps, padded taps included, so
/// MACs = N * Cout * Ho * Wo * (C/groups) * kh * kw, the figure PyTorch's FlopCounterMode
/// and the papers use; FLOPs = 2 * MACs + N*Cout*Ho*Wo for the bias.
/// - input gradient (col2im of W^T dY): the same MACs.
/// - weight gradient (dY x cols^T): the same MACs; bias gradient: N*Cout*Ho*Wo adds.
/// Output size: floor((H + 2p - d(k-1) - 1) / s) + 1.
public struct Conv2d: WeightedLayer {
    public static let kind = "conv2d"
    public static let summary = "2-D convolution (stride, padding, dilation, groups)"
    /// derivatives.yaml's `convolution`: one formula for input, weight and bias.
    static let savesInputAndWeightTogether = true
    static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("out", .int),
        .required("kernel", .intTuple(count: 2)),
        .defaulted("stride", .intTuple(count: 2), .int(1)),
        .defaulted("padding", .intTuple(count: 2), .int(0)),
        .defaulted("dilation", .intTuple(count: 2), .int(1)),
        .defaulted("groups", .int, .int(1)),
        .defaulted("bias", .bool, .bool(true)),
    ]

    let input: TensorType
    let outChannels: Int
    let kernel: [Int]
    let stride: [Int]
    let padding: [Int]
    let dilation: [Int]
    let groups: Int
    var hasBias: Bool
    let outputSize: [Int]

    init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("input")
        outChannels = try arguments.int("out", atLeast: 1)
        kernel = try arguments.ints("kernel", count: 2)
        stride = try arguments.ints("stride", count: 2)
        padding = try arguments.ints("padding", count: 2)
        dilation = try arguments.ints("dilation", count: 2)
        groups = try arguments.int("groups", atLeast: 1)
        hasBias = try arguments.bool("bias")
        guard input.rank == 4 else { throw OperatorError("input must be [N, C, H, W], got \(input)", argument: "input") }
        guard kernel.allSatisfy({ $0 >= 1 }) else { throw OperatorError("kernel must be positive", argument: "kernel") }
        guard stride.allSatisfy({ $0 >= 1 }) else { throw OperatorError("stride must be positive", argument: "stride") }
        guard padding.allSatisfy({ $0 >= 0 }) else { throw OperatorError("padding must not be negative", argument: "padding") }
        guard dilation.allSatisfy({ $0 >= 1 }) else { throw OperatorError("dilation must be positive", argument: "dilation") }
        let channels = input.shape[1]
        guard channels % groups == 0, outChannels % groups == 0 else {
            throw OperatorError("groups = \(groups) must divide both input channels (\(channels)) and output channels (\(outChannels))", argument: "groups")
        }
        outputSize = try Self.outputSize(input: Array(input.shape[2...]), kernel: kernel, stride: stride, padding: padding, dilation: dilation)
    }

    static func outputSize(input: [Int], kernel: [Int], stride: [Int], padding: [Int], dilation: [Int]) throws -> [Int] {
        try (0..<input.count).map { axis in
            let (padded, o1) = input[axis].addingReportingOverflow(2 &* padding[axis])
            let (span, o2) = dilation[axis].multipliedReportingOverflow(by: kernel[axis] - 1)
            guard !o1, !o2, padding[axis] < Int.max / 4 else { throw OperatorError("sizes overflow", argument: "padding") }
            let available = padded - span - 1
            guard available >= 0 else {
                throw OperatorError("kernel \(kernel[axis]) (dilation \(dilation[axis])) is larger than the padded input (\(padded)) in spatial dimension \(axis)", argument: "kernel")
            }
            return available / stride[axis] + 1
        }
    }

    public var outputs: [TensorType] { [TensorType([input.shape[0], outChannels] + outputSize, input.dtype)] }

    var weightShape: [Int] { [outChannels, input.shape[1] / groups] + kernel }
    /// Every output element is a dot product over (C/groups) * kh * kw taps.
    var macs: Count { Count.product(outputs[0].shape) * (input.shape[1] / groups) * kernel[0] * kernel[1] }

    public var detail: String {
        var text = kernel[0] == kernel[1] ? "\(kernel[0])x\(kernel[0])" : "\(kernel[0])x\(kernel[1])"
        if stride != [1, 1] { text += "/\(stride[0] == stride[1] ? "\(stride[0])" : "\(stride)")" }
        if padding != [0, 0] { text += " p\(padding[0] == padding[1] ? "\(padding[0])" : "\(padding)")" }
        if dilation != [1, 1] { text += " d\(dilation[0])" }
        if groups != 1 { text += groups == input.shape[1] ? " dw" : " g\(groups)" }
        return text
    }
}

// Roofline (README, "Roofline"): torch runs convolutions in cuDNN (`torch.backends.cudnn.allow_tf32`).
extension Conv2d {
    var matrixLibrary: MatrixLibrary { .cuDNN }
}
