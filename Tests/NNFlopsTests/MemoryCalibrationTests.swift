import Testing
@testable import NNFlops

/// Predicted training memory against measurements on an H100 (PyTorch 2.11):
/// ../shared/reference/h100-calibration.json, every resnet50 and gpt2 run. The figures
/// below are copied from that file. The measurement (h100-calibration.md):
/// `mem_saved_after_forward` is what autograd keeps plus the output and the loss,
/// relative to before forward (the input batch excluded); `peak_full_step` is relative to
/// before the model was built, so it holds parameters, optimizer state, buffers and input.
/// Both must be within 3% (every run is; gpt2 since its KV-cache copies are modelled).
@Suite("Memory calibration")
struct MemoryCalibrationTests {
    struct Run: Sendable, CustomStringConvertible {
        var model: String
        var batch: Int
        var optimizer: Optimizer
        var savedAfterForward: Int
        var peakFullStep: Int
        var description: String { "\(model) B=\(batch) \(optimizer.rawValue)" }
    }

    static let runs: [Run] = [
        Run(model: "resnet50", batch: 32, optimizer: .adam, savedAfterForward: 2_746_892_800, peakFullStep: 3_115_637_760),
        Run(model: "resnet50", batch: 32, optimizer: .sgd, savedAfterForward: 2_749_579_776, peakFullStep: 2_905_603_072),
        Run(model: "resnet50", batch: 32, optimizer: .momentum, savedAfterForward: 2_748_924_416, peakFullStep: 3_012_553_728),
        Run(model: "resnet50", batch: 8, optimizer: .adam, savedAfterForward: 687_950_848, peakFullStep: 1_066_132_992),
        Run(model: "resnet50", batch: 64, optimizer: .adam, savedAfterForward: 5_477_053_952, peakFullStep: 5_882_629_632),
        Run(model: "gpt2", batch: 4, optimizer: .adamw, savedAfterForward: 5_461_025_280, peakFullStep: 7_962_162_176),
    ]

    static func analyze(_ run: Run) throws -> MemoryAnalysis {
        let graph = try Elaborator.elaborate(source: try #require(Zoo.source(named: run.model)), file: run.model + ".spec",
                                             overrides: ["batch": .int(run.batch)])
        let costs = try CostAnalysis(graph: graph)
        return try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(optimizer: run.optimizer))
    }

    static func error(_ predicted: Int, _ measured: Int) -> Double { Double(predicted - measured) / Double(measured) }

    @Test("saved activations and peak within 3% of the H100 measurement", arguments: runs)
    func calibration(_ run: Run) throws {
        let memory = try Self.analyze(run)
        let saved = Self.error(memory.savedActivationsBytes, run.savedAfterForward)
        let peak = Self.error(memory.peakBytes, run.peakFullStep)
        print("calibration \(run): saved \(memory.savedActivationsBytes) vs \(run.savedAfterForward) (\(saved * 100)%), " +
            "peak \(memory.peakBytes) vs \(run.peakFullStep) (\(peak * 100)%) at \(memory.peakPhase) \(memory.peakLayer)")
        #expect(abs(saved) <= 0.03, "\(run): saved activations \(memory.savedActivationsBytes) vs measured \(run.savedAfterForward)")
        #expect(abs(peak) <= 0.03, "\(run): peak \(memory.peakBytes) vs measured \(run.peakFullStep)")
        // max_memory_allocated counts the caching allocator's blocks, not the tensors'
        // bytes: with its rounding every peak comes nearer the measurement (within 1.6%,
        // and only resnet50 B=64 above it, by 0.2%).
        let blocks = Self.error(memory.cudaAllocator.allocatedPeakBytes, run.peakFullStep)
        #expect(abs(blocks) < abs(peak), "\(run): allocator peak \(memory.cudaAllocator.allocatedPeakBytes) vs measured \(run.peakFullStep)")
        #expect(abs(blocks) <= 0.016, "\(run): allocator peak \(memory.cudaAllocator.allocatedPeakBytes) vs measured \(run.peakFullStep)")
    }
}
