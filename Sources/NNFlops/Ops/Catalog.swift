/// Every operator kind the spec language knows, one line each. Adding an operator is
/// one new file under Ops/ plus one line here.
enum OperatorCatalog {
    public static let all: [any Operator.Type] = [
        // Dense layers and convolutions
        Linear.self,
        Conv2d.self,
        ConvTranspose2d.self,
        // Element-wise arithmetic
        Add.self,
        Sub.self,
        Mul.self,
        Div.self,
        // Element-wise math
        Pow.self,
        Sqrt.self,
        Rsqrt.self,
        Exp.self,
        Log.self,
        Abs.self,
        Neg.self,
        Reciprocal.self,
        Erf.self,
        // Activations
        ReLU.self,
        ReLU6.self,
        Clamp.self,
        GELU.self,
        SiLU.self,
        Sigmoid.self,
        Tanh.self,
        LeakyReLU.self,
        HardSwish.self,
        HardSigmoid.self,
        // Normalisation
        BatchNorm.self,
        LayerNorm.self,
        GroupNorm.self,
        InstanceNorm.self,
        RMSNorm.self,
        // Pooling
        MaxPool.self,
        AvgPool.self,
        AdaptiveAvgPool.self,
        GlobalAvgPool.self,
        // Regularisation
        Dropout.self,
        DropPath.self,
        // Shape and data movement
        Flatten.self,
        Reshape.self,
        Transpose.self,
        Permute.self,
        Concat.self,
        Split.self,
        Chunk.self,
        Select.self,
        Slice.self,
        Expand.self,
        Contiguous.self,
        Roll.self,
        Pad.self,
        Cast.self,
        Arange.self,
        Zeros.self,
        // Embeddings, learned tensors, attention, matmul
        Embedding.self,
        LearnedParameter.self,
        Attention.self,
        Rope.self,
        RotaryTables.self,
        RelativePositionBias.self,
        Matmul.self,
        MoE.self,
        // Softmax and losses
        Softmax.self,
        LogSoftmax.self,
        Sum.self,
        Mean.self,
        MSELoss.self,
        BCELoss.self,
        CrossEntropy.self,
        HuberLoss.self,
        HingeLoss.self,
        FocalLoss.self,
        KLDiv.self,
    ]

    static let byName: [String: any Operator.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.kind, $0) })

    public static func lookup(_ name: String) -> (any Operator.Type)? { byName[name] }

    /// Each operator's signature, built once, on its first use: most operators compute
    /// theirs (a protocol extension's `static var` cannot be stored), which cost more than
    /// the rest of binding an argument list. Filled as operators are used rather than for
    /// the whole catalog at once (370k instructions, a fifth of them the first use of
    /// `ObjectIdentifier` as a dictionary key; README, "Speed"), under a lock: elaborations
    /// may run on several threads. Keyed by kind, which names one type in the catalog
    /// (`byName`); a type outside it with a kind in use (a test's) gets its own
    /// signature, uncached.
    nonisolated(unsafe) private static var signatures: [String: (type: ObjectIdentifier, signature: [ArgumentSpec])] = [:]
    private static let signaturesLock = Lock()

    /// `type.signature`, built once per operator type.
    static func signature(of type: any Operator.Type) -> [ArgumentSpec] {
        let kind = type.kind, id = ObjectIdentifier(type)
        signaturesLock.lock()
        defer { signaturesLock.unlock() }
        if let known = signatures[kind] { return known.type == id ? known.signature : type.signature }
        let signature = type.signature
        signatures[kind] = (id, signature)
        return signature
    }

    public static var names: [String] { all.map { $0.kind } }
}
