/// What the operator mappings share: reading a node's attributes and inputs, adding
/// catalog operators through the `GraphBuilder`, turning learned constants into
/// parameters, and naming layers after the exporter's names.
extension ONNXGraphImporter {
    // MARK: - Attributes

    func attribute(_ name: String) -> ONNXAttributeProto? { node.attribute(name) }

    /// Integer attributes (sizes, axes, flags) beyond this are taken as corrupt, which
    /// keeps every size computation far from overflowing.
    static let maxAttributeMagnitude: Int64 = 1 << 40

    func int(_ name: String, default value: Int) throws -> Int {
        guard let a = attribute(name) else { return value }
        guard let i = a.int else { throw failure("attribute '\(name)' must be an integer") }
        guard abs(i) <= Self.maxAttributeMagnitude else { throw failure("attribute '\(name)' = \(i) is out of range") }
        return Int(i)
    }

    func float(_ name: String, default value: Double) throws -> Double {
        guard let a = attribute(name) else { return value }
        if let f = a.float { return Double(decimal: f) }
        if let i = a.int { return Double(i) }
        throw failure("attribute '\(name)' must be a number")
    }

    func string(_ name: String, default value: String) throws -> String {
        guard let a = attribute(name) else { return value }
        guard let s = a.string else { throw failure("attribute '\(name)' must be a string") }
        return s
    }

    /// An INTS attribute, or nil when absent.
    func ints(_ name: String) throws -> [Int]? {
        guard let a = attribute(name) else { return nil }
        let values = a.ints.isEmpty ? (a.int.map { [$0] } ?? []) : a.ints
        guard values.count <= Self.maxRank * 2, values.allSatisfy({ abs($0) <= Self.maxAttributeMagnitude }) else {
            throw failure("attribute '\(name)' = \(values.prefix(8)) is out of range")
        }
        return values.map { Int($0) }
    }

    // MARK: - Inputs

    /// Input `index`, or nil when it is absent (past the end or named "").
    func input(_ index: Int) throws -> ONNXValue? {
        guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
        guard let value = values[node.inputs[index]] else {
            throw failure("input '\(node.inputs[index])' is not defined")
        }
        return value
    }

    func requiredInput(_ index: Int) throws -> ONNXValue {
        guard let value = try input(index) else { throw failure("input \(index) is missing") }
        return value
    }

    /// Input `index` as a constant, or nil when it is an activation or absent.
    func constantInput(_ index: Int) throws -> StaticTensor? {
        if case .constant(let c)? = try input(index) { return c }
        return nil
    }

    /// Input `index` as integers known at import time (a shape, axes, starts...).
    func staticInts(_ index: Int, _ what: String) throws -> [Int]? {
        guard let value = try input(index) else { return nil }
        guard case .constant(let c) = value else {
            throw failure("\(what) (input \(index)) is computed from the model's inputs at run time; nnflops needs it at import time")
        }
        guard let ints = c.ints else {
            throw failure("\(what) (input \(index)) depends on values nnflops does not read or compute (\(c.elements) elements of \(c.element.name))")
        }
        return ints
    }

    /// A number known at import time (a ratio, a bound), or nil when absent.
    func staticNumber(_ index: Int, _ what: String) throws -> Double? {
        guard let value = try input(index) else { return nil }
        guard case .constant(let c) = value, let v = c.scalar else {
            throw failure("\(what) (input \(index)) must be a single constant value")
        }
        return v
    }

    /// Input `index` as a tensor of the graph: an activation, or a learned constant turned
    /// into a `parameter` node. Other constants cannot be a tensor of the graph.
    mutating func tensorInput(_ index: Int) throws -> TensorRef {
        switch try requiredInput(index) {
        case .tensor(let ref): return ref
        case .constant(let c): return try materialize(c, what: "input \(index)")
        }
    }

    /// A learned constant (an initializer) as a tensor of the graph: a `parameter` node
    /// (catalog `parameter`), made once per initializer and shape.
    mutating func materialize(_ constant: StaticTensor, what: String) throws -> TensorRef {
        guard constant.isLearned, let source = constant.source else {
            throw failure("\(what) is a constant tensor of shape \(shapeText(constant.shape)) (not a learned initializer); nnflops has no operator for a constant tensor operand here")
        }
        let key = source.name + shapeText(constant.shape)
        if let ref = materialized[key] { return ref }
        let ref = try add("parameter", ["shape": .list(constant.shape.map(Value.int))], weights: [source],
                          hint: NameHint(weight: source.name, parameterNode: true))[0]
        materialized[key] = ref
        return ref
    }

