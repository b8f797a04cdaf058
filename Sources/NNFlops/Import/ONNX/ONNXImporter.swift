import Foundation

/// Reads an ONNX model (https://onnx.ai, opsets 11 to 21) into a `Graph` of catalog
/// operators, as the elaborator builds one from a spec, so every analysis runs on it.
///
/// - Shapes only: the decoder never reads weight data (inline initializers are skipped,
///   external data is never opened); small integer tensors are read for shape folding.
/// - Shape arithmetic (Shape, Gather, Concat, Cast, ... on shapes and constants) is
///   folded to constants and never counted; operators on activations map onto catalog
///   operators (README, "Reading ONNX files").
/// - Symbolic dimensions become settings: the batch axis (dimension 0 of an input) is
///   `batch` (default 1), any other is named after its `dim_param` and must be given in
///   `overrides`.
/// - Layers are named after the exporter's module paths (`/layer1/layer1.0/conv1/Conv`)
///   or its parameter names (`layer1.0.conv1.weight`): both give `layer1.0.conv1`. An
///   initializer used by several operators is one parameter (tied).
///
/// Errors are `NNFlopsError`s naming the node (its index, name, op type and the opset).
public enum ONNXImporter {
    /// The opsets of the default domain this importer maps.
    public static let supportedOpsets = 11...21

    /// Builds the graph of the ONNX model in `data`; `file` names it in messages and gives
    /// the model its name. `overrides` set symbolic dimensions (`batch`, or a `dim_param`).
    public static func graph(data: [UInt8], file: String, overrides: [String: Value] = [:]) throws -> Graph {
        try ONNXModel(data: data, file: file).graph(overrides: overrides)
    }

    public static func graph(data: Data, file: String, overrides: [String: Value] = [:]) throws -> Graph {
        try ONNXModel(data: data, file: file).graph(overrides: overrides)
    }

    /// Reads the file at `path` (mapped, not copied, where the system allows).
    public static func graph(contentsOf path: String, overrides: [String: Value] = [:]) throws -> Graph {
        try ONNXModel(contentsOf: path).graph(overrides: overrides)
    }
}

/// An ONNX file read and decoded once, giving graphs at any settings (a command that
/// probes many batches decodes the file once). It holds the decoded messages only, no
/// reference to the file's bytes.
struct ONNXModel: Sendable {
    /// The file name used in messages and for the model's name.
    public let file: String
    let proto: ONNXModelProto

    public init(data: [UInt8], file: String) throws {
        self.file = file
        proto = try data.withUnsafeBytes { try Self.decode($0, file: file) }
    }

    public init(data: Data, file: String) throws {
        self.file = file
        proto = try data.withUnsafeBytes { try Self.decode($0, file: file) }
    }

    /// Reads the file at `path` (mapped, not copied, where the system allows: skipped
    /// inline weights are never read from disk).
    public init(contentsOf path: String) throws {
        try SpecLoader.checkReadableFile(path)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw NNFlopsError("cannot read '\(path)'")
        }
        try self.init(data: data, file: path)
    }

    /// The graph with the symbolic dimensions set by `overrides` (`batch`, or a `dim_param`).
    public func graph(overrides: [String: Value] = [:]) throws -> Graph {
        var importer = try ONNXGraphImporter(model: proto, file: file, overrides: overrides)
        return try importer.run()
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, file: String) throws -> ONNXModelProto {
        do {
            return try ONNXModelProto(bytes: bytes)
        } catch {
            throw NNFlopsError("\(file) is not a readable ONNX model: \(error)",
                               notes: ["the file is truncated, corrupted, or not in the ONNX (protocol buffers) format"])
        }
    }
}

/// A value of the ONNX graph during import: a tensor of the nnflops graph (an
/// activation), or a constant known at import time (an initializer, a Constant, a
/// folded shape computation).
enum ONNXValue {
    case tensor(TensorRef)
    case constant(StaticTensor)
}

/// The state of one import: the ONNX graph in topological order, the values computed so
/// far, and the graph being built.
struct ONNXGraphImporter {
    /// A rank beyond this is taken as a corrupt file.
    static let maxRank = 32

