import Foundation

/// Budgets (`nnflops check`) and the largest batch that fits (`nnflops fit`): pure
/// functions of graphs and a run configuration.

/// What a budget limits (`budget METRIC <= LIMIT` in a spec, `check --max-...`), with the
/// unit it is measured in.
public enum BudgetMetric: String, Sendable, Hashable, Codable, CaseIterable {
    case peakMemory = "peak_memory"
    case params
    case trainableParams = "trainable_params"
    /// One optimizer step: forward + backward (+ recompute) per micro-batch, and the step.
    case trainFlops = "train_flops"
    case forwardFlops = "forward_flops"
    /// Saved activations at the end of forward (inference: the largest live set).
    case activationMemory = "activation_memory"

    /// The unit a metric is measured in.
    public enum Unit: Sendable, Hashable {
        case bytes, parameters, flops

        /// Which suffixes its limits take (README, "Numbers and units").
        public var quantity: QuantityKind { self == .bytes ? .bytes : .count }
    }

    public var unit: Unit {
        switch self {
        case .peakMemory, .activationMemory: .bytes
        case .params, .trainableParams: .parameters
        case .trainFlops, .forwardFlops: .flops
        }
    }
}

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

    /// The value of a budget metric.
    public func value(of metric: BudgetMetric) -> Int {
        switch metric {
        case .peakMemory: peakMemory
        case .params: params
        case .trainableParams: trainableParams
        case .trainFlops: trainFLOPs
        case .forwardFlops: forwardFLOPs
        case .activationMemory: activationMemory
        }
    }
}

/// One limit to check: from the spec (`budget ... <= ...`, with its location) or a flag.
public struct BudgetLimit: Sendable {
    public var metric: BudgetMetric
    public var limit: Double
    /// `--max-peak-memory` or `file:line:col`.
    public var source: String
    public init(metric: BudgetMetric, limit: Double, source: String) {
        self.metric = metric
        self.limit = limit
        self.source = source
    }
}

/// A limit exceeded.
public struct BudgetViolation: Sendable, Codable, Equatable {
    public var metric: BudgetMetric
    public var actual: Int
    public var limit: Double
    public var source: String
    public init(metric: BudgetMetric, actual: Int, limit: Double, source: String) {
        self.metric = metric
        self.actual = actual
        self.limit = limit
        self.source = source
    }
}

public enum BudgetCheck {
    /// The spec's own budgets as limits.
    public static func limits(of graph: Graph) -> [BudgetLimit] {
        graph.budgets.map { BudgetLimit(metric: $0.metric, limit: $0.limit, source: $0.location.description) }
    }

    /// Every limit the metrics exceed, in the order given.
    public static func violations(_ metrics: RunMetrics, _ limits: [BudgetLimit]) -> [BudgetViolation] {
        limits.compactMap { limit in
            let actual = metrics.value(of: limit.metric)
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

    /// `nnflops fit`'s rows: for every precision policy x checkpoint policy, the largest
    /// batch of `model` whose peak under `base` (optimizer, weight decay, clipping) is at
    /// most `capacity` bytes. The model needs a `batch` param to search over.
    public static func search(model: ModelRequest, capacity: Int, base: RunConfiguration,
                              precisions: [PrecisionPolicy], checkpoints: [CheckpointPolicy],
                              attention: AttentionConvention = .dense) throws -> [Row] {
        guard try model.batchSize() != nil else {
            throw NNFlopsError("\(model.reference) has no `batch` param to search over")
        }
        var rows: [Row] = []
        for precision in precisions {
            for checkpoint in checkpoints {
                var configuration = base
                configuration.precision = precision
                configuration.checkpoint = checkpoint
                rows.append(try search(capacity: capacity, configuration: configuration, attention: attention, graph: model.graph(batch:)))
            }
        }
        return rows
    }

    /// Searches batch sizes (doubling, then bisection; peak memory grows with the batch)
    /// up to `limit` for the largest one whose peak is at most `capacity` bytes.
    /// `graph(b)` elaborates the model at batch b.
    public static func search(capacity: Int, configuration: RunConfiguration, limit: Int = 1 << 24,
                              attention: AttentionConvention = .dense, graph: (Int) throws -> Graph) throws -> Row {
        func peak(_ batch: Int) throws -> Int {
            let g = try graph(batch)
            let costs = try CostAnalysis(graph: g, options: CountOptions(attention: attention).run(configuration))
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
}
