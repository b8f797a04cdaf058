#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The roofline report (`nnflops roofline`, schema `nnflops.roofline/2`, README, "Roofline").
public struct RooflineReport: Sendable, Encodable {
    public var schema = "nnflops.roofline/2"
    public var model: String
    /// GPU identifier (`h100-sxm`) and its figures.
    public var gpu: String
    public var gpuProfile: GPUSummary
    /// Precision policy (`fp32`, `amp-bf16`, ...); `tf32` says whether any fp32 matrix work
    /// ran on TF32 tensor cores, `tf32Ops` which (`conv`, `matmul`, `all`, `none`).
    public var precision: String
    public var tf32: Bool
    public var tf32Ops: String
    public var optimizer: String?
    public var checkpoint: String
    public var batch: Int
    /// Dense peak of the headline matrix format and its ridge point (peak / bandwidth).
    public var matrixFormat: String
    public var peakFlopsPerS: Double
    public var ridgeFlopsPerByte: Double
    /// Entries sorted by time, largest first.
    public var layers: [Layer] {
        get { layerTable.rows }
        _modify { yield &layerTable.rows }
        set { layerTable.rows = newValue }
    }
    /// The layers as the JSON writes them (key `layers`: JSONRowTable).
    var layerTable: JSONRowTable<Layer>
    public var totals: Totals
    public var trainingRun: TrainingRun?
    /// With a parallel layout: the layout and every stage (README, "Training on many GPUs").
    public var parallel: ParallelReport?
    /// The analysis's warnings (dead code); absent when there are none.
    public var warnings: [AnalysisWarning]?

    public struct GPUSummary: Sendable, Encodable {
        public var id: String
        public var name: String
        public var memoryBytes: Double
        public var bandwidthBytesPerS: Double
        public var source: String
        enum CodingKeys: String, CodingKey {
            case id, name, source
            case memoryBytes = "memory_bytes"
            case bandwidthBytesPerS = "bandwidth_bytes_per_s"
        }
    }

    public struct Layer: Sendable, Encodable, JSONRow {
        public var name: String
        public var op: String
        public var phase: Phase
        public var dtype: String
        public var flops: Int
        public var matrixFlops: Int
        public var bytes: Int
        /// FLOPs per byte; nil (JSON null) when no bytes move.
        public var intensity: Double?
        public var ridgeFlopsPerByte: Double
        public var bound: RooflineBound
        public var attainableFlopsPerS: Double
        public var timeS: Double
        public var timeShare: Double
        enum CodingKeys: String, CodingKey {
            case name, op, phase, dtype, flops, bytes, intensity, bound
            case matrixFlops = "matrix_flops"
            case ridgeFlopsPerByte = "ridge_flops_per_byte"
            case attainableFlopsPerS = "attainable_flops_per_s"
            case timeS = "time_s"
            case timeShare = "time_share"
        }
        typealias RowKey = CodingKeys

        /// The members in their keys' order (JSONRow): a row per layer and phase.
        func visitMembers<Visitor: JSONRowVisitor>(_ visitor: inout Visitor) throws where Visitor.Key == CodingKeys {
            try visitor.visit(attainableFlopsPerS, .attainableFlopsPerS)
            try visitor.visit(bound.rawValue, .bound)
            try visitor.visit(bytes, .bytes)
            try visitor.visit(dtype, .dtype)
            try visitor.visit(flops, .flops)
            // README, "nnflops roofline": `null` when no bytes move (the key is always there).
            if let intensity { try visitor.visit(intensity, .intensity) } else { try visitor.visitNull(.intensity) }
            try visitor.visit(matrixFlops, .matrixFlops)
            try visitor.visit(name, .name)
            try visitor.visit(op, .op)
            try visitor.visit(phase.rawValue, .phase)
            try visitor.visit(ridgeFlopsPerByte, .ridgeFlopsPerByte)
            try visitor.visit(timeS, .timeS)
            try visitor.visit(timeShare, .timeShare)
        }

        public func encode(to encoder: any Encoder) throws { try encodeRow(to: encoder) }
    }