    let file: String
    let model: ONNXModelProto
    let opset: Int
    /// Nodes in a topological order, with their index in the file.
    var nodes: [(index: Int, node: ONNXNodeProto)] = []
    /// Positions in `nodes` of the nodes that read each value.
    var consumers: [String: [Int]] = [:]
    var graphOutputNames: Set<String> = []
    var values: [String: ONNXValue] = [:]
    var builder: GraphBuilder
    var overrides: [String: Value]
    var symbols: [String: Int] = [:]
    /// Nodes folded into an earlier one by a pattern (GELU, SiLU, linear + bias).
    var consumed: Set<Int> = []
    /// The position in `nodes` being imported, for messages.
    var current = 0
    /// The graph parameter each initializer (or Constant) became, by value name.
    var parameterOfSource: [String: Int] = [:]
    /// Learned tensors already turned into `parameter` nodes, by source name and shape.
    var materialized: [String: TensorRef] = [:]
    /// How each graph node will be named, settled once all are built.
    var nameHints: [NameHint] = []
    /// Shapes the file states for values (value_info, outputs), to check ours against.
    var declaredShapes: [String: [ONNXDimension]] = [:]

    init(model: ONNXModelProto, file: String, overrides: [String: Value]) throws {
        self.file = file
        self.model = model
        self.overrides = overrides
        let stem = (file as NSString).lastPathComponent
        builder = GraphBuilder(model: stem.lowercased().hasSuffix(".onnx") ? String(stem.dropLast(5)) : stem)
        guard model.hasGraph else { throw NNFlopsError("\(file) holds no graph: it is not an ONNX model") }
        let defaultDomain = model.opsetImports.filter { $0.domain == "" || $0.domain == "ai.onnx" }
        guard let version = defaultDomain.map(\.version).max() else {
            throw NNFlopsError("\(file) imports no opset of the default ONNX domain",
                               notes: ["nnflops reads opsets \(ONNXImporter.supportedOpsets.lowerBound) to \(ONNXImporter.supportedOpsets.upperBound)"])
        }
        guard ONNXImporter.supportedOpsets.contains(version) else {
            throw NNFlopsError("\(file) uses ONNX opset \(version); nnflops reads opsets \(ONNXImporter.supportedOpsets.lowerBound) to \(ONNXImporter.supportedOpsets.upperBound)",
                               notes: ["convert it with onnx.version_converter.convert_version(model, 17)"])
        }
        opset = version
        if model.graph.sparseInitializerCount > 0 {
            throw NNFlopsError("\(file) has sparse initializers, which nnflops does not read")
        }
    }

    // MARK: - The import

    mutating func run() throws -> Graph {
        let graph = model.graph
        for info in graph.valueInfo + graph.outputs {
            if let shape = info.type?.shape { declaredShapes[info.name] = shape }
        }
        try declareInitializers()
        try declareInputs()
        try sortNodes()
        // Constants first: patterns look ahead at constant operands.
        for (position, entry) in nodes.enumerated() where entry.node.opType == "Constant" && isDefaultDomain(entry.node) {
            current = position
            try importConstant(entry.node)
            consumed.insert(position)
        }
        for position in nodes.indices where !consumed.contains(position) {
            current = position
            try importNode(nodes[position].node)
            for output in nodes[position].node.outputs where !output.isEmpty {
                try checkDeclaredShape(of: output)
            }
        }
        try markOutputs()
        try settleNames()
        builder.graph.settings = settingsInOrder()
        return builder.graph
    }

    func isDefaultDomain(_ node: ONNXNodeProto) -> Bool { node.domain == "" || node.domain == "ai.onnx" }

    /// Initializers are constants whose data, for weights, is not read.
    mutating func declareInitializers() throws {
        for tensor in model.graph.initializers {
            guard !tensor.name.isEmpty else { throw NNFlopsError("\(file): an initializer has no name") }
            let source = WeightSource(name: tensor.name, isLearned: StaticTensor.isLearnedInitializer(tensor))
            let constant = try StaticTensor(tensor, source: source, file: file)
            values[tensor.name] = .constant(constant)
        }
    }

