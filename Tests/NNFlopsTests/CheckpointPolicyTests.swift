import Foundation
import Testing
@testable import NNFlops

/// The checkpoint policies (README, "Checkpointing") by hand on small graphs: what is kept
/// after forward, what is recomputed, and the peak, for `each=GLOB`, checkpoint_sequential
/// over named units, `selective`; unit inference on nested names; and the executor running
/// each policy to the same bytes.
@Suite("Checkpoint policies")
struct CheckpointPolicyTests {
    static func analyze(_ source: String, _ configuration: RunConfiguration) throws -> (Graph, CostAnalysis, MemoryAnalysis) {
        let graph = try Elaborator.elaborate(source: source, file: "t.spec")
        let costs = try CostAnalysis(graph: graph)
        return (graph, costs, try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration))
    }

    /// Four MLP blocks h.0 ... h.3 (fc1 8->32, relu, fc2 32->8) on [64, 8].
    static let blocks = """
    model blocks
    input x: [64, 8]
    block mlp(x):
        h = linear(x, 32, name = "fc1")
        h = relu(h, name = "act")
        return linear(h, 8, name = "fc2")
    block stack(x):
        for i in range(4):
            x = mlp(x, name = i)
        return x
    output stack(x, name = "h")
    """

    /// Bytes: a block's input or output a = 64*8*4 = 2048; its hidden 4a = 8192. Per block
    /// fc1 keeps its input (its weight trains), relu its output R (4a), fc2 its input R
    /// (the same storage). Forward FLOPs per block: fc1 2*64*8*32 + 64*32 = 34816, relu
    /// 2048, fc2 2*64*32*8 + 64*8 = 33280: F = 70144. Parameter gradients per block G =
    /// (288 + 264) * 4 = 2208 B (fc2's 1056, fc1's 1152); static = 4 * 2208 + a (x) = 10880.
    ///
    /// `each=h.*` (torch.utils.checkpoint around every block): after forward the blocks keep
    /// only their inputs: h.1..h.3's (3a; h.0's is x, static) and the output a: 4a = 8192.
    /// Every block is recomputed whole (its last keeper is fc2): 4F = 280576. Backward of a
    /// block from a live base B0: recompute leaves R (+4a; at most +8a while fc1's output and
    /// R coexist); fc2's backward +4a (dR) + 1056; relu's +4a (dF) = B0 + 11a + 1056 is the
    /// block's highest moment; then R, dR, dF, the output gradient and the stored input are
    /// released. B0 for h.3 = seed a + 3 stored inputs + output = 5a; after h.3, 3a + G; h.2
    /// then h.1 leave one stored input fewer and a G more; h.0's B0 = dX a + output a + 3G.
    /// Highest: h.0's relu, 13a + 3G + 1056 = 34304 > h.3's 16a + 1056 = 33824. Peak =
    /// 10880 + 34304 = 45184 (SGD: no optimizer state or temporaries).
    @Test func eachBlockByHand() throws {
        let a = 2048, f = 70144
        let (graph, _, m) = try Self.analyze(Self.blocks, RunConfiguration(optimizer: .sgd, checkpoint: .each(try #require(NamePattern("h.*")))))
        #expect(m.checkpoint.segments == [0..<3, 3..<6, 6..<9, 9..<12])
        #expect(m.checkpoint.recomputed == m.checkpoint.segments)
        #expect(m.checkpoint.firstKeeper == [0, 3, 6, 9])
        #expect(m.savedActivationsBytes == 4 * a)
        #expect(m.recomputeFLOPs.value == 4 * f)
        #expect(m.peakBytes == 10880 + 13 * a + 3 * 2208 + 1056)
        #expect(m.peakLayer == "h.0.act" && m.peakPhase == .backward)
        // The segment inputs are attributed to each segment's first node.
        #expect(m.layers.first { $0.name == "h.1.fc1" }?.savedBytes == a)
        #expect(graph.nodes.count == 12)
        // Without checkpointing: 3 inputs + 4 R + the output = 20a.
        let (_, _, none) = try Self.analyze(Self.blocks, RunConfiguration(optimizer: .sgd))
        #expect(none.savedActivationsBytes == 20 * a)
        #expect(none.peakBytes > m.peakBytes)
    }

    /// checkpoint_sequential over the blocks (`--checkpoint segments=2 --checkpoint-units
    /// h.*`): L = 4 units, segment size 4 / 2 = 2, the first segment (h.0, h.1) is
    /// checkpointed (its input is x: nothing stored), the last (h.2, h.3) runs normally and
    /// keeps h.2's input a, R 4a, h.3's input a, R 4a, and the output a: 11a; recompute 2F.
    /// `depth=2` cuts the same units; the inferred units are the same here too (`h.0`:
    /// a name whose second component is a number).
    @Test func sequentialOverNamedUnits() throws {
        let a = 2048, f = 70144
        for units in [CheckpointUnits.matching(try #require(NamePattern("h.*"))), .depth(2), .inferred] {
            let config = RunConfiguration(optimizer: .sgd, checkpoint: .segments(2), checkpointUnits: units)
            let (_, _, m) = try Self.analyze(Self.blocks, config)
            #expect(m.checkpoint.units == [0..<3, 3..<6, 6..<9, 9..<12], "\(units)")
            #expect(m.checkpoint.segments == [0..<6], "\(units)")
            #expect(m.savedActivationsBytes == 11 * a, "\(units)")
            #expect(m.recomputeFLOPs.value == 2 * f, "\(units)")
        }
        // depth=1 is one unit (h): one segment, nothing checkpointed.
        let (_, _, one) = try Self.analyze(Self.blocks, RunConfiguration(optimizer: .sgd, checkpoint: .segments(2), checkpointUnits: .depth(1)))
        #expect(one.checkpoint.units == [0..<12] && one.checkpoint.segments.isEmpty)
    }

    static let nested = """
    model nested
    input x: [2, 8]
    block layer(x):
        return relu(linear(x, 8, name = "dense"), name = "act")
    block layers(x):
        for i in range(4):
            x = layer(x, name = i)
        return x
    block encoder(x):
        return layers(x, name = "layer")
    h = linear(x, 8, name = "embeddings.proj")
    h = layernorm(h, name = "embeddings.norm")
    h = encoder(h, name = "encoder")
    output linear(h, 2, name = "pooler.dense")
    """

    /// Nested names, as bert's `encoder.layer.N`: the inferred top-level sequence is
    /// embeddings / encoder / pooler (sqrt: K = round(sqrt(3)) = 2, so only the embeddings
    /// are checkpointed: the encoder gains nothing); `encoder.layer.*` makes the four
    /// layers the units (sqrt: K = 2 segments of 2 layers, the first checkpointed);
    /// depth=3 cuts every embeddings operator, each layer and the pooler apart.
    @Test func nestedNamesAreUnits() throws {
        let graph = try Elaborator.elaborate(source: Self.nested, file: "t.spec")
        let names = graph.nodes.map(\.name)
        #expect(names.contains("encoder.layer.0.dense") && names.contains("encoder.layer.3.act"))
        let costs = try CostAnalysis(graph: graph)
        func plan(_ units: CheckpointUnits) throws -> CheckpointPlan {
            try CheckpointPlan(graph: graph, costs: costs, configuration: RunConfiguration(checkpoint: .sqrt, checkpointUnits: units))
        }
        let inferred = try plan(.inferred)
        #expect(inferred.units == [0..<2, 2..<10, 10..<11])
        #expect(inferred.segments == [0..<2])
        let layers = try plan(.matching(try #require(NamePattern("encoder.layer.*"))))
        #expect(layers.units == [2..<4, 4..<6, 6..<8, 8..<10])
        #expect(layers.segments == [2..<6])
        #expect(try plan(.depth(3)).units == [0..<1, 1..<2, 2..<4, 4..<6, 6..<8, 8..<10, 10..<11])
        #expect(try plan(.depth(2)).units == [0..<1, 1..<2, 2..<10, 10..<11])
    }

    /// The zoo's bert-base: the inferred units are its three children, so `sqrt`
    /// checkpoints only the embeddings (2 segments of 1 unit); with `encoder.layer.*` the
    /// 12 layers are the units: K = round(sqrt(12)) = 3 segments of 4 layers, 2 checkpointed.
    @Test func bertBaseGainsWithItsLayersAsUnits() throws {
        let graph = try Elaborator.elaborate(source: try #require(Zoo.source(named: "bert-base")), file: "bert-base.spec")
        let costs = try CostAnalysis(graph: graph)
        let inferred = try CheckpointPlan(graph: graph, costs: costs, configuration: RunConfiguration(checkpoint: .sqrt))
        #expect(inferred.units.count == 3)
        #expect(inferred.segments.count == 1)
        #expect(inferred.segments[0].allSatisfy { graph.nodes[$0].name.hasPrefix("embeddings.") })
        let layers = try CheckpointPlan(graph: graph, costs: costs, configuration: RunConfiguration(
            checkpoint: .sqrt, checkpointUnits: .matching(try #require(NamePattern("encoder.layer.*")))))
        #expect(layers.units.count == 12)
        #expect(layers.segments.count == 2)
        #expect(graph.nodes[layers.segments[1].upperBound - 1].name.hasPrefix("encoder.layer.7."))
        let none = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration())
        let saved = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(
            checkpoint: .sqrt, checkpointUnits: .matching(try #require(NamePattern("encoder.layer.*")))))
        #expect(saved.savedActivationsBytes < none.savedActivationsBytes / 2)
    }

    static func attention(_ impl: String) -> String {
        """
        model t
        input x: [2, 4, 8]
        q = linear(x, 8, name = "q")
        k = linear(x, 8, name = "k")
        v = linear(x, 8, name = "v")
        a = attention(q, k, v, heads = 2, impl = "\(impl)", name = "attn")
        output linear(a, 8, name = "proj")
        """
    }

    /// `selective` (Korthikanti et al. 2022): the attention core alone is checkpointed. q, k,
    /// v are [2, 4, 8] (256 B each), scores [2, 2, 4, 4] = 64 entries. Naive: attention keeps
    /// q, k, v and the fp32 probabilities (256 B); proj keeps a (256 B); the output 256 B:
    /// 768 + 256 + 256 + 256 = 1536. Selective keeps q, k, v as the checkpoint's inputs and
    /// drops the probabilities: 1280; it re-runs the core's forward: E = 64, d = dv = 4:
    /// 2*64*(4+4) + 64*6 = 1408 FLOPs. Fused keeps q, k, v, the output and an fp32
    /// log-sum-exp [2, 2, 4] (64 B); the output is proj's input anyway, so selective frees
    /// only the log-sum-exp and re-runs the fused kernel, 1408 + 2 per row (16 rows) = 1440.
    @Test func selectiveByHand() throws {
        for (impl, kept, selective, recompute) in [("naive", 1536, 1280, 1408), ("fused", 1344, 1280, 1440)] {
            let (_, _, none) = try Self.analyze(Self.attention(impl), RunConfiguration(optimizer: .sgd))
            let (_, _, m) = try Self.analyze(Self.attention(impl), RunConfiguration(optimizer: .sgd, checkpoint: .selective))
            #expect(none.savedActivationsBytes == kept, "\(impl)")
            #expect(m.savedActivationsBytes == selective, "\(impl)")
            #expect(m.checkpoint.segments == [3..<4], "\(impl)")
            #expect(m.recomputeFLOPs.value == recompute, "\(impl)")
        }
        // A model without attention has nothing to recompute selectively: an error.
        #expect(throws: NNFlopsError.self) {
            try Self.analyze("input x: [2, 8]\noutput linear(x, 4)\n", RunConfiguration(checkpoint: .selective))
        }
    }

    /// A segment in which nothing keeps anything stores nothing, not even its inputs (torch:
    /// no pack hook ran, so nothing holds the checkpoint's frame and its saved inputs).
    @Test func segmentKeepingNothingStoresNothing() throws {
        let source = """
        input x: [4, 8]
        h = linear(x, 8, name = "a.fc")
        h = relu(h, name = "a.act")
        g = add(h, h, name = "b.add")
        g = reshape(g, [4, 2, 4], name = "b.view")
        output linear(g, 4, name = "c.fc")
        """
        let (_, _, m) = try Self.analyze(source, RunConfiguration(optimizer: .sgd, checkpoint: .each(try #require(NamePattern("b")))))
        #expect(m.checkpoint.segments == [2..<4])
        #expect(m.checkpoint.recomputed == [2..<2])
        #expect(!m.checkpoint.storesInputs(0))
        #expect(m.recomputeFLOPs == .zero)
        #expect(m.layers[2].savedBytes == 0)
    }

    @Test func patterns() throws {
        let p = try #require(NamePattern("model.layers.*"))
        #expect(p.instance(of: "model.layers.11.self_attn.q_proj") == "model.layers.11")
        #expect(p.instance(of: "model.layers") == nil)
        #expect(p.instance(of: "model.norm") == nil)
        #expect(try #require(NamePattern("h.?")).instance(of: "h.1.attn") == "h.1")
        #expect(try #require(NamePattern("h.?")).instance(of: "h.10.attn") == nil)
        #expect(try #require(NamePattern("layer*")).instance(of: "layer3.0.conv1") == "layer3")
        #expect(try #require(NamePattern("*.layer.*")).instance(of: "encoder.layer.2.output") == "encoder.layer.2")
        for bad in ["", "h.", ".h", "a..b", "h *"] { #expect(NamePattern(bad) == nil, "\(bad)") }
        #expect(CheckpointPolicy(argument: "each=h.*") == .each(try p2("h.*")))
        #expect(CheckpointPolicy(argument: "each=") == nil)
        #expect(CheckpointPolicy(argument: "selective") == .selective)
        #expect(CheckpointUnits(argument: "depth=0") == nil)
        #expect(CheckpointUnits(argument: "depth=2") == .depth(2))
        // A pattern that matches nothing is an error that shows the names.
        let graph = try Elaborator.elaborate(source: Self.blocks, file: "t.spec")
        #expect {
            _ = try CheckpointUnits.instances(of: try p2("layers.*"), in: graph)
        } throws: { error in
            let e = error as? NNFlopsError
            return e?.message.contains("'layers.*'") == true && e?.notes.joined().contains("h.0") == true
        }
    }

    func p2(_ text: String) throws -> NamePattern { try #require(NamePattern(text)) }

    /// The executor runs every policy and agrees with the memory model to the byte (saved
    /// per node, the peak) and on the recomputed FLOPs.
    @Test(arguments: ["each=h.*", "segments=2", "selective"])
    func executorAgrees(_ policy: String) throws {
        let source = policy == "selective" ? Self.attention("naive") : Self.blocks.replacingOccurrences(of: "[64, 8]", with: "[4, 8]")
        let graph = try Elaborator.elaborate(source: source, file: "t.spec")
        var options = ExecutionOptions(seed: 3, optimizer: .adam, checkpoint: try #require(CheckpointPolicy(argument: policy)))
        if policy == "segments=2" { options.checkpointUnits = .matching(try p2("h.*")) }
        let report = try ReferenceExecutor.run(graph, options: options)
        #expect(report.ok, "\(policy): \(report.mismatches.map(\.name)) peak \(report.memory.peakBytes) vs \(report.memory.analyticPeakBytes)")
        #expect(!report.checkpointedSegments.isEmpty)
    }

    /// The roofline prices the recomputation the memory replay runs: the same nodes, so the
    /// same FLOPs as by hand above (each=h.*: every block whole, 4F = 280576; segments=2
    /// over h.*: the first segment, 2F; selective: attention's core, 1408 naive).
    @Test func rooflineRecomputesWhatThePlanRecomputes() throws {
        let f = 70144
        let roof = try Roof(gpu: try GPUProfile.named("h100-sxm"))
        let units = try #require(CheckpointUnits(argument: "h.*"))
        let runs: [(String, RunConfiguration, Int)] = [
            (Self.blocks, RunConfiguration(optimizer: .sgd, checkpoint: .each(try #require(NamePattern("h.*")))), 4 * f),
            (Self.blocks, RunConfiguration(optimizer: .sgd, checkpoint: .segments(2), checkpointUnits: units), 2 * f),
            (Self.attention("naive"), RunConfiguration(optimizer: .sgd, checkpoint: .selective), 1408),
        ]
        for (source, configuration, recompute) in runs {
            let (graph, costs, memory) = try Self.analyze(source, configuration)
            let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: configuration)
            #expect(roofline.flops([.recompute]) == recompute, "\(configuration.checkpoint)")
            #expect(memory.recomputeFLOPs.value == recompute, "\(configuration.checkpoint)")
            // Without checkpointing nothing is recomputed.
            var plain = configuration
            plain.checkpoint = .none
            #expect(try RooflineAnalysis(graph: graph, costs: costs, roof: roof, configuration: plain).flops([.recompute]) == 0)
        }
    }
}