    public struct Totals: Sendable, Encodable {
        public var forwardTimeS: Double
        /// Backward including recomputation.
        public var backwardTimeS: Double
        public var recomputeTimeS: Double
        public var optimizerTimeS: Double
        /// The step-time lower bound (x micro-batches + optimizer).
        public var stepTimeS: Double
        public var microBatches: Int
        public var stepFlops: Int
        public var stepBytes: Int
        public var computeBoundTimeS: Double
        public var memoryBoundTimeS: Double
        /// stepFlops / stepTime / peak.
        public var achievedFractionOfPeak: Double
        /// With a parallel layout (README, "Step time"): the stage the entries are for, its
        /// compute (m micro-batches and its optimizer step), the pipeline bubble, all its
        /// communication, the part the step waits for, and the collectives.
        public var stage: String?
        public var computeTimeS: Double?
        public var bubbleTimeS: Double?
        public var bubbleFraction: Double?
        public var communicationTimeS: Double?
        public var exposedCommunicationTimeS: Double?
        public var communication: CommunicationReport?
        enum CodingKeys: String, CodingKey {
            case stage, communication
            case computeTimeS = "compute_time_s", bubbleTimeS = "bubble_time_s", bubbleFraction = "bubble_fraction"
            case communicationTimeS = "communication_time_s", exposedCommunicationTimeS = "exposed_communication_time_s"
            case forwardTimeS = "forward_time_s", backwardTimeS = "backward_time_s", recomputeTimeS = "recompute_time_s"
            case optimizerTimeS = "optimizer_time_s", stepTimeS = "step_time_s", microBatches = "micro_batches"
            case stepFlops = "step_flops", stepBytes = "step_bytes"
            case computeBoundTimeS = "compute_bound_time_s", memoryBoundTimeS = "memory_bound_time_s"
            case achievedFractionOfPeak = "achieved_fraction_of_peak"
        }
    }

    enum CodingKeys: String, CodingKey {
        case schema, model, gpu, precision, tf32, optimizer, checkpoint, batch, totals, parallel, warnings
        case layerTable = "layers"
        case gpuProfile = "gpu_profile"
        case tf32Ops = "tf32_ops"
        case matrixFormat = "matrix_format"
        case peakFlopsPerS = "peak_flops_per_s"
        case ridgeFlopsPerByte = "ridge_flops_per_byte"
        case trainingRun = "training_run"
    }

    public init(graph: Graph, analysis: RooflineAnalysis, trainingRun: TrainingRun? = nil, warnings: [AnalysisWarning] = []) {
        self.warnings = warnings.isEmpty ? nil : warnings
        let roof = analysis.roof, config = analysis.configuration
        model = graph.model
        gpu = roof.gpu.id
        gpuProfile = GPUSummary(id: roof.gpu.id, name: roof.gpu.name, memoryBytes: roof.gpu.memoryBytes,
                                bandwidthBytesPerS: roof.gpu.memoryBandwidth, source: roof.gpu.source)
        precision = config.inference ? "inference-" + config.precision.rawValue : config.precision.rawValue
        tf32 = !roof.tf32.isEmpty
        tf32Ops = roof.tf32.description
        optimizer = config.inference ? nil : config.optimizer.rawValue
        checkpoint = config.checkpointDescription
        batch = TrainingRun.batch(of: graph)
        matrixFormat = analysis.mainFormat.rawValue
        peakFlopsPerS = analysis.peak
        ridgeFlopsPerByte = analysis.ridge
        let step = analysis.stepTime
        // One micro-batch's entries; the shares are of one micro-step + optimizer.
        let entryTotal = analysis.entries.map(\.time).reduce(0, +)
        layerTable = JSONRowTable(rows: analysis.entries.enumerated()
            .sorted { a, b in a.element.time != b.element.time ? a.element.time > b.element.time : a.offset < b.offset }
            .map { _, e in
                Layer(name: e.name, op: e.op, phase: e.phase, dtype: e.quantizedFormat?.rawValue ?? e.computeType.rawValue, flops: e.flops,
                      matrixFlops: e.matrixFlops, bytes: e.bytes, intensity: e.cost.intensity.isFinite ? e.cost.intensity : nil,
                      ridgeFlopsPerByte: e.cost.ridge, bound: e.cost.bound, attainableFlopsPerS: e.cost.attainable,
                      timeS: e.time, timeShare: entryTotal > 0 ? e.time / entryTotal : 0)
            })
        let compute = analysis.entries.filter { $0.cost.bound == .compute }.map(\.time).reduce(0, +)
        totals = Totals(forwardTimeS: analysis.forwardTime, backwardTimeS: analysis.backwardTime,
                        recomputeTimeS: analysis.recomputeTime, optimizerTimeS: analysis.optimizerTime,
                        stepTimeS: step, microBatches: analysis.microSteps, stepFlops: analysis.stepFlops,
                        stepBytes: analysis.entries.map(\.bytes).reduce(0, &+),
                        computeBoundTimeS: compute, memoryBoundTimeS: entryTotal - compute,
                        achievedFractionOfPeak: analysis.achievedFractionOfPeak)
        self.trainingRun = trainingRun
    }