    /// Graph inputs that are not initializers become the graph's inputs; symbolic
    /// dimensions become settings.
    mutating func declareInputs() throws {
        var missing: [String] = []
        // Each input with its type and sizes; a size of 0 stands for a missing setting
        // (listed in `missing`, reported before any is used).
        var resolved: [(ONNXValueInfoProto, ONNXTypeProto, [Int])] = []
        for input in model.graph.inputs where values[input.name] == nil {
            guard let type = input.type, type.isTensor else {
                throw NNFlopsError("\(file): input '\(input.name)' is not a tensor (sequences, maps and optionals are not supported)")
            }
            guard let dims = type.shape else {
                throw NNFlopsError("\(file): input '\(input.name)' has no shape",
                                   notes: ["export with a fixed input size, or give every dimension a name (dynamic_axes) to set it with --batch / --set"])
            }
            var shape: [Int] = []
            for (axis, dim) in dims.enumerated() {
                switch dim {
                case .value(let v):
                    guard v >= 1, v <= Int64(Int.max) else {
                        throw NNFlopsError("\(file): input '\(input.name)' has dimension \(axis) = \(v); dimensions must be positive")
                    }
                    shape.append(Int(v))
                case .symbol(let name):
                    let setting = symbolAlias[name] ?? (axis == 0 ? "batch" : name)
                    if symbols[setting] == nil {
                        if let value = overrides.removeValue(forKey: setting) {
                            guard case .int(let v) = value, v >= 1 else {
                                throw NNFlopsError("\(setting) must be a positive integer, got \(value)")
                            }
                            symbols[setting] = v
                        } else if setting == "batch" {
                            symbols[setting] = 1
                        } else {
                            missing.append(setting)
                            symbols[setting] = 0
                        }
                    }
                    symbolOrder.append(setting)
                    symbolAlias[name] = setting
                    shape.append(symbols[setting, default: 0])  // set just above when it was absent
                case .unknown:
                    throw NNFlopsError("\(file): dimension \(axis) of input '\(input.name)' has neither a size nor a name",
                                       notes: ["export with a fixed input size, or name the dimension (dynamic_axes)"])
                }
            }
            resolved.append((input, type, shape))
        }
        if !missing.isEmpty {
            let unique = missing.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            throw NNFlopsError("\(file) has symbolic dimensions with no value: \(unique.joined(separator: ", "))",
                               notes: ["set them with " + unique.map { "--set \($0)=N" }.joined(separator: " ")])
        }
        if let unused = overrides.keys.sorted().first {
            let known = symbolOrder.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            let hint = closestMatch(to: unused, in: known).map { " (did you mean '\($0)'?)" } ?? ""
            throw NNFlopsError("--set \(unused): the model has no symbolic dimension '\(unused)'\(hint); "
                               + (known.isEmpty ? "its input shapes are fixed" : "its symbolic dimensions: " + known.joined(separator: ", ")))
        }
        for (input, inputType, shape) in resolved {
            let element = ONNXElementType(rawValue: inputType.elementType)
            guard let dtype = element?.dtype else {
                throw NNFlopsError("\(file): input '\(input.name)' has element type \(ONNXElementType.name(of: inputType.elementType)), which nnflops has no tensors of")
            }
            let type = TensorType(shape, dtype)
            guard type.rank <= Self.maxRank else { throw NNFlopsError("\(file): input '\(input.name)' has rank \(type.rank)") }
            do {
                let ref = try builder.addInput(name: input.name, type: type, location: SourceLocation(file: file, line: 0, column: 0))
                values[input.name] = .tensor(ref)
            } catch {
                throw NNFlopsError("\(file): \(error.message)")
            }
        }
    }

    var symbolOrder: [String] = []
    var symbolAlias: [String: String] = [:]

    func settingsInOrder() -> [(name: String, value: Value)] {
        var seen: Set<String> = []
        return symbolOrder.compactMap { name in
            guard seen.insert(name).inserted, let v = symbols[name] else { return nil }
            return (name, .int(v))
        }
    }

