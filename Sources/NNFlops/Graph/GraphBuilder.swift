/// Adds operator nodes to a `Graph`, for every front end (the spec elaborator, the model
/// importers): binds arguments to a catalog operator's signature, runs the operator's
/// initialiser (its shape rules), registers its parameters under hierarchical names (new,
/// or tied to parameters registered earlier) and appends its outputs. Front ends keep
/// their own naming, scoping and error locations; the builder reports failures as
/// `GraphBuilder.Failure`, which they turn into located `NNFlopsError`s.
///
/// Names are PyTorch's, in one namespace: operators (modules), the blocks that contain
/// them (every dotted prefix of an operator's name) and parameters (`<module>.weight`, or a
/// bare learned tensor's own name) never name two different things. A node name used
/// again is one module called again (torchvision's Bottleneck calls its `relu` three
/// times): the same kind and configuration, and the same parameters (a module with
/// parameters is called again only with all of them tied to the first call's); reports
/// then sum its calls.
struct GraphBuilder {
    /// The operator limit (README, "Limits").
    public static let maxNodes = Limits.standard.operators

    public var graph: Graph
    /// Parameters by full name (`layer1.0.conv1.weight`), to resolve ties by name.
    public private(set) var parameterIndex: [String: Int] = [:]
    /// The first node of each name (a module called several times has several).
    private var nodeNames: [String: Int] = [:]
    /// Every dotted prefix of a node name (`layer1.0` of `layer1.0.conv1`): the blocks,
    /// with the number of distinct node names under each.
    private var blockNames: [String: Int] = [:]

    public init(model: String) {
        graph = Graph(model: model)
        graph.nodeNamesAreUnique = true
    }

    /// Why a node could not be added. `argument` is the index, in the values handed to
    /// `bind`, of the argument at fault (so a front end can point at it), when one is.
    public struct Failure: Error, Sendable {
        public var message: String
        public var argument: Int?
        public var notes: [String]
        public init(_ message: String, argument: Int? = nil, notes: [String] = []) {
            self.message = message
            self.argument = argument
            self.notes = notes
        }
    }

    /// Where each parameter of a new node comes from.
    public enum ParameterSource: Sendable, Equatable {
        /// A new parameter named `<node name>.<local name>`.
        case new
        /// The graph parameter with this index, used once more (tied weights count once).
        case tied(Int)
    }

    /// Arguments matched to an operator's signature, with the index of each bound value
    /// in the caller's list (for locating errors).
    public struct Binding: Sendable {
        public var arguments: BoundArguments
        /// For each signature argument, the index of its value in the caller's list; nil
        /// for a default.
        public var argumentIndices: [Int?]

        /// The index in the caller's list of the value bound to `name`; nil for a default.
        public func argumentIndex(of name: String) -> Int? {
            for (index, spec) in arguments.signature.enumerated() where spec.name == name { return argumentIndices[index] }
            return nil
        }
    }

    // MARK: - Binding

    /// Matches positional and labelled values to `type`'s signature, fills in defaults and
    /// checks each value's kind. A value labelled with one of `reservedLabels` is skipped
    /// (the front end handles it: the elaborator's `name`, `tie`, `frozen`).
    public static func bind(_ type: any Operator.Type, values: [Value], labels: [String?],
                            reservedLabels: [String] = []) throws(Failure) -> Binding {
        let kind = type.kind
        let signature = OperatorCatalog.signature(of: type)
        var slots = [Value?](filling: nil, count: signature.count)
        var argumentIndices = [Int?](filling: nil, count: signature.count)
        var position = 0
        for (index, value) in values.enumerated() {
            let slot: Int
            if let label = index < labels.count ? labels[index] : nil {
                if reservedLabels.contains(label) { continue }
                guard let labelled = signature.firstIndex(where: { $0.name == label }) else {
                    let hint = closestMatch(to: label, in: signature.map(\.name) + reservedLabels)
                    throw Failure("\(kind) has no argument '\(label)'", argument: index,
                                  notes: (hint.map { ["did you mean '\($0)'?"] } ?? [])
                                      + ["\(kind) takes: " + signature.map(\.name).joined(separator: ", ")])
                }
                slot = labelled
            } else {
                guard position < signature.count else {
                    throw Failure("\(kind) takes at most \(signature.count) arguments (\(signature.map(\.name).joined(separator: ", ")))", argument: index)
                }
                slot = position
                position += 1
            }
            guard slots[slot] == nil else { throw Failure("argument '\(signature[slot].name)' given twice", argument: index) }
            slots[slot] = value
            argumentIndices[slot] = index
        }
        for (slot, spec) in signature.enumerated() {
            if let value = slots[slot] {
                try checkKind(value, spec, operator: kind, argument: argumentIndices[slot])
                continue
            }
            switch spec.presence {
            case .required:
                throw Failure("\(kind) needs argument '\(spec.name)'",
                              notes: ["\(kind) takes: " + signature.map { s in s.defaultValue.map { "\(s.name)=\($0)" } ?? s.name }.joined(separator: ", ")])
            case .defaulted(let value):
                slots[slot] = value
            }
        }
        return Binding(arguments: BoundArguments(slots: slots, signature: signature), argumentIndices: argumentIndices)
    }

