import Foundation
import Testing
@testable import NNFlops

/// Per-operator memory rules against PyTorch: for one call on linear-layer activations,
/// the bytes autograd keeps (deduplicated by storage, graph input and parameters left out)
/// and the result's dtype, in fp32 and under CUDA autocast (amp-bf16), measured once by
/// scripts/measure_op_rules.py (Tests/Fixtures/op_rules.json, fake CUDA tensors), against
/// the memory model's `keptBytes` of that node and its runtime output type. Covers the
/// element-wise math operators, pow, roll, pad, drop_path, the in-place operators and the
/// first-layer rules of convolution and linear.
@Suite struct OperatorRuleTests {
    struct Measured: Decodable, Sendable {
        var kept_bytes: Int
        var dtype: String
        var shape: [Int]
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var spec: String
        var fp32: Measured
        var amp: Measured
        enum CodingKeys: String, CodingKey {
            case spec, fp32
            case amp = "amp-bf16"
        }
        var testDescription: String { spec }
    }

    struct Fixture: Decodable { var cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/op_rules.json")
        guard let data = try? Data(contentsOf: url), let fixture = try? JSONDecoder().decode(Fixture.self, from: data) else { return [] }
        return fixture.cases
    }()

    static let torchDTypes: [String: DType] = ["float32": .float32, "bfloat16": .bfloat16, "float16": .float16]

