import Foundation
import Testing
@testable import NNFlops

/// Training on many GPUs (README, "Training on many GPUs"): ZeRO against Rajbhandari et
/// al. 2020's table, the collectives' ring volumes by hand, the pipeline's bubble and
/// in-flight micro-batches, and the layouts a model refuses.
@Suite struct ParallelTrainingTests {
    /// Rajbhandari et al. 2020 (arXiv 1910.02054), §5 and Figure 1: Psi = 7.5B parameters,
    /// mixed precision with Adam (K = 12 bytes of optimizer state per parameter: the fp32
    /// master weights, momentum and variance), N = 64 data-parallel GPUs:
    ///   baseline      (2 + 2 + K) Psi            = 120 GB
    ///   P_os          2 Psi + 2 Psi + K Psi / N  = 31.4 GB
    ///   P_os+g        2 Psi + (2 + K) Psi / N    = 16.6 GB
    ///   P_os+g+p      (2 + 2 + K) Psi / N        = 1.9 GB
    /// Our pure bf16 policy keeps exactly those states: bf16 parameters and gradients, fp32
    /// master weights and Adam's two fp32 moments.
    @Test func zeroStagesAreRajbhandariTable() throws {
        let source = """
        model zero
        input x: [1, 100000]
        output linear(x, 75000, bias = false, name = "w")
        """
        let graph = try Elaborator.elaborate(source: source, file: "zero.spec")
        let psi = 7_500_000_000
        #expect(graph.parameterCount.value == psi)
        let costs = try CostAnalysis(graph: graph)
        let n = 64
        // (stage, bytes by the paper's formula written out, the paper's GB figure).
        let table: [(ZeROStage, Int, Double)] = [
            (.none, 16 * psi, 120),
            (.optimizerState, 4 * psi + 12 * psi / n, 31.4),
            (.gradients, 2 * psi + 14 * psi / n, 16.6),
            (.parameters, 16 * psi / n, 1.9),
        ]
        for (stage, expected, paperGB) in table {
            var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
            configuration.parallel = ParallelLayout(gpus: n, zero: stage)
            let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
            let states = memory.paramsBytes + memory.gradsBytes + memory.masterParamsBytes + memory.optimizerStateBytes
            #expect(states == expected, "ZeRO-\(stage.rawValue)")
            #expect((Double(states) / 1e8).rounded() / 10 == paperGB, "ZeRO-\(stage.rawValue): \(Double(states) / 1e9) GB")
        }
    }
}
