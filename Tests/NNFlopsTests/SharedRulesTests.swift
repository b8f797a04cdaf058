import Foundation
import Testing
@testable import NNFlops

/// The rules several analyses share, each computed in one place and read by all of them:
/// each node's cost context (the attention convention included), checkpoint segments and
/// recomputation, the precision policy's runtime types, the optimizer step's FLOPs.
@Suite struct SharedRulesTests {
    static func graph(_ source: String) throws -> Graph {
        try TestModel.graph(source)
    }

    /// One checkpointable unit (`blk.0`) holding fused causal attention, then a second
    /// unit that runs normally. B = 1, n = 4, heads = 2, d = dv = 4.
    static let checkpointedAttention = """
    model t
    input x: [1, 4, 8]
    h = linear(x, 24, name = "blk.0.qkv")
    q, k, v = split(h, 8, name = "blk.0.split")
    a = attention(q, k, v, 2, causal = true, name = "blk.0.attn")
    h = linear(a, 8, name = "blk.0.proj")
    output linear(h, 8, name = "blk.1.fc")
    """

    /// By hand, the recomputed nodes of segment blk.0 are all four (proj, its last node,
    /// keeps its input):
    /// - qkv: 4 rows x 8 x 24 = 768 MACs, 2 * 768 + 4 * 24 (bias) = 1632 FLOPs;
    /// - split: a view, 0;
    /// - attention, dense: E = 1 * 2 * 4 * 4 = 32 entries, MACs E (d + dv) = 256,
    ///   FLOPs 2 * 256 + E (6 + 1 mask) + 2 R (R = 8 rows, the log-sum-exp) = 752;
    ///   executed: the fused causal kernel visits E = 2 * (1 + 2 + 3 + 4) = 20 entries and
    ///   runs no mask: MACs 160, FLOPs 320 + 20 * 6 + 16 = 456;
    /// - proj: 4 x 8 x 8 = 256 MACs, 512 + 32 = 544 FLOPs.
    static let recomputeDense = Work(flops: 1632 + 752 + 544, macs: 768 + 256 + 256)
    static let recomputeExecuted = Work(flops: 1632 + 456 + 544, macs: 768 + 160 + 256)

