import Foundation
import Testing
@testable import NNFlops

/// PyTorch's own checkpointing, measured once by `scripts/measure_checkpoint.py` (torch
/// 2.11, transformers 5.24; Tests/Fixtures/checkpoint/checkpoint.json): torch.utils.checkpoint
/// around each block, checkpoint_sequential, and Hugging Face's
/// `gradient_checkpointing_enable()`, each with the nnflops arguments that describe the same
/// run. What is alive after forward must be nnflops's saved activations, to the byte, for
/// every run; the peak of forward and backward (parameter gradients included, static memory
/// excluded) must be nnflops's for the MLP blocks and every checkpointed resnet18 run.
@Suite("Checkpointing measured in PyTorch")
struct CheckpointFixtureTests {
    struct Run: Decodable, CustomStringConvertible, Sendable {
        var model: String
        var pytorch: String
        var nnflops_args: [String]
        var saved_after_forward_bytes: Int
        var peak_bytes: Int
        var description: String { "\(model): \(pytorch)" }
    }

    struct File: Decodable {
        var schema: String
        var runs: [Run]
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    static let runs: [Run] = {
        let url = root.appendingPathComponent("Tests/Fixtures/checkpoint/checkpoint.json")
        guard let data = try? Data(contentsOf: url), let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.runs
    }()

    /// The fixture's arguments: the model, `--batch`, `--set`, `--optimizer`, `--checkpoint`,
    /// `--checkpoint-units`, `--use-cache`.
    static func analyze(_ run: Run) throws -> MemoryAnalysis {
        var args = run.nnflops_args
        var model = args.removeFirst()
        if model.hasSuffix(".spec") || model.hasSuffix(".json") { model = root.appendingPathComponent(model).path }
        var batch: Int?, settings: [String] = []
        var configuration = RunConfiguration(optimizer: .sgd)
        var index = 0
        while index + 1 < args.count {
            let value = args[index + 1]
            switch args[index] {
            case "--batch": batch = Int(value)
            case "--set": settings.append(value)
            case "--optimizer": configuration.optimizer = try #require(Optimizer(rawValue: value))
            case "--checkpoint": configuration.checkpoint = try #require(CheckpointPolicy(argument: value))
            case "--checkpoint-units": configuration.checkpointUnits = try #require(CheckpointUnits(argument: value))
            case "--use-cache": configuration.useCache = try #require(Bool(value) as Bool?)
            default: Issue.record("unexpected fixture argument \(args[index])")
            }
            index += 2
        }
        let graph = try ModelRequest(model, settings: settings, batch: batch).graph()
        let costs = try CostAnalysis(graph: graph, options: CountOptions().run(configuration))
        return try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
    }

    /// Forward and backward's peak without static memory: the replay's highest moment
    /// outside the optimizer step (SGD allocates nothing there but the gradients).
    static func dynamicPeak(_ memory: MemoryAnalysis) throws -> Int {
        try #require(memory.steps.filter { $0.phase != .optimizer }.map(\.liveBytes).max()) - memory.staticBytes
    }

    @Test func fixtureHoldsEveryPolicy() throws {
        #expect(Self.runs.count == 12)
        let policies = Set(Self.runs.map { $0.nnflops_args.drop { $0 != "--checkpoint" }.dropFirst().first ?? "none" })
        #expect(policies == ["none", "each=h.*", "segments=2", "segments=4", "each=layer*.*", "segments=3",
                             "each=transformer.h.*", "each=encoder.layer.*"])
    }

    @Test("saved after forward, as PyTorch keeps it", arguments: runs)
    func savedAfterForward(_ run: Run) throws {
        let memory = try Self.analyze(run)
        #expect(memory.savedActivationsBytes == run.saved_after_forward_bytes)
    }

    /// Not held: resnet18 without checkpointing (PyTorch's peak, inside layer2.0's backward,
    /// is 65,536 B, one [2, 128, 8, 8] gradient, above the replay's) and the transformers
    /// (their composite GELU's and layer norm's backward temporaries, and add's gradient,
    /// which autograd passes on to both inputs rather than allocating, are finer than the
    /// replay's per-operator moments; README, "Checkpointing").
    @Test("peak of forward and backward, as PyTorch reaches it",
          arguments: runs.filter { $0.model == "blocks" || ($0.model == "resnet18" && $0.pytorch != "none") })
    func peak(_ run: Run) throws {
        let memory = try Self.analyze(run)
        #expect(try Self.dynamicPeak(memory) == run.peak_bytes)
    }

    /// Checkpointing lowers what stays after forward exactly as much as it does in PyTorch.
    @Test func checkpointingSavesWhatPyTorchSaves() throws {
        for model in Set(Self.runs.map(\.model)) {
            let runs = Self.runs.filter { $0.model == model }
            let none = try #require(runs.first { $0.pytorch == "none" })
            let baseline = try Self.analyze(none).savedActivationsBytes
            for run in runs where run.pytorch != "none" {
                #expect(baseline - (try Self.analyze(run)).savedActivationsBytes == none.saved_after_forward_bytes - run.saved_after_forward_bytes,
                        "\(run)")
            }
        }
    }
}