    /// The stored tensor behind a weight operand (a convolution's kernel, a bias, a
    /// batchnorm's scale): it counts as one parameter however many operators use it.
    func weightSource(_ index: Int, _ what: String) throws -> (source: WeightSource, shape: [Int])? {
        guard let value = try input(index) else { return nil }
        guard case .constant(let c) = value else {
            throw failure("the \(what) (input \(index)) is computed at run time; nnflops maps only stored weights there")
        }
        guard let source = c.source else {
            throw failure("the \(what) (input \(index)) is computed from other constants; nnflops maps only stored weights there")
        }
        return (source, c.shape)
    }

    // MARK: - Adding catalog operators

    /// Adds catalog operator `kind` with named arguments; `weights` are the sources of its
    /// parameters, in the operator's order (a source registered before is tied).
    @discardableResult
    mutating func add(_ kind: String, _ arguments: KeyValuePairs<String, Value>, weights: [WeightSource?] = [],
                      hint: NameHint? = nil) throws -> [TensorRef] {
        guard let type = OperatorCatalog.lookup(kind) else { throw failure("internal: no catalog operator '\(kind)'") }
        let entry = nodes[current]
        do {
            let binding = try GraphBuilder.bind(type, arguments)
            let op = try GraphBuilder.makeOperator(type, binding)
            // A layer is named after the weights it introduces, not those it shares.
            let introduced = weights.lazy.compactMap { $0 }.first { self.parameterOfSource[$0.name] == nil }
            var sources: [GraphBuilder.ParameterSource] = []
            for index in op.parameters.indices {
                if index < weights.count, let source = weights[index], let id = parameterOfSource[source.name] {
                    sources.append(.tied(id))
                } else {
                    sources.append(.new)
                }
            }
            let provisional = "#\(builder.graph.nodes.count)"
            let outputs = try builder.addNode(op, arguments: binding.arguments, name: provisional, parameters: sources,
                                              location: SourceLocation(file: file, line: entry.index + 1, column: 1))
            let added = builder.graph.nodes[builder.graph.nodes.count - 1]
            for (index, id) in added.parameterIDs.enumerated() where index < weights.count {
                if let source = weights[index], parameterOfSource[source.name] == nil { parameterOfSource[source.name] = id }
            }
            var naming = hint ?? NameHint()
            if naming.weight == nil { naming.weight = introduced?.name }
            naming.node = entry.node.name
            naming.opType = entry.node.opType
            naming.index = entry.index
            nameHints.append(naming)
            return outputs
        } catch {
            throw failure("\(error.message)", notes: error.notes)
        }
    }

    /// The node's outputs (by position) take these values.
    mutating func define(_ outputs: [ONNXValue]) throws {
        for (index, value) in outputs.enumerated() where index < node.outputs.count && !node.outputs[index].isEmpty {
            values[node.outputs[index]] = value
        }
    }

    mutating func define(_ value: ONNXValue) throws { try define([value]) }

    /// Throws when an optional output the mapping does not produce is read by the graph.
    func requireUnused(outputsFrom index: Int, _ what: String) throws {
        for output in node.outputs.dropFirst(index) where !output.isEmpty {
            if consumers[output] != nil || graphOutputNames.contains(output) {
                throw failure("its output '\(output)' (\(what)) is used, which nnflops does not model")
            }
        }
    }

    /// The nodes that read value `name` (positions in `nodes`), and whether it is a graph output.
    func readers(of name: String) -> (nodes: [Int], isGraphOutput: Bool) {
        (consumers[name] ?? [], graphOutputNames.contains(name))
    }

    // MARK: - Constants

    mutating func importConstant(_ node: ONNXNodeProto) throws {
        guard let output = node.outputs.first, !output.isEmpty else { throw failure("a Constant with no output") }
        let source = WeightSource(name: output, isLearned: false)
        guard let a = node.attributes.first else { throw failure("a Constant with no value") }
        let constant: StaticTensor
        switch a.name {
        case "value":
            guard let tensor = a.tensor else { throw failure("attribute 'value' is not a tensor") }
            constant = try StaticTensor(tensor, source: source, file: file)
        case "value_float":
            guard let f = a.float else { throw failure("attribute 'value_float' is not a float") }
            constant = StaticTensor(shape: [], element: .float, values: .floats([Double(decimal: f)]), source: source)
        case "value_floats":
            constant = StaticTensor(shape: [a.floats.count], element: .float, values: StaticTensor.holds(a.floats.count) ? .floats(a.floats.map { Double(decimal: $0) }) : nil, source: source)
        case "value_int":
            guard let i = a.int else { throw failure("attribute 'value_int' is not an integer") }
            constant = StaticTensor(shape: [], element: .int64, values: .ints([Int(truncatingIfNeeded: i)]), source: source)
        case "value_ints":
            constant = StaticTensor(shape: [a.ints.count], element: .int64, values: StaticTensor.holds(a.ints.count) ? .ints(a.ints.map { Int(truncatingIfNeeded: $0) }) : nil, source: source)
        default:
            throw failure("a Constant with attribute '\(a.name)' (sparse or string constants are not supported)")
        }
        values[output] = .constant(constant)
    }

