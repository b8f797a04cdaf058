// What every front-end target runs on the graph it gets: the analyses and renderers a
// command would run (analyze with and without memory, roofline, check's budgets), so a
// graph that elaborates but breaks an analysis or a renderer is found too. Shared by the
// spec, ONNX and Hugging Face targets (scripts/fuzz.sh compiles it into each).
@testable import NNFlops

enum FuzzDownstream {
    /// Graphs up to this many operators go through everything on every input. What the
    /// downstream costs is linear in the operators, and the few big graphs (the zoo's LLMs
    /// and deep ResNets, and what mutation makes of them: 500 to 1,000 operators) took
    /// about two thirds of the spec target's time while most mutated inputs end in the
    /// front end; the operator kinds and attributes they reach, small graphs reach too.
    static let everyInputUpTo = 256
    /// A bigger graph goes through the cost analysis on every input and through the rest
    /// on one input in this many, chosen by a hash of the input bytes, so that the same
    /// input (a reproducer) always takes the same path.
    static let oneBigGraphIn: UInt64 = 8
    /// Graphs over this many operators go through the cost analysis alone. The rest of the
    /// downstream is linear in the operators and the same code on a 6,000-operator graph
    /// as on a 500-operator one, but under AddressSanitizer a mutated MobileNet of 6,363
    /// operators took 9 s through it (1.2 s in a release build without the sanitizer),
    /// past libFuzzer's 5 s timeout (Fuzz/reproducers/timeout-mobilenet-6363-operators.spec).
    /// Big graphs' speed is the benchmark's to measure (scripts/bench.sh).
    static let downstreamUpTo = 2_048

    /// The analyses and renderers for `graph`, built from `input`.
    static func analyse(_ graph: Graph, input: UnsafeBufferPointer<UInt8>) throws {
        let costs = try CostAnalysis(graph: graph)
        guard graph.nodes.count <= everyInputUpTo
              || (graph.nodes.count <= downstreamUpTo && fnv1a(input) % oneBigGraphIn == 0) else { return }
        _ = try CostAnalysis(graph: graph, options: CountOptions(attention: .executed))
        let plain = AnalysisReport(graph: graph, analysis: costs, options: CountOptions(), depth: 2)
        _ = AnalysisRenderer.table(plain)
        for configuration in [RunConfiguration(), RunConfiguration(optimizer: .adamw, precision: .ampBF16, checkpoint: .sqrt),
                              RunConfiguration(inference: true)] {
            let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
            let report = AnalysisReport(graph: graph, analysis: costs, options: CountOptions(), memory: memory)
            _ = AnalysisRenderer.table(report)
            _ = AnalysisRenderer.csv(report)
            _ = try AnalysisRenderer.json(report)
            let limits = BudgetCheck.limits(of: graph)
            if !limits.isEmpty {
                let budget = BudgetReport(model: graph.model, run: RunDescription.text(graph: graph, configuration: configuration),
                                          metrics: try RunMetrics(costs: costs, memory: memory), limits: limits)
                _ = try budget.render(.table)
                _ = try budget.render(.json)
            }
        }
        let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: try Roof(gpu: try GPUProfile.named("h100-sxm")),
                                            configuration: RunConfiguration(precision: .ampBF16))
        let report = RooflineReport(graph: graph, analysis: roofline)
        _ = try RooflineRenderer.render(report, format: .table, top: 10)
        _ = try RooflineRenderer.render(report, format: .json, top: nil)
    }

    /// FNV-1a, 64 bits (Fowler, Noll, Vo): a fixed hash, unlike Swift's seeded Hasher.
    static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }
}
