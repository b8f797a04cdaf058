/// Syntax tree of a spec file. Every node carries the location it came from.

indirect enum Expression: Sendable {
    case integer(Int, SourceLocation)
    case float(Double, SourceLocation)
    /// A literal with a unit suffix (`16GiB`, `7B`): a number that remembers whether it is
    /// a byte size or a count (README, "Numbers and units").
    case quantity(Quantity, SourceLocation)
    case string(String, SourceLocation)
    case boolean(Bool, SourceLocation)
    case none(SourceLocation)
    case name(String, SourceLocation)
    case list([Expression], SourceLocation)
    case unary(op: String, Expression, SourceLocation)
    case binary(op: String, Expression, Expression, SourceLocation)
    /// A left-associative chain of one precedence level, `a + b - c` or `p and q and r`:
    /// `first`, then each link's operator applied to the result so far and the link's
    /// operand. Flat, so that a long sum is not a deep tree: it parses, evaluates and is
    /// freed without recursion, and it is not nesting (README, "Limits").
    case chain(first: Expression, links: [ChainLink], SourceLocation)
    /// `a if condition else b`
    case conditional(condition: Expression, then: Expression, otherwise: Expression, SourceLocation)
    case call(callee: String, arguments: [CallArgument], SourceLocation)
    case index(Expression, Expression, SourceLocation)
    /// `object.name`, used for `x.shape` style queries.
    case attribute(Expression, String, SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .integer(_, let l), .float(_, let l), .quantity(_, let l), .string(_, let l), .boolean(_, let l), .none(let l),
             .name(_, let l), .list(_, let l), .unary(_, _, let l), .binary(_, _, _, let l),
             .chain(_, _, let l), .conditional(_, _, _, let l), .call(_, _, let l), .index(_, _, let l), .attribute(_, _, let l):
            return l
        }
    }

    /// Every unit-suffixed literal in the expression, in source order (a budget checks
    /// that they fit its metric).
    public var quantityLiterals: [(quantity: Quantity, location: SourceLocation)] {
        switch self {
        case .quantity(let q, let l): [(q, l)]
        case .integer, .float, .string, .boolean, .none, .name: []
        case .list(let items, _): items.flatMap(\.quantityLiterals)
        case .unary(_, let operand, _): operand.quantityLiterals
        case .binary(_, let a, let b, _): a.quantityLiterals + b.quantityLiterals
        case .chain(let first, let links, _): first.quantityLiterals + links.flatMap(\.operand.quantityLiterals)
        case .conditional(let c, let a, let b, _): c.quantityLiterals + a.quantityLiterals + b.quantityLiterals
        case .call(_, let arguments, _): arguments.flatMap(\.value.quantityLiterals)
        case .index(let a, let b, _): a.quantityLiterals + b.quantityLiterals
        case .attribute(let a, _, _): a.quantityLiterals
        }
    }
}

/// One link of a chain: `+ b` in `a + b`, located at its operator.
struct ChainLink: Sendable {
    public var op: String
    public var operand: Expression
    public var location: SourceLocation
}

struct CallArgument: Sendable {
    /// nil for a positional argument.
    public var label: String?
    public var value: Expression
    public var location: SourceLocation
}

struct BlockParameter: Sendable {
    public var name: String
    public var defaultValue: Expression?
    public var location: SourceLocation
}

indirect enum Statement: Sendable {
    case model(name: String, SourceLocation)
    case param(name: String, value: Expression, SourceLocation)
    case input(name: String, shape: [Expression], dtype: String?, SourceLocation)
    case block(name: String, parameters: [BlockParameter], body: [Statement], SourceLocation)
    /// `a = expr` or `a, b = expr`.
    case assign(targets: [String], value: Expression, SourceLocation)
    case expression(Expression, SourceLocation)
    case returnValue(Expression?, SourceLocation)
    /// `repeat n:` or `repeat n as i:`
    case repeatLoop(count: Expression, variable: String?, body: [Statement], SourceLocation)
    /// `for v in expr:`
    case forLoop(variable: String, sequence: Expression, body: [Statement], SourceLocation)
    case ifStatement(branches: [(condition: Expression, body: [Statement])], otherwise: [Statement]?, SourceLocation)
    case output([Expression], SourceLocation)
    /// `budget metric <= value`
    case budget(metric: String, limit: Expression, SourceLocation)
    /// `freeze "pattern"`: marks matching parameters frozen.
    case freeze([Expression], SourceLocation)
    case pass(SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .model(_, let l), .param(_, _, let l), .input(_, _, _, let l), .block(_, _, _, let l), .assign(_, _, let l),
             .expression(_, let l), .returnValue(_, let l), .repeatLoop(_, _, _, let l), .forLoop(_, _, _, let l),
             .ifStatement(_, _, let l), .output(_, let l), .budget(_, _, let l), .freeze(_, let l), .pass(let l):
            return l
        }
    }
}