    /// Binds named values (an importer's call): `bind` with every value labelled.
    public static func bind(_ type: any Operator.Type, _ named: KeyValuePairs<String, Value>) throws(Failure) -> Binding {
        try bind(type, values: named.map(\.value), labels: named.map(\.key))
    }

    static func checkKind(_ value: Value, _ spec: ArgumentSpec, operator kind: String, argument: Int?) throws(Failure) {
        let ok: Bool
        switch (spec.kind, value) {
        case (.tensor, .tensor), (.int, .int), (.float, .float), (.float, .int), (.bool, .bool), (.string, .string),
             (.tensorOrNumber, .tensor), (.tensorOrNumber, .int), (.tensorOrNumber, .float),
             (.intTuple, .int), (.intTuple, .list), (.intList, .list), (.intList, .int):
            ok = true
        case (.tensorList, .list(let items)):
            ok = items.allSatisfy { if case .tensor = $0 { true } else { false } }
        case (_, .none):
            ok = { if case .defaulted(.none) = spec.presence { true } else { false } }()
        default:
            ok = false
        }
        guard ok else {
            let expected: String
            switch spec.kind {
            case .tensor: expected = "a tensor"
            case .tensorList: expected = "a list of tensors"
            case .int: expected = "an integer"
            case .float: expected = "a number"
            case .bool: expected = "true or false"
            case .string: expected = "a string"
            case .intTuple(let n): expected = "an integer or a list of \(n) integers"
            case .intList: expected = "a list of integers"
            case .tensorOrNumber: expected = "a tensor or a number"
            }
            throw Failure("\(kind): argument '\(spec.name)' must be \(expected), got \(value.typeName) \(value)", argument: argument)
        }
    }

    // MARK: - Building

    /// Runs the operator's initialiser on bound arguments: its validation and shape rules.
    public static func makeOperator(_ type: any Operator.Type, _ binding: Binding) throws(Failure) -> any Operator {
        do {
            return try type.init(binding.arguments)
        } catch let failure as OperatorError {
            throw Failure("\(type.kind): \(failure.message)", argument: failure.argument.flatMap { binding.argumentIndex(of: $0) })
        } catch {
            throw Failure("\(type.kind): \(error)")
        }
    }

    /// Declares a graph input.
    public mutating func addInput(name: String, type: TensorType, location: SourceLocation) throws(Failure) -> TensorRef {
        try Self.validate(type, what: "input '\(name)'")
        let id = graph.tensors.count
        graph.tensors.append(type)
        graph.inputs.append(GraphInput(name: name, tensor: id, location: location))
        return TensorRef(id: id, type: type)
    }

