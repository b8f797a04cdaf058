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
    /// The one namespace: what each name names. One table, so that a new node's name, each
    /// of its blocks and each of its parameters is one hash for both the checks and the
    /// registration (three tables took ten hashes for a convolution in a block, a third of
    /// its elaboration).
    private var names: [String: NameEntry] = [:]

    /// What one name is: the first node of that name (a module called several times has
    /// several), a parameter's id, and, as a block (a dotted prefix of node names,
    /// `layer1.0` of `layer1.0.conv1`), the number of distinct node names under it. An
    /// entry naming nothing is removed.
    struct NameEntry {
        var node = -1
        var parameter = -1
        var blockCount = 0
        var isEmpty: Bool { node < 0 && parameter < 0 && blockCount == 0 }
    }

    /// Parameters by full name (`layer1.0.conv1.weight`).
    public var parameterIndex: [String: Int] {
        var index: [String: Int] = [:]
        for (name, entry) in names where entry.parameter >= 0 { index[name] = entry.parameter }
        return index
    }

    /// The parameter named `name` (`layer1.0.conv1.weight`), to resolve ties by name.
    public func parameterID(named name: String) -> Int? {
        guard let id = names[name]?.parameter, id >= 0 else { return nil }
        return id
    }

    /// The first node named `name`.
    func nodeID(named name: String) -> Int? {
        guard let id = names[name]?.node, id >= 0 else { return nil }
        return id
    }

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
        try bind(type, signature: OperatorCatalog.signature(of: type), values: values, labels: labels, reservedLabels: reservedLabels)
    }

    /// `bind` to `signature`, `OperatorCatalog.signature(of: type)`, which the caller has
    /// already (the elaborator keeps its last operator's).
    static func bind(_ type: any Operator.Type, signature: [ArgumentSpec], values: [Value], labels: [String?],
                     reservedLabels: [String]) throws(Failure) -> Binding {
        let kind = type.kind
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
        // The name's first node, found and (for a new name) claimed with its blocks and
        // parameters, one hash each; a node refused below gives its claims back, so a
        // failure leaves the builder as it was.
        let newID = graph.nodes.count
        let calledBefore = try claimName(name, for: newID)
        var claims = Claims(name: calledBefore == nil ? name : nil)
        let outputs: [TensorType]
        var parameterIDs: [Int] = []
        do throws(Failure) {
            if let first = calledBefore {
                try Self.checkCalledAgain(graph.nodes[first], by: op, sources: sources)
            } else {
                try claimBlocks(of: name, &claims)
                try claimParameters(name, specs, sources, &claims)
            }
            // Check everything before changing the graph, so a failure leaves it as it was.
            var nextParameter = graph.parameters.count
            for (index, spec) in specs.enumerated() {
                try Self.validate(TensorType(spec.shape), what: "parameter '\(spec.name)' of \(kind)")
                if case .tied(let id)? = sources.isEmpty ? nil : sources[index] {
                    guard graph.parameters.indices.contains(id) else { throw Failure("internal: no parameter \(id) to tie to") }
                    let existing = graph.parameters[id]
                    guard existing.elements == spec.elements else {
                        throw Failure("\(kind) needs \(spec.name) of shape \(TensorType(spec.shape)) but the tied parameter '\(existing.name)' has shape \(TensorType(existing.shape))")
                    }
                    parameterIDs.append(id)
                } else {
                    parameterIDs.append(nextParameter)
                    nextParameter += 1
                }
            }
            // An operator's outputs are computed by its getter: read them once.
            outputs = op.outputs
            for output in outputs {
                try Self.validate(output, what: "the output of \(kind)")
            }
        } catch {
            release(claims, specs, sources)
            throw error
        }
        if calledBefore != nil { graph.nodeNamesAreUnique = false }
        for (index, spec) in specs.enumerated() {
            switch sources.isEmpty ? .new : sources[index] {
            case .tied(let id):
                graph.parameters[id].uses += 1
            case .new:
                // Registered under its name by claimParameters.
                graph.parameters.append(Parameter(name: spec.qualifiedName(under: name), shape: spec.shape, frozen: frozen, uses: 1))
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

    /// What a node being added has claimed in the namespace, to give back if it is refused.
    /// Counts, not names: the names are found again on the (rare) way back, so that the
    /// claims cost no allocation.
    struct Claims {
        /// The node's own name, when new.
        var name: String?
        /// Its first `blocks` blocks (longest first) and first `parameters` new parameters.
        var blocks = 0
        var parameters = 0
    }

    /// The first node named `name`, or nil for a new name, which is then claimed for
    /// node `node`: one hash for the lookup, the check and the insertion. A new name must
    /// not be a parameter's, nor lie under one (checked for each block by claimBlocks).
    private mutating func claimName(_ name: String, for node: Int) throws(Failure) -> Int? {
        let (first, parameter) = withEntry(name) { entry in
            if entry.node < 0 && entry.parameter < 0 { entry.node = node }
            return (entry.node, entry.parameter)
        }
        if first == node { return nil }
        if first < 0 { throw lyingUnderParameter(name, parameter) }
        return first
    }

    /// Counts a new node name in each of its blocks (its dotted prefixes, longest first),
    /// none of which may be a parameter.
    private mutating func claimBlocks(of name: String, _ claims: inout Claims) throws(Failure) {
        for block in Self.dottedPrefixes(of: name) {
            let parameter = withEntry(block) { entry in
                if entry.parameter < 0 { entry.blockCount += 1 }
                return entry.parameter
            }
            if parameter >= 0 { throw lyingUnderParameter(name, parameter) }
            claims.blocks += 1
        }
    }

    /// A new node name that is a parameter's or lies under one (a tensor has no children).
    private func lyingUnderParameter(_ name: String, _ parameter: Int) -> Failure {
        Failure("'\(name)' would lie under the parameter '\(graph.parameters[parameter].name)'; operators, blocks and parameters share one namespace")
    }

    /// Runs `body` on the entry of `name`, a new empty one if there is none: one hash for
    /// the lookup, the check and the change. `body` must leave a new entry naming
    /// something, or the table keeps an empty one (updateName removes those).
    private mutating func withEntry<R>(_ name: String, _ body: (inout NameEntry) -> R) -> R {
        body(&names[name, default: NameEntry()])
    }

    /// Registers the new parameters of node `name` under their full names, which must
    /// name nothing else (parameters are leaves; a bare learned tensor's name is its node's
    /// own, which must not be a block).
    private mutating func claimParameters(_ name: String, _ specs: [ParameterSpec], _ sources: [ParameterSource],
                                          _ claims: inout Claims) throws(Failure) {
        var id = graph.parameters.count
        for (index, spec) in specs.enumerated() where sources.isEmpty || sources[index] == .new {
            let qualified = spec.qualifiedName(under: name)
            let bare = qualified == name
            let taken = withEntry(qualified) { entry in
                let was = entry
                // The node's own entry holds the node: only a bare tensor's name is it.
                if entry.parameter < 0 && entry.blockCount == 0 && (bare || entry.node < 0) { entry.parameter = id }
                return was
            }
            if taken.parameter >= 0 { throw Failure("two parameters are named '\(qualified)'") }
            if !bare, taken.node >= 0 || taken.blockCount > 0 {
                throw Failure("the parameter '\(qualified)' would have the name of an operator or block; operators, blocks and parameters share one namespace")
            }
            if bare, taken.blockCount > 0 {
                throw Failure("the learned tensor '\(name)' would have the name of a block; operators, blocks and parameters share one namespace")
            }
            claims.parameters += 1
            id += 1
        }
    }

    /// Gives back what a refused node claimed.
    private mutating func release(_ claims: Claims, _ specs: [ParameterSpec], _ sources: [ParameterSource]) {
        guard let name = claims.name else { return }
        let new = specs.indices.filter { sources.isEmpty || sources[$0] == .new }
        for index in new.prefix(claims.parameters) { updateName(specs[index].qualifiedName(under: name)) { $0.parameter = -1 } }
        for block in Self.dottedPrefixes(of: name).prefix(claims.blocks) { updateName(block) { $0.blockCount -= 1 } }
        updateName(name) { $0.node = -1 }
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

    /// `a.b.c`'s proper dotted prefixes, longest first (`a.b`, `a`), found by byte ('.' is
    /// ASCII, so a UTF-8 search finds exactly the Character search's dots, without its
    /// grapheme breaking, and every prefix before a dot is whole UTF-8).
    static func dottedPrefixes(of name: String) -> [String] {
        // Through the contiguous bytes: searching the Substring.UTF8View and making a String
        // of each slice cost 2,500 instructions a name (README, "Speed").
        var name = name
        return name.withUTF8 { utf8 in
            var prefixes: [String] = []
            var end = utf8.count
            while end > 0 {
                end -= 1
                if utf8[end] == UInt8(ascii: ".") {
                    prefixes.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[..<end]), as: UTF8.self))
                }
            }
            return prefixes
        }
    }

    /// Renames a node (front ends that settle names after building, such as importers);
    /// its parameters named after it follow.
    public mutating func renameNode(_ index: Int, to newName: String) throws(Failure) {
        let oldName = graph.nodes[index].name
        guard newName != oldName else { return }
        guard nodeID(named: newName) == nil, parameterID(named: newName) == nil else {
            throw Failure("two operators are named '\(newName)'")
        }
        guard nodeID(named: oldName) == index, !graph.nodes.indices.contains(where: { $0 != index && graph.nodes[$0].name == oldName }) else {
            throw Failure("internal: '\(oldName)' is a module called several times and cannot be renamed")
        }
        updateName(oldName) { $0.node = -1 }
        names[newName, default: NameEntry()].node = index
        for block in Self.dottedPrefixes(of: oldName) { updateName(block) { $0.blockCount -= 1 } }
        for block in Self.dottedPrefixes(of: newName) { names[block, default: NameEntry()].blockCount += 1 }
        graph.nodes[index].name = newName
        for id in graph.nodes[index].parameterIDs {
            let full = graph.parameters[id].name
            // Only a parameter this node created carries its name; a tied one keeps its owner's.
            guard parameterID(named: full) == id else { continue }
            let renamed: String
            if full == oldName {
                renamed = newName                        // a bare learned tensor
            } else if full.hasPrefix(oldName + "."), !full.dropFirst(oldName.count + 1).contains(".") {
                renamed = newName + "." + full.dropFirst(oldName.count + 1)
            } else {
                continue
            }
            updateName(full) { $0.parameter = -1 }
            names[renamed, default: NameEntry()].parameter = id
            graph.parameters[id].name = renamed
        }
    }

    /// Changes the entry of `name`, removing it when it then names nothing.
    private mutating func updateName(_ name: String, _ change: (inout NameEntry) -> Void) {
        guard var entry = names[name] else { return }
        change(&entry)
        names[name] = entry.isEmpty ? nil : entry
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
