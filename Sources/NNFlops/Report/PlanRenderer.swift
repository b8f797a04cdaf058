#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Plan {
    /// Why the default method is the default (shown under the table and in --help).
    public static let defaultMethodReason =
        "The Epoch AI refit (Besiroglu et al. 2024) is the default: it reproduces Chinchilla's own allocation "
        + "(70B parameters, 1.4T tokens at 5.76e23 FLOPs; it gives 72B / 1.33T) and predicts a loss, while the "
        + "rounded constants printed by Hoffmann et al. put that optimum at 32B / 3.0T."

    /// The formats `plan` writes.
    public static let formats: [OutputFormat] = [.table, .json]

    /// The report as a table or JSON.
    public func render(_ format: OutputFormat) throws -> String {
        format == .json ? try renderJSON() : renderTable()
    }

    /// The report as pretty-printed JSON with stable, snake_case keys.
    public func renderJSON() throws -> String {
        try AnalysisRenderer.json(self)
    }

    /// The report as an aligned table for people.
    public func renderTable() -> String {
        let q = PlanQuantity.format
        let sci = PlanQuantity.scientific
        func loss(_ value: Double?) -> String { value.map { String(cFormat: "%.4f", $0) } ?? "—" }
        func name(_ row: PlanMethodRow) -> String { row.title + (row.method == selectedMethod ? " *" : "") }
        func check(_ row: PlanMethodRow) -> String {
            let error = abs(row.check6ND / row.computeFlops - 1)
            return sci(row.check6ND) + (error < 1e-9 ? " ok" : " MISMATCH")
        }
        var out: [String] = []
        // Prose lines are wrapped to 80 columns (the tables are not: a row stays one line).
        func say(_ line: String) { out.append(contentsOf: line.count <= 80 ? [line] : line.wrapped(continuation: line.hangingIndent)) }
        var table: [[String]]
        // `target` holds what the flags fixed: C in compute mode, N or D in params or
        // tokens mode, the whole run in allocation mode.
        switch mode {
        case .compute:
            say("Compute-optimal allocation for C = \(sci(target.computeFlops)) FLOPs (C = 6ND)")
            table = [["method", "params N", "tokens D", "D/N", "loss", "6ND"]]
            for row in methods {
                table.append([name(row), q(row.params), q(row.tokens), PlanQuantity.threeDigits(row.tokensPerParam), loss(row.loss), check(row)])
            }
        case .params, .tokens:
            let given = mode == .params ? "N = \(q(target.params)) parameters" : "D = \(q(target.tokens)) tokens"
            say("Compute-optimal run for \(given) (C = 6ND)")
            table = [["method", "params N", "tokens D", "D/N", "compute C", "loss", "6ND"]]
            for row in methods {
                table.append([name(row), q(row.params), q(row.tokens), PlanQuantity.threeDigits(row.tokensPerParam),
                              sci(row.computeFlops), loss(row.loss), check(row)])
            }
        case .allocation:
            say("Run: \(q(target.params)) parameters, \(q(target.tokens)) tokens, C = 6ND = \(sci(target.computeFlops)) FLOPs, "
                       + "\(PlanQuantity.threeDigits(target.tokens / target.params)) tokens/param")
            say("Compute-optimal allocation for the same C, and how far the run is from it:")
            table = [["method", "optimal N", "optimal D", "D/N", "N / optimal N", "optimal loss", "run loss", "loss gap"]]
            for row in methods {
                table.append([name(row), q(row.params), q(row.tokens), PlanQuantity.threeDigits(row.tokensPerParam),
                              row.paramsRatio.map { String(cFormat: "%.3fx", $0) } ?? "—", loss(row.loss), loss(row.givenLoss),
                              row.lossGap.map { String(cFormat: "%+.4f", $0) } ?? "—"])
            }
        }
        out.append(contentsOf: Self.align(table))
        say("")
        say("* selected method (--method \(selectedMethod.rawValue))" + (selectedMethod == defaultMethod ? ", the default." : "; the default is \(defaultMethod.rawValue)."))
        say("  " + Self.defaultMethodReason)
        say("Loss: nats/token from L = E + A/N^alpha + B/D^beta; \"—\" where the method has no comparable loss law.")
        say("Sources:")
        for method in ScalingMethod.allCases { say("  \(method.title): \(method.citation)") }

        if let fleet {
            let gib = { (bytes: Double) in String(cFormat: "%.1f GiB", bytes / 1_073_741_824) }
            let days = { (seconds: Double) in "\(String(cFormat: "%.2f", seconds / 86_400)) days (\(sci(seconds)) s)" }
            let s = fleet.shape
            let many = fleet.gpus == 1 ? "1 GPU" : "\(fleet.gpus) GPUs"
            say("")
            say("Fleet: \(fleet.gpus) x \(fleet.gpuName) (\(fleet.gpu)), MFU \(String(cFormat: "%.2f", fleet.mfu)), "
                       + "\(fleet.precision) dense tensor peak \(String(cFormat: "%.1f", fleet.peakFlopsPerGPU / 1e12)) TFLOP/s per GPU")
            say("  run              \(q(target.params)) parameters, \(q(target.tokens)) tokens, \(sci(target.computeFlops)) FLOPs"
                       + (target.method.map { " (\($0.title))" } ?? ""))
            say("  graph            the emitted spec (\(s.layers) layers x d_model \(s.dModel)), \(fleet.microBatch) x \(s.sequence) tokens per GPU per step, "
                       + "\(fleet.gpus == 1 ? "on one GPU" : "FSDP over \(many)"), Adam, \(fleet.precision)")
            say("  steps            \(q(fleet.steps)) of \(q(fleet.tokensPerStep)) tokens = D / (GPUs x micro-batch x seq), a partial step pro rata")
            if fleet.graphAvailable, let perGPU = fleet.stepFlopsPerGPU, let total = fleet.trainingFlops, let seconds = fleet.trainingSeconds,
               let hours = fleet.gpuHours {
                say("  step FLOPs       \(sci(perGPU)) per GPU (forward + backward + its share of the Adam step); "
                           + "run \(sci(total)) FLOPs, \(String(cFormat: "%+.1f", (total / target.computeFlops - 1) * 100))% on 6ND")
                say("  training time    \(days(seconds)) at MFU \(String(cFormat: "%.2f", fleet.mfu)) = steps x step FLOPs per GPU / (peak x MFU)")
                if let bound = fleet.boundTrainingSeconds, let step = fleet.boundStepSeconds, let compute = fleet.boundComputeSeconds,
                   let exposed = fleet.boundExposedCommunicationSeconds, let ceiling = fleet.boundMFU {
                    let recompute = fleet.boundCheckpoint == "none" ? "" : ", every block recomputed"
                    say("  bound            \(days(bound)): step >= \(String(cFormat: "%.3g", step)) s (compute \(String(cFormat: "%.3g", compute)) s "
                               + "+ exposed communication \(String(cFormat: "%.3g", exposed)) s\(recompute)), as `roofline --gpus \(fleet.gpus)\(fleet.gpus > 1 ? " --fsdp" : "")` bounds it")
                    say("  MFU ceiling      \(String(cFormat: "%.3g", ceiling)) at the bound"
                               + (fleet.mfu > ceiling ? ": MFU \(String(cFormat: "%.2f", fleet.mfu)) is unreachable on this fleet, the bound's time stands" : ""))
                }
                say("  GPU-hours        \(q(hours))")
                if let cost = fleet.cost, let price = fleet.pricePerGPUHour {
                    say("  cost             $\(q(cost)) at $\(String(cFormat: "%.2f", price)) per GPU-hour")
                }
            } else {
                say("  training time    unavailable: the spec's sizes pass 64-bit counts, so its graph cannot be built")
            }
            say("  6ND comparison   \(days(fleet.sixNDTrainingSeconds)) = C / (GPUs x peak x MFU)")
            say("Training memory per GPU (GPU memory \(gib(fleet.gpuMemoryBytes)), \(String(cFormat: "%.0f", fleet.gpuMemoryBytes / 1e9)) GB):")
            if fleet.graphAvailable, let bytes = fleet.bytesPerGPU, let checkpointed = fleet.checkpointedBytesPerGPU, let fits = fleet.fits {
                say("  on this fleet    \(gib(bytes)), the graph's peak on \(many), no recompute: \(fits ? "fits" : "does NOT fit"); "
                           + "\(gib(checkpointed)) with every block recomputed (--checkpoint each=\(FleetGraph.blocks))")
                let never = "never (not on \(FleetGraph.largestFleet.groupedDigits))"
                say("  fewest GPUs      \(fleet.minGPUs.map(String.init) ?? never) with no recompute, "
                           + "\(fleet.minGPUsCheckpointed.map(String.init) ?? never) with every block recomputed (the graph's peak, FSDP over them); "
                           + "\(fleet.minGPUsStatic) for the static state alone")
            } else {
                say("  on this fleet    unavailable (no graph); fewest GPUs for the static state alone: \(fleet.minGPUsStatic)")
            }
            let m = fleet.memory
            say("  closed form      \(gib(fleet.estimatedBytesPerGPU)) = static \(gib(m.staticBytes)) (16 bytes/param) / \(fleet.gpus) "
                       + "+ activations \(gib(m.activationBytes)) (34 s b h per layer + 4 s b V fp32 logits), for comparison")
        }
        if let spec {
            let s = spec.shape
            say("")
            say("Spec\(spec.path.map { " " + $0 } ?? ""): \(s.layers) layers, d_model \(s.dModel), \(s.heads) heads of \(s.headDim), "
                       + "vocab \(s.vocab), seq \(s.sequence), d_model/layers = \(String(cFormat: "%.1f", s.aspectRatio))")
            say("  parameters       \(Units.count(spec.exactParams)) (\(spec.exactParams.groupedDigits), counted by nnflops; target \(q(target.params)), "
                       + "\(String(cFormat: "%+.2f", spec.relativeError * 100))%)")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Left-aligned first column, right-aligned others.
    static func align(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        var widths = [Int](repeating: 0, count: first.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
    }
}
