/// Quantised weights in an inference run (`--weight-precision int8|int4|fp8`; README,
/// "Inference"): what the roofline prices for an operator that reads them.
///
/// - Bytes: every parameter is stored, and read, at the weight precision (1 byte for int8
///   and fp8, half a byte for int4, rounded up per tensor), as the memory model stores
///   it; scales are not counted.
/// - int8 and fp8 on a GPU with tensor cores for them (int8: A100 onwards; fp8: H100,
///   H200): an operator that reads the weights and does multiply-accumulate work runs it
///   on those tensor cores (W8A8, as SmoothQuant's int8 and the fp8 serving kernels do):
///   its floating-point inputs are quantised on the way in (x / s, 1 FLOP per element)
///   and its outputs rescaled (1 FLOP per element), with per-tensor scales.
/// - Otherwise (int4 always; int8 or fp8 where the GPU lacks those units; operators
///   without matrix work, such as a norm or an embedding's gather): weight-only
///   quantisation, the weights are dequantised to the type the operator computes in as
///   they are read: w = q * s, 1 FLOP per element read (int8, fp8), w = (q - z) * s,
///   2 FLOPs (int4, with a zero point), on the vector units.
/// The (de)quantisation FLOPs are element-wise work of the operator's own entry: a fused
/// kernel does them beside its matmul, so they raise the compute time, never the bytes.
/// Float weight precisions (fp32, fp16, bf16) change the bytes only.
struct WeightQuantization: Sendable {
    let stored: WeightPrecision
    /// The tensor-core format of W8A8 matrix work, when the GPU has it; nil: weight-only.
    let matrixFormat: NumericFormat?

    /// nil when the run reads unquantised weights.
    init?(_ configuration: RunConfiguration, gpu: GPUProfile) {
        guard configuration.inference, let stored = configuration.weightPrecision else { return nil }
        self.stored = stored
        switch stored {
        case .int8: matrixFormat = gpu.int8Tensor != nil ? .int8 : nil
        case .fp8: matrixFormat = gpu.fp8Tensor != nil ? .fp8 : nil
        case .int4, .fp32, .fp16, .bf16: matrixFormat = nil
        }
    }

    /// Whether the stored type is an integer or 8-bit format that needs (de)quantising.
    var quantises: Bool { stored == .int8 || stored == .int4 || stored == .fp8 }

    /// FLOPs per weight element to dequantise it (weight-only).
    var dequantizationFLOPsPerElement: Int {
        switch stored {
        case .int8, .fp8: 1
        case .int4: 2
        case .fp32, .fp16, .bf16: 0
        }
    }

    /// Bytes of `elements` stored weights.
    func bytes(elements: Count) -> Count { stored.bytes(elements: elements) }

    /// How an operator that reads `weightElements` weight elements, does `work`, and
    /// reads `inputElements` and writes `outputElements` floating-point elements runs:
    /// its matrix work's format (nil: the compute type's) and the (de)quantisation FLOPs
    /// it adds.
    func execution(work: Work, weightElements: Count, inputElements: Count, outputElements: Count)
        -> (format: NumericFormat?, flops: Count) {
        guard quantises, weightElements.value > 0 else { return (nil, .zero) }
        if let matrixFormat, work.macs.value > 0 {
            return (matrixFormat, inputElements + outputElements)
        }
        return (nil, weightElements * dequantizationFLOPsPerElement)
    }

    /// The sentence reports print about it.
    func statement(gpu: GPUProfile) -> String {
        let size = stored == .int4 ? "half a byte" : stored == .fp32 ? "4 bytes" : stored == .int8 || stored == .fp8 ? "1 byte" : "2 bytes"
        guard quantises else { return "weights stored in \(stored.rawValue): \(size) per element, no dequantisation" }
        if let matrixFormat {
            return "weights in \(stored.rawValue) (\(size) per element): matrix work on the \(gpu.id) \(matrixFormat.rawValue) tensor cores (W8A8), "
                + "activations quantised on the way in and outputs rescaled, 1 FLOP per element each; weights of other operators dequantised, 1 FLOP per element"
        }
        let why = stored == .int4 ? "" : " (\(gpu.id) has no \(stored.rawValue) tensor cores)"
        return "weights in \(stored.rawValue) (\(size) per element), weight-only\(why): dequantised to the compute type as read, "
            + "\(dequantizationFLOPsPerElement) FLOP\(dequantizationFLOPsPerElement == 1 ? "" : "s") per element"
    }
}
