#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `nnflops plan` is asked: any one or two of compute, parameters and tokens, the
/// method that picks the run for the fleet and spec sections, and those sections' options.
public struct PlanRequest: Sendable, Hashable {
    public var compute: Double?
    public var params: Double?
    public var tokens: Double?
    public var method: ScalingMethod
    public var fleet: FleetRequest?
    /// Build the transformer shape and its spec (and count its parameters exactly).
    public var emitSpec: Bool
    public var vocab: Int
    public var sequence: Int

    public init(compute: Double? = nil, params: Double? = nil, tokens: Double? = nil,
                method: ScalingMethod = .default, fleet: FleetRequest? = nil, emitSpec: Bool = false,
                vocab: Int = TransformerShape.defaultVocab, sequence: Int = TransformerShape.defaultSequence) {
        self.compute = compute
        self.params = params
        self.tokens = tokens
        self.method = method
        self.fleet = fleet
        self.emitSpec = emitSpec
        self.vocab = vocab
        self.sequence = sequence
    }
}

/// Which quantities were given.
enum PlanMode: String, Sendable, Codable {
    /// --compute C: the compute-optimal N and D per method.
    case compute
    /// --params N: the compute-optimal D (and C) per method.
    case params
    /// --tokens D: the N for which D is compute-optimal (and C) per method.
    case tokens
    /// --params N --tokens D (or C with one of them): a fixed run, compared with each
    /// method's compute-optimal allocation for the same compute.
    case allocation
}

/// One method's row.
struct PlanMethodRow: Sendable, Hashable, Codable {
    public var method: ScalingMethod
    public var title: String
    public var citation: String
    /// Compute-optimal parameters N (for the given C, or the N given).
    public var params: Double
    /// Compute-optimal tokens D.
    public var tokens: Double
    public var tokensPerParam: Double
    /// C = 6 N D of this row.
    public var computeFlops: Double
    /// 6 N D recomputed from the row's N and D; equals `computeFlops` to rounding.
    public var check6ND: Double
    /// The method's predicted loss at (N, D); nil where the method has no loss law.
    public var loss: Double?
    /// Allocation mode: given N / compute-optimal N.
    public var paramsRatio: Double?
    /// Allocation mode: the loss of the given run under this method's law.
    public var givenLoss: Double?
    /// Allocation mode: given loss - optimal loss (>= 0).
    public var lossGap: Double?

    enum CodingKeys: String, CodingKey {
        case method, title, citation, params, tokens
        case tokensPerParam = "tokens_per_param"
        case computeFlops = "compute_flops"
        case check6ND = "check_6nd"
        case loss
        case paramsRatio = "params_ratio"
        case givenLoss = "given_loss"
        case lossGap = "loss_gap"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(title, forKey: .title)
        try c.encode(citation, forKey: .citation)
        try c.encode(params, forKey: .params)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(tokensPerParam, forKey: .tokensPerParam)
        try c.encode(computeFlops, forKey: .computeFlops)
        try c.encode(check6ND, forKey: .check6ND)
        try c.encode(loss, forKey: .loss)
        try c.encode(paramsRatio, forKey: .paramsRatio)
        try c.encode(givenLoss, forKey: .givenLoss)
        try c.encode(lossGap, forKey: .lossGap)
    }
}

/// The run the fleet and spec sections describe: the selected method's row, or the
/// given run in allocation mode.
struct PlanTarget: Sendable, Hashable, Codable {
    /// The method that chose it; nil when the user gave both N and D.
    public var method: ScalingMethod?
    public var params: Double
    public var tokens: Double
    public var computeFlops: Double

    enum CodingKeys: String, CodingKey {
        case method, params, tokens
        case computeFlops = "compute_flops"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(params, forKey: .params)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(computeFlops, forKey: .computeFlops)
    }
}

/// The emitted transformer spec.
public struct PlanSpec: Sendable, Hashable, Codable {
    /// Where the CLI wrote it (set by the caller; nil in the library).
    public var path: String?
    public var shape: TransformerShape
    /// The closed-form count (TransformerShape.parameters).
    public var formulaParams: Int
    /// The count nnflops itself finds when it elaborates and analyses the spec.
    public var exactParams: Int
    /// exactParams / target N - 1.
    public var relativeError: Double
    public var source: String

