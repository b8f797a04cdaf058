/// `nnflops fit`'s report (schema `nnflops.fit/1`, README, "`nnflops fit`"): the largest
/// batch per precision and checkpoint policy within a memory size.
public struct FitReport: Encodable, Sendable {
    public var schema = "nnflops.fit/1"
    public var model: String
    public var capacityBytes: Int
    public var usableBytes: Int
    public var optimizer: Optimizer
    public var rows: [BatchFit.Row]
    /// What the capacity is (a GPU id, or nil for a `--memory` size) and the fraction
    /// reserved: the table's heading (not in the JSON).
    public var device: String?
    public var reserve: Double

    enum CodingKeys: String, CodingKey {
        case schema, model, optimizer, rows
        case capacityBytes = "capacity_bytes"
        case usableBytes = "usable_bytes"
    }

    /// The formats `fit` writes.
    public static let formats: [OutputFormat] = [.table, .json]

    public init(model: String, capacityBytes: Int, usableBytes: Int, optimizer: Optimizer, rows: [BatchFit.Row],
                device: String? = nil, reserve: Double = 0) {
        self.model = model
        self.capacityBytes = capacityBytes
        self.usableBytes = usableBytes
        self.optimizer = optimizer
        self.rows = rows
        self.device = device
        self.reserve = reserve
    }

    public func render(_ format: OutputFormat) throws -> String {
        switch format {
        case .json: return try AnalysisRenderer.json(self)
        default:
            var table = TextTable(headers: ["precision", "checkpoint", "max batch", "peak"], alignments: [.left, .left, .right, .right])
            for r in rows { table.add([r.precision, r.checkpoint, String(r.maxBatch), Units.bytes(r.peakBytes)]) }
            let reserveText = reserve > 0 ? ", \(reserve * 100)% reserved" : ""
            return "\(model): largest batch within \(Units.bytes(usableBytes)) (\(device ?? Units.bytes(capacityBytes))\(reserveText)), \(optimizer.rawValue)\n\n"
                + table.render()
        }
    }
}
