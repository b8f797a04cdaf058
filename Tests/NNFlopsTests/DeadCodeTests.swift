import Foundation
import Testing
@testable import NNFlops

/// Dead code is not trained (README, "Counting conventions"): an operator whose outputs
/// reach no graph output runs forward, but autograd never reaches it from the loss, so it
/// has no backward and its parameters get no `.grad` (and torch.optim, which skips a
/// parameter whose grad is None, creates no state for it). By hand, and through the executor.
@Suite("Dead code")
struct DeadCodeTests {
    /// fc1 8->16 and fc2 16->2 reach the output; aux1 16->3 -> relu -> aux2 3->3 is a second
    /// head nothing reads; `unused` 8->5 reads the input and nothing reads it.
    static let source = """
    model dead
    input x: [4, 8]
    h = linear(x, 16, name = "fc1")
    h = relu(h, name = "act")
    aux = linear(h, 3, name = "aux1")
    aux = relu(aux, name = "aux_act")
    aux = linear(aux, 3, name = "aux2")
    unused = linear(x, 5, name = "unused")
    output linear(h, 2, name = "fc2")
    """

    /// Live: fc1 (144 parameters), act, fc2 (34). Backward by hand: fc2 dX 4*16*2 MACs = 128
    /// MACs = 256 FLOPs, dW 128 MACs + 8 bias adds = 264; act 64; fc1 dW 4*8*16 = 512 MACs =
    /// 1024 + 64 bias adds = 1088 (x needs no gradient): 256 + 264 + 64 + 1088 = 1672. The
    /// dead ones add nothing. Adam: gradients (144 + 34) * 4 = 712 B, state 2 * 712 = 1424 B,
    /// step 14 * 178 = 2492 FLOPs. Parameters still count: 144 + 51 + 12 + 45 + 34 = 286.
    @Test func deadOperatorsGetNoBackward() throws {
        let graph = try Elaborator.elaborate(source: Self.source, file: "t.spec")
        let costs = try CostAnalysis(graph: graph)
        #expect(costs.reachesOutput == [true, true, false, false, false, false, true])
        #expect(costs.backward.flops.value == 1672)
        for name in ["aux1", "aux_act", "aux2", "unused"] {
            let layer = try #require(costs.layers.first { $0.name == name })
            #expect(layer.cost.backward.flops == .zero, "\(name)")
            #expect(layer.cost.forward.flops.value > 0, "\(name)")
            #expect(!layer.context.recordsForBackward, "\(name)")
        }
        #expect(costs.parameters == 286)
        #expect(costs.parameterReceivesGradient == [true, true, false, false, false, false, false, false, true, true])
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(optimizer: .adam))
        #expect(memory.gradsBytes == 712)
        #expect(memory.optimizerStateBytes == 1424)
        #expect(memory.optimizerFLOPs.value == 14 * 178)
        // Nothing dead is kept: act's output (256 B) and the output (32 B).
        #expect(memory.savedActivationsBytes == 256 + 32)
        #expect(memory.layers.filter { ["aux1", "aux_act", "aux2", "unused"].contains($0.name) }.allSatisfy { $0.keptBytes == 0 })
        // The roofline prices no backward and no optimizer step for them.
        let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: try Roof(gpu: try GPUProfile.named("h100-sxm")),
                                            configuration: RunConfiguration(optimizer: .adam))
        #expect(!roofline.entries.contains { ["aux1", "aux_act", "aux2", "unused"].contains($0.name) && $0.phase != .forward })
        #expect(roofline.flops([.optimizer]) == 14 * 178)
    }

    /// One warning per dead end, naming what feeds it and the parameters that get no gradient.
    @Test func warningsNameTheDeadEnds() throws {
        let graph = try Elaborator.elaborate(source: Self.source, file: "t.spec")
        let warnings = try CostAnalysis(graph: graph).warnings
        #expect(warnings.map(\.node) == ["aux2", "unused"])
        #expect(warnings[0].message.contains("'aux2' (linear) reaches no output"))
        #expect(warnings[0].message.contains("'aux1', 'aux_act'"))
        #expect(warnings[0].message.contains("aux1.weight") && warnings[0].message.contains("aux2.bias"))
        #expect(warnings[1].message.contains("unused.weight, unused.bias get no gradient"))
        // A model without dead code has none; the report carries them only when there are.
        let clean = try Elaborator.elaborate(source: "input x: [4, 8]\noutput linear(x, 2)\n", file: "t.spec")
        #expect(try CostAnalysis(graph: clean).warnings.isEmpty)
        let report = AnalysisReport(graph: graph, analysis: try CostAnalysis(graph: graph), options: CountOptions())
        #expect(report.warnings?.count == 2)
        #expect(AnalysisReport(graph: clean, analysis: try CostAnalysis(graph: clean), options: CountOptions()).warnings == nil)
    }

    /// A parameter tied between a live and a dead use gets its gradient from the live one
    /// only: no accumulation is priced for the dead use.
    @Test func tiedParameterWithADeadUse() throws {
        let source = """
        input x: [4, 8]
        h = linear(x, 8, name = "a")
        dead = linear(h, 8, tie = "a", name = "b")
        output linear(h, 8, tie = "a", name = "c")
        """
        let costs = try CostAnalysis(graph: try Elaborator.elaborate(source: source, file: "t.spec"))
        let b = try #require(costs.layers.first { $0.name == "b" }), c = try #require(costs.layers.first { $0.name == "c" })
        #expect(b.cost.backward.flops == .zero)
        // c: dX 256 MACs, dW 256 MACs + 32 bias adds, and its gradient added into a's: 72.
        #expect(c.cost.weightGradient.flops.value == 2 * 256 + 32 + 72)
    }

    /// The executor trains what the analysis says: no gradient, no state and no backward for
    /// the dead operators; every count, byte and the peak agree.
    @Test(arguments: [Optimizer.adam, .sgd, .momentum])
    func executorAgrees(_ optimizer: Optimizer) throws {
        let graph = try Elaborator.elaborate(source: Self.source, file: "t.spec")
        let report = try ReferenceExecutor.run(graph, options: ExecutionOptions(seed: 2, optimizer: optimizer))
        #expect(report.ok, "\(report.mismatches.map(\.name))")
        #expect(report.memory.optimizerStateBytes == optimizer.stateTensors * 712)
        #expect(!report.rows.contains { ["aux1", "aux_act", "aux2", "unused"].contains($0.name) && $0.phase != .forward })
    }
}
