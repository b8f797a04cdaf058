import Testing
@testable import NNFlops

/// Names as PyTorch gives them (README, "Calls, names, tied and frozen parameters"): a bare
/// learned tensor is named by its attribute, one module called several times keeps one
/// name (and reports sum its calls), and operators, blocks and parameters share one
/// namespace.
@Suite struct NamingTests {
    static let here = SourceLocation(file: "test", line: 1, column: 1)

    @Test func bareLearnedTensorsAreNamedLikePyTorch() throws {
        let graph = try Elaborator.elaborate(source: """
            input x: [2, 4, 3, 3]
            block scaled(x):
                return x * parameter([4, 1, 1], name = "layer_scale")
            y = scaled(x, name = "block")
            z = y * parameter([4, 1, 1], name = "again", tie = "block.layer_scale")
            output z
            """, file: "t.spec")
        #expect(graph.parameters.map(\.name) == ["block.layer_scale"])
        #expect(graph.parameters[0].uses == 2)
        // torchvision's ViT, exported to ONNX: its bare parameters keep their PyTorch names.
        let vit = try ONNXFixtures.graph("torchvision/vit_b_16_train.onnx", [:])
        let names = Set(vit.parameters.map(\.name))
        #expect(names.isSuperset(of: ["class_token", "encoder.pos_embedding"]))
        #expect(!names.contains("class_token.weight"))
    }

    /// torchvision's Bottleneck calls `self.relu` three times: one name, three nodes, one
    /// report row summing them. resnet50's layer1.0 at batch 1: relu after bn1 and bn2 on
    /// 64 x 56 x 56 and after the add on 256 x 56 x 56, one compare per element each.
    @Test func oneModuleCalledSeveralTimes() throws {
        let graph = try ModelRequest("resnet50").graph()
        #expect(graph.nodes.filter { $0.name == "layer1.0.relu" }.count == 3)
        let report = AnalysisReport(graph: graph, analysis: try CostAnalysis(graph: graph), options: CountOptions())
        let rows = report.layers.filter { $0.name == "layer1.0.relu" }
        #expect(rows.count == 1)
        #expect(rows.first?.operators == 3)
        #expect(rows.first?.forwardFlops == 2 * 64 * 56 * 56 + 256 * 56 * 56)
        #expect(rows.first?.detail == "inplace")
        #expect(report.layers.count == graph.nodes.count - 2 * 16)
    }