    enum CodingKeys: String, CodingKey {
        case path, shape
        case formulaParams = "formula_params"
        case exactParams = "exact_params"
        case relativeError = "relative_error"
        case source
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(shape, forKey: .shape)
        try c.encode(formulaParams, forKey: .formulaParams)
        try c.encode(exactParams, forKey: .exactParams)
        try c.encode(relativeError, forKey: .relativeError)
        try c.encode(source, forKey: .source)
    }
}

/// The planning report (`nnflops plan`): a pure function of the request.
public struct Plan: Sendable, Hashable, Codable {
    public static let schema = "nnflops.plan/1"
    /// Budgets outside this range are refused: below it no language model is meaningful,
    /// above it the arithmetic leaves the range the laws were fitted anywhere near.
    public static let computeRange: ClosedRange<Double> = 1e6...1e40
    /// Model sizes and token counts planned for (N, D).
    public static let paramsRange: ClosedRange<Double> = 1...1e17
    public static let tokensRange: ClosedRange<Double> = 1...1e22
    /// The emitted spec's vocabulary, sequence length and the fleet's micro-batch: far
    /// beyond any model trained (vocabularies of 256K, contexts of 10M tokens), and small
    /// enough that the shape's and the activation estimate's products stay within 64 bits.
    public static let vocabRange: ClosedRange<Int> = 1...1_000_000_000
    public static let sequenceRange: ClosedRange<Int> = 1...100_000_000
    public static let microBatchRange: ClosedRange<Int> = 1...1_000_000

    public var schema: String = Plan.schema
    var mode: PlanMode
    /// The budget when it is fixed (compute and allocation modes); nil when it differs
    /// per method (params and tokens modes: see each row).
    public var computeFlops: Double?
    public var givenParams: Double?
    public var givenTokens: Double?
    public var defaultMethod: ScalingMethod
    public var selectedMethod: ScalingMethod
    var methods: [PlanMethodRow]
    var target: PlanTarget
    var fleet: FleetEstimate?
    public var spec: PlanSpec?

    enum CodingKeys: String, CodingKey {
        case schema, mode
        case computeFlops = "compute_flops"
        case givenParams = "given_params"
        case givenTokens = "given_tokens"
        case defaultMethod = "default_method"
        case selectedMethod = "selected_method"
        case methods, target, fleet, spec
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(mode, forKey: .mode)
        try c.encode(computeFlops, forKey: .computeFlops)
        try c.encode(givenParams, forKey: .givenParams)
        try c.encode(givenTokens, forKey: .givenTokens)
        try c.encode(defaultMethod, forKey: .defaultMethod)
        try c.encode(selectedMethod, forKey: .selectedMethod)
        try c.encode(methods, forKey: .methods)
        try c.encode(target, forKey: .target)
        if let fleet { try c.encode(fleet, forKey: .fleet) }
        if let spec { try c.encode(spec, forKey: .spec) }
    }

