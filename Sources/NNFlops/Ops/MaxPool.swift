/// `maxpool(x, kernel, stride=none, padding=0, dilation=1, ceil_mode=false)` on
/// [N, C, H, W] (torch.nn.MaxPool2d; stride defaults to the kernel size).
///
/// Output size per axis: floor((H + 2p - d(k-1) - 1) / s) + 1 (ceil in ceil mode, where
/// the last window must start inside the input or its left padding); padding at most
/// half the kernel, as torch requires.
///
/// Reference algorithm: each output starts from its first tap inside the input and
/// compares the others against the running maximum (padding is never read), so an
/// output whose window holds v valid taps costs v - 1 compares. Forward =
/// N * C * (sum over outputs of (v - 1)); without padding that is the usual
/// (kh*kw - 1) * N*C*Ho*Wo, with padding the border windows are cheaper.
/// Input gradient (max_pool2d_with_indices_backward): dX zeroed, dY scattered into it
/// through the saved argmax indices with one add per output (windows may overlap):
/// N*C*Ho*Wo FLOPs. (An output whose window is empty, possible only with dilation,
/// costs nothing in either pass.) MACs: 0. Saved for backward: input and int64 indices.
struct MaxPool: Operator {
    public static let kind = "maxpool"
    public static let summary = "2-D max pooling"
    public static let signature: [ArgumentSpec] = [
        .required("input", .tensor),
        .required("kernel", .intTuple(count: 2)),
        .defaulted("stride", .intTuple(count: 2), .none),
        .defaulted("padding", .intTuple(count: 2), .int(0)),
        .defaulted("dilation", .intTuple(count: 2), .int(1)),
        .defaulted("ceil_mode", .bool, .bool(false)),
    ]

    let input: TensorType
    let axes: [PoolAxis]

    public init(_ arguments: BoundArguments) throws {
        let input = try imageInput(arguments, kind: Self.kind, floatingPoint: false)
        let kernel = try arguments.ints("kernel", count: 2)
        let stride = try poolStride(arguments, kernel: kernel)
        let padding = try arguments.ints("padding", count: 2)
        let dilation = try arguments.ints("dilation", count: 2)
        let ceilMode = try arguments.bool("ceil_mode")
        self.input = input
        axes = try (0..<2).map {
            try PoolAxis(input: input.shape[2 + $0], kernel: kernel[$0], stride: stride[$0], padding: padding[$0],
                         dilation: dilation[$0], ceilMode: ceilMode, axis: $0)
        }
    }

    public var outputs: [TensorType] { [TensorType([input.shape[0], input.shape[1], axes[0].output, axes[1].output], input.dtype)] }

    public func cost(_ context: CostContext) -> OperatorCost {
        let planes = Count(input.shape[0]) * input.shape[1]
        let (validH, nonEmptyH) = axes[0].taps
        let (validW, nonEmptyW) = axes[1].taps
        let windows = planes * nonEmptyH * nonEmptyW
        let compares = planes * validH * validW - windows
        return OperatorCost(forward: .elementwise(compares),
                            inputGradient: context.needsGradient(input: 0) ? .elementwise(windows) : .zero)
    }

    public var detail: String { poolDetail(axes) }
}

/// `3x3/2 p1`-style text shared by the pooling operators.
func poolDetail(_ axes: [PoolAxis]) -> String {
    func pair(_ f: (PoolAxis) -> Int) -> String { f(axes[0]) == f(axes[1]) ? "\(f(axes[0]))" : "\(f(axes[0]))x\(f(axes[1]))" }
    var text = "\(axes[0].kernel)x\(axes[1].kernel)"
    if axes[0].stride != axes[0].kernel || axes[1].stride != axes[1].kernel { text += "/" + pair(\.stride) }
    if axes[0].padding != 0 || axes[1].padding != 0 { text += " p" + pair(\.padding) }
    if axes[0].dilation != 1 || axes[1].dilation != 1 { text += " d" + pair(\.dilation) }
    return text
}

// Memory (README, "Training and inference memory").
extension MaxPool {
    /// max_pool2d_with_indices keeps the input and the int64 argmax indices.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        context.needsGradient(input: 0) ? [.input(0), .extra("indices", shape: outputs[0].shape, type: .fixed(.int64))] : []
    }
}

// Roofline traffic (README, "Roofline").
extension MaxPool {
    /// max_pool2d_with_indices_backward scatters dY through the indices: it reads dY and
    /// the indices, not the saved input (kept by autograd, unused by the kernel).
    public func backwardReads(_ phase: BackwardPhase, _ context: CostContext) -> [SavedTensor] {
        savedTensors(context).filter { if case .input = $0 { false } else { true } }
    }
}
