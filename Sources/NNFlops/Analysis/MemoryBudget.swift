#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
        let train = TrainingStepFLOPs.flops(costs: costs, memory: memory, microBatches: steps)
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
        /// 0 when not even batch 1 fits; the search limit when the limit fits.
        public var maxBatch: Int
        /// Peak at `maxBatch` (at batch 1 when nothing fits).
        public var peakBytes: Int
        /// False when the peak is the same at batch 1 and at the search limit: the model's
        /// memory does not depend on its `batch` param, and any batch fits.
        public var memoryDependsOnBatch: Bool
        public init(precision: String, checkpoint: String, maxBatch: Int, peakBytes: Int, memoryDependsOnBatch: Bool = true) {
            self.precision = precision
            self.checkpoint = checkpoint
            self.maxBatch = maxBatch
            self.peakBytes = peakBytes
            self.memoryDependsOnBatch = memoryDependsOnBatch
        }
        enum CodingKeys: String, CodingKey {
            case precision, checkpoint
            case maxBatch = "max_batch"
            case peakBytes = "peak_bytes"
            case memoryDependsOnBatch = "memory_depends_on_batch"
        }
    }

    /// `nnflops fit`'s rows: for every precision policy x checkpoint policy, the largest
    /// batch of `model` whose peak under `base` (optimizer, weight decay, clipping) is at
    /// most `capacity` bytes, searched up to `limit`. The model needs a `batch` param to
    /// search over. It is parsed once (`ModelRequest`); each batch probed is elaborated once
    /// (and costed once per precision) for every row that probes it, and a row probes a
    /// handful of batches.
    public static func search(model: ModelRequest, capacity: Int, base: RunConfiguration,
                              precisions: [PrecisionPolicy], checkpoints: [CheckpointPolicy],
                              attention: AttentionConvention = .dense, limit: Int = Limits.standard.batchSearch) throws -> [Row] {
        guard try model.batchSize() != nil else {
            throw NNFlopsError("\(model.reference) has no `batch` param to search over")
        }
        var cache = ProbeCache(capacity: 8)
        var rows: [Row] = []
        for precision in precisions {
            for checkpoint in checkpoints {
                var configuration = base
                configuration.precision = precision
                configuration.checkpoint = checkpoint
                rows.append(try search(capacity: capacity, limit: limit, precision: precision.rawValue, checkpoint: checkpoint.description) { batch in
                    let (graph, costs) = try cache.analysed(batch, CountOptions(attention: attention).run(configuration)) { b in
                        try model.graph(batch: b, flag: "fit's batch \(b)")
                    }
                    return try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration).peakBytes
                })
            }
        }
        return rows
    }

    /// The largest batch up to `limit` whose peak is at most `capacity` bytes; `graph(b)`
    /// elaborates the model at batch b.
    public static func search(capacity: Int, configuration: RunConfiguration, limit: Int = Limits.standard.batchSearch,
                              attention: AttentionConvention = .dense, graph: (Int) throws -> Graph) throws -> Row {
        try search(capacity: capacity, limit: limit, precision: configuration.precision.rawValue,
                   checkpoint: configuration.checkpoint.description) { batch in
            let g = try graph(batch)
            let costs = try CostAnalysis(graph: g, options: CountOptions(attention: attention).run(configuration))
            return try MemoryAnalysis(graph: g, costs: costs, configuration: configuration).peakBytes
        }
    }

    /// The search proper, over `peak(b)`, which grows with the batch. The peak is close to
    /// linear in the batch (every activation is), so the batch is predicted from the peaks
    /// at 1 and 2, checked there and one above, and refined inside the bracket by linear
    /// interpolation with bisection as its safeguard: a handful of probes, where doubling
    /// and bisection took about 2 log2(limit). A probe that fails names its batch.
    static func search(capacity: Int, limit: Int, precision: String, checkpoint: String, peak: (Int) throws -> Int) throws -> Row {
        var probed: [Int: Int] = [:]
        func probe(_ batch: Int) throws -> Int {
            if let known = probed[batch] { return known }
            do {
                let value = try peak(batch)
                probed[batch] = value
                return value
            } catch var failure as NNFlopsError {
                failure.message = "fit tried batch \(Units.grouped(batch)) (\(precision), checkpoint \(checkpoint)): " + failure.message
                throw failure
            }
        }
        func row(_ batch: Int, _ bytes: Int, dependsOnBatch: Bool = true) -> Row {
            Row(precision: precision, checkpoint: checkpoint, maxBatch: batch, peakBytes: bytes, memoryDependsOnBatch: dependsOnBatch)
        }
        let first = try probe(1)
        guard first <= capacity else { return row(0, first) }
        guard limit > 1 else { return row(1, first) }
        let second = try probe(2)
        guard second <= capacity else { return row(1, first) }
        // `low` fits; `high`, once known, does not; each with its peak.
        var low = 2, lowPeak = second
        var high: (batch: Int, peak: Int)? = nil
        // Unbracketed: the batch the slope from 1 to 2 predicts (the limit when the peak
        // is flat), then the batch above it, then doubling.
        let slope = Double(second - first)
        var guess = slope > 0 ? 1 + Int(min(Double(limit), (Double(capacity - first) / slope).rounded(.down))) : limit
        var predicted = true
        while high == nil && low < limit {
            let candidate = min(limit, max(low + 1, guess))
            let peak = try probe(candidate)
            if peak <= capacity {
                low = candidate
                lowPeak = peak
                guess = predicted ? low + 1 : low * 2
                predicted = false
            } else {
                high = (candidate, peak)
            }
        }
        // Bracketed: interpolate linearly; after an interpolated batch that fits, try the
        // one above it; bisect whenever an interpolation did not halve the bracket. At
        // least every third probe halves it.
        enum Step { case interpolate, verify, bisect }
        var step = Step.interpolate
        while let top = high, top.batch - low > 1 {
            let width = top.batch - low
            let candidate: Int
            switch step {
            case .interpolate:
                let fraction = Double(capacity - lowPeak) / Double(top.peak - lowPeak)
                candidate = min(top.batch - 1, max(low + 1, low + Int((fraction * Double(width)).rounded(.down))))
            case .verify: candidate = low + 1
            case .bisect: candidate = low + width / 2
            }
            let peak = try probe(candidate)
            let fits = peak <= capacity
            if fits { low = candidate; lowPeak = peak } else { high = (candidate, peak) }
            switch step {
            case .interpolate: step = fits ? .verify : ((candidate - low) * 2 > width ? .bisect : .interpolate)
            case .verify: step = .bisect
            case .bisect: step = .interpolate
            }
        }
        if low == limit && lowPeak == first { return row(limit, lowPeak, dependsOnBatch: false) }
        return row(low, lowPeak)
    }

    /// Graphs of the batches probed last, shared by the rows, with their cost analyses
    /// (which depend on the run's precision) by the counting options they were made under.
    struct ProbeCache {
        struct Entry {
            var batch: Int
            var graph: Graph
            var costs: [(options: CountOptions, costs: CostAnalysis)]
        }
        let capacity: Int
        var entries: [Entry] = []

        init(capacity: Int) { self.capacity = capacity }

        mutating func analysed(_ batch: Int, _ options: CountOptions, graph make: (Int) throws -> Graph) throws -> (Graph, CostAnalysis) {
            let index: Int
            if let found = entries.firstIndex(where: { $0.batch == batch }) {
                index = found
            } else {
                let graph = try make(batch)
                if entries.count == capacity { entries.removeFirst() }
                entries.append(Entry(batch: batch, graph: graph, costs: []))
                index = entries.count - 1
            }
            let graph = entries[index].graph
            if let known = entries[index].costs.first(where: { Self.same($0.options, options) }) { return (graph, known.costs) }
            let costs = try CostAnalysis(graph: graph, options: options)
            entries[index].costs.append((options, costs))
            return (graph, costs)
        }

        static func same(_ a: CountOptions, _ b: CountOptions) -> Bool {
            a.attention == b.attention && a.precision == b.precision && a.useCache == b.useCache
        }
    }
}
