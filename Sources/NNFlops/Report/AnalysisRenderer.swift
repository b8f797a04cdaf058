import Foundation

/// Output formats of the reports.
public enum OutputFormat: String, Sendable, CaseIterable {
    case table, json, csv, markdown
}

/// Renders an `AnalysisReport` in each output format.
public enum AnalysisRenderer {
    public static func render(_ report: AnalysisReport, format: OutputFormat) throws -> String {
        switch format {
        case .table: table(report)
        case .markdown: markdown(report)
        case .csv: csv(report)
        case .json: try json(report)
        }
    }

    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

    static func layerTable(_ report: AnalysisReport) -> TextTable {
        var table = TextTable(headers: ["name", "op", "output shape", "params", "forward", "MACs", "backward"],
                              alignments: [.left, .left, .left, .right, .right, .right, .right])
        for layer in report.layers {
            let op = layer.detail.isEmpty ? layer.op : "\(layer.op) \(layer.detail)"
            table.add([layer.name, layer.operators > 1 ? "\(op) (\(layer.operators) ops)" : op, shape(layer.outputShape),
                       layer.params == 0 ? "" : Units.count(layer.params), Units.flops(layer.forwardFlops),
                       layer.forwardMacs == 0 ? "" : Units.macs(layer.forwardMacs), Units.flops(layer.backwardFlops)])
        }
        return table
    }

    static func heading(_ report: AnalysisReport) -> String {
        var parts: [String] = []
        if let batch = report.config.batch { parts.append("batch \(batch)") }
        parts.append("attention FLOPs: \(report.config.attentionFlops)")
        return "\(report.model) (\(parts.joined(separator: ", ")))"
    }

    static func totalsLines(_ report: AnalysisReport) -> [(String, String)] {
        let t = report.totals
        let grouped = { (n: Int) in n.formatted(.number.grouping(.automatic)) }
        return [
            ("parameters", "\(Units.count(t.params)) (\(grouped(t.params))), trainable \(Units.count(t.trainableParams))"),
            ("forward", "\(Units.flops(t.forwardFlops)) (\(Units.macs(t.forwardMacs)))"),
            ("backward", "\(Units.flops(t.backwardFlops)) (input grad \(Units.flops(t.inputGradFlops)), weight grad \(Units.flops(t.weightGradFlops)))"),
            ("train step", "\(Units.flops(t.trainStepFlops)) (\(Units.macs(t.trainStepMacs))), forward + backward, optimizer step excluded"),
            ("operators", "\(t.operators)"),
        ]
    }

    public static func table(_ report: AnalysisReport) -> String {
        var out = heading(report) + "\n\n" + layerTable(report).render() + "\nTotals\n"
        let lines = totalsLines(report)
        let width = lines.map(\.0.count).max() ?? 0
        for (label, value) in lines {
            out += "  " + label + String(repeating: " ", count: width - label.count) + "  " + value + "\n"
        }
        out += "\n1 MAC = 2 FLOPs; FLOPs in SI units (1 GFLOP = 1e9).\n"
        return out
    }

    public static func markdown(_ report: AnalysisReport) -> String {
        var out = "### " + heading(report) + "\n\n" + layerTable(report).renderMarkdown() + "\n"
        var totals = TextTable(headers: ["total", "value"], alignments: [.left, .left])
        for (label, value) in totalsLines(report) { totals.add([label, value]) }
        return out + totals.renderMarkdown()
    }

    public static func csv(_ report: AnalysisReport) -> String {
        let headers = ["name", "op", "detail", "output_shape", "params", "forward_flops", "forward_macs", "backward_flops",
                       "backward_macs", "input_grad_flops", "weight_grad_flops", "operators"]
        let rows = report.layers.map { l in
            [l.name, l.op, l.detail, l.outputShape.map(String.init).joined(separator: "x"), String(l.params), String(l.forwardFlops),
             String(l.forwardMacs), String(l.backwardFlops), String(l.backwardMacs), String(l.inputGradFlops),
             String(l.weightGradFlops), String(l.operators)]
        }
        return CSV.render(headers: headers, rows: rows)
    }
}
