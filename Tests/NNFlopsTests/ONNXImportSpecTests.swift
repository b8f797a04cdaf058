import Foundation
import Testing
@testable import NNFlops

/// `nnflops import`: a graph written back as a spec (SpecPrinter) elaborates, through the
/// ordinary parser and elaborator, to a graph with the same figures: parameters, every
/// layer's name, kind, shapes and per-phase cost, and training memory (saved bytes per
/// layer, the peak), in fp32 and under autocast. The ONNX graph is the independent side:
/// the spec is only text, read back as any spec is.
@Suite("ONNX import as a spec")
struct ONNXImportSpecTests {
    static let torchvision: [String] = {
        let directory = ONNXFixtures.root.appendingPathComponent("torchvision")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".onnx") }.sorted()
    }()

    /// Every figure the reports show, compared layer by layer.
    static func expectSameFigures(_ a: Graph, _ b: Graph, _ what: String,
                                  sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let x = try CostAnalysis(graph: a), y = try CostAnalysis(graph: b)
        #expect(a.model == b.model, "\(what): model name", sourceLocation: sourceLocation)
        #expect(x.parameters == y.parameters && x.trainableParameters == y.trainableParameters,
                "\(what): parameters \(x.parameters) against \(y.parameters)", sourceLocation: sourceLocation)
        #expect(a.parameters.map(\.name) == b.parameters.map(\.name), "\(what): parameter names", sourceLocation: sourceLocation)
        #expect(x.layers.count == y.layers.count, "\(what): \(x.layers.count) layers against \(y.layers.count)", sourceLocation: sourceLocation)
        for (p, q) in zip(x.layers, y.layers) {
            guard p.name == q.name, p.kind == q.kind, p.outputShapes == q.outputShapes, p.parameters == q.parameters,
                  p.cost == q.cost, p.detail == q.detail else {
                Issue.record("\(what): layer \(p.name) (\(p.kind) \(p.outputShapes) \(p.cost)) against \(q.name) (\(q.kind) \(q.outputShapes) \(q.cost))",
                             sourceLocation: sourceLocation)
                return
            }
        }
        #expect(a.outputs.map { a.tensors[$0] } == b.outputs.map { b.tensors[$0] }, "\(what): outputs", sourceLocation: sourceLocation)
        for precision in [PrecisionPolicy.fp32, .ampBF16] {
            var configuration = RunConfiguration()
            configuration.precision = precision
            let m = try MemoryAnalysis(graph: a, costs: x, configuration: configuration)
            let n = try MemoryAnalysis(graph: b, costs: y, configuration: configuration)
            #expect(m.peakBytes == n.peakBytes, "\(what) \(precision): peak \(m.peakBytes) against \(n.peakBytes)", sourceLocation: sourceLocation)
            #expect(m.savedActivationsBytes == n.savedActivationsBytes, "\(what) \(precision): saved bytes", sourceLocation: sourceLocation)
            #expect(m.layers.map(\.savedBytes) == n.layers.map(\.savedBytes), "\(what) \(precision): saved bytes per layer", sourceLocation: sourceLocation)
            #expect(m.staticBytes == n.staticBytes, "\(what) \(precision): parameters, state, buffers, inputs", sourceLocation: sourceLocation)
        }
    }

    static func elaborate(_ source: String, _ name: String, _ overrides: [String: Value] = [:]) throws -> Graph {
        try TestModel.graph(source, file: name + ".spec", overrides: overrides)
    }

    @Test("every torchvision export, written as a spec, has the export's figures", arguments: torchvision)
    func torchvisionExport(_ file: String) throws {
        let model = try ONNXModel(contentsOf: ONNXFixtures.path("torchvision/" + file))
        let source = try model.specSource()
        let stem = String(file.dropLast(5))
        try Self.expectSameFigures(try model.graph(), try Self.elaborate(source, stem), file)
    }

    /// The batch axis is symbolic in every export, and every size follows it: the spec
    /// has `param batch` and gives the export's graph at another batch too.
    @Test("an export's spec keeps the batch symbolic: at batch 5 it is the export at batch 5",
          arguments: ["resnet18_train.onnx", "vit_b_32_eval.onnx", "densenet121_train.onnx", "shufflenet_v2_x1_0_eval.onnx"])
    func symbolicBatch(_ file: String) throws {
        let model = try ONNXModel(contentsOf: ONNXFixtures.path("torchvision/" + file))
        let source = try model.specSource()
        #expect(source.contains("\nparam batch = 1\n"))
        #expect(source.contains("input input_1: [batch, 3, 224, 224]\n"), "\(source.prefix(800))")
        let stem = String(file.dropLast(5))
        try Self.expectSameFigures(try model.graph(overrides: ["batch": .int(5)]),
                                   try Self.elaborate(source, stem, ["batch": .int(5)]), file + " at batch 5")
        // Written at batch 4, the default is 4.
        let atFour = try model.specSource(overrides: ["batch": .int(4)])
        #expect(atFour.contains("\nparam batch = 4\n"))
        try Self.expectSameFigures(try model.graph(overrides: ["batch": .int(4)]), try Self.elaborate(atFour, stem), file + " at batch 4")
    }

    /// ViT flattens [batch, 768, 14, 14] to [batch, 768, 196] and splits heads by
    /// reshapes whose sizes are products with the batch.
    @Test("sizes that are multiples of the batch are written as expressions of it")
    func expressions() throws {
        let source = try ONNXModel(contentsOf: ONNXFixtures.path("torchvision/vit_b_32_eval.onnx")).specSource()
        #expect(source.contains("[batch, 768, 49]"), "\(source.prefix(3000))")
        #expect(source.contains("12 * batch") || source.contains("50 * batch"))
    }

    /// A symbolic dimension besides the batch (`seq`), and an embedding tied to the output
    /// head (one initializer read by Gather and by MatMul): `tie =` in the spec.
    @Test("the decomposed exports (tiny Llama with batch and seq symbolic, Swin-T) as specs", arguments: [
        ("tiny_llama", ["seq": Value.int(16)]), ("swin_t_eval", [:]), ("swin_t_train", [:]),
    ])
    func decomposedExports(_ name: String, _ overrides: [String: Value]) throws {
        let model = try ONNXModel(contentsOf: ONNXFixtures.path("exports/\(name).onnx"))
        let source = try model.specSource(overrides: overrides)
        #expect(source.contains("\nparam batch = 1\n"))
        try Self.expectSameFigures(try model.graph(overrides: overrides), try Self.elaborate(source, name), name)
        var other = overrides
        other["batch"] = .int(2)
        if other["seq"] != nil { other["seq"] = .int(9) }
        try Self.expectSameFigures(try model.graph(overrides: other), try Self.elaborate(source, name, other), name + " at \(other)")
    }

    @Test("hand-made graphs: every one that imports has the same figures as its spec")
    func handGraphs() throws {
        let directory = ONNXFixtures.root.appendingPathComponent("hand")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".onnx") }.sorted()
        var written = 0
        for file in files {
            guard let model = try? ONNXModel(contentsOf: directory.appendingPathComponent(file).path) else { continue }
            // symbolic_dims and embedding_tied_head name a `seq` axis.
            let overrides: [String: Value] = (try? model.graph()) == nil ? ["seq": .int(7)] : [:]
            // The bad-input fixtures fail here (ONNXBadInputTests).
            guard let graph = try? model.graph(overrides: overrides) else { continue }
            let source = try model.specSource(overrides: overrides)
            try Self.expectSameFigures(graph, try Self.elaborate(source, String(file.dropLast(5))), file)
            written += 1
        }
        #expect(written >= 40)
    }

    @Test("a tied embedding and output head are written with tie =")
    func tiedHead() throws {
        let model = try ONNXModel(contentsOf: ONNXFixtures.path("hand/embedding_tied_head.onnx"))
        let source = try model.specSource(overrides: ["seq": .int(7)])
        #expect(source.contains("tie = \""), "\(source)")
        let graph = try Self.elaborate(source, "embedding_tied_head")
        #expect(graph.parameters.contains { $0.uses == 2 })
    }

    /// The printer is not ONNX's: any graph with its calls recorded is written back.
    /// Every zoo model (blocks, loops, ties, frozen parameters flattened) as a flat spec.
    @Test("every zoo spec, elaborated and written back flat, has the same figures",
          arguments: ["mlp", "resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vit_b_16", "alexnet", "vgg16", "gpt2", "bert-base"])
    func zooRoundTrip(_ name: String) throws {
        let source = try #require(Zoo.source(named: name))
        let graph = try Self.elaborate(source, name)
        let flat = try SpecPrinter.source(of: graph)
        #expect(!flat.contains("\nblock "))
        try Self.expectSameFigures(graph, try Self.elaborate(flat, name), name)
    }

    @Test("frozen parameters and budgets are written back")
    func frozenAndBudgets() throws {
        let source = """
            model tiny
            param batch = 2
            input x: [batch, 8]
            y = linear(x, 16, name = "encoder.fc")
            z = linear(relu(y), 4, name = "head")
            freeze "encoder"
            budget params <= 1M
            """
        let graph = try Self.elaborate(source, "tiny")
        let flat = try SpecPrinter.source(of: graph)
        #expect(flat.contains("freeze \"encoder.fc.weight\", \"encoder.fc.bias\""), "\(flat)")
        #expect(flat.contains("budget params <= 1000000"))
        let again = try Self.elaborate(flat, "tiny")
        #expect(again.trainableParameterCount.value == 4 * 16 + 4)
        #expect(again.budgets == graph.budgets.map { Budget(metric: $0.metric, limit: $0.limit, location: again.budgets[0].location) })
        try Self.expectSameFigures(graph, again, "tiny")
        // No probes: the shapes are fixed and the spec says so.
        #expect(flat.contains("Shapes are fixed at the settings this was written at (batch = 2)"))
        #expect(!flat.contains("param batch"))
    }

    /// GraphBuilder records each node's call: every argument of the signature, in order,
    /// given or defaulted; tensors by their graph id.
    @Test("Node.call holds the bound arguments, defaults included, for every front end")
    func callRecord() throws {
        let graph = try Self.elaborate("input x: [2, 3, 8, 8]\noutput conv2d(x, 4, kernel = 3, stride = 2, name = \"c\")", "call")
        let call = try #require(graph.nodes[0].call)
        #expect(call.kind == "conv2d")
        #expect(call.arguments.map(\.name) == Conv2d.signature.map(\.name))
        #expect(call.arguments.map(\.value.description) == ["tensor[2, 3, 8, 8]", "4", "3", "2", "0", "1", "1", "true"])
        if case .tensor(let t) = call.arguments[0].value { #expect(t.id == graph.inputs[0].tensor) } else { Issue.record("input") }
        let onnx = try ONNXFixtures.graph("hand/conv_group_dilation_stride.onnx")
        #expect(onnx.nodes[0].call?.arguments.first { $0.name == "groups" }?.value.description == "3")
    }

    @Test("a graph whose operator was rewritten after it was built is refused, by name")
    func rewritten() throws {
        let graph = try Self.elaborate("input x: [1, 3, 8, 8]\noutput batchnorm(conv2d(x, 4, kernel = 3, name = \"c\"))", "fold")
        #expect(throws: NNFlopsError.self) { try SpecPrinter.source(of: graph.foldingNormalizations()) }
        do {
            _ = try SpecPrinter.source(of: graph.foldingNormalizations())
        } catch let error as NNFlopsError {
            #expect(error.description.contains("node 'c' (conv2d) was rewritten"))
        }
    }
}
