/// The family of weighted layers (linear, conv2d, conv_transpose2d): one product of the
/// input with a learned weight, plus an optional bias per output channel. The skeleton
/// lives here: the parameters (`weight`, then `bias`), the cost, the saved-tensor rule,
/// the autocast class, batchnorm folding and the roofline's backward reads. An operator
/// file gives its signature, shape rule, weight shape and MACs (`macs`); its kernel uses
/// `addBias`, `biasGradient` and `keptForBackward` (Execution/Kernels/WeightedLayerSupport.swift).
///
/// Cost, with M = `macs` and O output elements:
/// - forward: M MACs and one bias add per output: FLOPs = 2M + O (bias);
/// - input gradient (the transposed product with the weight, dX = dY W): M MACs;
/// - weight gradient (the product of dY with the input, dW = dY^T X): M MACs; bias
///   gradient (dY summed per channel): O adds.
protocol WeightedLayer: Operator {
    var input: TensorType { get }
    /// Output channels (features): the bias's length.
    var outChannels: Int { get }
    /// The weight's shape, in torch's layout.
    var weightShape: [Int] { get }
    /// Multiply-accumulates of the forward product (each backward product runs as many).
    var macs: Count { get }
    /// Settable so batchnorm folding can give the layer a bias.
    var hasBias: Bool { get set }
    /// Whether autograd computes every gradient with one formula, and so saves the input
    /// and the weight whenever anything needs a gradient (derivatives.yaml's
    /// `convolution` entry: `input, weight, bias: convolution_backward(...)`). False:
    /// per-operand formulas that save only what the needed gradients read (addmm / mm:
    /// `mat1` for the weight gradient, `mat2` for the input gradient). Default false.
    static var savesInputAndWeightTogether: Bool { get }
}

extension WeightedLayer {
    static var savesInputAndWeightTogether: Bool { false }

    public var parameters: [ParameterSpec] {
        [ParameterSpec("weight", weightShape)] + (hasBias ? [ParameterSpec("bias", [outChannels])] : [])
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let macs = self.macs
        let outputElements = Count.product(outputs[0].shape)
        var cost = OperatorCost(forward: Work(flops: macs * 2 + (hasBias ? outputElements : .zero), macs: macs))
        if context.needsGradient(input: 0) { cost.inputGradient = .mac(macs) }
        if context.trainable(parameter: 0) { cost.weightGradient += .mac(macs) }
        if hasBias && context.trainable(parameter: 1) { cost.weightGradient += .elementwise(outputElements) }
        return cost
    }

    // Memory (README, "Training and inference memory").
    /// addmm keeps the input (for the weight gradient) and the weight (for the input
    /// gradient), each only when that gradient is needed; convolution keeps both whenever
    /// the node records anything (`savesInputAndWeightTogether`): under autocast the first
    /// convolution, whose input needs no gradient, still keeps its half weight copy. Under
    /// autocast both are the half copies (in fp32 the weight is the parameter: free). The
    /// bias is not kept.
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        if Self.savesInputAndWeightTogether { return context.recordsForBackward ? [.input(0), .parameter(0)] : [] }
        return (context.trainable(parameter: 0) ? [.input(0)] : []) + (context.needsGradient(input: 0) ? [.parameter(0)] : [])
    }
    public var autocast: AutocastClass { .lowerPrecision }
    /// Folding a per-channel affine transform (batchnorm) changes the weight's values and
    /// gives the layer a bias.
    public func absorbingAffine() -> (any Operator)? {
        var folded = self
        folded.hasBias = true
        return folded
    }

    // Roofline traffic (README, "Roofline").
    /// dX = dY W reads the weight; dW = dY^T X reads the input (the bias gradient only dY),
    /// each when that gradient is computed.
    public func backwardReads(_ phase: BackwardPhase, _ context: CostContext) -> [SavedTensor] {
        savedTensors(context).filter { saved in
            switch (phase, saved) {
            case (.inputGradient, .parameter): context.needsGradient(input: 0)
            case (.weightGradient, .input): context.trainable(parameter: 0)
            default: false
            }
        }
    }
}
