import Foundation
import Testing
@testable import NNFlops

/// One small graph exercising an operator kind with a kernel.
struct KernelCase: Sendable, CustomTestStringConvertible {
    let kind: String
    let input: String
    let body: String
    var testDescription: String { "\(kind) \(input): \(body.replacingOccurrences(of: "\n", with: "; "))" }
    init(_ kind: String, _ input: String, _ body: String) {
        self.kind = kind
        self.input = input
        self.body = body
    }
}

/// The reference executor: analytic == executed FLOPs per phase for every operator with
/// a kernel, at several (odd) shapes and configurations; parameter counts == allocated
/// parameter elements; gradients == central finite differences in Double.
@Suite struct ExecutorTests {
    /// Operator kinds that have no kernel yet: none (every catalog operator has one; the
    /// transformer-side cases live in TransformerKernelCases.swift). A new operator without
    /// a kernel must be listed here; the test below fails when a kind without a kernel is
    /// not listed, or a listed kind has one.
    static let expectedMissingKernels: Set<String> = []

    /// Specs per kind. A 1x1 conv (or linear) in front gives the operator an input that
    /// needs its gradient, so the input-gradient phase runs and is checked.
    static let cases: [KernelCase] = transformerCases + moeCases + cnnCases + [
        KernelCase("linear", "[3, 5]", "y = linear(x, 4)\noutput linear(y, 3, bias = false)"),
        KernelCase("linear", "[2, 3, 7]", "y = linear(x, 5)\noutput linear(y, 2)"),
        KernelCase("relu", "[2, 7]", "y = linear(x, 9)\noutput relu(y)"),
        KernelCase("relu", "[2, 7]", "y = linear(x, 9)\ny = relu(y, inplace = true)\noutput linear(y, 3)"),
        KernelCase("add", "[2, 7]", "y = linear(x, 5)\nz = linear(x, 5)\noutput y + z"),
        KernelCase("add", "[2, 3, 4]", "y = linear(x, 4)\nz = linear(x, 1)\noutput add(y, z)"),
        KernelCase("sub", "[2, 3, 4]", "y = linear(x, 4)\nz = linear(x, 1)\noutput sub(y, z)"),
        KernelCase("sub", "[2, 3, 4]", "y = linear(x, 4)\nz = linear(x, 4)\noutput z - y - 1.5"),
        KernelCase("mul", "[2, 3, 4]", "y = linear(x, 4)\nz = linear(x, 1)\noutput mul(z, y)"),
        KernelCase("mul", "[2, 3]", "y = linear(x, 5)\noutput y * 3"),
        KernelCase("div", "[2, 3, 4]", "y = linear(x, 4)\nz = sigmoid(linear(x, 1)) + 0.5\noutput y / z"),
        KernelCase("div", "[2, 3]", "y = linear(x, 5)\noutput y / 4"),
        KernelCase("relu6", "[2, 7]", "y = linear(x, 9) * 5\noutput relu6(y)"),
        KernelCase("relu6", "[2, 7]", "y = linear(x, 9) * 5\ny = relu6(y, inplace = true)\noutput linear(y, 2)"),
        KernelCase("clamp", "[2, 7]", "y = linear(x, 9) * 5\noutput clamp(y, min = -0.5, max = 1.5)"),
        KernelCase("clamp", "[2, 7]", "y = linear(x, 9) * 5\ny = clamp(y, max = 0.25, inplace = true)\noutput linear(y, 2)"),
        KernelCase("gelu", "[3, 5]", "y = linear(x, 7)\noutput gelu(y)"),
        KernelCase("gelu", "[3, 5]", "y = linear(x, 7)\noutput gelu(y, approximate = \"tanh\")"),
        KernelCase("gelu", "[3, 5]", "y = linear(x, 7)\noutput gelu(y, approximate = \"tanh\", impl = \"composite\")"),
        KernelCase("gelu", "[3, 5]", "y = linear(x, 7)\noutput gelu(y, impl = \"composite\")"),
        KernelCase("silu", "[3, 5]", "y = linear(x, 7)\noutput silu(y)"),
        KernelCase("sigmoid", "[3, 5]", "y = linear(x, 7)\noutput sigmoid(y)"),
        KernelCase("tanh", "[3, 5]", "y = linear(x, 7)\noutput tanh(y)"),
        KernelCase("leaky_relu", "[3, 5]", "y = linear(x, 7)\noutput leaky_relu(y, slope = 0.2)"),
        KernelCase("leaky_relu", "[3, 5]", "y = linear(x, 7)\ny = leaky_relu(y, inplace = true)\noutput linear(y, 2)"),
        KernelCase("hardswish", "[3, 5]", "y = linear(x, 7) * 4\noutput hardswish(y)"),
        KernelCase("hardsigmoid", "[3, 5]", "y = linear(x, 7) * 4\noutput hardsigmoid(y)"),
        KernelCase("dropout", "[3, 5]", "y = linear(x, 7)\noutput dropout(y, p = 0.3)"),
        KernelCase("dropout", "[3, 5]", "y = linear(x, 7)\noutput dropout(y, p = 0)"),
        KernelCase("conv2d", "[2, 3, 7, 6]", "output conv2d(x, 4, kernel = 3)"),
        KernelCase("conv2d", "[1, 4, 9, 7]", "y = conv2d(x, 6, kernel = 3, stride = 2, padding = 1)\noutput conv2d(y, 5, kernel = [2, 3], padding = [1, 2], dilation = 2, bias = false)"),
        KernelCase("conv2d", "[2, 4, 6, 5]", "y = conv2d(x, 6, kernel = 1)\noutput conv2d(y, 4, kernel = 3, padding = 1, groups = 2, stride = [1, 2])"),
        KernelCase("conv2d", "[1, 3, 5, 5]", "y = conv2d(x, 4, kernel = 1)\noutput conv2d(y, 4, kernel = 3, padding = 2, dilation = 2, groups = 4)"),
        KernelCase("conv_transpose2d", "[1, 3, 4, 5]", "output conv_transpose2d(x, 2, kernel = 3)"),
        KernelCase("conv_transpose2d", "[2, 4, 3, 4]", "y = conv2d(x, 4, kernel = 1)\noutput conv_transpose2d(y, 6, kernel = 3, stride = 2, padding = 1, output_padding = 1, groups = 2)"),
        KernelCase("conv_transpose2d", "[1, 2, 4, 3]", "y = conv2d(x, 2, kernel = 1)\noutput conv_transpose2d(y, 3, kernel = [2, 3], stride = [2, 1], dilation = 2, bias = false)"),
        KernelCase("batchnorm", "[3, 4, 3, 5]", "y = conv2d(x, 5, kernel = 1)\noutput batchnorm(y)"),
        KernelCase("batchnorm", "[5, 3]", "y = linear(x, 4)\noutput batchnorm(y, affine = false)"),
        KernelCase("layernorm", "[3, 7]", "y = linear(x, 6)\noutput layernorm(y)"),
        KernelCase("layernorm", "[2, 3, 5]", "y = linear(x, 4)\noutput layernorm(y, normalized = 2, bias = false)"),
        KernelCase("layernorm", "[2, 3, 5]", "y = linear(x, 4)\noutput linear(layernorm(y, affine = false), 3)"),
        KernelCase("groupnorm", "[2, 6, 3, 3]", "y = conv2d(x, 6, kernel = 1)\noutput groupnorm(y, 3)"),
        KernelCase("groupnorm", "[2, 4, 3]", "y = linear(x, 5)\noutput linear(groupnorm(y, 2, affine = false), 3)"),
        KernelCase("instancenorm", "[2, 3, 4, 3]", "y = conv2d(x, 3, kernel = 1)\noutput instancenorm(y, affine = true)"),
        KernelCase("instancenorm", "[2, 3, 4]", "y = linear(x, 5)\noutput linear(instancenorm(y), 2)"),
        KernelCase("rmsnorm", "[3, 7]", "y = linear(x, 6)\noutput rmsnorm(y)"),
        KernelCase("rmsnorm", "[2, 3, 5]", "y = linear(x, 4)\noutput linear(rmsnorm(y, affine = false), 3)"),
        KernelCase("rmsnorm", "[3, 7]", "y = linear(x, 6)\noutput linear(rmsnorm(y, impl = \"composite\"), 2)"),
        KernelCase("rmsnorm", "[2, 3, 5]", "y = linear(x, 4)\noutput rmsnorm(y, impl = \"composite\", offset = 1.0)"),
        KernelCase("rmsnorm", "[3, 7]", "output rmsnorm(x, offset = 1.0)"),
        KernelCase("rmsnorm", "[3, 7]", "output rmsnorm(x, impl = \"composite\")"),
        KernelCase("maxpool", "[2, 3, 7, 8]", "y = conv2d(x, 3, kernel = 1)\noutput maxpool(y, kernel = 3, stride = 2, padding = 1)"),
        KernelCase("maxpool", "[1, 2, 9, 7]", "y = conv2d(x, 2, kernel = 1)\noutput maxpool(y, kernel = [3, 2], stride = [2, 1], dilation = 2, ceil_mode = true)"),
        KernelCase("avgpool", "[2, 3, 7, 8]", "y = conv2d(x, 3, kernel = 1)\noutput avgpool(y, kernel = 3, stride = 2, padding = 1)"),
        KernelCase("avgpool", "[1, 2, 7, 6]", "y = conv2d(x, 2, kernel = 1)\noutput avgpool(y, kernel = 2, padding = 1, ceil_mode = true, count_include_pad = false)"),
        KernelCase("adaptive_avgpool", "[2, 3, 7, 5]", "y = conv2d(x, 3, kernel = 1)\noutput adaptive_avgpool(y, [3, 2])"),
        KernelCase("adaptive_avgpool", "[1, 2, 3, 4]", "y = conv2d(x, 2, kernel = 1)\noutput adaptive_avgpool(y, 5)"),
        KernelCase("globalavgpool", "[2, 3, 5, 3]", "y = conv2d(x, 4, kernel = 1)\noutput globalavgpool(y)"),
        KernelCase("add", "[2, 3, 4]", "y = linear(x, 4)\noutput y + 2.5"),
    ]