    /// A parallel layout's report: the entries of the stage that sets the step (one GPU's
    /// sharded graph, per micro-batch), the step time of the whole layout.
    public init(parallel: ParallelAnalysis, time: ParallelStepTime, trainingRun: TrainingRun? = nil) {
        let critical = time.stages[time.critical]
        let stage = parallel.stages[time.critical]
        self.init(graph: stage.part.graph, analysis: critical.roofline, trainingRun: trainingRun)
        model = parallel.model.model
        totals.stepTimeS = time.stepTime
        totals.optimizerTimeS = critical.optimizer
        totals.stepFlops = parallel.stepFLOPs(stage)
        totals.achievedFractionOfPeak = time.stepTime > 0 ? Double(totals.stepFlops) / time.stepTime / peakFlopsPerS : 0
        totals.stage = stage.name
        totals.computeTimeS = time.computeTime
        totals.bubbleTimeS = time.bubbleTime
        totals.bubbleFraction = time.bubbleFraction
        totals.communicationTimeS = time.communicationTime
        totals.exposedCommunicationTimeS = time.exposedCommunicationTime
        totals.communication = CommunicationReport(critical.communication, stage: stage.name)
        self.parallel = ParallelReport(parallel, time: time)
    }
}

/// Renders roofline reports and GPU lists.
public enum RooflineRenderer {
    /// `1.23 ms`, `456 µs`, `2.1 s`, `3.4 h`.
    public static func seconds(_ s: Double) -> String {
        if s == 0 { return "0 s" }
        if s < 1e-6 { return Units.format(s * 1e9) + " ns" }
        if s < 1e-3 { return Units.format(s * 1e6) + " µs" }
        if s < 1 { return Units.format(s * 1e3) + " ms" }
        if s < 3600 { return Units.format(s) + " s" }
        if s < 86400 * 3 { return Units.format(s / 3600) + " h" }
        return Units.format(s / 86400) + " days"
    }

    static func rate(_ flopsPerSecond: Double) -> String { Units.flopRate(flopsPerSecond) }
    static func intensity(_ value: Double?) -> String {
        guard let value else { return "inf" }
        return value >= 1000 ? String(Int(value.rounded())) : value >= 1 ? Units.format(value) : String(cFormat: "%.3g", value)
    }
    static func percent(_ f: Double) -> String { f >= 0.001 ? Units.format(f * 100) + "%" : "<0.1%" }

    public static func render(_ report: RooflineReport, format: OutputFormat, top: Int?) throws -> String {
        switch format {
        case .json: return try AnalysisRenderer.json(report)
        case .csv:
            let headers = ["name", "op", "phase", "dtype", "flops", "matrix_flops", "bytes", "intensity", "ridge_flops_per_byte",
                           "bound", "attainable_flops_per_s", "time_s", "time_share"]
            let rows = report.layers.map { l in
                [l.name, l.op, l.phase.rawValue, l.dtype, String(l.flops), String(l.matrixFlops), String(l.bytes),
                 l.intensity.map { String($0) } ?? "inf", String(l.ridgeFlopsPerByte), l.bound.rawValue,
                 String(l.attainableFlopsPerS), String(l.timeS), String(l.timeShare)]
            }
            return CSV.render(headers: headers, rows: rows)
        case .table, .markdown:
            return text(report, markdown: format == .markdown, top: top)
        }
    }