    /// Appends `op` as a node named `name` reading `arguments`' tensors. `parameters`
    /// gives the source of each of `op.parameters` (all new when empty); new ones are
    /// named `<name>.<local name>` and frozen when `frozen`. The node keeps `arguments`,
    /// from which its call is read (`Node.call`), so every front end's graph can be
    /// written back as a spec. Returns the output tensors.
    public mutating func addNode(_ op: any Operator, arguments: BoundArguments, name: String, frozen: Bool = false,
                                 parameters sources: [ParameterSource] = [], location: SourceLocation) throws(Failure) -> [TensorRef] {
        let kind = type(of: op).kind
        guard graph.nodes.count < Self.maxNodes else {
            throw Failure("the model has more than \(Units.grouped(Self.maxNodes)) operators (the operator limit)")
        }
        let specs = op.parameters
        guard sources.isEmpty || sources.count == specs.count else {
            throw Failure("internal: \(specs.count) parameters of \(kind) but \(sources.count) sources")
        }
        // The name's first node, found and (for a new name) claimed in one hash; a node
        // refused below gives its claim back, so a failure leaves the builder as it was.
        let calledBefore = claimName(name, for: graph.nodes.count)
        // A new name's blocks, found once for the namespace check and the block counts.
        let prefixes = calledBefore == nil ? Self.dottedPrefixes(of: name) : []
        let outputs: [TensorType]
        do throws(Failure) {
            if let first = calledBefore {
                try Self.checkCalledAgain(graph.nodes[first], by: op, sources: sources)
            } else {
                try checkNamespace(name, prefixes: prefixes, parameters: specs, sources: sources)
            }
            // Check everything before changing the graph, so a failure leaves it as it was.
            for (index, spec) in specs.enumerated() {
                try Self.validate(TensorType(spec.shape), what: "parameter '\(spec.name)' of \(kind)")
                if case .tied(let id)? = sources.isEmpty ? nil : sources[index] {
                    guard graph.parameters.indices.contains(id) else { throw Failure("internal: no parameter \(id) to tie to") }
                    let existing = graph.parameters[id]
                    guard existing.elements == spec.elements else {
                        throw Failure("\(kind) needs \(spec.name) of shape \(TensorType(spec.shape)) but the tied parameter '\(existing.name)' has shape \(TensorType(existing.shape))")
                    }
                }
            }
            // An operator's outputs are computed by its getter: read them once.
            outputs = op.outputs
            for output in outputs {
                try Self.validate(output, what: "the output of \(kind)")
            }
        } catch {
            if calledBefore == nil { nodeNames[name] = nil }
            throw error
        }
        if calledBefore == nil {
            countBlocks(prefixes, by: 1)
        } else {
            graph.nodeNamesAreUnique = false
        }
        var parameterIDs: [Int] = []
        for (index, spec) in specs.enumerated() {
            switch sources.isEmpty ? .new : sources[index] {
            case .tied(let id):
                graph.parameters[id].uses += 1
                parameterIDs.append(id)
            case .new:
                let qualified = spec.qualifiedName(under: name)
                parameterIndex[qualified] = graph.parameters.count
                parameterIDs.append(graph.parameters.count)
                graph.parameters.append(Parameter(name: qualified, shape: spec.shape, frozen: frozen, uses: 1))
            }
        }
        var results: [TensorRef] = []
        results.reserveCapacity(outputs.count)
        for output in outputs {
            let id = graph.tensors.count
            graph.tensors.append(output)
            results.append(TensorRef(id: id, type: output))
        }
        graph.nodes.append(Node(name: name, op: op, inputs: arguments.tensorInputs.map(\.id), outputs: results.map(\.id),
                                parameterIDs: parameterIDs, location: location, arguments: arguments))
        return results
    }

    /// The first node named `name`, or nil for a new name, which is then claimed for
    /// node `node` (one hash for the lookup and the insertion).
    private mutating func claimName(_ name: String, for node: Int) -> Int? {
        func first(_ slot: inout Int) -> Int? { slot == node ? nil : slot }
        return first(&nodeNames[name, default: node])
    }

    /// A node named like an earlier one is that module called again: the same kind,
    /// configuration (`detail`) and parameters, every parameter tied to the first call's.
    static func checkCalledAgain(_ first: Node, by op: any Operator, sources: [ParameterSource]) throws(Failure) {
        let kind = type(of: op).kind, name = first.name
        guard first.kind == kind, first.op.detail == op.detail, first.op.parameters == op.parameters else {
            let was = ([first.kind] + (first.op.detail.isEmpty ? [] : [first.op.detail])).joined(separator: " ")
            let now = ([kind] + (op.detail.isEmpty ? [] : [op.detail])).joined(separator: " ")
            throw Failure("name '\(name)' is already used by another operator (\(was)); a name used again calls the same module, and \(now) is not it")
        }
        guard sources == first.parameterIDs.map(ParameterSource.tied) else {
            throw Failure("name '\(name)' is already used by a module with parameters; calling the same module again needs tie = \"\(name)\" (its parameters are then shared and count once)")
        }
    }

    /// A new node name and the new parameters it brings must not name anything else:
    /// parameters are leaves, so no node lies under one, and a bare tensor's name (the node's
    /// own) must not be a block.
    /// `prefixes`: the name's dotted prefixes (`dottedPrefixes(of: name)`).
    func checkNamespace(_ name: String, prefixes: [String], parameters specs: [ParameterSpec], sources: [ParameterSource]) throws(Failure) {
        func underParameter(_ prefix: String) throws(Failure) {
            if let id = parameterIndex[prefix] {
                throw Failure("'\(name)' would lie under the parameter '\(graph.parameters[id].name)'; operators, blocks and parameters share one namespace")
            }
        }
        try underParameter(name)
        for prefix in prefixes { try underParameter(prefix) }
        for (index, spec) in specs.enumerated() where sources.isEmpty || sources[index] == .new {
            let qualified = spec.qualifiedName(under: name)
            if parameterIndex[qualified] != nil { throw Failure("two parameters are named '\(qualified)'") }
            if qualified != name, nodeNames[qualified] != nil || blockNames[qualified] != nil {
                throw Failure("the parameter '\(qualified)' would have the name of an operator or block; operators, blocks and parameters share one namespace")
            }
            if qualified == name, blockNames[name] != nil {
                throw Failure("the learned tensor '\(name)' would have the name of a block; operators, blocks and parameters share one namespace")
            }
        }
    }