    static func engine(_ c: KernelCase, seed: UInt64 = 1) throws -> ExecutionEngine<Double> {
        let graph = try Elaborator.elaborate(source: "model t\ninput x: \(c.input)\n" + c.body, file: "t.spec")
        var options = ExecutionOptions(seed: seed)
        options.randomLossWeights = true
        return try ExecutionEngine<Double>(graph: graph, options: options)
    }

    @Test(arguments: cases)
    func analyticEqualsExecuted(_ c: KernelCase) throws {
        let engine = try Self.engine(c)
        #expect(engine.graph.nodes.contains { $0.kind == c.kind })
        let report = try engine.trainStep()
        for row in report.rows {
            #expect(row.analyticFLOPs == row.executedFLOPs, "\(row.name) \(row.phase): analytic \(row.analyticFLOPs) executed \(row.executedFLOPs)")
            #expect(row.analyticMACs == row.executedMACs, "\(row.name) \(row.phase) MACs: analytic \(row.analyticMACs) executed \(row.executedMACs)")
        }
        #expect(report.allocatedParameterElements == engine.analysis.parameters)
        // Every phase the analysis prices was executed.
        #expect(report.rows.contains { $0.kind == c.kind && $0.phase == .forward })
    }

    @Test(arguments: cases)
    func gradientsMatchFiniteDifferences(_ c: KernelCase) throws {
        let engine = try Self.engine(c)
        let (_, gradients) = try engine.lossAndGradients()
        var random = SeededRandom(seed: 99)
        let h = 1e-6
        for (id, parameter) in engine.parameters.enumerated() {
            let gradient = try #require(gradients[id], "no gradient for \(engine.graph.parameters[id].name)")
            let probes = parameter.count <= 12 ? Array(0..<parameter.count) : (0..<12).map { _ in Int(random.next() % UInt64(parameter.count)) }
            for i in probes {
                let saved = parameter[i]
                parameter[i] = saved + h
                let plus = try engine.evaluateLoss()
                parameter[i] = saved - h
                let minus = try engine.evaluateLoss()
                parameter[i] = saved
                let numeric = (plus - minus) / (2 * h)
                let analytic = gradient[i]
                let error = abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-6)
                #expect(error < 1e-3, "\(engine.graph.parameters[id].name)[\(i)]: analytic \(analytic), numeric \(numeric)")
            }
        }
    }

    @Test func everyCatalogOperatorHasAKernelOrIsListed() {
        for type in OperatorCatalog.all {
            let hasKernel = type is any ExecutableOperator.Type
            if hasKernel {
                #expect(!Self.expectedMissingKernels.contains(type.kind), "\(type.kind) has a kernel now: remove it from expectedMissingKernels")
            } else {
                #expect(Self.expectedMissingKernels.contains(type.kind), "\(type.kind) has no kernel")
            }
        }
    }

    @Test func everyKernelHasConformanceCases() {
        let covered = Set(Self.cases.map(\.kind))
        for type in OperatorCatalog.all where type is any ExecutableOperator.Type {
            #expect(covered.contains(type.kind), "\(type.kind) has a kernel but no conformance case")
        }
    }

    // MARK: - Numerical truth

    struct ReferenceFixture: Decodable {
        var spec: String
        var input: [Double]
        var parameters: [String: [Double]]
        var output: [Double]
        var loss: Double
        var gradients: [String: [Double]]
    }

    /// A small CNN with fixed weights against float64 values computed independently with
    /// NumPy (scripts/reference_cnn.py -> Tests/Fixtures/reference_cnn.json), in float32.
    @Test func smallCNNMatchesNumPyReference() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/reference_cnn.json")
        let fixture = try JSONDecoder().decode(ReferenceFixture.self, from: Data(contentsOf: url))
        let graph = try Elaborator.elaborate(source: fixture.spec, file: "fixture.spec")
        let engine = try ExecutionEngine<Float>(graph: graph, options: ExecutionOptions())
        try #require(engine.inputValues[0].count == fixture.input.count)
        for (i, v) in fixture.input.enumerated() { engine.inputValues[0][i] = Float(v) }
        for (id, parameter) in graph.parameters.enumerated() {
            let values = try #require(fixture.parameters[parameter.name], "fixture lacks \(parameter.name)")
            try #require(values.count == engine.parameters[id].count)
            for (i, v) in values.enumerated() { engine.parameters[id][i] = Float(v) }
        }
        func close(_ a: Double, _ b: Double) -> Bool { Tolerance.close(a, b) }
        let output = try engine.forward(training: false).outputs[0]
        for (i, v) in fixture.output.enumerated() {
            #expect(close(Double(output[i]), v), "output[\(i)]: \(output[i]) vs \(v)")
        }
        let (loss, gradients) = try engine.lossAndGradients()
        #expect(close(loss, fixture.loss), "loss \(loss) vs \(fixture.loss)")
        for (id, parameter) in graph.parameters.enumerated() {
            let expected = try #require(fixture.gradients[parameter.name])
            let gradient = try #require(gradients[id])
            for (i, v) in expected.enumerated() {
                #expect(close(Double(gradient[i]), v), "\(parameter.name)[\(i)]: \(gradient[i]) vs \(v)")
            }
        }
    }

    /// `validate`'s run: a training step with the default options agrees everywhere and
    /// allocates what the analysis counts; the memory figures are plausible.
    @Test func trainStepReportsAgreementAndMemory() throws {
        let graph = try Elaborator.elaborate(source: Self.fixtureSpec, file: "t.spec")
        let report = try ReferenceExecutor.run(graph)
        #expect(report.ok)
        #expect(report.mismatches.isEmpty)
        // Parameters: conv1 4*3*3*3 + 4, bn 4 + 4, conv2 5*4*2*2 + 5 = 108 + 4 + 8 + 85 = 205 floats.
        #expect(report.allocatedParameterElements == 205)
        #expect(report.memory.parameterBytes == 205 * 4)
        // The optimizer row: SGD, 2 FLOPs per trainable parameter.
        #expect(report.rows.last?.executedFLOPs == 410)
        #expect(report.memory.peakBytes > report.memory.parameterBytes)
    }

    static let fixtureSpec = """
    model fixture_cnn
    input x: [2, 3, 6, 6]
    y = conv2d(x, 4, kernel = 3, padding = 1, name = "conv1")
    y = relu(batchnorm(y, name = "bn1"), name = "relu1")
    y = maxpool(y, kernel = 2, name = "pool")
    y = conv2d(y, 5, kernel = 2, name = "conv2")
    output globalavgpool(y, name = "gap")

    """
}