    @Test(arguments: cases)
    func keptBytesAndDTypeAreTorchs(_ c: Case) throws {
        let source = """
            model rule
            input x: [2, 3, 4, 5]
            y = linear(x, 5, name = "lin")
            z = linear(x, 5, name = "lin2")
            out = \(c.spec)
            output out

            """
        let graph = try Elaborator.elaborate(source: source, file: "rule.spec")
        let node = try #require(graph.nodes.firstIndex { $0.name == "op" })
        #expect(graph.tensors[graph.nodes[node].outputs[0]].shape == c.fp32.shape)
        let costs = try CostAnalysis(graph: graph)
        for (precision, measured) in [(PrecisionPolicy.fp32, c.fp32), (.ampBF16, c.amp)] {
            let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(optimizer: .sgd, precision: precision))
            #expect(memory.layers[node].keptBytes == measured.kept_bytes,
                    "\(c.spec) \(precision.rawValue): nnflops keeps \(memory.layers[node].keptBytes) bytes, PyTorch \(measured.kept_bytes)")
            let type = memory.types.tensors[graph.nodes[node].outputs[0]]
            #expect(type == Self.torchDTypes[measured.dtype], "\(c.spec) \(precision.rawValue): result \(type.rawValue), PyTorch \(measured.dtype)")
        }
    }

    @Test func fixtureIsThere() { #expect(Self.cases.count >= 30) }

    static func cost(_ input: String, _ call: String, needs: [Bool] = [true]) throws -> OperatorCost {
        let graph = try Elaborator.elaborate(source: "input x: \(input)\ninput e: [3]\noutput \(call)\n", file: "t.spec")
        let node = try #require(graph.nodes.first { $0.name == "op" })
        return node.op.cost(CostContext(inputNeedsGradient: needs, parameterTrainable: []))
    }

    /// FLOPs by hand (README, "Element-wise math", "drop_path", "Shape and data movement").
    @Test func flopsByHand() throws {
        // drop_path on n = 2*3*4*4 = 96 elements, batch 2: m = 2 noise values per "row"
        // (compare + divide each), 1 per "batch"; p = 1 skips the divide; p = 0 is free.
        let x = "[2, 3, 4, 4]"
        #expect(try Self.cost(x, "drop_path(x, 0.2, name = \"op\")") == OperatorCost(forward: .elementwise(Count(96 + 2 * 2)), inputGradient: .elementwise(96)))
        #expect(try Self.cost(x, "drop_path(x, 0.2, mode = \"batch\", name = \"op\")").forward == .elementwise(Count(96 + 2)))
        #expect(try Self.cost(x, "drop_path(x, 1.0, name = \"op\")").forward == .elementwise(Count(96 + 2)))
        #expect(try Self.cost(x, "drop_path(x, 0.0, name = \"op\")") == OperatorCost(forward: .zero))
        // pow on n = 6: e = 2 is x*x (1) and its gradient dY * (2 * x^1) (x^1 a copy: 2);
        // e = 3: x*x*x (2), gradient x*x + 2 = 3; e = 4: one pow (1), gradient x^3 = x*x*x
        // (2) + 2 = 4; e = 0.5: sqrt (1), gradient rsqrt (2) + 2; e = 0: ones and zeros;
        // e = 1: a copy, gradient ones (0) + 2.
        let t = "[2, 3]"
        for (e, forward, backward) in [("2", 6, 12), ("3", 12, 18), ("4", 6, 24), ("0.5", 6, 24), ("0", 0, 0), ("1", 0, 12), ("-1", 6, 24), ("2.5", 6, 18)] {
            #expect(try Self.cost(t, "pow(x, \(e), name = \"op\")") == OperatorCost(forward: .elementwise(Count(forward)), inputGradient: .elementwise(Count(backward))), "x ** \(e)")
        }
        // pow with an exponent tensor [3] broadcast over [2, 3]: 5 per element for x, 6 +
        // 1 (the sum over the broadcast rows) for the exponent.
        #expect(try Self.cost(t, "pow(x, e, name = \"op\")", needs: [true, true]) == OperatorCost(forward: .elementwise(6), inputGradient: .elementwise(Count(30 + 36 + 6))))
        #expect(try Self.cost(t, "rsqrt(x, name = \"op\")") == OperatorCost(forward: .elementwise(12), inputGradient: .elementwise(24)))
        #expect(try Self.cost(t, "erf(x, name = \"op\")") == OperatorCost(forward: .elementwise(6), inputGradient: .elementwise(30)))
        #expect(try Self.cost(t, "reciprocal(x, name = \"op\")") == OperatorCost(forward: .elementwise(6), inputGradient: .elementwise(18)))
        // pad [1, 1, 4, 4] by one on each side: 6 x 6 = 36 outputs, each scattered back
        // with one add (reflect, replicate); constant padding's gradient is a slice.
        for mode in ["reflect", "replicate"] {
            #expect(try Self.cost("[1, 1, 4, 4]", "pad(x, [1, 1, 1, 1], mode = \"\(mode)\", name = \"op\")") == OperatorCost(forward: .zero, inputGradient: .elementwise(36)))
        }
        #expect(try Self.cost("[1, 1, 4, 4]", "pad(x, [1, 1, 1, 1], name = \"op\")") == OperatorCost(forward: .zero))
        #expect(try Self.cost(t, "roll(x, 1, name = \"op\")") == OperatorCost(forward: .zero))
    }

    /// Shapes and bad arguments: located errors, never a crash.
    @Test func shapesAndErrors() throws {
        func output(_ input: String, _ call: String) throws -> [Int] {
            let graph = try Elaborator.elaborate(source: "input x: \(input)\noutput \(call)\n", file: "t.spec")
            return graph.tensors[graph.outputs[0]].shape
        }
        #expect(try output("[2, 3, 4, 5]", "pad(x, [1, 2, 3, 4])") == [2, 3, 11, 8])
        #expect(try output("[2, 3, 4, 5]", "pad(x, [1, 0, 0, 0, 2, 2])") == [2, 7, 4, 6])
        #expect(try output("[2, 3, 4, 5]", "roll(x, [1, 2], dims = [0, -1])") == [2, 3, 4, 5])
        for bad in ["pad(x, [1, 2, 3])", "pad(x, [-1, 1])", "pad(x, [4, 0], mode = \"reflect\")",
                    "pad(x, [1, 1], mode = \"circular\")", "pad(x, [1, 1, 1, 1, 1, 1, 1, 1], mode = \"replicate\")",
                    "roll(x, [1, 2])", "roll(x, [1], dims = [4])", "roll(x, [1, 2], dims = [0])",
                    "drop_path(x, 1.5)", "drop_path(x, 0.1, mode = \"col\")", "pow(x, reshape(x, [5, 4, 3, 2]))",
                    "add(x, reshape(x, [2, 3, 4, 1, 5]), inplace = true)", "sqrt(x, 2)"] {
            #expect(throws: NNFlopsError.self, "\(bad)") { try output("[2, 3, 4, 5]", bad) }
        }
        #expect(throws: NNFlopsError.self) { try output("[2, 3] int", "exp(x)") }
        // abs and sqrt of numbers stay functions.
        #expect(try output("[2, 3]", "x * sqrt(4.0) + abs(-1)") == [2, 3])
    }

    /// In-place add (README, "add"): the sum is the input's storage, so at the add's
    /// forward moment one activation fewer is live (y, z and s out of place; y and z in
    /// place: 2*4*4*4 fp32 = 512 bytes); what is kept is the same either way (the relu
    /// keeps the sum, a storage of the same size).
    @Test func inPlaceAddAllocatesNothing() throws {
        func memory(_ inplace: Bool) throws -> (atAdd: Int, saved: Int, kept: Int) {
            let graph = try Elaborator.elaborate(source: """
                input x: [2, 3, 4, 4]
                y = conv2d(x, 4, kernel = 1)
                z = conv2d(x, 4, kernel = 1)
                s = add(y, z, inplace = \(inplace), name = "sum")
                output relu(s, inplace = true)
                """, file: "t.spec")
            let memory = try MemoryAnalysis(graph: graph, costs: try CostAnalysis(graph: graph), configuration: RunConfiguration(optimizer: .sgd))
            let add = try #require(graph.nodes.firstIndex { $0.name == "sum" })
            let step = try #require(memory.steps.first { $0.phase == .forward && $0.node == add })
            return (step.liveBytes, memory.savedActivationsBytes, memory.layers[add].keptBytes)
        }
        let (outOfPlace, inPlace) = (try memory(false), try memory(true))
        #expect(outOfPlace.atAdd - inPlace.atAdd == 2 * 4 * 4 * 4 * 4)
        #expect(outOfPlace.saved == inPlace.saved)
        #expect(inPlace.kept == 0 && outOfPlace.kept == 0)
    }
}