    /// One operator kind's share of a step (the optimizer's entries under its name).
    public struct KindSummary: Sendable {
        public var op: String
        public var entries: Int
        public var flops: Int
        public var bytes: Int
        public var time: Double
        public var share: Double
        /// `compute` or `memory` when every entry is bound the same way, else `mixed`.
        public var bound: String
    }

    /// The entries grouped by operator kind, largest time first (ties by first appearance).
    public static func kinds(_ report: RooflineReport) -> [KindSummary] {
        var summaries: [KindSummary] = []
        var index: [String: Int] = [:]
        for layer in report.layers {
            let i = index[layer.op] ?? summaries.count
            if i == summaries.count {
                index[layer.op] = i
                summaries.append(KindSummary(op: layer.op, entries: 0, flops: 0, bytes: 0, time: 0, share: 0, bound: layer.bound.rawValue))
            }
            summaries[i].entries += 1
            summaries[i].flops &+= layer.flops
            summaries[i].bytes &+= layer.bytes
            summaries[i].time += layer.timeS
            summaries[i].share += layer.timeShare
            if summaries[i].bound != layer.bound.rawValue { summaries[i].bound = "mixed" }
        }
        return summaries.enumerated().sorted { a, b in a.element.time != b.element.time ? a.element.time > b.element.time : a.offset < b.offset }
            .map(\.element)
    }

    /// What was run: `resnet50 on h100-sxm (NVIDIA H100 SXM5 80GB): batch 32, adam, fp32, checkpoint none`.
    static func heading(_ report: RooflineReport) -> String {
        "\(report.model) on \(report.gpu) (\(report.gpuProfile.name)): " + run(report)
    }

    /// Which fp32 matrix work ran on TF32 tensor cores, for the precision line.
    static func tf32Phrase(_ ops: String) -> String {
        switch ops {
        case "conv": " (fp32 convolutions on TF32 tensor cores, matmuls on FP32 cores: PyTorch's defaults)"
        case "matmul": " (fp32 matmuls on TF32 tensor cores, convolutions on FP32 cores)"
        case "all": " (fp32 convolutions and matmuls on TF32 tensor cores)"
        default: " (no TF32)"
        }
    }

    static func run(_ report: RooflineReport) -> String {
        RunDescription.text(microBatch: report.batch, microBatches: report.totals.microBatches, optimizer: report.optimizer,
                            precision: report.precision.replacingAll("inference-", with: ""),
                            tf32: report.tf32 && report.precision.hasSuffix("fp32") ? report.tf32Ops : nil,
                            checkpoint: report.checkpoint)
    }

