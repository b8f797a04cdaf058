#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a parsed spec — params, inputs, blocks, loops, conditionals, operator calls — and
/// builds the `Graph` through a `GraphBuilder`. All errors are `NNFlopsError`s located in
/// the spec.
public struct Elaborator {
    let file: String
    /// What this elaboration may do (README, "Limits").
    let limits: Limits
    /// The room left on the elaboration thread's stack.
    let stack: StackGuard
    let lines: SourceLines
    var builder: GraphBuilder
    var graph: Graph {
        get { builder.graph }
        _modify { yield &builder.graph }
    }
    var blocks: [String: (parameters: [BlockParameter], body: [Statement], location: SourceLocation)] = [:]
    var globals: [String: Value] = [:]
    var overrides: [String: Value]
    /// How the user set each override, for messages: `--batch 8` (default `--set NAME`).
    var overrideFlags: [String: String]
    var usedOverrides: Set<String> = []
    /// Names of the params declared so far (`graph.settings`, as a set).
    var paramNames: Set<String> = []
    /// Tensor ids already among the graph's outputs.
    var outputIDs: Set<Int> = []
    var scopes: [Scope] = [Scope(prefix: "")]
    /// The scope statements run in. The stack is never empty: it starts with the top
    /// level, and a block pops only the scope it pushed.
    var innermost: Scope { scopes[scopes.count - 1] }
    var callDepth = 0
    var blockCalls = 0
    var iterations = 0
    var steps = 0
    var frozenDepth = 0
    var freezePatterns: [(pattern: String, location: SourceLocation)] = []
    var sawModel = false
    /// Operator and block names are fixed before any statement runs (`run`), so a name
    /// found to be neither stays so: the last name assigned, and the last callee found
    /// to be a catalog operator (neither a builtin nor a block) with its type. A loop
    /// (`repeat n: x = relu(x)`) then checks its name and looks its operator and its
    /// signature up once, not six String lookups an iteration.
    var lastAssignableName: String?
    var lastOperatorCallee: (name: String, type: any Operator.Type, signature: [ArgumentSpec])?

    struct Scope {
        /// The dotted path of the block instance, with a trailing dot (`layer1.0.`; empty
        /// at top level): an operator's full name is the prefix and its own name, one
        /// concatenation (joining the path cost 2,000 instructions an operator).
        var prefix: String
        var variables: [String: Value] = [:]
        /// The names used in this scope, each true when it was given explicitly to an
        /// operator: such a name may be given again to call the same module again
        /// (GraphBuilder checks that it is the same). One table, so a name is claimed
        /// and checked in one hash.
        var usedNames: [String: Bool] = [:]
        /// Next suffix to try for each automatic base name, so naming stays O(1) per call.
        var nextSuffix: [String: Int] = [:]
        var isBlock: Bool { !prefix.isEmpty }
    }

    /// Control flow out of a block body.
    enum Flow {
        case normal
        case returned(Value)
    }

    /// Parses and elaborates `source`. `overrides` replace `param` defaults (`--set`).
    public static func elaborate(source: String, file: String, overrides: [String: Value] = [:],
                                 limits: Limits = .standard) throws -> Graph {
        let lines = SourceLines(source)
        return try elaborate(program: try Parser.parse(lines: lines, file: file, limits: limits), lines: lines, file: file,
                             overrides: overrides, limits: limits)
    }

    /// Elaborates an already parsed spec (`lines` are its source, for error carets), so a
    /// model elaborated at many batches is parsed once. `overrideFlags` says how the user
    /// set an override when it was not `--set NAME=VALUE` (`["batch": "--batch 8"]`), so
    /// that an error names the flag the user typed.
    static func elaborate(program: [Statement], lines: SourceLines, file: String, overrides: [String: Value] = [:],
                                 overrideFlags: [String: String] = [:], limits: Limits = .standard) throws -> Graph {
        // On a thread with a stack as deep as the limits let a spec recurse (`StackGuard`).
        try StackGuard.run { stack in
            var elaborator = Elaborator(file: file, lines: lines, overrides: overrides, overrideFlags: overrideFlags,
                                        limits: limits, stack: stack)
            return try elaborator.run(program)
        }
    }

    init(file: String, lines: SourceLines, overrides: [String: Value], overrideFlags: [String: String] = [:],
         limits: Limits = .standard, stack: StackGuard = .unchecked) {
        self.file = file
        self.lines = lines
        self.limits = limits
        self.stack = stack
        self.overrides = overrides
        self.overrideFlags = overrideFlags
        let stem = PathText.lastComponent(of: file)
        self.builder = GraphBuilder(model: stem.hasSuffix(".spec") ? String(stem.dropLast(5)) : stem)
    }

    func error(_ message: String, at location: SourceLocation, notes: [String] = []) -> NNFlopsError {
        NNFlopsError(message, at: location, sourceLine: lines.text(ofLine: location.line), notes: notes)
    }

