/// Recursive-descent parser: tokens -> statements. Errors carry the offending token's
/// location and the source line.
struct Parser {
    var tokens: [Token]
    var position = 0
    /// Current expression/suite nesting; bounded (`Limits.nesting`) so hostile input
    /// cannot overflow the stack.
    var nesting = 0
    let maxNesting: Int
    let lines: SourceLines

    /// Words that can never be variable names.
    static let keywords: Set<String> = ["if", "elif", "else", "for", "in", "repeat", "return", "and", "or", "not",
                                        "true", "false", "none", "pass", "as", "block"]
    /// Words that start a statement; offered in "did you mean" for misspelled statements.
    static let statementWords = ["model", "param", "input", "block", "return", "repeat", "for", "if", "elif", "else",
                                 "output", "budget", "freeze", "pass"]

    public static func parse(source: String, file: String, limits: Limits = .standard) throws -> [Statement] {
        try parse(lines: SourceLines(source), file: file, limits: limits)
    }

    public static func parse(lines: SourceLines, file: String, limits: Limits = .standard) throws -> [Statement] {
        let tokens = try Lexer(lines: lines, file: file).tokenize()
        // Recursive descent: as deep as the nesting limit, on a stack with room for it.
        return try StackGuard.run { _ in
            var parser = Parser(tokens: tokens, lines: lines, maxNesting: limits.nesting)
            return try parser.parseProgram()
        }
    }

    init(tokens: [Token], lines: SourceLines, maxNesting: Int = Limits.standard.nesting) {
        self.tokens = tokens
        self.lines = lines
        self.maxNesting = maxNesting
    }

    // MARK: - Token helpers

    var current: Token { tokens[position] }
    var next: Token { tokens[min(position + 1, tokens.count - 1)] }

    mutating func advance() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    func error(_ message: String, at location: SourceLocation, notes: [String] = []) -> NNFlopsError {
        NNFlopsError(message, at: location, sourceLine: lines.text(ofLine: location.line), notes: notes)
    }

    func describe(_ kind: TokenKind) -> String {
        switch kind {
        case .name(let n): "'\(n)'"
        case .integer(let v): "number \(v)"
        case .float(let v): "number \(v)"
        case .quantity(let q): "number \(q.integerValue.map(String.init) ?? String(q.value))"
        case .string(let s): "string \"\(s)\""
        case .symbol(let s): "'\(s)'"
        case .newline: "end of line"
        case .indent: "indented block"
        case .dedent: "end of block"
        case .end: "end of file"
        }
    }

