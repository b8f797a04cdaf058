/// `nnflops fit`'s report (schema `nnflops.fit/1`, README, "`nnflops fit`"): the largest
/// batch per precision and checkpoint policy within a memory size.
public struct FitReport: Encodable, Sendable {
    /// Where the capacity comes from.
    public enum CapacitySource: String, Encodable, Sendable {
        /// The total the GPU's driver reports (`GPUProfile.reportedMemoryBytes`).
        case reported
        /// The datasheet's GB figure: no report of the driver's total was found.
        case datasheet
        /// `--memory`.
        case memory
    }

    public var schema = "nnflops.fit/1"
    public var model: String
    /// The GPU id, nil for a `--memory` size.
    public var gpu: String?
    public var capacityBytes: Int
    public var capacitySource: CapacitySource
    public var usableBytes: Int
    public var optimizer: Optimizer
    public var rows: [BatchFit.Row]
    /// The fraction reserved (the table's heading; not in the JSON, which has usable_bytes).
    public var reserve: Double
    /// Precision policies left out because the GPU cannot compute in them (bf16 on a V100).
    public var unsupportedPrecisions: [String]
    /// The largest batch searched (`Limits.batchSearch`).
    public var searchLimit: Int
    /// On many GPUs (README, "Training on many GPUs"): one row per layout (a given layout
    /// per precision and checkpoint policy, or every layout of --gpus N that fits, fastest
    /// first), the layouts tried, those the model refused, and the global batch.
    public var layouts: [ParallelFit.Row]?
    public var layoutsTried: Int?
    public var refusedLayouts: [ParallelFit.Refusal]?
    public var globalBatch: Int?
    /// Whether `layouts` is a search (every layout of the GPUs) rather than one layout.
    public var searched = false

    enum CodingKeys: String, CodingKey {
        case schema, model, gpu, optimizer, rows
        case capacityBytes = "capacity_bytes"
        case capacitySource = "capacity_source"
        case usableBytes = "usable_bytes"
        case unsupportedPrecisions = "unsupported_precisions"
        case searchLimit = "search_limit"
        case layouts
        case layoutsTried = "layouts_tried"
        case refusedLayouts = "refused_layouts"
        case globalBatch = "global_batch"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(model, forKey: .model)
        try c.encode(gpu, forKey: .gpu)
        try c.encode(capacityBytes, forKey: .capacityBytes)
        try c.encode(capacitySource, forKey: .capacitySource)
        try c.encode(usableBytes, forKey: .usableBytes)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(rows, forKey: .rows)
        try c.encode(unsupportedPrecisions, forKey: .unsupportedPrecisions)
        try c.encode(searchLimit, forKey: .searchLimit)
        try c.encodeIfPresent(layouts, forKey: .layouts)
        try c.encodeIfPresent(layoutsTried, forKey: .layoutsTried)
        try c.encodeIfPresent(refusedLayouts, forKey: .refusedLayouts)
        try c.encodeIfPresent(globalBatch, forKey: .globalBatch)
    }

    /// The formats `fit` writes.
    public static let formats: [OutputFormat] = [.table, .json]