    mutating func run(_ program: [Statement]) throws -> Graph {
        // Blocks are visible everywhere in the file, whatever their position.
        for statement in program {
            if case .block(let name, let parameters, let body, let location) = statement {
                if blocks[name] != nil { throw error("block '\(name)' is defined twice", at: location) }
                if OperatorCatalog.lookup(name) != nil || Builtins.nameSet.contains(name) {
                    throw error("block '\(name)' has the name of a built-in operator or function", at: location)
                }
                var seen: Set<String> = []
                for parameter in parameters where !seen.insert(parameter.name).inserted {
                    throw error("parameter '\(parameter.name)' appears twice", at: parameter.location)
                }
                blocks[name] = (parameters, body, location)
            }
        }
        if case .returned = try execute(program) {
            // `return` at top level is rejected in execute; unreachable.
        }
        if let unused = overrides.keys.sorted().first(where: { !usedOverrides.contains($0) }) {
            let declared = graph.settings.map(\.name)
            let hint = closestMatch(to: unused, in: declared).map { " (did you mean '\($0)'?)" } ?? ""
            let list = declared.isEmpty ? "the spec declares no params" : "declared params: " + declared.joined(separator: ", ")
            throw NNFlopsError("\(flag(unused)): the spec has no param '\(unused)'\(hint); \(list)")
        }
        if graph.nodes.isEmpty { throw NNFlopsError("the spec defines no operators", at: SourceLocation(file: file, line: 1, column: 1)) }
        if graph.outputs.isEmpty, let last = graph.nodes.last { graph.outputs = last.outputs }
        try applyFreezePatterns()
        return graph
    }

    /// The flag that set override `name`, as the user typed it.
    func flag(_ name: String) -> String { overrideFlags[name] ?? "--set \(name)" }

    // MARK: - Limits

    /// Counts `count` elaboration steps (README, "Limits"), before the work they stand for.
    mutating func step(_ count: Int = 1, at location: SourceLocation) throws {
        steps += count
        if steps > limits.steps {
            throw error("the spec takes more than \(Units.grouped(limits.steps)) elaboration steps (the step limit): "
                        + "it is too large or does not terminate", at: location)
        }
    }

    /// How deeply lists nest in `value` (0 for a scalar); each item visited is a step.
    mutating func listDepth(_ value: Value, at location: SourceLocation) throws -> Int {
        guard case .list(let items) = value else { return 0 }
        try step(items.count, at: location)
        var depth = 0
        for item in items { depth = max(depth, try listDepth(item, at: location)) }
        return depth + 1
    }

    /// A list of `count` items may be made.
    func checkList(_ count: Int, at location: SourceLocation) throws {
        guard count <= limits.listItems else {
            throw error("list too large: \(Units.grouped(count)) items, more than the limit of \(Units.grouped(limits.listItems))", at: location)
        }
    }

    /// A string of `bytes` UTF-8 bytes may be made.
    func checkString(_ bytes: Int, at location: SourceLocation) throws {
        guard bytes <= limits.stringBytes else {
            throw error("string too large: \(Units.grouped(bytes)) bytes, more than the limit of \(Units.grouped(limits.stringBytes))", at: location)
        }
    }

    // MARK: - Statements

    mutating func execute(_ statements: [Statement]) throws -> Flow {
        for statement in statements {
            try step(at: statement.location)
            if case .returned(let value) = try execute(statement) { return .returned(value) }
        }
        return .normal
    }

