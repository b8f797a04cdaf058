/// Every operator kind the spec language knows, one line each. Adding an operator is
/// one new file under Ops/ plus one line here.
public enum OperatorCatalog {
    public static let all: [any Operator.Type] = [
        // Dense layers and convolutions
        Linear.self,
        Conv2d.self,
        // Element-wise arithmetic
        Add.self,
        // Activations
        ReLU.self,
        // Normalisation
        // Pooling
        // Regularisation
        // Shape and data movement
        // Embeddings, learned tensors, attention, matmul
        // Softmax and losses
    ]

    static let byName: [String: any Operator.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.kind, $0) })

    public static func lookup(_ name: String) -> (any Operator.Type)? { byName[name] }
    public static var names: [String] { all.map { $0.kind } }
}
