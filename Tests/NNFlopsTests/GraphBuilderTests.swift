import Testing
@testable import NNFlops

/// The GraphBuilder every front end adds operators through (the elaborator, importers).
@Suite("Graph builder")
struct GraphBuilderTests {
    static let here = SourceLocation(file: "test", line: 1, column: 1)

    @Test("binding matches positional and labelled values, fills defaults, and names the argument at fault")
    func binding() throws {
        let x = TensorRef(id: 0, type: TensorType([2, 3, 8, 8]))
        let binding = try GraphBuilder.bind(Conv2d.self, values: [.tensor(x), .int(4), .int(3), .int(1)], labels: [nil, nil, "kernel", "padding"])
        #expect(binding.arguments["stride"].map(\.description) == "1")
        #expect(binding.argumentIndex(of: "padding") == 3)
        #expect(binding.arguments.tensorInputs.map(\.id) == [0])
        do {
            _ = try GraphBuilder.bind(Conv2d.self, values: [.tensor(x), .int(4), .int(3), .int(1)], labels: [nil, nil, nil, "strid"])
            Issue.record("an unknown label bound")
        } catch {
            #expect(error.argument == 3)
            #expect(error.message == "conv2d has no argument 'strid'")
            #expect(error.notes.first == "did you mean 'stride'?")
        }
        do {
            _ = try GraphBuilder.bind(Conv2d.self, values: [.tensor(x), .string("four"), .int(3)], labels: [nil, nil, nil])
            Issue.record("a string bound to an int")
        } catch {
            #expect(error.argument == 1)
            #expect(error.message.contains("argument 'out' must be an integer"))
        }
        #expect(throws: GraphBuilder.Failure.self) { try GraphBuilder.bind(Conv2d.self, ["input": .tensor(x)]) }
    }

    @Test("new parameters are named after the node; a tied one counts its uses; a failure leaves the graph as it was")
    func parameters() throws {
        var builder = GraphBuilder(model: "m")
        let x = try builder.addInput(name: "x", type: TensorType([4, 6]), location: Self.here)
        func linear(_ input: TensorRef, out: Int) throws -> (any Operator, GraphBuilder.Binding) {
            let binding = try GraphBuilder.bind(Linear.self, ["input": .tensor(input), "out": .int(out), "bias": .bool(false)])
            return (try GraphBuilder.makeOperator(Linear.self, binding), binding)
        }
        let (first, firstArguments) = try linear(x, out: 6)
        let h = try builder.addNode(first, arguments: firstArguments.arguments, name: "enc.fc", location: Self.here)[0]
        #expect(builder.graph.parameters.map(\.name) == ["enc.fc.weight"])
        let (second, secondArguments) = try linear(h, out: 6)
        _ = try builder.addNode(second, arguments: secondArguments.arguments, name: "dec.fc", parameters: [.tied(0)], location: Self.here)
        #expect(builder.graph.parameters.count == 1)
        #expect(builder.graph.parameters[0].uses == 2)
        #expect(builder.graph.nodes[1].parameterIDs == [0])

        // 6x6 cannot be tied to a 5x6 weight; a repeated name is refused; neither changes the graph.
        let (wide, wideArguments) = try linear(h, out: 5)
        let before = (builder.graph.nodes.count, builder.graph.tensors.count, builder.graph.parameters[0].uses)
        #expect(throws: GraphBuilder.Failure.self) {
            try builder.addNode(wide, arguments: wideArguments.arguments, name: "head", parameters: [.tied(0)], location: Self.here)
        }
        #expect(throws: GraphBuilder.Failure.self) {
            try builder.addNode(wide, arguments: wideArguments.arguments, name: "enc.fc", location: Self.here)
        }
        #expect((builder.graph.nodes.count, builder.graph.tensors.count, builder.graph.parameters[0].uses) == before)

        // Renaming moves the parameters the node created, not the ones it shares.
        try builder.renameNode(1, to: "decoder.fc")
        #expect(builder.graph.parameters[0].name == "enc.fc.weight")
        try builder.renameNode(0, to: "encoder.fc")
        #expect(builder.graph.parameters[0].name == "encoder.fc.weight")
        #expect(builder.parameterIndex["encoder.fc.weight"] == 0)
        #expect(builder.parameterIndex["enc.fc.weight"] == nil)
        #expect(throws: GraphBuilder.Failure.self) { try builder.renameNode(0, to: "decoder.fc") }
    }

    @Test("inputs and outputs must have positive sizes that fit the counts")
    func validation() {
        var builder = GraphBuilder(model: "m")
        #expect(throws: GraphBuilder.Failure.self) { try builder.addInput(name: "x", type: TensorType([2, 0]), location: Self.here) }
        #expect(throws: GraphBuilder.Failure.self) {
            try builder.addInput(name: "x", type: TensorType([1 << 30, 1 << 30, 1 << 10]), location: Self.here)
        }
        #expect(builder.graph.tensors.isEmpty)
    }
}