    mutating func execute(_ statement: Statement) throws -> Flow {
        switch statement {
        case .model(let name, let location):
            if innermost.isBlock { throw error("'model' is only allowed at top level", at: location) }
            if sawModel { throw error("the model is named twice", at: location) }
            sawModel = true
            graph.model = name
        case .param(let name, let expression, let location):
            if innermost.isBlock { throw error("'param' is only allowed at top level", at: location) }
            if paramNames.contains(name) { throw error("param '\(name)' is declared twice", at: location) }
            var value = try evaluate(expression)
            if let override = overrides[name] {
                usedOverrides.insert(name)
                value = try coerce(override, like: value, name: name, at: location)
            }
            graph.settings.append((name, value))
            paramNames.insert(name)
            globals[name] = value
        case .input(let name, let shapeExpressions, let dtypeName, let location):
            if innermost.isBlock { throw error("'input' is only allowed at top level", at: location) }
            var shape: [Int] = []
            for expression in shapeExpressions {
                let value = try evaluate(expression)
                guard case .int(let dim) = value else {
                    throw error("input dimension must be an integer, got \(value.typeName) \(value)", at: expression.location)
                }
                shape.append(dim)
            }
            let dtype = dtypeName.flatMap(DType.init(spelling:)) ?? .float32
            let input = try located(at: location) { (builder: inout GraphBuilder) throws(GraphBuilder.Failure) in
                try builder.addInput(name: name, type: TensorType(shape, dtype), location: location)
            }
            globals[name] = .tensor(input)
        case .block:
            if innermost.isBlock, case .block(_, _, _, let location) = statement {
                throw error("blocks must be defined at top level", at: location)
            }
        case .assign(let targets, let expression, let location):
            let value = try evaluate(expression)
            if targets.count == 1 {
                try assign(targets[0], value, at: location)
            } else {
                guard case .list(let items) = value, items.count == targets.count else {
                    throw error("cannot unpack \(value.typeName) into \(targets.count) names", at: location)
                }
                for (target, item) in zip(targets, items) { try assign(target, item, at: location) }
            }
        case .expression(let expression, _):
            _ = try evaluate(expression)
        case .returnValue(let expression, let location):
            guard innermost.isBlock else { throw error("'return' outside a block", at: location) }
            return .returned(try expression.map { try evaluate($0) } ?? .none)
        case .repeatLoop(let countExpression, let variable, let body, let location):
            let countValue = try evaluate(countExpression)
            guard case .int(let count) = countValue else {
                throw error("repeat count must be an integer, got \(countValue.typeName)", at: countExpression.location)
            }
            guard count >= 0 else { throw error("repeat count must not be negative, got \(count)", at: countExpression.location) }
            try reserveIterations(count, at: countExpression.location)
            for i in 0..<count {
                if let variable { try assign(variable, .int(i), at: location) }
                if case .returned(let value) = try execute(body) {
                    iterations -= count - i - 1
                    return .returned(value)
                }
            }
        case .forLoop(let variable, let sequenceExpression, let body, let location):
            let sequence = try evaluate(sequenceExpression)
            guard case .list(let items) = sequence else {
                throw error("'for' needs a list (use range(n)), got \(sequence.typeName)", at: sequenceExpression.location)
            }
            try reserveIterations(items.count, at: sequenceExpression.location)
            for (i, item) in items.enumerated() {
                try assign(variable, item, at: location)
                if case .returned(let value) = try execute(body) {
                    iterations -= items.count - i - 1
                    return .returned(value)
                }
            }
        case .ifStatement(let branches, let otherwise, _):
            for branch in branches where try truth(branch.condition) {
                return try execute(branch.body)
            }
            if let otherwise { return try execute(otherwise) }
        case .output(let expressions, let location):
            if innermost.isBlock { throw error("'output' is only allowed at top level", at: location) }
            for expression in expressions {
                let value = try evaluate(expression)
                for tensor in try tensors(in: value, at: expression.location) where outputIDs.insert(tensor.id).inserted {
                    graph.outputs.append(tensor.id)
                }
            }
        case .budget(let name, let limitExpression, let location):
            let names = BudgetMetric.allCases.map(\.rawValue)
            guard let metric = BudgetMetric(rawValue: name) else {
                let hint = closestMatch(to: name, in: names).map { "did you mean '\($0)'?" }
                throw error("unknown budget metric '\(name)'", at: location,
                            notes: (hint.map { [$0] } ?? []) + ["known metrics: " + names.joined(separator: ", ")])
            }
            // A suffixed literal keeps its unit: `budget peak_memory <= 1B` (a billion) is
            // a count where a byte size belongs (README, "Numbers and units").
            for literal in limitExpression.quantityLiterals {
                if let reason = literal.quantity.mismatch(for: metric.unit.quantity) {
                    throw error("budget \(name) is \(metric.unit.quantity.noun): \(reason)", at: literal.location)
                }
            }
            let value = try evaluate(limitExpression)
            let limit: Double
            switch value {
            case .int(let v): limit = Double(v)
            case .float(let v): limit = v
            default: throw error("budget limit must be a number, got \(value.typeName)", at: limitExpression.location)
            }
            guard limit > 0 else { throw error("budget limit must be positive", at: limitExpression.location) }
            graph.budgets.append(Budget(metric: metric, limit: limit, location: location))
        case .freeze(let expressions, _):
            for expression in expressions {
                let value = try evaluate(expression)
                guard case .string(let pattern) = value else {
                    throw error("freeze takes name patterns as strings, e.g. freeze \"encoder.*\"", at: expression.location)
                }
                freezePatterns.append((pattern, expression.location))
            }
        case .pass:
            break
        }
        return .normal
    }

    /// A loop of `count` iterations may run: checked before its first, so that
    /// `repeat 10**12` fails at once.
    mutating func reserveIterations(_ count: Int, at location: SourceLocation) throws {
        guard count <= limits.loopIterations - iterations else {
            throw error("a loop of \(Units.grouped(count)) iterations would take the spec past \(Units.grouped(limits.loopIterations)) "
                        + "loop iterations (the iteration limit)" + (iterations > 0 ? "; \(Units.grouped(iterations)) have run" : ""),
                        at: location)
        }
        iterations += count
    }

    mutating func assign(_ name: String, _ value: Value, at location: SourceLocation) throws {
        if name != lastAssignableName {
            if OperatorCatalog.lookup(name) != nil || blocks[name] != nil {
                throw error("'\(name)' is an operator or block name and cannot be assigned", at: location)
            }
            lastAssignableName = name
        }
        if scopes.count == 1 {
            if paramNames.contains(name) {
                throw error("'\(name)' is a param; params cannot be reassigned", at: location)
            }
            globals[name] = value
        } else {
            scopes[scopes.count - 1].variables[name] = value
        }
    }

    func lookupVariable(_ name: String) -> Value? {
        if scopes.count > 1, let value = innermost.variables[name] { return value }
        return globals[name]
    }

    var visibleNames: [String] {
        Array(globals.keys) + (scopes.count > 1 ? Array(innermost.variables.keys) : [])
    }

    func coerce(_ override: Value, like value: Value, name: String, at location: SourceLocation) throws -> Value {
        switch (override, value) {
        case (.int(let v), .float): return .float(Double(v))
        case (.int, .int), (.float, .float), (.bool, .bool), (.string, .string): return override
        default:
            throw NNFlopsError("\(flag(name)): expected \(value.typeName) (the default is \(value)), got \(override.typeName) \(override)")
        }
    }