    /// Kahn's algorithm, taking ready nodes in file order: exporters mostly write nodes
    /// in order, which this keeps; a value read before any node writes it is an error,
    /// and so is a cycle.
    mutating func sortNodes() throws {
        let graph = model.graph
        var producer: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                guard producer[output] == nil, values[output] == nil else {
                    throw NNFlopsError("\(file): value '\(output)' is written twice (node \(index) '\(node.name)')")
                }
                producer[output] = index
            }
        }
        var pending = [Int](repeating: 0, count: graph.nodes.count)
        var readers: [Int: [Int]] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for input in Set(node.inputs) where !input.isEmpty {
                if let source = producer[input] {
                    pending[index] += 1
                    readers[source, default: []].append(index)
                } else if values[input] == nil {
                    throw NNFlopsError("\(file): node \(index) '\(node.name)' (\(node.opType)) reads '\(input)', which no node, input or initializer defines")
                }
            }
        }
        var ready = ReadyNodes(graph.nodes.indices.filter { pending[$0] == 0 })
        var order: [Int] = []
        order.reserveCapacity(graph.nodes.count)
        while let index = ready.popMin() {
            order.append(index)
            for reader in readers[index] ?? [] {
                pending[reader] -= 1
                if pending[reader] == 0 { ready.insert(reader) }
            }
        }
        guard order.count == graph.nodes.count else {
            guard let stuck = graph.nodes.indices.first(where: { pending[$0] > 0 }) else { throw NNFlopsError("\(file): the graph has a cycle") }
            throw NNFlopsError("\(file): the graph has a cycle through node \(stuck) '\(graph.nodes[stuck].name)' (\(graph.nodes[stuck].opType))")
        }
        nodes = order.map { ($0, graph.nodes[$0]) }
        for (position, entry) in nodes.enumerated() {
            for input in entry.node.inputs where !input.isEmpty { consumers[input, default: []].append(position) }
        }
        graphOutputNames = Set(graph.outputs.map(\.name))
    }

    mutating func markOutputs() throws {
        for output in model.graph.outputs {
            guard let value = values[output.name] else {
                throw NNFlopsError("\(file): graph output '\(output.name)' is not computed by any node")
            }
            if case .tensor(let ref) = value, !builder.graph.outputs.contains(ref.id) { builder.graph.outputs.append(ref.id) }
        }
        if builder.graph.nodes.isEmpty { throw NNFlopsError("\(file): the graph has no operators that nnflops counts") }
        if builder.graph.outputs.isEmpty, let last = builder.graph.nodes.last { builder.graph.outputs = last.outputs }
    }

    /// Compares a computed shape with the one the file states (when it states a full one).
    func checkDeclaredShape(of name: String) throws {
        guard let declared = declaredShapes[name], let value = values[name] else { return }
        let shape: [Int]
        switch value {
        case .tensor(let ref): shape = ref.type.shape
        case .constant(let constant): shape = constant.shape
        }
        var expected: [Int] = []
        for dim in declared {
            switch dim {
            case .value(let v): expected.append(Int(truncatingIfNeeded: v))
            case .symbol(let s):
                guard let setting = symbolAlias[s], let v = symbols[setting] else { return }
                expected.append(v)
            case .unknown: return
            }
        }
        guard expected == shape else {
            throw failure("computes '\(name)' of shape \(shapeText(shape)), but the file states \(shapeText(expected))")
        }
    }

    // MARK: - Messages

    var node: ONNXNodeProto { nodes[current].node }

    /// An error about the node being imported, naming it.
    func failure(_ message: String, notes: [String] = []) -> NNFlopsError {
        let entry = nodes[current]
        let name = entry.node.name.isEmpty ? "" : " '\(entry.node.name)'"
        let domain = isDefaultDomain(entry.node) ? "" : "\(entry.node.domain)."
        return NNFlopsError("\(file): node \(entry.index)\(name) (\(domain)\(entry.node.opType), opset \(opset)): \(message)", notes: notes)
    }

    /// The node's op type has no mapping.
    func unsupported(_ why: String? = nil) -> NNFlopsError {
        failure(why ?? "nnflops has no mapping for op type '\(node.opType)'",
                notes: ["supported op types: " + ONNXGraphImporter.supportedOpTypes.joined(separator: ", ")])
    }
}

/// A binary min-heap of node indices (the topological sort's ready set).
private struct ReadyNodes {
    private var items: [Int] = []

    init(_ values: [Int]) {
        for v in values { insert(v) }
    }

    mutating func insert(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child] < items[parent] else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < items.count, items[left] < items[smallest] { smallest = left }
                if right < items.count, items[right] < items[smallest] { smallest = right }
                guard smallest != parent else { break }
                items.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first
    }
}
