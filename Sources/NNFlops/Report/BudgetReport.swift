/// `nnflops check`'s report (schema `nnflops.check/1`, README, "`nnflops check`"): every
/// limit against the run's figure, and the ones exceeded.
public struct BudgetReport: Encodable, Sendable {
    /// One limit and the figure it was checked against.
    public struct Line: Sendable {
        public var limit: BudgetLimit
        public var actual: Int
        public var exceeded: Bool { Double(actual) > limit.limit }
    }

    public var schema = "nnflops.check/1"
    public var model: String
    /// What was run (`batch 64, adamw, amp-bf16, checkpoint none`): the table's heading.
    public var run: String
    public var ok: Bool
    public var violations: [BudgetViolation]
    public var checked: Int
    /// Every limit in order (the table's lines; not in the JSON).
    public var lines: [Line]

    enum CodingKeys: String, CodingKey {
        case schema, model, run, ok, violations, checked
    }

    /// The formats `check` writes.
    public static let formats: [OutputFormat] = [.table, .json]

    public init(model: String, run: String, metrics: RunMetrics, limits: [BudgetLimit]) {
        self.model = model
        self.run = run
        violations = BudgetCheck.violations(metrics, limits)
        ok = violations.isEmpty
        checked = limits.count
        lines = limits.map { Line(limit: $0, actual: metrics.value(of: $0.metric)) }
    }

    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json: return try AnalysisRenderer.json(self)
        default:
            var out = "\(model): \(run)\n"
            for line in lines {
                let metric = line.limit.metric
                out += "\(line.exceeded ? "FAIL" : "ok  ")  \(metric.rawValue) \(Self.show(Double(line.actual), metric.unit))"
                    + " \(line.exceeded ? ">" : "<=") \(Self.show(line.limit.limit, metric.unit))  (\(line.limit.source))\n"
            }
            out += ok ? "within budget (\(checked) checked)\n" : "budget exceeded: \(violations.count) of \(checked)\n"
            return out
        }
    }

    /// A figure in its metric's unit: `3.89 MiB`, `5.20 GFLOPs`, `125M`.
    static func show(_ value: Double, _ unit: BudgetMetric.Unit) -> String {
        switch unit {
        case .bytes: Units.bytes(value)
        case .flops: Units.flops(value)
        case .parameters: Units.count(value)
        }
    }
}