    // MARK: - Expressions

    mutating func truth(_ expression: Expression) throws -> Bool {
        let value = try evaluate(expression)
        guard case .bool(let b) = value else {
            throw error("condition must be true or false, got \(value.typeName) \(value)", at: expression.location)
        }
        return b
    }

    mutating func evaluate(_ expression: Expression) throws -> Value {
        guard stack.hasRoom() else {
            throw error("the spec nests too deeply for the elaborator's stack: expressions nested inside deeply recursive block calls",
                        at: expression.location)
        }
        switch expression {
        case .integer(let v, _): return .int(v)
        case .float(let v, _): return .float(v)
        case .quantity(let q, _): return q.integerValue.map(Value.int) ?? .float(q.value)
        case .string(let s, _): return .string(s)
        case .boolean(let b, _): return .bool(b)
        case .none: return .none
        case .name(let name, let location):
            if let value = lookupVariable(name) { return value }
            var notes: [String] = []
            if let suggestion = closestMatch(to: name, in: visibleNames) { notes.append("did you mean '\(suggestion)'?") }
            if OperatorCatalog.lookup(name) != nil || blocks[name] != nil { notes.append("'\(name)' is an operator or block: call it with (...)") }
            throw error("unknown name '\(name)'", at: location, notes: notes)
        case .list(let items, let location):
            try checkList(items.count, at: location)
            let values = try items.map { try evaluate($0) }
            // Only a literal nests lists: bounding its depth here bounds every walk of a
            // value (comparison, printing, freeing) to the same depth.
            var depth = 0
            for value in values { depth = max(depth, try listDepth(value, at: location)) }
            guard depth < limits.nesting else {
                throw error("lists nested more than \(limits.nesting) levels deep (the nesting limit)", at: location)
            }
            return .list(values)
        case .unary(let op, let operand, let location):
            let value = try evaluate(operand)
            switch (op, value) {
            case ("not", .bool(let b)): return .bool(!b)
            case ("-", .int(let v)):
                guard v != Int.min else { throw error("integer overflow", at: location) }
                return .int(-v)
            case ("-", .float(let v)): return .float(-v)
            case ("+", .int), ("+", .float): return value
            case ("-", .tensor(let t)):
                return try callOperator("mul", arguments: [.tensor(t), .float(-1)], labels: [nil, nil], at: location)
            default: throw error("'\(op)' cannot be applied to \(value.typeName)", at: location)
            }
        case .binary(let op, let leftExpression, let rightExpression, let location):
            if op == "and" || op == "or" {
                let left = try truth(leftExpression)
                if op == "and" && !left { return .bool(false) }
                if op == "or" && left { return .bool(true) }
                return .bool(try truth(rightExpression))
            }
            let left = try evaluate(leftExpression)
            let right = try evaluate(rightExpression)
            return try binary(op, left, right, at: location)
        case .chain(let first, let links, _):
            if let op = links.first?.op, op == "and" || op == "or" {
                // One level, one operator; short-circuits as `and` / `or` do.
                let decisive = op == "or"
                if try truth(first) == decisive { return .bool(decisive) }
                for link in links where try truth(link.operand) == decisive { return .bool(decisive) }
                return .bool(!decisive)
            }
            var value = try evaluate(first)
            for link in links { value = try binary(link.op, value, try evaluate(link.operand), at: link.location) }
            return value
        case .conditional(let condition, let then, let otherwise, _):
            return try truth(condition) ? evaluate(then) : evaluate(otherwise)
        case .index(let baseExpression, let indexExpression, let location):
            let base = try evaluate(baseExpression)
            let index = try evaluate(indexExpression)
            guard case .list(let items) = base else {
                if case .tensor = base {
                    throw error("tensors cannot be indexed; use select(x, dim, index) or slice(x, dim, start, end)", at: location)
                }
                throw error("cannot index \(base.typeName)", at: location)
            }
            guard case .int(let i) = index else { throw error("list index must be an integer, got \(index.typeName)", at: indexExpression.location) }
            let normalized = i < 0 ? i + items.count : i
            guard normalized >= 0 && normalized < items.count else {
                throw error("index \(i) out of range for a list of \(items.count)", at: indexExpression.location)
            }
            return items[normalized]
        case .attribute(let baseExpression, let name, let location):
            let base = try evaluate(baseExpression)
            guard case .tensor(let t) = base else { throw error("\(base.typeName) has no attribute '\(name)'", at: location) }
            switch name {
            case "shape": return .list(t.type.shape.map(Value.int))
            case "rank", "ndim": return .int(t.type.rank)
            case "dtype": return .string(t.type.dtype.rawValue)
            default:
                let hint = closestMatch(to: name, in: ["shape", "rank", "ndim", "dtype"]).map { ["did you mean '\($0)'?"] } ?? []
                throw error("tensors have no attribute '\(name)'", at: location, notes: hint)
            }
        case .call(let callee, let arguments, let location):
            return try call(callee, arguments, at: location)
        }
    }

