#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Renders an `AnalysisReport` in each output format.
public enum AnalysisRenderer {
    /// `emphasis` bolds the table's title and its `Totals` heading with ANSI escapes (for a
    /// terminal; the table format only).
    public static func render(_ report: AnalysisReport, format: OutputFormat, emphasis: Bool = false) throws -> String {
        switch format {
        case .table: emphasis ? emphasized(table(report)) : table(report)
        case .markdown: markdown(report)
        case .csv: csv(report)
        case .json: try json(report)
        }
    }

    /// The table with its first line and the `Totals` heading in bold.
    static func emphasized(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for index in lines.indices where index == 0 || lines[index] == "Totals" {
            lines[index] = "\u{1B}[1m" + lines[index] + "\u{1B}[0m"
        }
        return lines.joined(separator: "\n")
    }

    /// Every report's JSON (`JSONOutput`: pretty-printed, keys sorted), with a final newline.
    public static func json<T: Encodable>(_ value: T) throws -> String {
        try JSONOutput.encode(value) + "\n"
    }

    /// Inference runs have no backward pass: their tables leave it out.
    static func isInference(_ report: AnalysisReport) -> Bool { report.config.run?.mode == .inference }

    static func layerTable(_ report: AnalysisReport) -> TextTable {
        let withMemory = report.totals.memory != nil
        let withBackward = !isInference(report)
        var table = TextTable(headers: ["name", "op", "output shape", "params", "forward", "MACs"] + (withBackward ? ["backward"] : []) + (withMemory ? ["saved"] : []),
                              alignments: [.left, .left, .left, .right, .right, .right] + (withBackward ? [.right] : []) + (withMemory ? [.right] : []))
        for layer in report.layers {
            let op = layer.detail.isEmpty ? layer.op : "\(layer.op) \(layer.detail)"
            var row = [layer.name, layer.operators > 1 ? "\(op) (\(layer.operators) ops)" : op, shapeText(layer.outputShape),
                       layer.params == 0 ? layer.tiedTo.map { "tied to \($0)" } ?? "" : Units.count(layer.params), Units.flops(layer.forwardFlops),
                       layer.forwardMacs == 0 ? "" : Units.macs(layer.forwardMacs)]
            if withBackward { row.append(Units.flops(layer.backwardFlops)) }
            if withMemory { row.append((layer.savedBytes ?? 0) == 0 ? "" : Units.bytes(layer.savedBytes ?? 0)) }
            table.add(row)
        }
        return table
    }

    static func heading(_ report: AnalysisReport) -> String {
        var parts: [String] = []
        if let batch = report.config.batch { parts.append("batch \(batch)") }
        if report.config.hasAttention { parts.append("attention FLOPs: \(report.config.attentionFlops)") }
        return parts.isEmpty ? report.model : "\(report.model) (\(parts.joined(separator: ", ")))"
    }

    static func totalsLines(_ report: AnalysisReport) -> [(String, String)] {
        let t = report.totals
        let grouped = { (n: Int) in n.groupedDigits }
        var lines = [
            ("parameters", "\(Units.count(t.params)) (\(grouped(t.params))), trainable \(Units.count(t.trainableParams))"),
            ("forward", "\(Units.flops(t.forwardFlops)) (\(Units.macs(t.forwardMacs)))"),
        ]
        if !isInference(report) {
            lines.append(("backward", "\(Units.flops(t.backwardFlops)) (input grad \(Units.flops(t.inputGradFlops)), weight grad \(Units.flops(t.weightGradFlops)))"))
        }
        return lines + [trainStepLine(report), ("operators", "\(t.operators)")] + memoryLines(report)
    }

    static func trainStepLine(_ report: AnalysisReport) -> (String, String) {
        let t = report.totals
        guard let run = report.config.run, let optimizer = t.optimizerStepFlops else {
            return ("train step", "\(Units.flops(t.trainStepFlops)) (\(Units.macs(t.trainStepMacs))), forward + backward, optimizer step excluded")
        }
        if run.mode == .inference {
            return ("inference", "\(Units.flops(t.trainStepFlops)) per batch (forward only)")
        }
        var parts = ["forward + backward"]
        if let r = t.recomputeFlops, r > 0 { parts.append("recompute \(Units.flops(r))") }
        if run.microBatches > 1 { parts[0] = "\(run.microBatches) x (forward + backward)" }
        parts.append("\(run.optimizer) step \(Units.flops(optimizer))")
        return ("train step", "\(Units.flops(t.trainStepFlops)) (\(parts.joined(separator: ", ")))")
    }

