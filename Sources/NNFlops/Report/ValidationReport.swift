#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nnflops validate`'s report (schema `nnflops.validate/1`, README, "The reference
/// executor"): analytic against executed FLOPs, MACs and saved bytes per layer and
/// phase, and the peak memory.
public struct ValidationReport: Encodable, Sendable {
    public struct Layer: Encodable, Sendable {
        public var name: String
        public var kind: String
        public var phase: Phase
        public var analyticFlops: Int
        public var executedFlops: Int
        public var analyticMacs: Int
        public var executedMacs: Int
        public var analyticSavedBytes: Int?
        public var executedSavedBytes: Int?
        enum CodingKeys: String, CodingKey {
            case name, kind, phase
            case analyticFlops = "analytic_flops", executedFlops = "executed_flops"
            case analyticMacs = "analytic_macs", executedMacs = "executed_macs"
            case analyticSavedBytes = "analytic_saved_bytes", executedSavedBytes = "executed_saved_bytes"
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(kind, forKey: .kind)
            try c.encode(phase, forKey: .phase)
            try c.encode(analyticFlops, forKey: .analyticFlops)
            try c.encode(executedFlops, forKey: .executedFlops)
            try c.encode(analyticMacs, forKey: .analyticMacs)
            try c.encode(executedMacs, forKey: .executedMacs)
            try c.encode(analyticSavedBytes, forKey: .analyticSavedBytes)  // null on backward rows
            try c.encode(executedSavedBytes, forKey: .executedSavedBytes)
        }
    }
    public struct Memory: Encodable, Sendable {
        public var analyticPeakBytes: Int
        public var executedPeakBytes: Int
        public var peakAt: String?
        public var peakPhase: String?
        public var analyticPeakAt: String
        public var analyticPeakPhase: String
        public var liveAtPeak: [String: Int]
        public var analyticOptimizerStateBytes: Int
        public var executedOptimizerStateBytes: Int
        public var executedInstantaneousPeakBytes: Int
        public var ok: Bool
        enum CodingKeys: String, CodingKey {
            case analyticPeakBytes = "analytic_peak_bytes", executedPeakBytes = "executed_peak_bytes"
            case peakAt = "peak_at", peakPhase = "peak_phase", liveAtPeak = "live_at_peak"
            case analyticPeakAt = "analytic_peak_at", analyticPeakPhase = "analytic_peak_phase"
            case analyticOptimizerStateBytes = "analytic_optimizer_state_bytes", executedOptimizerStateBytes = "executed_optimizer_state_bytes"
            case executedInstantaneousPeakBytes = "executed_instantaneous_peak_bytes", ok
        }
    }
    public var schema = "nnflops.validate/1"
    public var model: String
    public var ok: Bool
    public var layers: [Layer]
    public var memory: Memory
    public var loss: Double
    public var gradientAccumulationFlops: Int
    /// Wall-clock seconds of the run, with `--timing` only (JSON null otherwise), so that
    /// two runs of the same spec write the same bytes.
    public var seconds: Double?
    enum CodingKeys: String, CodingKey {
        case schema, model, ok, layers, memory, loss, seconds
        case gradientAccumulationFlops = "gradient_accumulation_flops"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema)
        try c.encode(model, forKey: .model)
        try c.encode(ok, forKey: .ok)
        try c.encode(layers, forKey: .layers)
        try c.encode(memory, forKey: .memory)
        try c.encode(loss, forKey: .loss)
        try c.encode(gradientAccumulationFlops, forKey: .gradientAccumulationFlops)
        try c.encode(seconds, forKey: .seconds)
    }

    public init(_ report: ExecutionReport, seconds: Double?) {
        model = report.model
        ok = report.ok
        layers = report.rows.map {
            Layer(name: $0.name, kind: $0.kind, phase: $0.phase, analyticFlops: $0.analyticFLOPs, executedFlops: $0.executedFLOPs,
                  analyticMacs: $0.analyticMACs, executedMacs: $0.executedMACs,
                  analyticSavedBytes: $0.analyticSavedBytes, executedSavedBytes: $0.executedSavedBytes)
        }
        let m = report.memory
        memory = Memory(analyticPeakBytes: m.analyticPeakBytes, executedPeakBytes: m.peakBytes,
                        peakAt: m.peakPoint?.name, peakPhase: m.peakPoint?.phase.rawValue,
                        analyticPeakAt: m.analyticPeakLayer, analyticPeakPhase: m.analyticPeakPhase,
                        liveAtPeak: Dictionary(uniqueKeysWithValues: m.liveAtPeak.map { ($0.key.rawValue, $0.value) }),
                        analyticOptimizerStateBytes: m.analyticOptimizerStateBytes, executedOptimizerStateBytes: m.optimizerStateBytes,
                        executedInstantaneousPeakBytes: m.instantaneousPeakBytes, ok: m.matches)
        loss = report.loss.isFinite ? report.loss : 0
        gradientAccumulationFlops = report.gradientAccumulationFLOPs
        self.seconds = seconds
    }
}

/// Renders `nnflops validate`'s report, its progress line and the measured peaks.
public enum ValidationRenderer {
    /// The formats `validate` writes.
    public static let formats: [OutputFormat] = [.table, .json]