    mutating func binary(_ op: String, _ left: Value, _ right: Value, at location: SourceLocation) throws -> Value {
        switch (left, right) {
        case (.int(let a), .int(let b)):
            return try integerArithmetic(op, a, b, at: location)
        case (.int, .float), (.float, .int), (.float, .float):
            guard let a = left.asDouble, let b = right.asDouble else { throw error("'\(op)' needs numbers", at: location) }
            switch op {
            case "+": return try finite(a + b, op, at: location)
            case "-": return try finite(a - b, op, at: location)
            case "*": return try finite(a * b, op, at: location)
            case "/", "//", "%":
                guard b != 0 else { throw error("division by zero", at: location) }
                return try finite(op == "/" ? a / b : op == "//" ? (a / b).rounded(.down) : a - b * (a / b).rounded(.down), op, at: location)
            case "**": return try finite(pow(a, b), op, at: location)
            case "==": return .bool(a == b)
            case "!=": return .bool(a != b)
            case "<": return .bool(a < b)
            case "<=": return .bool(a <= b)
            case ">": return .bool(a > b)
            case ">=": return .bool(a >= b)
            default: break
            }
        case (.bool(let a), .bool(let b)) where op == "==" || op == "!=":
            return .bool(op == "==" ? a == b : a != b)
        case (.string(let a), .string(let b)):
            switch op {
            case "==", "!=":
                try step(min(a.utf8.count, b.utf8.count), at: location)
                return .bool((a == b) == (op == "=="))
            case "+":
                let bytes = a.utf8.count + b.utf8.count
                try checkString(bytes, at: location)
                try step(bytes, at: location)
                return .string(a + b)
            default: break
            }
        case (.list(let a), .list(let b)):
            switch op {
            case "+":
                try checkList(a.count + b.count, at: location)
                try step(a.count + b.count, at: location)
                return .list(a + b)
            case "==", "!=":
                return .bool(try equal(left, right, at: location) == (op == "=="))
            default: break
            }
        case (.none, _), (_, .none):
            if op == "==" || op == "!=" {
                let equal: Bool = { if case .none = left, case .none = right { return true } else { return false } }()
                return .bool(op == "==" ? equal : !equal)
            }
        case (.tensor, .tensor), (.tensor, .int), (.tensor, .float), (.int, .tensor), (.float, .tensor):
            let operatorName: String? = ["+": "add", "-": "sub", "*": "mul", "/": "div"][op]
            guard let operatorName else { break }
            // number op tensor: keep the tensor first for commutative ops.
            if case .tensor = right, !(left.isTensor) {
                if op == "+" || op == "*" {
                    return try callOperator(operatorName, arguments: [right, left], labels: [nil, nil], at: location)
                }
                throw error("'\(op)' with a number on the left of a tensor is not supported; rewrite it (e.g. x * -1 + 1)", at: location)
            }
            return try callOperator(operatorName, arguments: [left, right], labels: [nil, nil], at: location)
        default:
            break
        }
        throw error("'\(op)' cannot be applied to \(left.typeName) and \(right.typeName)", at: location)
    }

    /// A float result must be a number: `1e308 * 10` and `(-1) ** 0.5` are errors, not
    /// infinities and NaNs that would reach a shape or a budget.
    func finite(_ result: Double, _ op: String, at location: SourceLocation) throws -> Value {
        guard result.isFinite else {
            throw error(result.isNaN ? "'\(op)' has no real result (NaN)" : "float overflow in '\(op)': the result is beyond 1.8e308", at: location)
        }
        return .float(result)
    }