    static func memoryLines(_ report: AnalysisReport) -> [(String, String)] {
        guard let m = report.totals.memory, let run = report.config.run else { return [] }
        var lines: [(String, String)] = []
        var setting = "\(run.mode.rawValue), \(run.precision)"
        if run.mode == .training { setting += ", \(run.optimizer), checkpoint \(run.checkpoint)" + (run.microBatches > 1 ? ", \(run.microBatches) micro-batches" : "") }
        if let w = run.weightPrecision { setting += ", weights \(w)" }
        if run.foldBN { setting += ", batchnorm folded" }
        lines.append(("memory", setting))
        if let stage = m.stage {
            let flight = m.inFlightMicroBatches.map { ", \(Units.format($0)) micro-batch\($0 == 1 ? "" : "es") in flight" } ?? ""
            lines.append(("  per GPU", "\(stage), the stage with the highest peak\(flight)"))
        }
        lines.append(("  parameters", Units.bytes(m.paramsBytes) + (m.masterParamsBytes > 0 ? " + fp32 master \(Units.bytes(m.masterParamsBytes))" : "")))
        if run.mode == .training {
            lines.append(("  gradients", Units.bytes(m.gradsBytes)))
            lines.append(("  optimizer state", Units.bytes(m.optimizerStateBytes)))
        }
        lines.append(("  buffers", Units.bytes(m.buffersBytes)))
        lines.append(("  inputs", Units.bytes(m.inputsBytes)))
        if run.mode == .training { lines.append(("  saved activations", Units.bytes(m.savedActivationsBytes) + " (end of forward, outputs included)")) }
        lines.append(("  peak", "\(Units.bytes(m.peakBytes)) at \(m.peak.layer) (\(m.peak.phase))"))
        let top = m.peak.live.prefix(5).map { "\($0.name) \(Units.bytes($0.bytes))" }.joined(separator: "; ")
        if !top.isEmpty { lines.append(("  live at peak", top)) }
        guard let cuda = m.cudaAllocator else { return lines }
        lines.append(("  CUDA reserved", "\(Units.bytes(cuda.reservedBytes)) by the caching allocator (allocated peak \(Units.bytes(cuda.allocatedPeakBytes)) in its blocks)"))
        if cuda.cublasWorkspaces > 0 {
            lines.append(("  cuBLAS workspace", "\(Units.bytes(cuda.cublasWorkspaceBytes)) on Hopper (\(cuda.cublasWorkspaces) x 32 MiB), on top of both"))
        }
        return lines
    }

    public static func table(_ report: AnalysisReport) -> String {
        var out = heading(report) + "\n\n" + layerTable(report).render() + "\nTotals\n"
        let lines = totalsLines(report)
        let width = lines.map(\.0.count).max() ?? 0
        for (label, value) in lines {
            out += "  " + label + String(repeating: " ", count: width - label.count) + "  " + value + "\n"
        }
        if let parallel = report.parallel {
            out += "\n" + parallel.text(communicationOf: parallel.busiestStage)
        }
        out += "\n1 MAC = 2 FLOPs; FLOPs in SI units (1 GFLOP = 1e9).\n"
        return out
    }

    public static func markdown(_ report: AnalysisReport) -> String {
        let out = "### " + heading(report) + "\n\n" + layerTable(report).renderMarkdown() + "\n"
        var totals = TextTable(headers: ["total", "value"], alignments: [.left, .left])
        for (label, value) in totalsLines(report) { totals.add([label, value]) }
        let parallel = report.parallel.map { "\n```\n" + $0.text(communicationOf: $0.busiestStage) + "```\n" } ?? ""
        return out + totals.renderMarkdown() + parallel
    }

    public static func csv(_ report: AnalysisReport) -> String {
        let withMemory = report.totals.memory != nil
        let headers = ["name", "op", "detail", "output_shape", "params", "forward_flops", "forward_macs", "backward_flops",
                       "backward_macs", "input_grad_flops", "weight_grad_flops", "operators"] + (withMemory ? ["saved_bytes"] : [])
        let rows = report.layers.map { l in
            [l.name, l.op, l.detail, l.outputShape.map(String.init).joined(separator: "x"), String(l.params), String(l.forwardFlops),
             String(l.forwardMacs), String(l.backwardFlops), String(l.backwardMacs), String(l.inputGradFlops),
             String(l.weightGradFlops), String(l.operators)] + (withMemory ? [String(l.savedBytes ?? 0)] : [])
        }
        return CSV.render(headers: headers, rows: rows)
    }
}
