#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes a `Graph` back as spec source (`nnflops import`): a header of comments, the
/// model's name, its params, its inputs, one assignment per node calling the node's
/// catalog operator with the arguments it was built with (`Node.call`; defaults left
/// out), `name = "..."` with the node's name, `tie = "..."` where a node reuses the
/// parameters of an earlier one, `freeze` for frozen parameters, its budgets, and
/// `output`. Elaborating the text gives the same operators, names, parameters and
/// tensors in the same order, so every analysis gives the same figures (README, "Reading
/// ONNX files": `nnflops import`).
///
/// A graph holds sizes, not the expressions that made them. Sizes become expressions of
/// the integer settings (`param batch = 1`, `input x: [batch, 3, 224, 224]`,
/// `reshape(x, [batch, 512])`) when `probes`, the same model built at other values of
/// those settings, show every size to be a whole multiple of a product of powers of
/// them (`c * batch`, `c * seq * seq`) and the graphs to be otherwise the same.
/// Otherwise the shapes are those of `graph` and the spec has no params; its header says
/// so.
enum SpecPrinter {
    /// The same model built at other values of its integer settings.
    public struct Probe: Sendable {
        public var settings: [String: Int]
        public var graph: Graph
        public init(settings: [String: Int], graph: Graph) {
            self.settings = settings
            self.graph = graph
        }
    }

    /// The settings to build probes at for a graph whose integer settings are `settings`:
    /// each doubled alone (to find its power in every size), then all at once at other
    /// multiples (to check the fit).
    public static func probeSettings(for settings: [(name: String, value: Value)]) -> [[String: Int]] {
        let symbols = settings.compactMap { entry -> (String, Int)? in
            if case .int(let v) = entry.value, v >= 1 { (entry.name, v) } else { nil }
        }
        guard !symbols.isEmpty else { return [] }
        let base = Dictionary(uniqueKeysWithValues: symbols)
        var probes: [[String: Int]] = symbols.map { name, value in base.merging([name: 2 * value]) { $1 } }
        let multiples = [3, 5, 7, 11, 13, 17, 19, 23]
        probes.append(Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1.0, $1.1 * multiples[$0 % multiples.count]) }))
        return probes
    }

    /// The spec text of `graph`. `header` lines become comments at the top. Throws when
    /// the graph cannot be written as a spec (a node without a call record, parameters
    /// shared in a way `tie =` does not express, a value the language has no literal for).
    public static func source(of graph: Graph, probes: [Probe] = [], header: [String] = []) throws -> String {
        var printer = Printer(graph: graph)
        return try printer.write(probes: probes, header: header)
    }
}

// MARK: - Sizes as expressions of the settings

/// Where an integer sits in a graph: an input's dimension, or an element of a node's
/// argument (its index in signature order, and the position among the integers of that
/// argument's value, depth first).
private enum SizeSlot: Hashable {
    case input(Int, axis: Int)
    case argument(node: Int, argument: Int, position: Int)
}

/// The integers of a graph in a fixed order, and everything else about it as text, so
/// two builds of one model compare: the same skeleton and different integers are the
/// same model at other sizes.
private struct SizeWalk {
    var slots: [SizeSlot] = []
    var values: [Int] = []
    var skeleton: [String] = []

    init(_ graph: Graph) {
        for (index, input) in graph.inputs.enumerated() {
            let type = graph.tensors[input.tensor]
            skeleton.append("input \(input.name) \(type.rank) \(type.dtype.rawValue)")
            for (axis, size) in type.shape.enumerated() { record(.input(index, axis: axis), size) }
        }
        for (index, node) in graph.nodes.enumerated() {
            skeleton.append("node \(node.name) \(node.kind) \(node.inputs) \(node.outputs) \(node.parameterIDs)")
            guard let call = node.call else { skeleton.append("no call"); continue }
            for (argument, entry) in call.arguments.enumerated() {
                skeleton.append(entry.name)
                var position = 0
                visit(entry.value, node: index, argument: argument, position: &position)
            }
        }
        skeleton.append("outputs \(graph.outputs)")
        skeleton.append("parameters " + graph.parameters.map { "\($0.name) \($0.frozen)" }.joined(separator: ","))
    }