    /// Structural equality of two values; each list item compared is an elaboration step,
    /// so lists that share their items (`xs = [xs, xs]`, repeated) cannot make it hang.
    mutating func equal(_ a: Value, _ b: Value, at location: SourceLocation) throws -> Bool {
        switch (a, b) {
        case (.list(let x), .list(let y)):
            guard x.count == y.count else { return false }
            try step(x.count, at: location)
            for (p, q) in zip(x, y) where try !equal(p, q, at: location) { return false }
            return true
        case (.int(let x), .int(let y)): return x == y
        case (.int, .float), (.float, .int), (.float, .float): return a.asDouble == b.asDouble
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)):
            try step(min(x.utf8.count, y.utf8.count), at: location)
            return x == y
        case (.tensor(let x), .tensor(let y)): return x.id == y.id
        case (.none, .none): return true
        default: return false
        }
    }

    func integerArithmetic(_ op: String, _ a: Int, _ b: Int, at location: SourceLocation) throws -> Value {
        func checked(_ result: (Int, Bool)) throws -> Value {
            guard !result.1 else { throw error("integer overflow in '\(op)'", at: location) }
            return .int(result.0)
        }
        switch op {
        case "+": return try checked(a.addingReportingOverflow(b))
        case "-": return try checked(a.subtractingReportingOverflow(b))
        case "*": return try checked(a.multipliedReportingOverflow(by: b))
        case "/":
            guard b != 0 else { throw error("division by zero", at: location) }
            return .float(Double(a) / Double(b))
        case "//", "%":
            guard b != 0 else { throw error("division by zero", at: location) }
            guard !(a == Int.min && b == -1) else { throw error("integer overflow in '\(op)'", at: location) }
            // Floor division and modulo, as in Python.
            var q = a / b
            if (a % b != 0) && ((a < 0) != (b < 0)) { q -= 1 }
            return .int(op == "//" ? q : a - q * b)
        case "**":
            guard b >= 0 else { return try finite(pow(Double(a), Double(b)), op, at: location) }
            var result = 1
            for _ in 0..<min(b, 64) {
                let (r, o) = result.multipliedReportingOverflow(by: a)
                guard !o else { throw error("integer overflow in '**'", at: location) }
                result = r
            }
            if b > 64 && abs(a) > 1 { throw error("integer overflow in '**'", at: location) }
            return .int(b > 64 && a == -1 ? (b % 2 == 0 ? 1 : -1) : result)
        case "==": return .bool(a == b)
        case "!=": return .bool(a != b)
        case "<": return .bool(a < b)
        case "<=": return .bool(a <= b)
        case ">": return .bool(a > b)
        case ">=": return .bool(a >= b)
        default: throw error("'\(op)' cannot be applied to int and int", at: location)
        }
    }

    // MARK: - Calls

    /// Keyword arguments every call accepts, handled by the elaborator itself.
    static let reservedKeywords = ReservedArguments.labels

    mutating func call(_ callee: String, _ arguments: [CallArgument], at location: SourceLocation) throws -> Value {
        if let last = lastOperatorCallee, last.name == callee {
            return try callCatalogOperator(callee, type: last.type, signature: last.signature, arguments, at: location)
        }
        if Builtins.nameSet.contains(callee) {
            var values: [Value] = []
            var keywords: [String: Value] = [:]
            var all: [(value: Value, label: String?, location: SourceLocation)] = []
            for argument in arguments {
                let value = try evaluate(argument.value)
                all.append((value, argument.label, argument.location))
                if let label = argument.label { keywords[label] = value } else { values.append(value) }
            }
            // `sqrt` and `abs` of a number are functions, of a tensor operators.
            if OperatorCatalog.lookup(callee) != nil, case .tensor? = values.first {
                return try callOperator(callee, arguments: all.map(\.value), labels: all.map(\.label), argumentLocation: { all[$0].location }, at: location)
            }
            // float(tensor) is the cast operator (x.float()); float(number) stays a builtin.
            if let target = Builtins.tensorCasts[callee], case .tensor? = values.first {
                return try callOperator("cast", arguments: all.map(\.value) + [.string(target)], labels: all.map(\.label) + ["dtype"],
                                        argumentLocation: { $0 < all.count ? all[$0].location : location }, at: location)
            }
            do {
                // A range too large for a list is refused by the call itself, as such.
                let work = Builtins.work(callee, values)
                if work <= limits.listItems { try step(work, at: location) }
                return try Builtins.call(callee, values, keywords, limits: limits)
            } catch let failure as OperatorError {
                throw error("\(callee)(): \(failure.message)", at: location)
            }
        }
        if let block = blocks[callee] {
            return try callBlock(callee, block, arguments, at: location)
        }
        if let type = OperatorCatalog.lookup(callee) {
            let signature = OperatorCatalog.signature(of: type)
            lastOperatorCallee = (callee, type, signature)
            return try callCatalogOperator(callee, type: type, signature: signature, arguments, at: location)
        }
        let candidates = OperatorCatalog.names + Array(blocks.keys) + Builtins.names
        var notes: [String] = []
        if let suggestion = closestMatch(to: callee, in: candidates) { notes.append("did you mean '\(suggestion)'?") }
        throw error("unknown operator or block '\(callee)'", at: location, notes: notes)
    }

    /// A call of catalog operator `type`, whose signature is `signature`: its arguments
    /// evaluated in order.
    mutating func callCatalogOperator(_ callee: String, type: any Operator.Type, signature: [ArgumentSpec], _ arguments: [CallArgument],
                                      at location: SourceLocation) throws -> Value {
        var values: [Value] = []
        var labels: [String?] = []
        values.reserveCapacity(arguments.count)
        labels.reserveCapacity(arguments.count)
        for argument in arguments {
            values.append(try evaluate(argument.value))
            labels.append(argument.label)
        }
        return try callOperator(callee, type: type, signature: signature, arguments: values, labels: labels,
                                argumentLocation: { arguments[$0].location }, at: location)
    }

    /// Resolves the instance name of a call in the current scope.
    mutating func instanceName(explicit: Value?, base: String, operatorCall: Bool = false, at location: SourceLocation) throws -> String {
        let name: String
        switch explicit {
        case .string(let s)?:
            guard !s.isEmpty else { throw error("name must not be empty", at: location) }
            name = s
        case .int(let i)?: name = String(i)
        case nil, .none?:
            // The first free `base`, `base_1`, `base_2`, ...: taken as it is found.
            // The counter is found once and updated through its index (one hash of `base`
            // instead of two).
            let scope = scopes.count - 1
            let slot = scopes[scope].nextSuffix.index(forKey: base)
            var counter = slot.map { scopes[scope].nextSuffix.values[$0] } ?? 0
            var candidate = counter > 0 ? Self.suffixed(base, counter) : base
            while let taken = scopes[scope].usedNames.updateValue(false, forKey: candidate) {
                scopes[scope].usedNames[candidate] = taken
                counter += 1
                candidate = Self.suffixed(base, counter)
            }
            if let slot {
                scopes[scope].nextSuffix.values[slot] = counter + 1
            } else {
                scopes[scope].nextSuffix[base] = counter + 1
            }
            return candidate
        case let other?:
            throw error("name must be a string or an integer, got \(other.typeName)", at: location)
        }
        // An explicit name here (an automatic one has returned): an operator's marks it.
        let isOperatorName = operatorCall
        if let taken = scopes[scopes.count - 1].usedNames.updateValue(isOperatorName, forKey: name) {
            // An operator's name given again: the same module called again (the entry
            // was true and stays so).
            if isOperatorName && taken { return name }
            scopes[scopes.count - 1].usedNames[name] = taken
            throw error("name '\(name)' is already used in this scope", at: location)
        }
        return name
    }


    /// `base_counter`, built in place: `base + "_" + String(counter)` made three Strings
    /// and dispatched `description`, 600 instructions an automatic name.
    static func suffixed(_ base: String, _ counter: Int) -> String {
        guard counter >= 0 else { return base + "_" + String(counter) }
        var base = base
        return base.withUTF8 { utf8 in
            var digits = 0, rest = counter
            repeat {
                digits += 1
                rest /= 10
            } while rest > 0
            let length = utf8.count + 1 + digits
            return String(unsafeUninitializedCapacity: length) { buffer in
                _ = UnsafeMutableBufferPointer(rebasing: buffer[..<utf8.count]).initialize(fromContentsOf: utf8)
                buffer[utf8.count] = UInt8(ascii: "_")
                var rest = counter
                for index in stride(from: length - 1, to: utf8.count, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                    rest /= 10
                }
                return length
            }
        }
    }

    mutating func callBlock(_ name: String, _ block: (parameters: [BlockParameter], body: [Statement], location: SourceLocation),
                            _ arguments: [CallArgument], at location: SourceLocation) throws -> Value {
        guard callDepth < limits.callDepth else {
            throw error("blocks nest deeper than \(limits.callDepth) calls (the call-depth limit; runaway recursion?)", at: location)
        }
        blockCalls += 1
        guard blockCalls <= limits.blockCalls else {
            throw error("the spec makes more than \(Units.grouped(limits.blockCalls)) block calls (the block-call limit): "
                        + "it is too large or its recursion does not terminate", at: location)
        }
        try step(at: location)
        // The call is active from here: a default argument that calls the block again
        // (`block f(a = f())`) counts toward the call depth.
        callDepth += 1
        defer { callDepth -= 1 }
        var bound: [String: Value] = [:]
        var reserved = ReservedArguments()
        var position = 0
        for argument in arguments {
            let value = try evaluate(argument.value)
            if let label = argument.label {
                if reserved.take(label, value) { continue }
                guard block.parameters.contains(where: { $0.name == label }) else {
                    let hint = closestMatch(to: label, in: block.parameters.map(\.name) + Self.reservedKeywords)
                    throw error("block '\(name)' has no parameter '\(label)'", at: argument.location,
                                notes: hint.map { ["did you mean '\($0)'?"] } ?? [])
                }
                guard bound[label] == nil else { throw error("parameter '\(label)' given twice", at: argument.location) }
                bound[label] = value
            } else {
                guard position < block.parameters.count else {
                    throw error("block '\(name)' takes \(block.parameters.count) arguments, got more", at: argument.location)
                }
                bound[block.parameters[position].name] = value
                position += 1
            }
        }
        if reserved.tie != nil { throw error("tie= applies to operators, not blocks", at: location) }
        let instance = try instanceName(explicit: reserved.name, base: name, at: location)
        var scope = Scope(prefix: innermost.prefix + instance + ".")
        // Defaults are evaluated in the caller's scope, as call arguments are.
        for parameter in block.parameters {
            if let value = bound[parameter.name] {
                scope.variables[parameter.name] = value
            } else if let defaultExpression = parameter.defaultValue {
                scope.variables[parameter.name] = try evaluate(defaultExpression)
            } else {
                throw error("block '\(name)' needs argument '\(parameter.name)'", at: location)
            }
        }
        let frozen = try frozenFlag(reserved.frozen, at: location)
        if frozen { frozenDepth += 1 }
        scopes.append(scope)
        defer {
            scopes.removeLast()
            if frozen { frozenDepth -= 1 }
        }
        if case .returned(let value) = try execute(block.body) { return value }
        return .none
    }

    func frozenFlag(_ value: Value?, at location: SourceLocation) throws -> Bool {
        switch value {
        case nil, .none?: return false
        case .bool(let b)?: return b
        case let other?: throw error("frozen must be true or false, got \(other.typeName)", at: location)
        }
    }

    /// `type`, `signature`: the operator's type and signature when the caller has looked
    /// them up already (a String lookup saved per call for each). `argumentLocation`:
    /// where argument `i` is written, for errors (found only on failure).
    mutating func callOperator(_ kind: String, type known: (any Operator.Type)? = nil, signature: [ArgumentSpec]? = nil,
                               arguments values: [Value], labels: [String?],
                               argumentLocation: (Int) -> SourceLocation? = { _ in nil }, at location: SourceLocation) throws -> Value {
        guard let type = known ?? OperatorCatalog.lookup(kind) else { throw error("unknown operator '\(kind)'", at: location) }
        var reserved = ReservedArguments()
        for (index, value) in values.enumerated() {
            if let label = labels[index] { _ = reserved.take(label, value) }
        }
        // Errors point at the argument at fault when there is one.
        func at(_ failure: GraphBuilder.Failure) -> SourceLocation {
            failure.argument.flatMap(argumentLocation) ?? location
        }
        let op: any Operator
        let binding: GraphBuilder.Binding
        do {
            binding = try GraphBuilder.bind(type, signature: signature ?? OperatorCatalog.signature(of: type), values: values, labels: labels,
                                            reservedLabels: Self.reservedKeywords)
            op = try GraphBuilder.makeOperator(type, binding)
        } catch {
            throw self.error(error.message, at: at(error), notes: error.notes)
        }
        let name = try instanceName(explicit: reserved.name, base: kind, operatorCall: true, at: location)
        let prefix = innermost.prefix
        let fullName = prefix.isEmpty ? name : prefix + name
        let frozen = try frozenFlag(reserved.frozen, at: location) || frozenDepth > 0
        // Parameters: new ones, or the tied operator's.
        var sources: [GraphBuilder.ParameterSource] = []
        switch reserved.tie {
        case nil, .none?: break
        case .string(let tiedTo)?:
            for spec in op.parameters {
                let qualified = spec.qualifiedName(under: tiedTo)
                guard let id = builder.parameterID(named: qualified) else {
                    let owners = Set(builder.parameterIndex.keys.map { String($0.split(separator: ".").dropLast().joined(separator: ".")) })
                    let hint = closestMatch(to: tiedTo, in: owners).map { ["did you mean '\($0)'?"] } ?? []
                    throw error("tie='\(tiedTo)': no earlier operator named '\(tiedTo)' with a parameter '\(spec.name)'", at: location, notes: hint)
                }
                guard graph.parameters[id].shape == spec.shape else {
                    throw error("tie='\(tiedTo)': \(kind) needs \(spec.name) of shape \(TensorType(spec.shape)) but '\(qualified)' has shape \(TensorType(graph.parameters[id].shape))", at: location)
                }
                sources.append(.tied(id))
            }
        case let other?: throw error("tie= takes the name of an earlier operator as a string, got \(other.typeName)", at: location)
        }
        guard graph.nodes.count < limits.operators else {
            throw error("the model has more than \(Units.grouped(limits.operators)) operators (the operator limit)", at: location)
        }
        let results = try located(at: location) { (builder: inout GraphBuilder) throws(GraphBuilder.Failure) in
            try builder.addNode(op, arguments: binding.arguments, name: fullName, frozen: frozen, parameters: sources, location: location)
        }
        return results.count == 1 ? .tensor(results[0]) : .list(results.map(Value.tensor))
    }

    /// Runs a builder step, turning its failure into an error located at `location`.
    mutating func located<T>(at location: SourceLocation, _ body: (inout GraphBuilder) throws(GraphBuilder.Failure) -> T) throws -> T {
        do {
            return try body(&builder)
        } catch {
            throw self.error(error.message, at: location, notes: error.notes)
        }
    }

    mutating func tensors(in value: Value, at location: SourceLocation) throws -> [TensorRef] {
        switch value {
        case .tensor(let t): return [t]
        case .list(let items):
            try step(items.count, at: location)
            var found: [TensorRef] = []
            for item in items { found += try tensors(in: item, at: location) }
            return found
        default: throw error("expected a tensor, got \(value.typeName)", at: location)
        }
    }

    mutating func applyFreezePatterns() throws {
        for (pattern, location) in freezePatterns {
            var matched = false
            for index in graph.parameters.indices {
                let name = graph.parameters[index].name
                if globMatch(pattern, name) || globMatch(pattern + ".*", name) {
                    graph.parameters[index].frozen = true
                    matched = true
                }
            }
            if !matched {
                let owners = Set(graph.parameters.map { String($0.name.split(separator: ".").dropLast().joined(separator: ".")) })
                let hint = closestMatch(to: pattern, in: owners).map { ["did you mean '\($0)'?"] } ?? []
                throw error("freeze \"\(pattern)\" matches no parameter", at: location, notes: hint)
            }
        }
    }
}