    static func text(_ report: RooflineReport, markdown: Bool, top: Int?) -> String {
        var out = markdown ? "### " + heading(report) + "\n\n" : heading(report) + "\n\n"
        var byKind = TextTable(headers: ["kind", "entries", "FLOPs", "bytes", "time", "share", "bound"],
                               alignments: [.left, .right, .right, .right, .right, .right, .left])
        for kind in kinds(report) {
            byKind.add([kind.op, String(kind.entries), Units.flops(kind.flops), Units.bytes(kind.bytes), seconds(kind.time), percent(kind.share), kind.bound])
        }
        out += (markdown ? "**By operator kind**\n\n" + byKind.renderMarkdown() : "By operator kind\n" + byKind.render()) + "\n"
        var table = TextTable(headers: ["layer", "op", "phase", "FLOPs", "bytes", "FLOP/B", "bound", "attainable", "time", "share"],
                              alignments: [.left, .left, .left, .right, .right, .right, .left, .right, .right, .right])
        let shown = top.map { $0 > 0 ? Array(report.layers.prefix($0)) : report.layers } ?? report.layers
        let title = shown.count < report.layers.count ? "Largest entries (\(shown.count) of \(report.layers.count))" : "Every entry, largest first"
        out += markdown ? "**\(title)**\n\n" : title + "\n"
        for l in shown {
            table.add([l.name, l.op, l.phase.rawValue, Units.flops(l.flops), Units.bytes(l.bytes), intensity(l.intensity), l.bound.rawValue,
                       rate(l.attainableFlopsPerS), seconds(l.timeS), percent(l.timeShare)])
        }
        out += markdown ? table.renderMarkdown() : table.render()
        if shown.count < report.layers.count {
            let rest = report.layers.dropFirst(shown.count)
            let share = rest.map(\.timeShare).reduce(0, +)
            out += "… \(rest.count) more entries (\(percent(share)) of the time; --top 0 lists all)\n"
        }
        let t = report.totals
        let g = report.gpuProfile
        var lines: [(String, String)] = [
            ("GPU", "\(g.name) (\(g.id)): \(Units.si(g.bandwidthBytesPerS, unit: "B/s")) memory bandwidth; \(g.source)"),
            ("precision", report.precision + Self.tf32Phrase(report.tf32Ops)
                + "; matrix work in \(report.matrixFormat): peak \(rate(report.peakFlopsPerS)) dense"),
            ("ridge point", Units.format(report.ridgeFlopsPerByte) + " FLOP/byte"),
            ("forward", seconds(t.forwardTimeS)),
        ]
        if let optimizer = report.optimizer {
            lines.append(("backward", seconds(t.backwardTimeS) + (t.recomputeTimeS > 0 ? " (recompute \(seconds(t.recomputeTimeS)))" : "")))
            lines.append(("optimizer (\(optimizer))", seconds(t.optimizerTimeS)))
        }
        if let stage = t.stage, let compute = t.computeTimeS, let bubble = t.bubbleTimeS, let communication = t.communicationTimeS,
           let exposed = t.exposedCommunicationTimeS {
            lines.append(("entries of", "\(stage), the stage that sets the step; one GPU's share of the model, per micro-batch"))
            lines.append(("step", "compute \(seconds(compute)) + bubble \(seconds(bubble))"
                          + (t.bubbleFraction.map { " (\(percent($0)) of the pipeline's time)" } ?? "")
                          + " + exposed communication \(seconds(exposed)) of \(seconds(communication))"))
        }
        lines += [
            ("step lower bound", seconds(t.stepTimeS) + (t.microBatches > 1 ? " (\(t.microBatches) micro-batches)" : "")
                + "; compute-bound \(seconds(t.computeBoundTimeS)), memory-bound \(seconds(t.memoryBoundTimeS)) per micro-batch"),
            ("step FLOPs", Units.flops(t.stepFlops)),
            ("achieved fraction of peak", percent(t.achievedFractionOfPeak) + " at the bound (no real step does better)"),
        ]
        if let run = report.trainingRun {
            lines.append(("training FLOPs C", Units.flops(run.totalFlops) + " = " + Units.flops(run.stepFlops) + " per step x "
                          + steps(run.steps) + " steps (forward \(Units.flops(run.forwardFlopsPerSample)) per sample)"))
            if let wall = run.wallTimeSeconds, let hours = run.gpuHours, let peak = run.peakFlopsPerGPU {
                lines.append(("training time", "\(seconds(wall)) on \(run.gpus) x \(report.gpu) at \(Units.format(run.utilization * 100))% of \(rate(peak)) (\(Units.format(hours)) GPU-hours)"))
            }
            if let bound = run.rooflineTimeSeconds, let hours = run.rooflineGPUHours {
                lines.append(("roofline lower bound", "\(seconds(bound)) (\(Units.format(hours)) GPU-hours)"
                              + (run.utilizationEstimateBelowBound ? "; above the utilisation estimate: that utilisation is unreachable for this model" : "")))
            }
        }
        let width = lines.map(\.0.count).max() ?? 0
        out += "\n"
        for (label, value) in lines {
            out += markdown ? "- **\(label)**: \(value)\n" : label + ":" + String(repeating: " ", count: width - label.count + 1) + value + "\n"
        }
        if let parallel = report.parallel {
            let shown = parallel.stages.first { $0.name == t.stage }
            out += "\n" + (markdown ? "```\n" : "") + parallel.text(communicationOf: shown) + (markdown ? "```\n" : "")
        }
        return out
    }

    static func steps(_ s: Double) -> String {
        s >= 1e6 ? Units.si(s, unit: "").trimmingWhitespace() : String(Int(s.rounded()))
    }

    // MARK: GPU list

