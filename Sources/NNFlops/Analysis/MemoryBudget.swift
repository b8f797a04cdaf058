import Foundation

/// Budgets (`nnflops check`) and the largest batch that fits (`nnflops fit`): pure
/// functions of graphs and a run configuration.

/// The figures a budget can limit, for one run configuration.
public struct RunMetrics: Sendable {
    public var peakMemory: Int
    public var params: Int
    public var trainableParams: Int
    /// FLOPs of one optimizer step: (forward + backward + recompute) per micro-batch, times
    /// the micro-batches, plus the optimizer's own step.
    public var trainFLOPs: Int
    public var forwardFLOPs: Int
    /// Saved activations at the end of forward (inference: the largest live set).
    public var activationMemory: Int

    public init(costs: CostAnalysis, memory: MemoryAnalysis) throws {
        peakMemory = memory.peakBytes
        params = costs.parameters
        trainableParams = costs.trainableParameters
        let steps = memory.configuration.accumulationSteps
        forwardFLOPs = (costs.forward.flops * steps).value
        let train = memory.configuration.inference
            ? costs.forward.flops * steps
            : (costs.trainStep.flops + memory.recomputeFLOPs) * steps + memory.optimizerFLOPs
        guard !train.overflowed else { throw NNFlopsError("the model's training FLOP count overflows 64 bits") }
        trainFLOPs = train.value
        activationMemory = memory.configuration.inference ? memory.peakBytes - memory.staticBytes : memory.savedActivationsBytes
    }

    /// The value of a budget metric (`Budget.metrics`).
    public func value(of metric: String) -> Int? {
        switch metric {
        case "peak_memory": peakMemory
        case "params": params
        case "trainable_params": trainableParams
        case "train_flops": trainFLOPs
        case "forward_flops": forwardFLOPs
        case "activation_memory": activationMemory
        default: nil
        }
    }

    public static func isBytes(_ metric: String) -> Bool { metric.hasSuffix("memory") }
}

/// One limit to check: from the spec (`budget ... <= ...`, with its location) or a flag.
public struct BudgetLimit: Sendable {
    public var metric: String
    public var limit: Double
    /// `--max-peak-memory` or `file:line:col`.
    public var source: String
    public init(metric: String, limit: Double, source: String) {
        self.metric = metric
        self.limit = limit
        self.source = source
    }
}

/// A limit exceeded.
public struct BudgetViolation: Sendable, Codable, Equatable {
    public var metric: String
    public var actual: Int
    public var limit: Double
    public var source: String
}

public enum BudgetCheck {
    /// The spec's own budgets as limits.
    public static func limits(of graph: Graph) -> [BudgetLimit] {
        graph.budgets.map { BudgetLimit(metric: $0.metric, limit: $0.limit, source: $0.location.description) }
    }

    /// Every limit the metrics exceed, in the order given.
    public static func violations(_ metrics: RunMetrics, _ limits: [BudgetLimit]) throws -> [BudgetViolation] {
        try limits.compactMap { limit in
            guard let actual = metrics.value(of: limit.metric) else {
                throw NNFlopsError("unknown budget metric '\(limit.metric)'", notes: ["known metrics: " + Budget.metrics.joined(separator: ", ")])
            }
            return Double(actual) > limit.limit ? BudgetViolation(metric: limit.metric, actual: actual, limit: limit.limit, source: limit.source) : nil
        }
    }
}

/// The largest batch whose peak memory fits.
public enum BatchFit {
    public struct Row: Sendable, Codable, Equatable {
        public var precision: String
        public var checkpoint: String
        /// 0 when not even batch 1 fits.
        public var maxBatch: Int
        /// Peak at `maxBatch` (at batch 1 when nothing fits).
        public var peakBytes: Int
        enum CodingKeys: String, CodingKey {
            case precision, checkpoint
            case maxBatch = "max_batch"
            case peakBytes = "peak_bytes"
        }
    }

    /// Searches batch sizes (doubling, then bisection; peak memory grows with the batch)
    /// up to `limit` for the largest one whose peak is at most `capacity` bytes.
    /// `graph(b)` elaborates the model at batch b.
    public static func search(capacity: Int, configuration: RunConfiguration, limit: Int = 1 << 24,
                              attention: AttentionConvention = .dense, graph: (Int) throws -> Graph) throws -> Row {
        func peak(_ batch: Int) throws -> Int {
            let g = try graph(batch)
            let costs = try CostAnalysis(graph: g, options: CountOptions(attention: attention))
            return try MemoryAnalysis(graph: g, costs: costs, configuration: configuration).peakBytes
        }
        let name = configuration.precision.rawValue, checkpoint = configuration.checkpoint.description
        let first = try peak(1)
        guard first <= capacity else { return Row(precision: name, checkpoint: checkpoint, maxBatch: 0, peakBytes: first) }
        var good = 1, goodPeak = first
        var bad: Int? = nil
        while bad == nil && good < limit {
            let next = min(limit, good * 2)
            let p = try peak(next)
            if p <= capacity { good = next; goodPeak = p } else { bad = next }
        }
        if var high = bad {
            while high - good > 1 {
                let mid = good + (high - good) / 2
                let p = try peak(mid)
                if p <= capacity { good = mid; goodPeak = p } else { high = mid }
            }
        }
        return Row(precision: name, checkpoint: checkpoint, maxBatch: good, peakBytes: goodPeak)
    }

    /// Parses a memory size: `24GiB`, `80GB`, `16e9`, `1073741824` (bytes).
    public static func parseBytes(_ text: String, what: String) throws -> Int {
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
                                         ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1)]
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var scale = 1.0
        for (suffix, factor) in units where number.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0, value * scale < 9e18 else {
            throw NNFlopsError("\(what) must be a memory size such as 24GiB, 80GB or a number of bytes, got '\(text)'")
        }
        return Int((value * scale).rounded(.down))
    }
}