    @Test(arguments: [(AttentionConvention.dense, recomputeDense), (.executed, recomputeExecuted)])
    func memoryRecomputesUnderTheCostAnalysisConvention(_ convention: AttentionConvention, _ expected: Work) throws {
        let graph = try Self.graph(Self.checkpointedAttention)
        let costs = try CostAnalysis(graph: graph, options: CountOptions(attention: convention))
        let configuration = RunConfiguration(optimizer: .sgd, checkpoint: .segments(2))
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
        #expect(memory.checkpointedSegments == [0..<4])
        #expect(memory.recompute == expected)
        // The replay's contexts are the cost analysis's, convention included.
        let plan = try MemoryPlan(graph: graph, costs: costs, configuration: configuration)
        #expect(plan.contexts.allSatisfy { $0.attention == convention })
        #expect(plan.contexts == costs.layers.map(\.context))
        // The roofline recomputes the same nodes at the same convention.
        let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: try Roof(gpu: try GPUProfile.named("h100-sxm")),
                                            configuration: configuration)
        #expect(roofline.flops([.recompute]) == expected.flops.value)
        #expect(roofline.checkpoint == memory.checkpoint)
    }

    /// The executor's recompute row compares the cost analysis's figure over the
    /// recomputed nodes with what its kernels ran: under `executed` they agree; under
    /// `dense` the analytic side prices the masked half the kernel skips, so the row fails.
    @Test func executorRecomputeRowIsAnalytic() throws {
        let graph = try Self.graph(Self.checkpointedAttention)
        for convention in [AttentionConvention.executed, .dense] {
            let options = ExecutionOptions(seed: 1, attention: convention, checkpoint: .segments(2))
            let report = try ExecutionEngine<Double>(graph: graph, options: options).trainStep()
            let row = try #require(report.rows.first { $0.phase == .recompute })
            let analytic = convention == .dense ? Self.recomputeDense : Self.recomputeExecuted
            #expect(row.analyticFLOPs == analytic.flops.value && row.analyticMACs == analytic.macs.value, "\(convention)")
            #expect(row.executedFLOPs == Self.recomputeExecuted.flops.value && row.executedMACs == Self.recomputeExecuted.macs.value,
                    "\(convention)")
            #expect(row.matches == (convention == .executed), "\(convention)")
        }
    }

    /// Units are a replaceable function: cutting the chain into one unit per node and
    /// asking for 3 segments of 2 nodes checkpoints nodes 0..<2 and 2..<4.
    @Test func checkpointUnitsAreReplaceable() throws {
        let graph = try Self.graph("input x: [2, 4]\nh = linear(x, 4)\nh = relu(h)\nh = linear(h, 4)\nh = relu(h)\nh = linear(h, 4)\noutput relu(h)\n")
        let costs = try CostAnalysis(graph: graph)
        let configuration = RunConfiguration(checkpoint: .segments(3))
        let perNode = try CheckpointPlan(graph: graph, costs: costs, configuration: configuration) { g in g.nodes.indices.map { $0..<($0 + 1) } }
        #expect(perNode.units.count == 6)
        #expect(perNode.segments == [0..<2, 2..<4])
        // Recomputation stops at each segment's last node that keeps anything: the relu.
        #expect(perNode.recomputed == [0..<2, 2..<4])
        #expect(perNode.segment(of: 3) == 1 && perNode.segment(of: 4) == nil)
        #expect(perNode.segmentStarting(at: 2) == 1 && perNode.segmentEnding(at: 3) == 1 && perNode.segmentEnding(at: 2) == nil)
        // Nothing is checkpointed in inference.
        var inference = configuration
        inference.inference = true
        #expect(try CheckpointPlan(graph: graph, costs: costs, configuration: inference).segments.isEmpty)
    }

    // MARK: Precision

    static let mixed = """
    model t
    input x: [4, 8]
    h = linear(x, 16, name = "fc")
    h = relu(h, name = "act")
    output softmax(h, name = "sm")
    """

    /// The autocast rules by hand (amp-bf16): fc (lower precision) casts x and both of
    /// its parameters to bf16 and outputs bf16; relu (promote) computes in its input's
    /// bf16; softmax (fp32) casts its bf16 input up and outputs fp32. Pure bf16: every
    /// float tensor bf16, no casts, parameters bf16.
    @Test func runtimeTypesByHand() throws {
        let graph = try Self.graph(Self.mixed)
        let amp = RuntimeTypes(graph: graph, policy: .ampBF16)
        let x = graph.inputs[0].tensor, fc = graph.nodes[0].outputs[0], act = graph.nodes[1].outputs[0], sm = graph.nodes[2].outputs[0]
        #expect([amp.tensors[x], amp.tensors[fc], amp.tensors[act], amp.tensors[sm]] == [.float32, .bfloat16, .bfloat16, .float32])
        #expect(graph.nodes.indices.map { Array(amp.inputCasts(node: $0)) } == [[.bfloat16], [nil], [.float32]])
        #expect(graph.nodes.indices.map { Array(amp.parameterCasts(node: $0)) } == [[.bfloat16, .bfloat16], [], []])
        #expect(amp.parameterType == .float32)
        #expect(amp.parameterRead(node: 0, local: 1) == .bfloat16)
        let pure = RuntimeTypes(graph: graph, policy: .bf16)
        #expect(pure.tensors.allSatisfy { $0 == .bfloat16 })
        #expect(graph.nodes.indices.allSatisfy { pure.inputCasts(node: $0).allSatisfy { $0 == nil } })
        #expect(pure.parameterType == .bfloat16 && pure.buffer(.float32) == .bfloat16 && pure.buffer(.int64) == .int64)

        // The roofline's forward bytes of fc at those types: x read in fp32 (4*8*4 = 128;
        // the cast kernel is not counted), weight and bias read as the bf16 copies
        // (16*8*2 + 16*2 = 288), the bf16 output written (4*16*2 = 128): 544.
        let costs = try CostAnalysis(graph: graph)
        let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: try Roof(gpu: try GPUProfile.named("h100-sxm")),
                                            configuration: RunConfiguration(precision: .ampBF16))
        let forward = try #require(roofline.entries.first { $0.name == "fc" && $0.phase == .forward })
        #expect(forward.bytes == 128 + 288 + 128)
        #expect(forward.computeType == .bfloat16)
        // The memory replay allocates its copies and outputs at the same types.
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(optimizer: .sgd, precision: .ampBF16))
        #expect(memory.types == roofline.types)
    }

    /// Memory and roofline read the same runtime types for every zoo model and policy.
    @Test(arguments: ["resnet18", "gpt2", "mobilenet_v2", "vit_b_16"])
    func rooflineAndMemoryShareTheAutocastRules(_ model: String) throws {
        let (source, file) = try SpecLoader.load(model)
        let graph = try Elaborator.elaborate(source: source, file: file, overrides: ["batch": .int(2)])
        let costs = try CostAnalysis(graph: graph)
        let roof = try Roof(gpu: try GPUProfile.named("h100-sxm"))
        for policy in PrecisionPolicy.allCases {
            let configuration = RunConfiguration(precision: policy)
            let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
            let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: configuration)
            #expect(memory.types == roofline.types, "\(model) \(policy)")
            #expect(memory.types == RuntimeTypes(graph: graph, policy: policy), "\(model) \(policy)")
        }
    }

    // MARK: Optimizer step

    /// The roofline's per-operator optimizer entries add up to the memory analysis's step
    /// FLOPs for every optimizer, with decay and clipping, tied parameters counted once.
    /// By hand for Adam with clipping on the tied model: parameters 10*4 (embedding, tied
    /// to the head) + 4*4 + 4 (linear) = 60 in 3 tensors: 60 * (14 + 3) + 3 * 3 + 4 = 1033.
    @Test func optimizerStepFLOPsAgree() throws {
        let graph = try Self.graph("input ids: [2, 3] int\ne = embedding(ids, 10, 4, name = \"emb\")\n" +
            "h = linear(e, 4, name = \"fc\")\noutput linear(h, 10, bias = false, tie = \"emb\", name = \"head\")\n")
        let costs = try CostAnalysis(graph: graph)
        let roof = try Roof(gpu: try GPUProfile.named("h100-sxm"))
        let clipped = RunConfiguration(optimizer: .adam, gradClip: 1)
        #expect(try MemoryAnalysis(graph: graph, costs: costs, configuration: clipped).optimizerFLOPs.value == 1033)
        for optimizer in Optimizer.allCases {
            for (decay, clip) in [(0.0, nil), (0.1, nil), (0.0, 1.0), (0.1, 1.0)] as [(Double, Double?)] {
                let configuration = RunConfiguration(optimizer: optimizer, weightDecay: decay, gradClip: clip)
                let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
                let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: configuration)
                #expect(roofline.flops([.optimizer]) == memory.optimizerFLOPs.value, "\(optimizer) wd \(decay) clip \(clip ?? 0)")
            }
        }
    }
}