    public static func gpus(_ profiles: [GPUProfile], format: OutputFormat) throws -> String {
        func tera(_ v: Double?) -> String {
            guard let v else { return "—" }
            let t = v / 1e12
            return t == t.rounded() ? String(Int(t)) : String(t)
        }
        let headers = ["id", "name", "fp64", "fp64 TC", "fp32", "tf32 TC", "fp16 TC", "bf16 TC", "fp8 TC", "int8 TC", "fp16 non-TC",
                       "memory", "reported", "bandwidth", "GPU link", "source"]
        switch format {
        case .json:
            struct GPUList: Encodable {
                var schema = "nnflops.gpus/1"
                var note = "dense figures (datasheet tensor-core figures with sparsity halved); FLOP/s, int8 in ops/s; bytes and bytes/s with 1 GB = 1e9"
                var gpus: [Entry]
            }
            struct Entry: Encodable {
                var id, name, form_factor, memory_type, source, reported_memory_source, intra_node_link: String
                var fp64, fp32, fp16_tensor, memory_bytes, bandwidth_bytes_per_s: Double
                /// Both directions together, as datasheets print it; the network one way.
                var intra_node_bytes_per_s, network_bytes_per_s: Double
                var fp64_tensor, tf32_tensor, bf16_tensor, fp8_tensor, int8_tensor, fp16_non_tensor, reported_memory_bytes: Double?
            }
            return try AnalysisRenderer.json(GPUList(gpus: profiles.map {
                Entry(id: $0.id, name: $0.name, form_factor: $0.formFactor, memory_type: $0.memoryType, source: $0.source,
                      reported_memory_source: $0.reportedMemorySource, intra_node_link: $0.intraNodeLink,
                      fp64: $0.fp64, fp32: $0.fp32, fp16_tensor: $0.fp16Tensor, memory_bytes: $0.memoryBytes,
                      bandwidth_bytes_per_s: $0.memoryBandwidth, intra_node_bytes_per_s: $0.intraNodeBandwidth,
                      network_bytes_per_s: $0.networkBandwidth, fp64_tensor: $0.fp64Tensor, tf32_tensor: $0.tf32Tensor,
                      bf16_tensor: $0.bf16Tensor, fp8_tensor: $0.fp8Tensor, int8_tensor: $0.int8Tensor, fp16_non_tensor: $0.fp16NonTensor,
                      reported_memory_bytes: $0.reportedMemoryBytes)
            }))
        case .csv, .table, .markdown:
            // Tables cut long names and sources (a hardware file may hold any text); CSV
            // keeps them whole.
            let cut = format != .csv
            let rows = profiles.map { p in
                [p.id, cut ? TextTable.shortened(p.name, to: 40) : p.name, tera(p.fp64), tera(p.fp64Tensor), tera(p.fp32), tera(p.tf32Tensor),
                 tera(p.fp16Tensor), tera(p.bf16Tensor), tera(p.fp8Tensor), tera(p.int8Tensor), tera(p.fp16NonTensor),
                 "\(tera(p.memoryBytes * 1e3)) GB \(p.memoryType)", p.reportedMemoryBytes.map { Units.bytes($0) } ?? "—",
                 "\(tera(p.memoryBandwidth * 1e3)) GB/s", "\(p.intraNodeLink) \(tera(p.intraNodeBandwidth * 1e3)) GB/s", cut ? TextTable.shortened(p.source, to: 60) : p.source]
            }
            if format == .csv { return CSV.render(headers: headers, rows: rows) }
            var table = TextTable(headers: headers, alignments: [.left, .left] + Array(repeating: .right, count: 12) + [.left, .left])
            for row in rows { table.add(row) }
            let note = "Dense peaks in TFLOP/s (int8: TOPS); NVIDIA prints tensor-core (TC) figures with 2:4 sparsity, halved here. — = no such unit / not published.\n"
                + "GPU link: GPU-to-GPU bandwidth in a node, both directions together (NVLink, or PCIe on PCIe cards); between nodes \(tera(GPUProfile.defaultNetworkBandwidth * 8 * 1e3)) Gb/s per GPU unless a hardware file says otherwise.\n"
                + "Memory and bandwidth: datasheet figures in 10^9 bytes. Reported: the total the driver reports (cudaMemGetInfo), what `fit` fills; — = no published report found (fit uses the datasheet figure).\n"
            return (format == .table ? table.render() : table.renderMarkdown()) + "\n" + note
        }
    }
}