    /// `report` as JSON or a table. `optimizer` names the step that ran; `mismatchesOnly`
    /// leaves the agreeing rows out of the table. `seconds` (`--timing`) adds the run's
    /// wall-clock time and the kernel times by kind; without it the output of a run is the
    /// same every time.
    public static func render(_ report: ExecutionReport, seconds: Double?, optimizer: Optimizer, format: OutputFormat,
                              mismatchesOnly: Bool = false) throws -> String {
        switch format {
        case .json: try AnalysisRenderer.json(ValidationReport(report, seconds: seconds))
        default: table(report, seconds: seconds, optimizer: optimizer, mismatchesOnly: mismatchesOnly)
        }
    }

    public static func table(_ report: ExecutionReport, seconds: Double?, optimizer: Optimizer, mismatchesOnly: Bool = false) -> String {
        var table = TextTable(headers: ["layer", "kind", "phase", "analytic", "executed", "saved (analytic)", "saved (exec)", ""],
                              alignments: [.left, .left, .left, .right, .right, .right, .right, .left])
        for row in report.rows where !mismatchesOnly || !row.matches {
            let verdict = row.matches ? "ok" : !row.flopsMatch ? "MISMATCH" : "MISMATCH (saved)"
            table.add([row.name, row.kind, row.phase.rawValue, String(row.analyticFLOPs), String(row.executedFLOPs),
                       row.analyticSavedBytes.map { String($0) } ?? "", row.executedSavedBytes.map { String($0) } ?? "", verdict])
        }
        let executed = report.rows.reduce(0) { $0 + $1.executedFLOPs }
        var text = table.render()
        text += "\nmodel \(report.model): \(report.rows.count) layer-phases, executed \(Units.flops(executed))"
        if let seconds {
            text += " in \(String(cFormat: "%.2f", seconds)) s (\(Units.flopRate(Double(executed) / max(seconds, 1e-9))))\n"
            let kinds = report.kernelTime.sorted { $0.value.seconds > $1.value.seconds }.prefix(5)
            text += "kernel time by kind: " + kinds.map { kind, t in
                "\(kind) \(String(cFormat: "%.2f", t.seconds)) s (\(Units.flopRate(Double(t.flops) / max(t.seconds, 1e-9))))"
            }.joined(separator: ", ") + "\n"
        } else {
            text += "\n"
        }
        let memory = report.memory
        text += "peak memory: analytic \(memory.analyticPeakBytes) B (\(Units.bytes(memory.analyticPeakBytes)), at \(memory.analyticPeakLayer), \(memory.analyticPeakPhase))"
        text += ", executed \(memory.peakBytes) B"
        if let point = memory.peakPoint { text += " (at \(point.name.isEmpty ? "-" : point.name), \(point.phase.rawValue))" }
        text += memory.peakBytes == memory.analyticPeakBytes ? ": ok\n" : ": MISMATCH\n"
        text += "optimizer \(optimizer.rawValue) state: analytic \(memory.analyticOptimizerStateBytes) B, executed \(memory.optimizerStateBytes) B"
        text += memory.optimizerStateBytes == memory.analyticOptimizerStateBytes ? ": ok\n" : ": MISMATCH\n"
        text += "saved for backward after forward \(Units.bytes(memory.savedBytesAfterForward)); instantaneous peak incl. kernel-internal tensors \(Units.bytes(memory.instantaneousPeakBytes))\n"
        text += "gradient accumulation (tensors used twice, not an operator's phase): \(report.gradientAccumulationFLOPs) FLOPs\n"
        text += "loss \(report.loss)\n"
        let mismatches = report.mismatches.count
        if report.ok {
            text += "verdict: OK, every executed count, saved size and the peak equal the analytic ones\n"
        } else {
            text += "verdict: MISMATCH in \(mismatches) layer-phase(s)" + (memory.matches ? "" : " and in memory") + "\n"
        }
        return text
    }

    /// The progress line for a terminal: `\r`, clear line, percent, node, elapsed time
    /// (an empty line, clearing it, when done).
    public static func progress(done: Int, total: Int, node: String, elapsed: Double) -> String {
        let percent = String(done * 100 / max(1, total))
        let text = "\r\u{1B}[Kvalidate: " + String(repeating: " ", count: max(0, 3 - percent.count)) + percent + "%  " + node
            + "  (" + String(cFormat: "%.1f", elapsed) + "s)"
        return done == total ? text + "\r\u{1B}[K" : text
    }

    /// Whether a progress line is worth drawing for node `done` of `total` (about 200 per run).
    public static func showsProgress(done: Int, total: Int) -> Bool {
        done == total || done % max(1, total / 200) == 0
    }

    /// `--peak`: this machine's FMA and mul+add peaks and the executor's GEMM rate.
    public static func peakLine(_ p: MeasuredPeak) -> String {
        "peak (\(p.threads) threads): FMA \(Units.flopRate(p.fmaFLOPsPerSecond)), mul+add \(Units.flopRate(p.mulAddFLOPsPerSecond)); "
            + "executor GEMM 512^3 \(Units.flopRate(p.gemmFLOPsPerSecond)) (\(String(cFormat: "%.0f", 100 * p.gemmFLOPsPerSecond / p.fmaFLOPsPerSecond))% of FMA peak)\n"
    }
}