    func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }
    func isName(_ name: String) -> Bool { current.kind == .name(name) }

    mutating func expectSymbol(_ symbol: String, _ context: String) throws {
        guard isSymbol(symbol) else {
            throw error("expected '\(symbol)' \(context), found \(describe(current.kind))", at: current.location)
        }
        _ = advance()
    }

    mutating func expectIdentifier(_ context: String) throws -> (String, SourceLocation) {
        guard case .name(let name) = current.kind, !Self.keywords.contains(name) else {
            throw error("expected a name \(context), found \(describe(current.kind))", at: current.location)
        }
        let location = advance().location
        return (name, location)
    }

    mutating func expectNewline() throws {
        guard current.kind == .newline || current.kind == .end else {
            throw error("expected end of line, found \(describe(current.kind))", at: current.location)
        }
        if current.kind == .newline { _ = advance() }
    }

    // MARK: - Statements

    mutating func parseProgram() throws -> [Statement] {
        var statements: [Statement] = []
        while current.kind != .end {
            if current.kind == .newline { _ = advance(); continue }
            if current.kind == .indent { throw error("unexpected indentation", at: current.location) }
            if current.kind == .dedent { _ = advance(); continue }
            statements.append(try parseStatement())
        }
        return statements
    }

    /// A suite after ':' — an indented block, or one simple statement on the same line.
    mutating func parseSuite() throws -> [Statement] {
        let saved = nesting
        defer { nesting = saved }
        try enter(current.location)
        if current.kind == .newline {
            _ = advance()
            guard current.kind == .indent else { throw error("expected an indented block", at: current.location) }
            _ = advance()
            var body: [Statement] = []
            while current.kind != .dedent && current.kind != .end {
                if current.kind == .newline { _ = advance(); continue }
                body.append(try parseStatement())
            }
            if current.kind == .dedent { _ = advance() }
            return body
        }
        return [try parseStatement()]
    }

    mutating func parseStatement() throws -> Statement {
        let token = current
        let location = token.location
        guard case .name(let word) = token.kind else {
            let expression = try parseExpression()
            try expectNewline()
            return .expression(expression, location)
        }
        let nextIsName: Bool = { if case .name = next.kind { return true } else { return false } }()
        switch word {
        case "model" where nextIsName:
            _ = advance()
            let (name, _) = try expectAnyName("after 'model'")
            try expectNewline()
            return .model(name: name, location)
        case "param" where nextIsName:
            _ = advance()
            let (name, _) = try expectIdentifier("after 'param'")
            try expectSymbol("=", "after the parameter name (param NAME = VALUE)")
            let value = try parseExpression()
            try expectNewline()
            return .param(name: name, value: value, location)
        case "input" where nextIsName:
            _ = advance()
            let (name, _) = try expectIdentifier("after 'input'")
            try expectSymbol(":", "after the input name (input NAME: [dims] dtype)")
            try expectSymbol("[", "to start the input shape")
            var dims: [Expression] = []
            while !isSymbol("]") {
                dims.append(try parseExpression())
                if !isSymbol("]") { try expectSymbol(",", "between dimensions") }
            }
            _ = advance()
            var dtype: String?
            if case .name(let d) = current.kind {
                guard DType(spelling: d) != nil else {
                    let hint = closestMatch(to: d, in: DType.spellings).map { " (did you mean '\($0)'?)" } ?? ""
                    throw error("unknown dtype '\(d)'\(hint)", at: current.location)
                }
                dtype = d
                _ = advance()
            }
            try expectNewline()
            return .input(name: name, shape: dims, dtype: dtype, location)
        case "block":
            _ = advance()
            let (name, _) = try expectIdentifier("after 'block'")
            try expectSymbol("(", "after the block name")
            var parameters: [BlockParameter] = []
            while !isSymbol(")") {
                let (pname, plocation) = try expectIdentifier("in the block's parameter list")
                var defaultValue: Expression?
                if isSymbol("=") {
                    _ = advance()
                    defaultValue = try parseExpression()
                } else if parameters.last?.defaultValue != nil {
                    throw error("parameter '\(pname)' without a default follows one with a default", at: plocation)
                }
                parameters.append(BlockParameter(name: pname, defaultValue: defaultValue, location: plocation))
                if !isSymbol(")") { try expectSymbol(",", "between parameters") }
            }
            _ = advance()
            try expectSymbol(":", "after the block's parameter list")
            let body = try parseSuite()
            return .block(name: name, parameters: parameters, body: body, location)
        case "return":
            _ = advance()
            if current.kind == .newline || current.kind == .end || current.kind == .dedent {
                try expectNewline()
                return .returnValue(nil, location)
            }
            let value = try parseTupleOrExpression()
            try expectNewline()
            return .returnValue(value, location)
        case "repeat":
            _ = advance()
            let count = try parseExpression()
            var variable: String?
            if isName("as") {
                _ = advance()
                variable = try expectIdentifier("after 'as'").0
            }
            try expectSymbol(":", "after the repeat count")
            let body = try parseSuite()
            return .repeatLoop(count: count, variable: variable, body: body, location)
        case "for":
            _ = advance()
            let (variable, _) = try expectIdentifier("after 'for'")
            guard isName("in") else { throw error("expected 'in' after the loop variable", at: current.location) }
            _ = advance()
            let sequence = try parseExpression()
            try expectSymbol(":", "after the loop sequence")
            let body = try parseSuite()
            return .forLoop(variable: variable, sequence: sequence, body: body, location)
        case "if":
            _ = advance()
            var branches: [(condition: Expression, body: [Statement])] = []
            let condition = try parseExpression()
            try expectSymbol(":", "after the condition")
            branches.append((condition, try parseSuite()))
            var otherwise: [Statement]?
            while isName("elif") {
                _ = advance()
                let c = try parseExpression()
                try expectSymbol(":", "after the condition")
                branches.append((c, try parseSuite()))
            }
            if isName("else") {
                _ = advance()
                try expectSymbol(":", "after 'else'")
                otherwise = try parseSuite()
            }
            return .ifStatement(branches: branches, otherwise: otherwise, location)
        case "elif", "else":
            throw error("'\(word)' without a matching 'if'", at: location)
        case "output" where !(next.kind == .symbol("=")):
            _ = advance()
            var values = [try parseExpression()]
            while isSymbol(",") {
                _ = advance()
                values.append(try parseExpression())
            }
            try expectNewline()
            return .output(values, location)
        case "budget" where nextIsName:
            _ = advance()
            let (metric, _) = try expectIdentifier("after 'budget'")
            try expectSymbol("<=", "after the budget metric (budget METRIC <= LIMIT)")
            let limit = try parseExpression()
            try expectNewline()
            return .budget(metric: metric, limit: limit, location)
        case "freeze" where !(next.kind == .symbol("=")):
            _ = advance()
            var patterns = [try parseExpression()]
            while isSymbol(",") {
                _ = advance()
                patterns.append(try parseExpression())
            }
            try expectNewline()
            return .freeze(patterns, location)
        case "pass":
            _ = advance()
            try expectNewline()
            return .pass(location)
        default:
            break
        }
        // Assignment: NAME (, NAME)* = expr
        if !Self.keywords.contains(word), next.kind == .symbol("=") || next.kind == .symbol(",") {
            let save = position
            var targets: [String] = []
            var ok = true
            while true {
                guard case .name(let target) = current.kind, !Self.keywords.contains(target) else { ok = false; break }
                targets.append(target)
                _ = advance()
                if isSymbol(",") { _ = advance(); continue }
                break
            }
            if ok, isSymbol("=") {
                _ = advance()
                let value = try parseTupleOrExpression()
                try expectNewline()
                return .assign(targets: targets, value: value, location)
            }
            position = save
        }
        // A bare word followed by a name is almost always a misspelled statement keyword.
        if nextIsName, !Self.keywords.contains(word), let suggestion = closestMatch(to: word, in: Self.statementWords) {
            throw error("unknown statement '\(word)'", at: location, notes: ["did you mean '\(suggestion)'?"])
        }
        let expression = try parseExpression()
        try expectNewline()
        return .expression(expression, location)
    }

    mutating func expectAnyName(_ context: String) throws -> (String, SourceLocation) {
        guard case .name(let name) = current.kind else {
            throw error("expected a name \(context), found \(describe(current.kind))", at: current.location)
        }
        var text = name
        let location = advance().location
        // Model names may contain '-' and '.', e.g. `model bert-base`, `model llama2-7b`.
        while isSymbol("-") || isSymbol(".") {
            text += isSymbol("-") ? "-" : "."
            _ = advance()
            switch current.kind {
            case .name(let part): text += part
            case .integer(let v): text += String(v)
            default: throw error("expected a name \(context)", at: current.location)
            }
            _ = advance()
        }
        return (text, location)
    }

    /// `a, b` on the right of return/assignment is a list.
    mutating func parseTupleOrExpression() throws -> Expression {
        let first = try parseExpression()
        guard isSymbol(",") else { return first }
        var items = [first]
        while isSymbol(",") {
            _ = advance()
            items.append(try parseExpression())
        }
        return .list(items, first.location)
    }

    // MARK: - Expressions

    /// Counts one level of nesting (a parenthesis, a list, a call, an operand of a unary
    /// operator or of `**`): what makes the tree, and so the parser's and the
    /// elaborator's recursion, deeper. The links of a chain (`a + b + c`) are not nesting.
    mutating func enter(_ location: SourceLocation) throws {
        nesting += 1
        if nesting > maxNesting {
            throw error("expression or block nested more than \(maxNesting) levels deep (the nesting limit)", at: location)
        }
    }

    mutating func parseExpression() throws -> Expression {
        let saved = nesting
        defer { nesting = saved }
        try enter(current.location)
        let value = try parseOr()
        if isName("if") {
            let location = advance().location
            let condition = try parseOr()
            guard isName("else") else { throw error("expected 'else' in conditional expression", at: current.location) }
            _ = advance()
            let otherwise = try parseExpression()
            return .conditional(condition: condition, then: value, otherwise: otherwise, location)
        }
        return value
    }

    mutating func parseOr() throws -> Expression {
        try parseChain(of: Self.orOperators, operand: { try $0.parseAnd() })
    }

    mutating func parseAnd() throws -> Expression {
        try parseChain(of: Self.andOperators, operand: { try $0.parseNot() })
    }

    /// The operators of each left-associative level (made once: short arrays, compared
    /// without hashing).
    static let orOperators = ["or"], andOperators = ["and"], additiveOperators = ["+", "-"],
               multiplicativeOperators = ["*", "/", "//", "%"], comparisonOperators = ["==", "!=", "<", "<=", ">", ">="]

    /// `operand (op operand)*` for the operators of one left-associative level: a lone
    /// operand, a `.binary` for one operator, a flat `.chain` for more. The links are
    /// siblings, not nesting, so they do not count toward the nesting limit.
    mutating func parseChain(of operators: [String], operand: (inout Parser) throws -> Expression) throws -> Expression {
        let first = try operand(&self)
        var links: [ChainLink] = []
        while let op = chainOperator(operators) {
            let location = advance().location
            links.append(ChainLink(op: op, operand: try operand(&self), location: location))
        }
        guard let link = links.first else { return first }
        if links.count == 1 { return .binary(op: link.op, first, link.operand, link.location) }
        return .chain(first: first, links: links, link.location)
    }

    /// The current token when it is one of `operators` (a symbol, or `and` / `or`).
    func chainOperator(_ operators: [String]) -> String? {
        switch current.kind {
        case .symbol(let s) where operators.contains(s): s
        case .name(let n) where operators.contains(n): n
        default: nil
        }
    }

    mutating func parseNot() throws -> Expression {
        if isName("not") {
            let location = advance().location
            try enter(location)
            return .unary(op: "not", try parseNot(), location)
        }
        return try parseComparison()
    }

    mutating func parseComparison() throws -> Expression {
        let left = try parseArithmetic()
        if case .symbol(let op) = current.kind, Self.comparisonOperators.contains(op) {
            let location = advance().location
            return .binary(op: op, left, try parseArithmetic(), location)
        }
        return left
    }

    mutating func parseArithmetic() throws -> Expression {
        try parseChain(of: Self.additiveOperators, operand: { try $0.parseTerm() })
    }

    mutating func parseTerm() throws -> Expression {
        try parseChain(of: Self.multiplicativeOperators, operand: { try $0.parseUnary() })
    }

    mutating func parseUnary() throws -> Expression {
        if isSymbol("-") || isSymbol("+") {
            let op = isSymbol("-") ? "-" : "+"
            let location = advance().location
            try enter(location)
            return .unary(op: op, try parseUnary(), location)
        }
        return try parsePower()
    }

    mutating func parsePower() throws -> Expression {
        let base = try parsePostfix()
        if isSymbol("**") {
            let location = advance().location
            try enter(location)
            return .binary(op: "**", base, try parseUnary(), location)
        }
        return base
    }

    mutating func parsePostfix() throws -> Expression {
        var value = try parsePrimary()
        while true {
            if isSymbol("(") || isSymbol("[") || isSymbol(".") { try enter(current.location) }
            if isSymbol("(") {
                guard case .name(let callee, let location) = value else {
                    throw error("only operators and blocks can be called", at: current.location)
                }
                _ = advance()
                let arguments = try parseArguments()
                value = .call(callee: callee, arguments: arguments, location)
            } else if isSymbol("[") {
                let location = advance().location
                let index = try parseExpression()
                try expectSymbol("]", "to close the index")
                value = .index(value, index, location)
            } else if isSymbol(".") {
                let location = advance().location
                guard case .name(let attribute) = current.kind else {
                    throw error("expected an attribute name after '.'", at: current.location)
                }
                _ = advance()
                value = .attribute(value, attribute, location)
            } else {
                return value
            }
        }
    }

    mutating func parseArguments() throws -> [CallArgument] {
        var arguments: [CallArgument] = []
        var sawKeyword = false
        while !isSymbol(")") {
            let location = current.location
            if case .name(let label) = current.kind, next.kind == .symbol("=") {
                _ = advance()
                _ = advance()
                arguments.append(CallArgument(label: label, value: try parseExpression(), location: location))
                sawKeyword = true
            } else {
                if sawKeyword { throw error("positional argument after a keyword argument", at: location) }
                arguments.append(CallArgument(label: nil, value: try parseExpression(), location: location))
            }
            if !isSymbol(")") { try expectSymbol(",", "between arguments") }
        }
        _ = advance()
        return arguments
    }

    mutating func parsePrimary() throws -> Expression {
        let token = current
        switch token.kind {
        case .integer(let v):
            _ = advance()
            return .integer(v, token.location)
        case .float(let v):
            _ = advance()
            return .float(v, token.location)
        case .quantity(let q):
            _ = advance()
            return .quantity(q, token.location)
        case .string(let s):
            _ = advance()
            return .string(s, token.location)
        case .name("true"):
            _ = advance()
            return .boolean(true, token.location)
        case .name("false"):
            _ = advance()
            return .boolean(false, token.location)
        case .name("none"):
            _ = advance()
            return .none(token.location)
        case .name(let name) where !Self.keywords.contains(name):
            _ = advance()
            return .name(name, token.location)
        case .symbol("("):
            _ = advance()
            let inner = try parseExpression()
            try expectSymbol(")", "to close the parenthesis")
            return inner
        case .symbol("["):
            _ = advance()
            var items: [Expression] = []
            while !isSymbol("]") {
                items.append(try parseExpression())
                if !isSymbol("]") { try expectSymbol(",", "between list items") }
            }
            _ = advance()
            return .list(items, token.location)
        default:
            throw error("expected an expression, found \(describe(token.kind))", at: token.location)
        }
    }
}