    @Test func aNameUsedAgainMustCallTheSameModule() throws {
        func elaborate(_ body: String) throws -> Graph {
            try TestModel.graph("input x: [2, 4]\n" + body)
        }
        // Parameter-free: the same kind and configuration.
        let ok = try elaborate("y = relu(x, name = \"act\")\noutput relu(y, name = \"act\")\n")
        #expect(ok.nodes.map(\.name) == ["act", "act"])
        #expect(throws: NNFlopsError.self) { try elaborate("y = relu(x, name = \"act\")\noutput relu(y, inplace = true, name = \"act\")\n") }
        #expect(throws: NNFlopsError.self) { try elaborate("y = relu(x, name = \"act\")\noutput gelu(y, name = \"act\")\n") }
        // With parameters: only with them tied to the first call's, which then count once.
        let shared = try elaborate("y = linear(x, 4, name = \"fc\")\noutput linear(y, 4, name = \"fc\", tie = \"fc\")\n")
        #expect(shared.parameters.map(\.name) == ["fc.weight", "fc.bias"])
        #expect(shared.parameters.map(\.uses) == [2, 2])
        #expect(throws: NNFlopsError.self) { try elaborate("y = linear(x, 4, name = \"fc\")\noutput linear(y, 4, name = \"fc\")\n") }
        // Blocks are not modules called again: their names stay unique in a scope.
        #expect(throws: NNFlopsError.self) {
            try elaborate("block b(x):\n    return relu(x)\ny = b(x, name = \"m\")\noutput b(y, name = \"m\")\n")
        }
    }

    /// Operators, blocks and parameters share one namespace; a refused node leaves the
    /// graph as it was.
    @Test func oneNamespace() throws {
        var builder = GraphBuilder(model: "m")
        let x = try builder.addInput(name: "x", type: TensorType([2, 4]), location: Self.here)
        func add(_ type: any Operator.Type, _ arguments: KeyValuePairs<String, Value>, _ name: String,
                 _ sources: [GraphBuilder.ParameterSource] = []) throws(GraphBuilder.Failure) {
            let binding = try GraphBuilder.bind(type, arguments)
            _ = try builder.addNode(try GraphBuilder.makeOperator(type, binding), arguments: binding.arguments, name: name,
                                    parameters: sources, location: Self.here)
        }
        try add(Linear.self, ["input": .tensor(x), "out": .int(4)], "enc.fc")
        try add(LearnedParameter.self, ["shape": .list([.int(4)])], "enc.scale")
        let before = (builder.graph.nodes.count, builder.graph.parameters.count)
        // Under a parameter (a tensor has no children).
        #expect(throws: GraphBuilder.Failure.self) { try add(ReLU.self, ["input": .tensor(x)], "enc.scale.act") }
        // A parameter named like an existing one or a block, a node named like a parameter.
        #expect(throws: GraphBuilder.Failure.self) { try add(LearnedParameter.self, ["shape": .list([.int(4)])], "enc.fc.weight") }
        #expect(throws: GraphBuilder.Failure.self) { try add(LearnedParameter.self, ["shape": .list([.int(4)])], "enc") }
        #expect(throws: GraphBuilder.Failure.self) { try add(ReLU.self, ["input": .tensor(x)], "enc.fc.bias") }
        #expect((builder.graph.nodes.count, builder.graph.parameters.count) == before)
        // Renaming a bare tensor's node renames the tensor.
        try builder.renameNode(1, to: "enc.gamma")
        #expect(builder.graph.parameters.map(\.name) == ["enc.fc.weight", "enc.fc.bias", "enc.gamma"])
        #expect(builder.parameterIndex["enc.gamma"] == 2)
    }

    /// A refused node gives back every name it claimed on the way (its own, the blocks
    /// before the one that failed, its parameters): each is free afterwards.
    @Test func aRefusedNodeFreesItsNames() throws {
        var builder = GraphBuilder(model: "m")
        let x = try builder.addInput(name: "x", type: TensorType([2, 4]), location: Self.here)
        func add(_ type: any Operator.Type, _ arguments: KeyValuePairs<String, Value>, _ name: String) throws(GraphBuilder.Failure) {
            let binding = try GraphBuilder.bind(type, arguments)
            _ = try builder.addNode(try GraphBuilder.makeOperator(type, binding), arguments: binding.arguments, name: name, location: Self.here)
        }
        let tensor: KeyValuePairs<String, Value> = ["shape": .list([.int(4)])]
        let huge: KeyValuePairs<String, Value> = ["input": .tensor(x), "out": .int(1 << 55)]
        // Its blocks `m.n` and `m` and its parameters claimed, then its weight, [2^55, 4]
        // (2^59 bytes), refused by the tensor-size limit (2^56 bytes).
        #expect(throws: GraphBuilder.Failure.self) { try add(Linear.self, huge, "m.n.fc") }
        // `m` is no block now, or a learned tensor could not take its name.
        try add(LearnedParameter.self, tensor, "m")
        #expect(throws: GraphBuilder.Failure.self) { try add(Linear.self, huge, "r") }
        // `r.weight` is no parameter now, or a tensor could not take its name.
        try add(LearnedParameter.self, tensor, "r.weight")
        try add(ReLU.self, ["input": .tensor(x)], "q.weight")
        // `q` claimed, then its parameter `q.weight`, an operator's name: refused.
        #expect(throws: GraphBuilder.Failure.self) { try add(Linear.self, ["input": .tensor(x), "out": .int(4)], "q") }
        // `q` is free: a new module (a ReLU may be named like a block), not the refused one called again.
        try add(ReLU.self, ["input": .tensor(x)], "q")
        #expect(builder.graph.nodes.map(\.name) == ["m", "r.weight", "q.weight", "q"])
        #expect(builder.parameterIndex == ["m": 0, "r.weight": 1])
    }
}
