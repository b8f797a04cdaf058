/// Shared pieces of the CNN operators (pooling geometry, the backward pass of the
/// standardising normalisations). Each operator still lives in its own file.

/// The input tensor of an operator that only makes sense on floating-point values.
func floatingPointInput(_ arguments: BoundArguments, kind: String, _ name: String = "input") throws -> TensorType {
    let input = try arguments.tensor(name)
    guard input.dtype.isFloatingPoint else {
        throw OperatorError("\(kind) needs a floating-point tensor, got \(input)", argument: name)
    }
    return input
}

/// An [N, C, H, W] input of a 2-D spatial operator.
func imageInput(_ arguments: BoundArguments, kind: String, floatingPoint: Bool = true) throws -> TensorType {
    let input = floatingPoint ? try floatingPointInput(arguments, kind: kind) : try arguments.tensor("input")
    guard input.rank == 4 else { throw OperatorError("input must be [N, C, H, W], got \(input)", argument: "input") }
    return input
}

/// `stride = none` means "the kernel size", as in torch's pooling modules.
func poolStride(_ arguments: BoundArguments, kernel: [Int]) throws -> [Int] {
    if case .none? = arguments["stride"] { return kernel }
    if arguments["stride"] == nil { return kernel }
    return try arguments.ints("stride", count: 2)
}

/// Window geometry of 2-D pooling along one spatial axis, with torch's output-size rule
/// (`pooling_output_shape`): out = floor_or_ceil((in + 2p - d(k-1) - 1) / s) + 1, and in
/// ceil mode the last window must start inside the input or the left padding.
struct PoolAxis: Sendable, Hashable {
    let input: Int
    let kernel: Int
    let stride: Int
    let padding: Int
    let dilation: Int
    let output: Int

    /// Validates one axis; `axis` (0 = height, 1 = width) names it in messages.
    init(input: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, ceilMode: Bool, axis: Int) throws {
        let dimension = axis == 0 ? "height" : "width"
        guard kernel >= 1 else { throw OperatorError("kernel must be positive, got \(kernel)", argument: "kernel") }
        guard stride >= 1 else { throw OperatorError("stride must be positive, got \(stride)", argument: "stride") }
        guard dilation >= 1 else { throw OperatorError("dilation must be positive, got \(dilation)", argument: "dilation") }
        guard padding >= 0 else { throw OperatorError("padding must not be negative, got \(padding)", argument: "padding") }
        guard padding <= kernel / 2 else {
            throw OperatorError("padding \(padding) must be at most half the kernel size \(kernel) (as in torch)", argument: "padding")
        }
        // padding <= kernel / 2 keeps 2 * padding from overflowing.
        let (span, o1) = dilation.multipliedReportingOverflow(by: kernel - 1)
        let (padded, o2) = input.addingReportingOverflow(2 * padding)
        guard !o1, !o2 else { throw OperatorError("pooling sizes overflow", argument: "kernel") }
        let available = padded - span - 1
        guard available >= 0 else {
            throw OperatorError("kernel \(kernel)\(dilation == 1 ? "" : " (dilation \(dilation))") is larger than the padded input \(dimension) \(padded)", argument: "kernel")
        }
        var output = available / stride + (ceilMode && available % stride != 0 ? 1 : 0) + 1
        if ceilMode {
            // The last window must start inside the input or its left padding.
            let (start, o3) = (output - 1).multipliedReportingOverflow(by: stride)
            if o3 || start >= input + padding { output -= 1 }
        }
        self.input = input
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.output = output
    }

    /// Taps of output window `o` that fall inside the input (padding excluded).
    func validTaps(output o: Int) -> Int {
        let start = o * stride - padding
        let first = start >= 0 ? 0 : (-start - 1) / dilation + 1  // ceil(-start / d) without overflow
        let last = start > input - 1 ? -1 : min(kernel - 1, (input - 1 - start) / dilation)
        return max(0, last - first + 1)
    }

    /// Outputs whose window includes tap `i` inside the input.
    func outputsUsing(tap i: Int) -> Int {
        let offset = i * dilation - padding
        let first = offset >= 0 ? 0 : (-offset - 1) / stride + 1  // ceil(-offset / s) without overflow
        let last = offset > input - 1 ? -1 : min(output - 1, (input - 1 - offset) / stride)
        return max(0, last - first + 1)
    }

    /// The sum over all outputs of the taps inside the input, and the number of outputs
    /// whose window holds at least one such tap. Loops over whichever of outputs and
    /// taps is shorter; with dilation 1 (and padding <= kernel / 2) no window is empty.
    var taps: (valid: Count, nonEmpty: Int) {
        if dilation == 1 && kernel <= output {
            return (Count.sum((0..<kernel).map { Count(outputsUsing(tap: $0)) }), output)
        }
        var valid = Count.zero
        var nonEmpty = 0
        for o in 0..<output {
            let v = validTaps(output: o)
            valid += v
            if v > 0 { nonEmpty += 1 }
        }
        return (valid, nonEmpty)
    }
}

/// Backward cost of the normalisations that standardise groups of values,
/// xhat = (x - mean) * rstd, then apply an optional affine transform (layernorm,
/// groupnorm, instancenorm). Saved for backward: x, mean and rstd per group.
///
/// Reference algorithm, n elements in `groups` groups of M = n / groups values:
/// - xhat = (x - mean) * rstd recomputed: 2n. Computed once and charged to the weight
///   gradient when the weight is trainable, otherwise to the input gradient.
/// - weight gradient dW = sum of dY * xhat over the positions sharing a weight: 2n;
///   bias gradient db = sum of dY: n.
/// - input gradient: g = dY * weight (n, affine only; g = dY otherwise); a = sum g and
///   b = sum g * xhat per group (n + 2n); a / M and b / M (2 per group);
///   dX = (g - a - xhat * b) * rstd (4n). Total 7n + 2 * groups (+ n affine, + 2n xhat).
func standardizeBackward(elements n: Count, groups: Count, hasWeight: Bool, hasBias: Bool, _ context: CostContext) -> (input: Work, weight: Work) {
    let weightTrainable = hasWeight && context.trainable(parameter: 0)
    let biasTrainable = hasBias && context.trainable(parameter: hasWeight ? 1 : 0)
    var weight = Count.zero
    if weightTrainable { weight += n * 2 + n * 2 }
    if biasTrainable { weight += n }
    var input = Count.zero
    if context.needsGradient(input: 0) {
        input = n * 7 + groups * 2
        if hasWeight { input += n }
        if !weightTrainable { input += n * 2 }
    }
    return (.elementwise(input), .elementwise(weight))
}