    public init(model: String, capacityBytes: Int, usableBytes: Int, optimizer: Optimizer, rows: [BatchFit.Row],
                gpu: String? = nil, capacitySource: CapacitySource = .memory, reserve: Double = 0,
                unsupportedPrecisions: [String] = [], searchLimit: Int = Limits.standard.batchSearch) {
        self.model = model
        self.gpu = gpu
        self.capacityBytes = capacityBytes
        self.capacitySource = capacitySource
        self.usableBytes = usableBytes
        self.optimizer = optimizer
        self.rows = rows
        self.reserve = reserve
        self.unsupportedPrecisions = unsupportedPrecisions
        self.searchLimit = searchLimit
    }

    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json: return try AnalysisRenderer.json(self)
        default:
            if let layouts { return layoutText(layouts) }
            var table = TextTable(headers: ["precision", "checkpoint", "max batch", "peak"], alignments: [.left, .left, .right, .right])
            for r in rows {
                // max_batch 0: the peak is batch 1's, and it does not fit.
                let batch = r.maxBatch == 0 ? "none" : !r.memoryDependsOnBatch ? "any"
                    : r.maxBatch == searchLimit ? ">= \(r.maxBatch)" : String(r.maxBatch)
                let peak = r.maxBatch == 0 ? "batch 1 needs \(Units.bytes(r.peakBytes))" : Units.bytes(r.peakBytes)
                table.add([r.precision, r.checkpoint, batch, peak])
            }
            // The capacity's size is repeated only when a reserve makes it differ.
            let size = reserve > 0 ? "\(Units.bytes(capacityBytes)), " : ""
            var capacity: String
            switch capacitySource {
            case .reported: capacity = "\(gpu ?? "GPU"): \(size)the total its driver reports"
            case .datasheet: capacity = "\(gpu ?? "GPU"): \(size)the datasheet figure, no report of its driver's total is known"
            case .memory: capacity = "--memory \(Units.bytes(capacityBytes))"
            }
            let percent = reserve * 100
            if reserve > 0 { capacity += ", \(percent == percent.rounded() ? String(Int(percent)) : Units.format(percent))% reserved" }
            var out = "\(model), \(optimizer.rawValue): largest batch within \(Units.bytes(usableBytes)) (\(capacity))\n\n"
                + table.render()
            if rows.contains(where: { $0.maxBatch == 0 }) { out += "\nnone: not even batch 1 fits.\n" }
            if rows.contains(where: { !$0.memoryDependsOnBatch }) {
                out += "\nany: memory does not depend on batch (the peak is the same at batch 1 and \(Units.grouped(searchLimit))).\n"
            }
            if rows.contains(where: { $0.memoryDependsOnBatch && $0.maxBatch == searchLimit }) {
                out += "\n>= \(searchLimit): the search stops at batch \(Units.grouped(searchLimit)) (the batch-search limit).\n"
            }
            if !unsupportedPrecisions.isEmpty {
                out += "\nLeft out: \(unsupportedPrecisions.joined(separator: ", ")) (\(gpu ?? "this GPU") has no bf16 units).\n"
            }
            return out
        }
    }

    /// The table of layouts.
    func layoutText(_ rows: [ParallelFit.Row]) -> String {
        let timed = rows.contains { $0.stepTimeS != nil }
        var table = TextTable(headers: ["GPUs", "D", "T", "P", "ZeRO", "SP", "precision", "checkpoint", "micro-batch", "micro-batches", "peak", "peak stage"]
                                + (timed ? ["step"] : []),
                              alignments: [.right, .right, .right, .right, .right, .left, .left, .left, .right, .right, .right, .left] + (timed ? [.right] : []))
        for r in rows {
            var row = [String(r.gpus), String(r.dataParallel), String(r.tensorParallel), String(r.pipelineParallel), String(r.zero),
                       r.sequenceParallel ? "yes" : "", r.precision, r.checkpoint, r.maxMicroBatch == 0 ? "none" : String(r.maxMicroBatch),
                       String(r.microBatches), r.maxMicroBatch == 0 ? "1 needs \(Units.bytes(r.peakBytes))" : Units.bytes(r.peakBytes), r.peakStage]
            if timed { row.append(r.stepTimeS.map(RooflineRenderer.seconds) ?? "") }
            table.add(row)
        }
        var capacity = "\(gpu ?? "--memory") \(Units.bytes(usableBytes))"
        if reserve > 0 { capacity += ", \(Units.format(reserve * 100))% reserved" }
        var out = "\(model), \(optimizer.rawValue): "
        if searched {
            out += "layouts of \(rows.first?.gpus ?? 0) GPUs that fit \(capacity) per GPU" + (globalBatch.map { ", global batch \($0)" } ?? "") + ", fastest first\n\n"
        } else {
            out += "largest micro-batch per GPU within \(capacity)" + (globalBatch.map { ", global batch \($0)" } ?? ", P micro-batches per step") + "\n\n"
        }
        out += rows.isEmpty ? "No layout fits.\n" : table.render()
        if searched, let tried = layoutsTried { out += "\n\(rows.count) of \(tried) layouts fit.\n" }
        if let refused = refusedLayouts, !refused.isEmpty {
            out += "Refused: " + refused.prefix(6).map { "T \($0.tensorParallel) x P \($0.pipelineParallel) (\($0.reason))" }.joined(separator: "; ")
                + (refused.count > 6 ? "; ... (\(refused.count) in all)" : "") + "\n"
        }
        if rows.contains(where: { $0.maxMicroBatch == 0 }) { out += "none: not even a micro-batch of 1 fits.\n" }
        return out
    }
}
