// What every front-end target runs on the graph it gets: the analyses and renderers a
// command would run (analyze with and without memory, roofline, check's budgets), so a
// graph that elaborates but breaks an analysis or a renderer is found too. Shared by the
// spec, ONNX and Hugging Face targets (scripts/fuzz.sh compiles it into each).
@testable import NNFlops

enum FuzzDownstream {
    static func analyse(_ graph: Graph) throws {
        let costs = try CostAnalysis(graph: graph)
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
}