    public init(_ request: PlanRequest) throws {
        func check(_ value: Double?, _ flag: String, range: ClosedRange<Double>) throws {
            guard let value else { return }
            guard value.isFinite, value > 0 else {
                throw NNFlopsError("\(flag) must be a positive number (got \(value))")
            }
            guard range.contains(value) else {
                throw NNFlopsError("\(flag) \(PlanQuantity.scientific(value)) is outside the supported range " +
                    "\(PlanQuantity.scientific(range.lowerBound))...\(PlanQuantity.scientific(range.upperBound))")
            }
        }
        try check(request.compute, "--compute", range: Self.computeRange)
        try check(request.params, "--params", range: Self.paramsRange)
        try check(request.tokens, "--tokens", range: Self.tokensRange)
        for (flag, value, range) in [("--vocab", request.vocab, Self.vocabRange), ("--seq", request.sequence, Self.sequenceRange),
                                     ("--micro-batch", request.fleet?.microBatch ?? 1, Self.microBatchRange)] where !range.contains(value) {
            throw NNFlopsError("\(flag) \(value) is out of range (\(range.lowerBound) to \(range.upperBound))")
        }

        // What the flags fix: one of C, N, D, or a whole run (N, D and C = 6ND).
        enum Given { case compute(Double), params(Double), tokens(Double), run(params: Double, tokens: Double, compute: Double) }
        let given: Given
        switch (request.compute, request.params, request.tokens) {
        case (nil, nil, nil):
            throw NNFlopsError("nothing to plan: give --compute, --params or --tokens",
                               notes: ["note: e.g. `nnflops plan --compute 1e21` or `nnflops plan --params 7B --tokens 1.4T`"])
        case (.some, .some, .some):
            throw NNFlopsError("--compute, --params and --tokens together over-determine the run (C = 6ND fixes any one from the other two)",
                               notes: ["note: give one of them, or two"])
        case let (c?, nil, nil): given = .compute(c)
        case let (nil, n?, nil): given = .params(n)
        case let (nil, nil, d?): given = .tokens(d)
        case let (nil, n?, d?): given = .run(params: n, tokens: d, compute: 6 * n * d)
        case let (c?, n?, nil): given = .run(params: n, tokens: c / (6 * n), compute: c)
        case let (c?, nil, d?): given = .run(params: c / (6 * d), tokens: d, compute: c)
        }
        let mode: PlanMode
        var compute: Double?
        switch given {
        case .compute(let c): mode = .compute; compute = c
        case .params: mode = .params
        case .tokens: mode = .tokens
        case .run(_, _, let c): mode = .allocation; compute = c
        }
        if let c = compute, !Self.computeRange.contains(c) {
            throw NNFlopsError("the run's compute 6ND = \(PlanQuantity.scientific(c)) FLOPs is outside the supported range " +
                "\(PlanQuantity.scientific(Self.computeRange.lowerBound))...\(PlanQuantity.scientific(Self.computeRange.upperBound))")
        }

        var rows: [PlanMethodRow] = []
        for method in ScalingMethod.allCases {
            let frontier = method.frontier
            let n: Double, d: Double, c: Double
            switch given {
            case .compute(let budget), .run(_, _, let budget):
                c = budget
                n = frontier.params(compute: c)
                d = c / (6 * n)
            case .params(let given):
                n = given
                c = frontier.compute(params: n)
                d = c / (6 * n)
            case .tokens(let given):
                d = given
                c = frontier.compute(tokens: d)
                n = c / (6 * d)
            }
            let law = method.lossLaw
            var row = PlanMethodRow(method: method, title: method.title, citation: method.citation,
                                    params: n, tokens: d, tokensPerParam: d / n, computeFlops: c,
                                    check6ND: 6 * n * d, loss: law?.loss(params: n, tokens: d))
            if case .run(let runParams, let runTokens, _) = given {
                row.paramsRatio = runParams / n
                if let law, let optimal = row.loss {
                    let loss = law.loss(params: runParams, tokens: runTokens)
                    row.givenLoss = loss
                    row.lossGap = loss - optimal
                }
            }
            rows.append(row)
        }

        guard let selected = rows.first(where: { $0.method == request.method }) else {
            throw NNFlopsError("unknown method '\(request.method.rawValue)'")
        }
        let target: PlanTarget
        if case .run(let n, let d, let c) = given {
            target = PlanTarget(method: nil, params: n, tokens: d, computeFlops: c)
        } else {
            target = PlanTarget(method: request.method, params: selected.params, tokens: selected.tokens, computeFlops: selected.computeFlops)
        }

        self.mode = mode
        self.computeFlops = compute
        self.givenParams = request.params
        self.givenTokens = request.tokens
        if case .run(let n, let d, _) = given {
            self.givenParams = n
            self.givenTokens = d
        }
        self.defaultMethod = .default
        self.selectedMethod = request.method
        self.methods = rows
        self.target = target

        var shape: TransformerShape?
        if request.emitSpec || request.fleet != nil {
            shape = try TransformerShape.realising(params: target.params, vocab: request.vocab, sequence: request.sequence)
        }
        if let fleetRequest = request.fleet, let shape {
            fleet = try FleetEstimate(request: fleetRequest, compute: target.computeFlops, params: target.params, tokens: target.tokens, shape: shape)
        }
        if request.emitSpec, let shape {
            let name = TransformerShape.modelName
            let comment = "Target: \(PlanQuantity.format(target.params)) parameters, \(PlanQuantity.format(target.tokens)) tokens, \(PlanQuantity.scientific(target.computeFlops)) FLOPs"
                + (target.method.map { " (\($0.title))" } ?? "") + "."
            let source = shape.spec(modelName: name, comment: comment)
            let graph = try Elaborator.elaborate(source: source, file: name + ".spec")
            let exact = try CostAnalysis(graph: graph).parameters
            spec = PlanSpec(path: nil, shape: shape, formulaParams: shape.parameters, exactParams: exact,
                            relativeError: Double(exact) / target.params - 1, source: source)
        }
    }
}