    /// Adds `delta` to the count of each block in `prefixes` (a node name's dotted
    /// prefixes), in place (one hash a block for a new node); a block whose count falls
    /// to 0 is gone.
    private mutating func countBlocks(_ prefixes: [String], by delta: Int) {
        for prefix in prefixes {
            blockNames[prefix, default: 0] += delta
            if delta < 0, let count = blockNames[prefix], count <= 0 { blockNames[prefix] = nil }
        }
    }

    /// `a.b.c`'s proper dotted prefixes, longest first (`a.b`, `a`), found by byte ('.' is
    /// ASCII, so a UTF-8 search finds exactly the Character search's dots, without its
    /// grapheme breaking).
    static func dottedPrefixes(of name: String) -> [String] {
        // Through the contiguous bytes: the UTF8View's iterator cost 300 instructions on a
        // short name without a dot, twice per operator.
        let dot = UInt8(ascii: ".")
        guard name.utf8.withContiguousStorageIfAvailable({ $0.contains(dot) }) ?? name.utf8.contains(dot) else { return [] }
        var prefixes: [String] = []
        var utf8 = name.utf8[...]
        while let dot = utf8.lastIndex(of: UInt8(ascii: ".")) {
            utf8 = utf8[..<dot]
            if let prefix = String(utf8) { prefixes.append(prefix) }
        }
        return prefixes
    }

    /// Renames a node (front ends that settle names after building, such as importers);
    /// its parameters named after it follow.
    public mutating func renameNode(_ index: Int, to newName: String) throws(Failure) {
        let oldName = graph.nodes[index].name
        guard newName != oldName else { return }
        guard nodeNames[newName] == nil, parameterIndex[newName] == nil else {
            throw Failure("two operators are named '\(newName)'")
        }
        guard nodeNames[oldName] == index, !graph.nodes.indices.contains(where: { $0 != index && graph.nodes[$0].name == oldName }) else {
            throw Failure("internal: '\(oldName)' is a module called several times and cannot be renamed")
        }
        nodeNames[oldName] = nil
        nodeNames[newName] = index
        countBlocks(Self.dottedPrefixes(of: oldName), by: -1)
        countBlocks(Self.dottedPrefixes(of: newName), by: 1)
        graph.nodes[index].name = newName
        for id in graph.nodes[index].parameterIDs {
            let full = graph.parameters[id].name
            // Only a parameter this node created carries its name; a tied one keeps its owner's.
            guard parameterIndex[full] == id else { continue }
            let renamed: String
            if full == oldName {
                renamed = newName                        // a bare learned tensor
            } else if full.hasPrefix(oldName + "."), !full.dropFirst(oldName.count + 1).contains(".") {
                renamed = newName + "." + full.dropFirst(oldName.count + 1)
            } else {
                continue
            }
            parameterIndex[full] = nil
            parameterIndex[renamed] = id
            graph.parameters[id].name = renamed
        }
    }

    /// Every tensor must have positive dimensions, at most `Limits.tensorRank` of them, and
    /// at most `Limits.tensorBytes` bytes.
    /// `what` is only built for the message: every node's outputs and parameters are
    /// checked, and formatting it each time is an interpolated String per tensor.
    public static func validate(_ type: TensorType, what: @autoclosure () -> String) throws(Failure) {
        let limits = Limits.standard
        if type.rank > limits.tensorRank {
            throw Failure("\(what()) has \(Units.grouped(type.rank)) dimensions, more than \(limits.tensorRank) (the tensor-rank limit)")
        }
        if let bad = type.shape.firstIndex(where: { $0 <= 0 }) {
            throw Failure("\(what()) has shape \(type), with dimension \(bad) = \(type.shape[bad]); dimensions must be positive")
        }
        // Leave headroom: FLOP counts multiply element counts by small factors.
        if type.bytes.overflowed || type.bytes.value > limits.tensorBytes {
            throw Failure("\(what()) has shape \(type): its size overflows 64-bit counts (the tensor-size limit is 2^56 bytes, 64 PiB)")
        }
    }
}
