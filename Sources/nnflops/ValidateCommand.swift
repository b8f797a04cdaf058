import ArgumentParser
import Foundation
import NNFlops

/// `nnflops validate`: runs the reference executor (seeded init, forward, loss, backward,
/// optimizer step) and compares executed with analytic FLOPs per layer and phase, saved
/// bytes per layer and the peak memory (fp32; the memory model of README, "Training and inference memory").
/// Exit 0 when everything agrees, 1 on any mismatch, 2 on bad input.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run the spec on the CPU reference executor and compare executed with analytic FLOPs, saved bytes and peak memory (exit 1 on mismatch).",
        discussion: """
        --scale S multiplies the spec params named `image` and `seq` by S (rounded, at least 1)
        for a quick check of a big model, e.g. `nnflops validate resnet50 --scale 0.25`.
        Attention is priced under the `executed` convention (what the kernels run; fused
        causal attention skips the masked entries). Memory is compared in fp32: per layer the
        bytes kept for backward, and the peak (static memory included) against the memory
        model under the same optimizer and checkpointing.
        """)

    enum ValidateFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

    @OptionGroup var specOptions: SpecOptions

    @Option(help: "Multiply the spec's `image` and `seq` params by this factor (0 < S <= 1 for a quick check).")
    var scale: Double = 1

    @Option(help: "Seed of the initialisation, inputs and dropout masks.")
    var seed: UInt64 = 0

    @Option(help: "Output format: table or json.")
    var format: ValidateFormat = .table

    @Option(help: "Optimizer whose update step runs (default sgd).")
    var optimizer: Optimizer = .sgd

    @Option(name: .customLong("weight-decay"), help: "Weight decay of the step (coupled optimizers add 2 FLOPs per parameter and a temporary).")
    var weightDecay: Double = 0

    @Option(name: .customLong("grad-clip"), help: ArgumentHelp("Clip the gradient norm to this value before the step.", valueName: "max-norm"))
    var gradClip: Double?

    @Option(help: ArgumentHelp("Activation checkpointing, executed: none, sqrt, segments=K.", valueName: "policy"))
    var checkpoint: CheckpointPolicy = .none

    @Flag(help: "Show only mismatching rows (table format).")
    var mismatchesOnly = false

    @Flag(help: "First measure this machine's FMA / mul+add peak and the executor's GEMM rate (printed to stderr).")
    var peak = false

    func validate() throws {
        guard scale > 0, scale.isFinite else { throw ValidationError("--scale must be a positive number, got \(scale)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw ValidationError("--weight-decay must be a non-negative number, got \(weightDecay)") }
        if let gradClip, !(gradClip > 0 && gradClip.isFinite) { throw ValidationError("--grad-clip must be a positive number, got \(gradClip)") }
    }

    func scaledGraph() throws -> Graph {
        var graph = try specOptions.graph()
        guard scale != 1 else { return graph }
        var values: [String: Value] = [:]
        for text in specOptions.overrides {
            let (name, value) = try SpecLoader.parseOverride(text)
            values[name] = value
        }
        if let batch = specOptions.batch { values["batch"] = .int(batch) }
        var changed = false
        for (name, value) in graph.settings where (name == "image" || name == "seq") && values[name] == nil {
            if case .int(let v) = value {
                values[name] = .int(max(1, Int((Double(v) * scale).rounded())))
                changed = true
            }
        }
        if changed {
            let (source, file) = try SpecLoader.load(specOptions.spec)
            graph = try Elaborator.elaborate(source: source, file: file, overrides: values)
        }
        return graph
    }

    func run() throws {
        let graph = try scaledGraph()
        if peak {
            let p = MeasuredPeak.measure()
            let text = "peak (\(p.threads) threads): FMA \(Units.flops(p.fmaFLOPsPerSecond))/s, mul+add \(Units.flops(p.mulAddFLOPsPerSecond))/s; "
                + "executor GEMM 512^3 \(Units.flops(p.gemmFLOPsPerSecond))/s (\(String(format: "%.0f", 100 * p.gemmFLOPsPerSecond / p.fmaFLOPsPerSecond))% of FMA peak)\n"
            FileHandle.standardError.write(Data(text.utf8))
        }
        // The kernels execute what an implementation runs (a fused causal kernel skips the
        // masked entries): only the `executed` attention convention can equal that, so
        // validate always prices attention under it, whatever --attention-flops says.
        var options = self.options
        if isatty(STDERR_FILENO) != 0 {
            let start = Date()
            options.progress = { done, total, name in
                guard done == total || done % max(1, total / 200) == 0 else { return }
                let text = String(format: "\r\u{1B}[Kvalidate: %3d%%  %@  (%.1fs)", done * 100 / max(1, total), name, Date().timeIntervalSince(start))
                FileHandle.standardError.write(Data(text.utf8))
                if done == total { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            }
        }
        let started = Date()
        let report = try ReferenceExecutor.run(graph, options: options)
        let seconds = Date().timeIntervalSince(started)
        switch format {
        case .json: emit(try AnalysisRenderer.json(ValidateJSON(report, seconds: seconds)))
        case .table: emit(table(report, seconds: seconds))
        }
        if !report.ok { throw ExitCode(1) }
    }

    var options: ExecutionOptions {
        ExecutionOptions(seed: seed, attention: .executed, optimizer: optimizer, weightDecay: weightDecay, gradClip: gradClip, checkpoint: checkpoint)
    }

    func table(_ report: ExecutionReport, seconds: Double) -> String {
        var table = TextTable(headers: ["layer", "kind", "phase", "analytic", "executed", "saved (analytic)", "saved (exec)", ""],
                              alignments: [.left, .left, .left, .right, .right, .right, .right, .left])
        for row in report.rows where !mismatchesOnly || !row.matches {
            let verdict = row.matches ? "ok" : !row.flopsMatch ? "MISMATCH" : "MISMATCH (saved)"
            table.add([row.name, row.kind, row.phase.rawValue, String(row.analyticFLOPs), String(row.executedFLOPs),
                       row.analyticSavedBytes.map { String($0) } ?? "", row.executedSavedBytes.map { String($0) } ?? "", verdict])
        }
        let executed = report.rows.reduce(0) { $0 + $1.executedFLOPs }
        var text = table.render()
        text += "\nmodel \(report.model): \(report.rows.count) layer-phases, executed \(Units.flops(executed)) in \(String(format: "%.2f", seconds)) s"
        text += " (\(Units.flops(Double(executed) / max(seconds, 1e-9)))/s)\n"
        let kinds = report.kernelTime.sorted { $0.value.seconds > $1.value.seconds }.prefix(5)
        text += "kernel time by kind: " + kinds.map { kind, t in
            "\(kind) \(String(format: "%.2f", t.seconds)) s (\(Units.flops(Double(t.flops) / max(t.seconds, 1e-9)))/s)"
        }.joined(separator: ", ") + "\n"
        let memory = report.memory
        text += "peak memory: analytic \(memory.analyticPeakBytes) B (\(Units.bytes(memory.analyticPeakBytes)), at \(memory.analyticPeakLayer), \(memory.analyticPeakPhase))"
        text += ", executed \(memory.peakBytes) B"
        if let point = memory.peakPoint { text += " (at \(point.name.isEmpty ? "-" : point.name), \(point.phase.rawValue))" }
        text += memory.peakBytes == memory.analyticPeakBytes ? ": ok\n" : ": MISMATCH\n"
        text += "optimizer \(options.optimizer.rawValue) state: analytic \(memory.analyticOptimizerStateBytes) B, executed \(memory.optimizerStateBytes) B"
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
}

/// `nnflops.validate/1`.
struct ValidateJSON: Encodable {
    struct Layer: Encodable {
        var name: String
        var kind: String
        var phase: String
        var analyticFlops: Int
        var executedFlops: Int
        var analyticMacs: Int
        var executedMacs: Int
        var analyticSavedBytes: Int?
        var executedSavedBytes: Int?
        enum CodingKeys: String, CodingKey {
            case name, kind, phase
            case analyticFlops = "analytic_flops", executedFlops = "executed_flops"
            case analyticMacs = "analytic_macs", executedMacs = "executed_macs"
            case analyticSavedBytes = "analytic_saved_bytes", executedSavedBytes = "executed_saved_bytes"
        }
        func encode(to encoder: Encoder) throws {
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
    struct Memory: Encodable {
        var analyticPeakBytes: Int
        var executedPeakBytes: Int
        var peakAt: String?
        var peakPhase: String?
        var analyticPeakAt: String
        var analyticPeakPhase: String
        var liveAtPeak: [String: Int]
        var analyticOptimizerStateBytes: Int
        var executedOptimizerStateBytes: Int
        var executedInstantaneousPeakBytes: Int
        var ok: Bool
        enum CodingKeys: String, CodingKey {
            case analyticPeakBytes = "analytic_peak_bytes", executedPeakBytes = "executed_peak_bytes"
            case peakAt = "peak_at", peakPhase = "peak_phase", liveAtPeak = "live_at_peak"
            case analyticPeakAt = "analytic_peak_at", analyticPeakPhase = "analytic_peak_phase"
            case analyticOptimizerStateBytes = "analytic_optimizer_state_bytes", executedOptimizerStateBytes = "executed_optimizer_state_bytes"
            case executedInstantaneousPeakBytes = "executed_instantaneous_peak_bytes", ok
        }
    }
    var schema = "nnflops.validate/1"
    var model: String
    var ok: Bool
    var layers: [Layer]
    var memory: Memory
    var loss: Double
    var gradientAccumulationFlops: Int
    var seconds: Double
    enum CodingKeys: String, CodingKey {
        case schema, model, ok, layers, memory, loss, seconds
        case gradientAccumulationFlops = "gradient_accumulation_flops"
    }

    init(_ report: ExecutionReport, seconds: Double) {
        model = report.model
        ok = report.ok
        layers = report.rows.map {
            Layer(name: $0.name, kind: $0.kind, phase: $0.phase.rawValue, analyticFlops: $0.analyticFLOPs, executedFlops: $0.executedFLOPs,
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