/// Glob matching with `*` (any run of characters) and `?` (one character).
func globMatch(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern), t = Array(text)
    var pi = 0, ti = 0, star = -1, mark = 0
    while ti < t.count {
        if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
            pi += 1
            ti += 1
        } else if pi < p.count, p[pi] == "*" {
            star = pi
            mark = ti
            pi += 1
        } else if star >= 0 {
            pi = star + 1
            mark += 1
            ti = mark
        } else {
            return false
        }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}

extension Value {
    var asDouble: Double? {
        switch self {
        case .int(let v): Double(v)
        case .float(let v): v
        default: nil
        }
    }

    var isTensor: Bool { if case .tensor = self { true } else { false } }
}

/// A call's reserved keyword arguments, `name =`, `tie =` and `frozen =` (README, "Calls,
/// names, tied and frozen parameters"), told by comparing labels: kept in a dictionary
/// they cost a hash per label and per read, four an operator call.
struct ReservedArguments {
    static let labels = ["name", "tie", "frozen"]
    var name: Value?
    var tie: Value?
    var frozen: Value?

    /// Keeps `value` when `label` is reserved (of repeated ones, the last); false when
    /// it is not.
    mutating func take(_ label: String, _ value: Value) -> Bool {
        switch label {
        case "name": name = value
        case "tie": tie = value
        case "frozen": frozen = value
        default: return false
        }
        return true
    }
}
