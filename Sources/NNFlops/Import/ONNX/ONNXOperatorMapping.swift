/// Dispatch of ONNX nodes: constants fold (ONNXFolding.swift); operators on activations
/// map onto catalog operators, one file per op family (convolution and pooling, dense
/// layers, element-wise, normalisation, shape).
extension ONNXGraphImporter {
    /// Op types read from a constant's stored elements without changing them, which keep
    /// the constant's identity (a transposed weight is still that weight).
    static let viewOpTypes: Set<String> = ["Identity", "Reshape", "Flatten", "Unsqueeze", "Squeeze", "Transpose"]
    /// Op types that read only a constant's shape.
    static let shapeOnlyOpTypes: Set<String> = ["Shape", "Size"]

    /// Every op type with a mapping on activations (the folding set works on constants).
    static let supportedOpTypes: [String] = [
        "Abs", "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv",
        "ConvTranspose", "Div", "Dropout", "Erf", "Exp", "Expand", "Flatten", "Gather", "Gelu", "Gemm",
        "GlobalAveragePool", "GroupNormalization", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization",
        "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "MatMul", "MaxPool", "Mul", "Neg", "Pad", "Pow", "Range",
        "Reciprocal", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Shape", "Sigmoid", "Slice", "Softmax", "Split",
        "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "Where (on constants)",
    ]

    mutating func importNode(_ node: ONNXNodeProto) throws {
        guard isDefaultDomain(node) else {
            throw unsupported("op type '\(node.opType)' of domain '\(node.domain)' is not a standard ONNX operator")
        }
        if node.attributes.contains(where: \.hasGraph) {
            throw unsupported("op type '\(node.opType)' has a subgraph (control flow), which nnflops does not map")
        }
        let inputs = try node.inputs.indices.map { try input($0) }
        let readsTensor = inputs.contains { if case .tensor? = $0 { true } else { false } }
        let readsLearned = inputs.contains { if case .constant(let c)? = $0 { c.isLearned } else { false } }
        let keepsLearned = Self.viewOpTypes.contains(node.opType) || Self.shapeOnlyOpTypes.contains(node.opType)
        let foldable = Self.shapeOnlyOpTypes.contains(node.opType) || (!readsTensor && (!readsLearned || keepsLearned))
        if foldable, try fold() { return }
        switch node.opType {
        case "Conv": try importConv()
        case "ConvTranspose": try importConvTranspose()
        case "MaxPool", "AveragePool": try importPool()
        case "GlobalAveragePool": try importGlobalAveragePool()
        case "Gemm": try importGemm()
        case "MatMul": try importMatMul()
        case "Add", "Sub", "Mul", "Div": try importBinary()
        case "Neg", "Sqrt", "Reciprocal", "Exp", "Log", "Abs", "Erf": try importUnary()
        case "Pow": try importPow()
        case "Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSwish", "HardSigmoid", "Gelu", "Clip": try importActivation()
        case "Softmax", "LogSoftmax": try importSoftmax()
        case "BatchNormalization": try importBatchNorm()
        case "InstanceNormalization": try importInstanceNorm()
        case "LayerNormalization": try importLayerNorm()
        case "GroupNormalization": try importGroupNorm()
        case "Dropout": try importDropout()
        case "Identity": try define(.tensor(try tensorInput(0)))
        case "Cast", "CastLike": try importCast()
        case "Reshape", "Flatten", "Squeeze", "Unsqueeze": try importReshape()
        case "Transpose": try importTranspose()
        case "Concat": try importConcat()
        case "Split": try importSplit()
        case "Slice": try importSlice()
        case "Gather": try importGather()
        case "Expand": try importExpand()
        case "Pad": try importPad()
        case "ReduceMean", "ReduceSum": try importReduce()
        default:
            if Self.foldableOpTypes.contains(node.opType) {
                throw unsupported("op type '\(node.opType)' is folded when its inputs are constants, but here it reads an activation, and nnflops has no catalog operator for it")
            }
            throw unsupported()
        }
    }
}