    // MARK: - Names

    /// Settles every node's name once all are known: the exporter's parameter name when
    /// it is a PyTorch one (`layer1.0.conv1.weight` -> `layer1.0.conv1`), else its module
    /// path (`/layer1/layer1.0/conv1/Conv` -> `layer1.0.conv1`, with the op appended
    /// when the module holds several operators), else the node name, else the op type
    /// and node index.
    mutating func settleNames() throws {
        var scopeCounts: [String: Int] = [:]
        let parsed = nameHints.map { hint -> (weight: String?, scope: (path: String, leaf: String)?) in
            (hint.weight.flatMap { Self.layerName(fromParameter: $0, parameterNode: hint.parameterNode) },
             Self.modulePath(hint.node))
        }
        for (index, entry) in parsed.enumerated() where entry.weight == nil && nameHints[index].role == nil {
            if let scope = entry.scope { scopeCounts[scope.path, default: 0] += 1 }
        }
        var taken: Set<String> = []
        for (index, hint) in nameHints.enumerated() {
            var base: String
            if let weight = parsed[index].weight {
                base = weight
            } else if let scope = parsed[index].scope {
                if scope.path.isEmpty { base = scope.leaf }
                else if scopeCounts[scope.path] == 1 { base = scope.path }
                else { base = scope.path + "." + scope.leaf }
            } else if !hint.node.isEmpty {
                base = hint.node
            } else {
                base = hint.opType.lowercased() + "_\(hint.index)"
            }
            if let role = hint.role { base += "_" + role }
            var name = base
            var suffix = 1
            while !taken.insert(name).inserted {
                name = "\(base)_\(suffix)"
                suffix += 1
            }
            do throws(GraphBuilder.Failure) {
                try builder.renameNode(index, to: name)
            } catch {
                throw NNFlopsError("\(file): \(error.message)")
            }
        }
    }

    /// The layer a PyTorch parameter name belongs to, or nil for exporter-made names
    /// (`onnx::Conv_193`, `/Constant_output_0`).
    static func layerName(fromParameter name: String, parameterNode: Bool) -> String? {
        guard !name.isEmpty, !name.contains("::"), !name.hasPrefix("/"), !name.contains(" ") else { return nil }
        if parameterNode { return name }
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        let last = parts.removeLast()
        // torchvision's Swin keeps its position-bias table under the attention module.
        if ["weight", "bias", "running_mean", "running_var", "scale", "relative_position_bias_table"].contains(last) {
            return parts.joined(separator: ".")
        }
        // torch's packed attention projection: in_proj_weight / in_proj_bias.
        for suffix in ["_weight", "_bias"] where last.hasSuffix(suffix) && last.count > suffix.count {
            return (parts + [String(last.dropLast(suffix.count))]).joined(separator: ".")
        }
        return nil
    }

    /// A TorchScript exporter node name (`/features/features.0/block/block.1/Conv`) as the
    /// module path (`features.0.block.1`) and the op (`conv`). Each scope component is a
    /// module's name within its parent, written with the parent's own name in front when
    /// the parent is a container (`features` holds `features.0`).
    static func modulePath(_ name: String) -> (path: String, leaf: String)? {
        guard name.hasPrefix("/") else { return nil }
        let parts = name.split(separator: "/").map(String.init)
        guard let leaf = parts.last else { return nil }
        var segments: [String] = []
        var previous = ""
        for part in parts.dropLast() {
            if !previous.isEmpty, part.hasPrefix(previous + "."), !segments.isEmpty {
                segments[segments.count - 1] = part
            } else {
                segments.append(part)
            }
            previous = part
        }
        return (segments.joined(separator: "."), leaf.lowercased())
    }
}

/// What a graph node is named after (settled by `settleNames`).
struct NameHint: Sendable {
    /// The name of a weight it uses (an initializer).
    var weight: String?
    /// A `parameter` node named after the tensor itself.
    var parameterNode = false
    /// A helper the mapping adds around the operator (a reshape, a transpose), named
    /// after it with this suffix.
    var role: String?
    var node = ""
    var opType = ""
    var index = 0
}

extension Double {
    /// A float32 value as the decimal it was written as (0.3f is 0.30000001192092896 in
    /// binary; its shortest decimal form is 0.3): ONNX stores attributes and constants in
    /// float32, the catalog takes doubles.
    init(decimal value: Float) {
        self = value.isFinite ? Double(value.description) ?? Double(value) : Double(value)
    }
}