    mutating func record(_ slot: SizeSlot, _ value: Int) {
        slots.append(slot)
        values.append(value)
    }

    mutating func visit(_ value: Value, node: Int, argument: Int, position: inout Int) {
        switch value {
        case .int(let v):
            skeleton.append("i")
            record(.argument(node: node, argument: argument, position: position), v)
            position += 1
        case .list(let items):
            skeleton.append("[\(items.count)")
            for item in items { visit(item, node: node, argument: argument, position: &position) }
        case .tensor(let t): skeleton.append("t\(t.id)")
        default: skeleton.append(value.description)
        }
    }
}

/// A size as `coefficient * s1^e1 * s2^e2 ...` of the settings.
private struct Monomial {
    var coefficient: Int
    var exponents: [Int]

    func value(at settings: [Int]) -> Int? {
        var result = coefficient
        for (base, exponent) in zip(settings, exponents) {
            for _ in 0..<exponent {
                let (product, overflow) = result.multipliedReportingOverflow(by: base)
                guard !overflow else { return nil }
                result = product
            }
        }
        return result
    }

    func text(_ names: [String]) -> String {
        let factors = zip(names, exponents).flatMap { name, exponent in Array(repeating: name, count: exponent) }
        guard !factors.isEmpty else { return String(coefficient) }
        switch coefficient {
        case 1: return factors.joined(separator: " * ")
        case -1: return "-" + factors.joined(separator: " * ")
        default: return ([String(coefficient)] + factors).joined(separator: " * ")
        }
    }
}

/// Sizes written as monomials of the integer settings, or why they cannot be.
private enum SizeFit {
    case symbolic(expressions: [SizeSlot: String], symbols: [(String, Int)])
    case fixed(reason: String?)
}

/// Fits every integer of `graph` as a monomial of its integer settings from `probes`.
private func fitSizes(_ graph: Graph, probes: [SpecPrinter.Probe]) -> SizeFit {
    let symbols = graph.settings.compactMap { entry -> (String, Int)? in
        if case .int(let v) = entry.value, v >= 1 { (entry.name, v) } else { nil }
    }
    guard !symbols.isEmpty, !probes.isEmpty else { return .fixed(reason: nil) }
    let names = symbols.map(\.0), base = symbols.map(\.1)
    let walk = SizeWalk(graph)
    var samples: [(settings: [Int], values: [Int])] = []
    for probe in probes {
        guard Set(probe.settings.keys) == Set(names) else { return .fixed(reason: nil) }
        let other = SizeWalk(probe.graph)
        guard other.skeleton == walk.skeleton, other.values.count == walk.values.count else {
            let at = zip(walk.skeleton, other.skeleton).first { $0 != $1 }.map { " (\($0.0) against \($0.1))" } ?? ""
            return .fixed(reason: "at other sizes the graph has other operators or arguments\(at)")
        }
        let settings = names.compactMap { probe.settings[$0] }
        guard settings.count == names.count else { return .fixed(reason: nil) }
        samples.append((settings, other.values))
    }
    // The probe that changes setting i alone, by a whole factor, finds its exponents.
    var finders: [(factor: Int, values: [Int])] = []
    for i in names.indices {
        guard let sample = samples.first(where: { s in
            s.settings.indices.allSatisfy { $0 == i ? s.settings[$0] != base[$0] : s.settings[$0] == base[$0] }
        }), sample.settings[i] % base[i] == 0, sample.settings[i] / base[i] >= 2 else { return .fixed(reason: nil) }
        finders.append((sample.settings[i] / base[i], sample.values))
    }
    func describe(_ slot: SizeSlot) -> String {
        switch slot {
        case .input(let i, let axis): "dimension \(axis) of input '\(graph.inputs[i].name)'"
        case .argument(let node, let argument, _):
            "argument '\(graph.nodes[node].call?.arguments[argument].name ?? "?")' of '\(graph.nodes[node].name)'"
        }
    }
    var expressions: [SizeSlot: String] = [:]
    for (index, slot) in walk.slots.enumerated() {
        let value = walk.values[index]
        if samples.allSatisfy({ $0.values[index] == value }) { continue }
        let observed = "\(value) at " + zip(names, base).map { "\($0) = \($1)" }.joined(separator: ", ") + "; "
            + samples.map { sample in "\(sample.values[index]) at " + zip(names, sample.settings).map { "\($0) = \($1)" }.joined(separator: ", ") }.joined(separator: "; ")
        let failure = SizeFit.fixed(reason: "\(describe(slot)) is \(observed), not a multiple of a product of powers of the params")
        guard value != 0 else { return failure }
        var exponents: [Int] = []
        for finder in finders {
            // value * factor^e is the probe's value, for one e in 0...4.
            var scaled = value, exponent = 0
            while scaled != finder.values[index] && exponent < 4 {
                let (next, overflow) = scaled.multipliedReportingOverflow(by: finder.factor)
                guard !overflow else { return failure }
                scaled = next
                exponent += 1
            }
            guard scaled == finder.values[index] else { return failure }
            exponents.append(exponent)
        }
        var divisor = 1
        for (b, e) in zip(base, exponents) { for _ in 0..<e { divisor *= b } }
        guard value % divisor == 0 else { return failure }
        let monomial = Monomial(coefficient: value / divisor, exponents: exponents)
        guard samples.allSatisfy({ monomial.value(at: $0.settings) == $0.values[index] }) else { return failure }
        expressions[slot] = monomial.text(names)
    }
    return .symbolic(expressions: expressions, symbols: symbols)
}

