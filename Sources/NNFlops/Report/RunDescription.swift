/// What was run, in one phrase, for the headings of `roofline`, `check` and the SVG:
/// `batch 32, adam, fp32, checkpoint none`; `batch 64 (2 micro-batches of 32), sgd, amp-bf16,
/// checkpoint sqrt`; `batch 8, inference, bf16`.
public enum RunDescription {
    /// `microBatch` is the batch one micro-step runs (the graph's), `microBatches` how many
    /// accumulate per step; `optimizer` nil means inference.
    /// `tf32`: which fp32 matrix work ran on TF32 (`conv`, ...), nil to leave it unsaid.
    public static func text(microBatch: Int, microBatches: Int, optimizer: String?, precision: String, tf32: String? = nil,
                            checkpoint: String) -> String {
        var parts: [String] = []
        parts.append(microBatches > 1 ? "batch \(microBatch * microBatches) (\(microBatches) micro-batches of \(microBatch))" : "batch \(microBatch)")
        parts.append(optimizer ?? "inference")
        parts.append(precision + (tf32.map { " (tf32 \($0))" } ?? ""))
        if optimizer != nil { parts.append("checkpoint \(checkpoint)") }
        return parts.joined(separator: ", ")
    }

    /// The phrase for a graph (one micro-batch) run under `configuration`.
    public static func text(graph: Graph, configuration: RunConfiguration) -> String {
        text(microBatch: TrainingRun.batch(of: graph), microBatches: configuration.inference ? 1 : max(1, configuration.accumulationSteps),
             optimizer: configuration.inference ? nil : configuration.optimizer.rawValue, precision: configuration.precision.rawValue,
             checkpoint: configuration.checkpointDescription)
    }
}