// MARK: - Writing

private struct Printer {
    let graph: Graph
    var lines: [String] = []
    /// The variable holding each tensor.
    var variables: [Int: String] = [:]
    /// Words a variable may not be: keywords, operators, built-ins, params.
    var reserved: Set<String> = []
    /// The tensor each variable holds now, and the last node that reads each tensor: a
    /// variable is reused once nothing reads its value any more, so names stay short.
    var holder: [String: Int] = [:]
    var lastRead: [Int] = []
    var sizes: [SizeSlot: String] = [:] {
        didSet {
            symbolicArguments = Set(sizes.keys.compactMap { slot in
                if case .argument(let node, let argument, _) = slot { ArgumentKey(node: node, argument: argument) } else { nil }
            })
        }
    }
    /// The arguments holding a size written as an expression (never left out as a default).
    var symbolicArguments: Set<ArgumentKey> = []

    struct ArgumentKey: Hashable {
        var node: Int
        var argument: Int
    }

    static let width = 100

    init(graph: Graph) { self.graph = graph }

    mutating func write(probes: [SpecPrinter.Probe], header: [String]) throws -> String {
        let fit = fitSizes(graph, probes: probes)
        var symbols: [(String, Int)] = []
        var reason: String?
        switch fit {
        case .symbolic(let expressions, let found):
            sizes = expressions
            symbols = found
        case .fixed(let why):
            reason = why
        }
        var comments = header
        let settings = graph.settings.map { "\($0.name) = \($0.value)" }.joined(separator: ", ")
        if !symbols.isEmpty {
            let names = symbols.map(\.0).joined(separator: ", ")
            // Every probe sets every symbol (fitSizes is symbolic only then), so no "?" is written.
            let checked = probes.map { probe in symbols.map { "\($0.0) = \(probe.settings[$0.0].map(String.init) ?? "?")" }.joined(separator: ", ") }
            comments.append("Sizes are written in terms of the params (\(names)); the model was also built at "
                            + checked.joined(separator: " and at ") + ", where this spec gives the same graph.")
        } else if !graph.settings.isEmpty {
            comments.append("Shapes are fixed at the settings this was written at (\(settings)): the spec has no params"
                            + (reason.map { ", because \($0)." } ?? "."))
        }
        for paragraph in comments {
            if paragraph.isEmpty { lines.append("#"); continue }
            lines.append(contentsOf: Self.wrap(paragraph.split(separator: " ").map(String.init), separator: " ", width: 88).map { "# " + $0.trimmingWhitespace() })
        }
        if !lines.isEmpty { lines.append("") }
        lines.append("model " + Self.modelName(graph.model))
        reserved.formUnion(Parser.keywords)
        reserved.formUnion(Parser.statementWords)
        reserved.formUnion(OperatorCatalog.names)
        reserved.formUnion(Builtins.names)
        lastRead = [Int](repeating: -1, count: graph.tensors.count)
        for (index, node) in graph.nodes.enumerated() {
            for tensor in node.call.map(Self.tensors(in:)) ?? node.inputs where tensor < lastRead.count { lastRead[tensor] = index }
        }
        for tensor in graph.outputs where tensor < lastRead.count { lastRead[tensor] = Int.max }
        do {
            for (name, value) in symbols {
                lines.append("param \(name) = \(value)")
                reserved.insert(name)
            }
        }
        for (index, input) in graph.inputs.enumerated() {
            let type = graph.tensors[input.tensor]
            let variable = fresh(input.name, for: input.tensor, at: -1)
            variables[input.tensor] = variable
            let dims = type.shape.enumerated().map { sizes[.input(index, axis: $0)] ?? String($1) }
            lines.append("input \(variable): [\(dims.joined(separator: ", "))]" + (type.dtype == .float32 ? "" : " \(type.dtype.rawValue)"))
        }
        lines.append("")
        let owners = parameterOwners()
        for (index, node) in graph.nodes.enumerated() {
            try writeNode(index, node, owners: owners)
        }
        let frozen = graph.parameters.filter(\.frozen).map(\.name)
        if !frozen.isEmpty {
            if let bad = frozen.first(where: { $0.contains("*") || $0.contains("?") }) {
                throw NNFlopsError("cannot write '\(graph.model)' as a spec: the frozen parameter '\(bad)' has a glob character in its name")
            }
            lines.append(contentsOf: Self.wrap(["freeze"] + frozen.enumerated().map { Self.string($1) + ($0 < frozen.count - 1 ? "," : "") }, separator: " "))
        }
        for budget in graph.budgets {
            lines.append("budget \(budget.metric.rawValue) <= \(try Self.number(budget.limit, what: "budget \(budget.metric.rawValue)"))")
        }
        let outputs = try graph.outputs.map { try variable(of: $0) }
        if !outputs.isEmpty {
            lines.append(contentsOf: Self.wrap(["output"] + outputs.enumerated().map { $1 + ($0 < outputs.count - 1 ? "," : "") }, separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The node that introduced each parameter: the first that uses it.
    func parameterOwners() -> [Int: Int] {
        var owners: [Int: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for id in node.parameterIDs where owners[id] == nil { owners[id] = index }
        }
        return owners
    }

    func unwritable(_ node: Node, _ why: String) -> NNFlopsError {
        NNFlopsError("cannot write '\(graph.model)' as a spec: node '\(node.name)' (\(node.kind)) \(why)")
    }

    mutating func writeNode(_ index: Int, _ node: Node, owners: [Int: Int]) throws {
        guard let call = node.call, let type = OperatorCatalog.lookup(call.kind) else {
            throw unwritable(node, "was rewritten after it was built, so its call is not known")
        }
        let signature = OperatorCatalog.signature(of: type)
        var arguments: [String] = []
        for (argumentIndex, entry) in call.arguments.enumerated() {
            let spec = signature.first { $0.name == entry.name }
            let symbolic = symbolicArguments.contains(ArgumentKey(node: index, argument: argumentIndex))
            var value = entry.value
            // `kernel = [3, 3]` reads as `kernel = 3` where the argument takes either.
            if case .intTuple? = spec?.kind, !symbolic, case .list(let items) = value, let first = items.first,
               case .int = first, items.allSatisfy({ Self.same($0, first) }) {
                value = first
            }
            if let spec, !spec.isRequired, !symbolic, let fallback = spec.defaultValue, Self.same(value, fallback) { continue }
            var position = 0
            let text = try render(value, node: index, argument: argumentIndex, position: &position, at: node)
            // The first two arguments, when required, are written by position, as people
            // write them: conv2d(x, 64, kernel = 3), linear(x, 10), reshape(x, [2, 5]).
            if argumentIndex < 2, spec?.isRequired == true, arguments.count == argumentIndex {
                arguments.append(text)
            } else {
                arguments.append("\(entry.name) = \(text)")
            }
        }
        arguments.append("name = " + Self.string(node.name))
        // Parameters this node introduced carry its name; the others tie it to their owner.
        let specs = node.op.parameters
        var tiedTo: Set<String> = []
        var introduced = 0
        for (slot, id) in node.parameterIDs.enumerated() where slot < specs.count {
            let parameter = graph.parameters[id]
            if owners[id] == index {
                let expected = specs[slot].qualifiedName(under: node.name)
                guard parameter.name == expected else {
                    throw unwritable(node, "has a parameter named '\(parameter.name)', not '\(expected)'")
                }
                introduced += 1
            } else {
                // A tie names the operator whose parameters these are: `owner.weight`, or
                // `owner` itself for a bare learned tensor.
                let suffix = specs[slot].name.isEmpty ? "" : "." + specs[slot].name
                guard parameter.name.hasSuffix(suffix), parameter.name.count > suffix.count, parameter.shape == specs[slot].shape else {
                    throw unwritable(node, "shares '\(parameter.name)' (shape \(TensorType(parameter.shape))) as its " +
                        "\(specs[slot].name.isEmpty ? "tensor" : specs[slot].name) of shape \(TensorType(specs[slot].shape)), which `tie =` does not express")
                }
                tiedTo.insert(String(parameter.name.dropLast(suffix.count)))
            }
        }
        if !tiedTo.isEmpty {
            guard introduced == 0, tiedTo.count == 1, let owner = tiedTo.first else {
                throw unwritable(node, "shares some of its parameters and not others (or those of several operators), which `tie =` does not express")
            }
            arguments.append("tie = " + Self.string(owner))
        }
        // Named after the last part of the node's name that is not a number.
        let parts = node.name.split(separator: ".").map(String.init)
        let tail = parts.lastIndex { $0.contains { $0.isLetter } }.map { parts[$0...].joined(separator: "_") } ?? node.name
        var results: [String] = []
        for (k, tensor) in node.outputs.enumerated() {
            results.append(fresh(node.outputs.count == 1 ? tail : tail + "_\(k)", for: tensor, at: index, also: results))
        }
        let target = results.isEmpty ? "" : results.joined(separator: ", ") + " = "
        var pieces = [target + call.kind + "("]
        for (i, argument) in arguments.enumerated() { pieces.append(argument + (i < arguments.count - 1 ? "," : ")")) }
        lines.append(contentsOf: Self.wrap(pieces, separator: " ", glueFirst: true))
    }

    /// A value as spec source: tensors by their variable, sizes as expressions.
    mutating func render(_ value: Value, node: Int, argument: Int, position: inout Int, at owner: Node) throws -> String {
        switch value {
        case .int(let v):
            defer { position += 1 }
            return sizes[.argument(node: node, argument: argument, position: position)] ?? String(v)
        case .float(let v):
            guard v.isFinite else { throw unwritable(owner, "has the argument value \(v), which the spec language has no literal for") }
            return v.description
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return Self.string(s)
        case .none: return "none"
        case .list(let items):
            var parts: [String] = []
            for item in items { parts.append(try render(item, node: node, argument: argument, position: &position, at: owner)) }
            return "[" + parts.joined(separator: ", ") + "]"
        case .tensor(let t): return try variable(of: t.id)
        }
    }

    func variable(of tensor: Int) throws -> String {
        guard let name = variables[tensor] else {
            throw NNFlopsError("cannot write '\(graph.model)' as a spec: tensor \(tensor) is read before any node or input makes it")
        }
        return name
    }

    /// A variable for `tensor`, made at node `node`, from `name`: letters, digits and `_`,
    /// not a reserved word, and not a variable whose value a later node still reads (nor
    /// one of `taken`, the node's other results).
    mutating func fresh(_ name: String, for tensor: Int, at node: Int, also taken: [String] = []) -> String {
        var base = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        while base.contains("__") { base = base.replacingAll("__", with: "_") }
        while base.hasPrefix("_") { base.removeFirst() }
        while base.hasSuffix("_") { base.removeLast() }
        if base.isEmpty { base = "t" }
        if base.first?.isNumber ?? false { base = "t" + base }  // never empty here: "t" replaced an empty base
        func free(_ candidate: String) -> Bool {
            guard !reserved.contains(candidate), !taken.contains(candidate) else { return false }
            guard let held = holder[candidate] else { return true }
            return lastRead[held] <= node
        }
        var candidate = base
        var suffix = 1
        while !free(candidate) {
            candidate = "\(base)_\(suffix)"
            suffix += 1
        }
        holder[candidate] = tensor
        variables[tensor] = candidate
        return candidate
    }

    /// The tensors a call reads, in argument order.
    static func tensors(in call: OperatorCall) -> [Int] {
        func collect(_ value: Value) -> [Int] {
            switch value {
            case .tensor(let t): [t.id]
            case .list(let items): items.flatMap(collect)
            default: []
            }
        }
        return call.arguments.flatMap { collect($0.value) }
    }

    /// Joins `pieces` with `separator` into lines of at most `width` columns; continuation
    /// lines are indented (inside brackets, which the language reads as one line).
    static func wrap(_ pieces: [String], separator: String, glueFirst: Bool = false, width: Int = width) -> [String] {
        var result: [String] = []
        var line = ""
        for (i, piece) in pieces.enumerated() {
            if line.isEmpty {
                line = (result.isEmpty ? "" : "    ") + piece
            } else if glueFirst && i == 1 {
                line += piece
            } else if line.count + separator.count + piece.count > width {
                result.append(line)
                line = "    " + piece
            } else {
                line += separator + piece
            }
        }
        if !line.isEmpty { result.append(line) }
        return result
    }

    /// A string literal, escaped as the lexer reads it.
    static func string(_ text: String) -> String {
        var out = "\""
        for c in text {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// A number as a literal: an integer when whole.
    static func number(_ value: Double, what: String) throws -> String {
        guard value.isFinite else { throw NNFlopsError("\(what) is \(value), which the spec language has no literal for") }
        if value.rounded() == value, abs(value) < 9e15 { return String(Int(value)) }
        return value.description
    }

    /// The `model` statement's name: letters, digits, `_`, `-`, `.`, starting with a letter or digit.
    static func modelName(_ name: String) -> String {
        var cleaned = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") ? $0 : "-" })
        while let first = cleaned.first, !(first.isLetter || first.isNumber) { cleaned.removeFirst() }
        return cleaned.isEmpty ? "model" : cleaned
    }

    /// Structural equality of argument values (a bound value and a default).
    static func same(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): x == y
        case (.float(let x), .float(let y)): x == y
        case (.int(let x), .float(let y)), (.float(let y), .int(let x)): Double(x) == y
        case (.bool(let x), .bool(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.none, .none): true
        case (.list(let x), .list(let y)): x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.tensor(let x), .tensor(let y)): x.id == y.id
        default: false
        }
    }
}
