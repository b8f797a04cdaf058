import Foundation
import Testing
@testable import NNFlops

/// The operator families (element-wise activations, broadcasting binary operators,
/// weighted layers) build each member's signature, parameters and rules from shared
/// defaults: each member must still present the surface its README entry documents.
@Suite struct OperatorFamilyTests {
    /// A signature as the README writes it: `name` or `name=default`.
    static func rendered(_ kind: String) -> String {
        guard let type = OperatorCatalog.lookup(kind) else { return "unknown \(kind)" }
        return type.signature.map { spec in
            spec.defaultValue.map { "\(spec.name)=\($0)" } ?? spec.name
        }.joined(separator: ", ")
    }

    /// The signatures of the README's operator reference, positional order included.
    @Test(arguments: [
        ("relu", "input, inplace=false"),
        ("relu6", "input, inplace=false"),
        ("clamp", "input, min=none, max=none, inplace=false"),
        ("silu", "input, inplace=false"),
        ("hardswish", "input, inplace=false"),
        ("hardsigmoid", "input, inplace=false"),
        ("leaky_relu", "input, slope=0.01, inplace=false"),
        ("gelu", "input, approximate=\"none\", impl=\"fused\""),
        ("sigmoid", "input"),
        ("tanh", "input"),
        ("add", "input, other, inplace=false"),
        ("exp", "input"),
        ("rsqrt", "input"),
        ("neg", "input"),
        ("pow", "input, exponent"),
        ("drop_path", "input, p, mode=\"row\""),
        ("roll", "input, shifts, dims=none"),
        ("pad", "input, padding, mode=\"constant\", value=0.0"),
        ("contiguous", "input"),
        ("sub", "input, other"),
        ("mul", "input, other"),
        ("div", "input, other"),
        ("linear", "input, out, bias=true, parallel=\"none\""),
        ("conv2d", "input, out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=true"),
        ("conv_transpose2d", "input, out, kernel, stride=1, padding=0, output_padding=0, dilation=1, groups=1, bias=true"),
    ])
    func signaturesAreTheDocumentedOnes(_ kind: String, _ expected: String) {
        #expect(Self.rendered(kind) == expected)
    }

    static func node(_ source: String, _ name: String) throws -> Node {
        let graph = try Elaborator.elaborate(source: source, file: "t.spec")
        return try #require(graph.nodes.first { $0.name == name })
    }

    /// relu takes integer tensors (as torch.relu does); the other activations need
    /// floating point. Positional arguments land in the documented order.
    @Test func inputsAndPositionalArguments() throws {
        _ = try Self.node("input x: [2, 3] int\noutput relu(x, name = \"r\")\n", "r")
        #expect(throws: NNFlopsError.self) { try Elaborator.elaborate(source: "input x: [2, 3] int\noutput silu(x)\n", file: "t.spec") }
        let leaky = try Self.node("input x: [2, 3]\noutput leaky_relu(x, 0.2, true, name = \"l\")\n", "l")
        #expect(leaky.op.detail == "slope 0.2 inplace")
        #expect(leaky.op.alias(ofOutput: 0) == .inPlace(input: 0))
        let gelu = try Self.node("input x: [2, 3]\noutput gelu(x, \"tanh\", name = \"g\")\n", "g")
        #expect(gelu.op.detail == "tanh")
        #expect(throws: NNFlopsError.self) { try Elaborator.elaborate(source: "input x: [2, 3]\noutput sigmoid(x, inplace = true)\n", file: "t.spec") }
    }

    /// The saved-tensor rules by hand (README, "Saved tensors"), out of place and in place.
    @Test func activationSavedTensors() throws {
        let context = CostContext(inputNeedsGradient: [true], parameterTrainable: [])
        func saved(_ call: String) throws -> [SavedTensor] {
            try Self.node("input x: [2, 3]\ny = linear(x, 3)\noutput \(call)\n", "out").op.savedTensors(context)
        }
        #expect(try saved("relu(y, name = \"out\")") == [.output(0)])
        #expect(try saved("sigmoid(y, name = \"out\")") == [.output(0)])
        #expect(try saved("relu6(y, name = \"out\")") == [.input(0)])
        // hardtanh_ has no derivatives.yaml entry: a clone of the input (original_self);
        // leaky_relu_ has one that reads its result.
        #expect(try saved("relu6(y, inplace = true, name = \"out\")") == [.extra("original input", shape: [2, 3], type: .output)])
        #expect(try saved("leaky_relu(y, inplace = true, name = \"out\")") == [.output(0)])
        #expect(try saved("relu(y, inplace = true, name = \"out\")") == [.output(0)])
        #expect(try saved("silu(y, name = \"out\")") == [.input(0)])
        #expect(try saved("silu(y, inplace = true, name = \"out\")") == [.extra("original input", shape: [2, 3], type: .output)])
        #expect(try saved("gelu(y, name = \"out\")") == [.input(0)])
        #expect(try Self.node("input x: [2, 3]\ny = linear(x, 3)\noutput relu(y, name = \"out\")\n", "out").op
            .savedTensors(CostContext(inputNeedsGradient: [false], parameterTrainable: [])).isEmpty)
    }

    /// Weighted layers: parameters in torch's layout; conv2d [2, 3, 5, 5] -> 4 channels,
    /// kernel 3: Ho = Wo = 3, MACs 2*4*3*3 * 3*3*3 = 1944, forward 2*1944 + 72 (bias).
    /// Folding a batchnorm gives a bias-free layer its bias.
    @Test func weightedLayers() throws {
        let conv = try Self.node("input x: [2, 3, 5, 5]\noutput conv2d(x, 4, kernel = 3, bias = false, name = \"c\")\n", "c")
        #expect(conv.op.parameters.map(\.shape) == [[4, 3, 3, 3]])
        let all = CostContext(inputNeedsGradient: [true], parameterTrainable: [true])
        #expect(conv.op.cost(all) == OperatorCost(forward: .mac(1944), inputGradient: .mac(1944), weightGradient: .mac(1944)))
        let folded = try #require(conv.op.absorbingAffine())
        #expect(folded.parameters.map(\.shape) == [[4, 3, 3, 3], [4]])
        #expect(folded.cost(all).forward == Work(flops: 2 * 1944 + 72, macs: 1944))
        let transposed = try Self.node("input x: [1, 2, 3, 3]\noutput conv_transpose2d(x, 4, kernel = 2, groups = 2, name = \"t\")\n", "t")
        #expect(transposed.op.parameters.map(\.shape) == [[2, 2, 2, 2], [4]])
        // derivatives.yaml's `convolution` has one formula for input, weight and bias:
        // autograd keeps both whenever anything needs a gradient, even for a first layer
        // whose input needs none (under autocast the weight is its half copy), or when
        // only the bias trains. The roofline's phases read only what they compute from.
        let firstLayer = CostContext(inputNeedsGradient: [false], parameterTrainable: [true, true])
        #expect(transposed.op.savedTensors(firstLayer) == [.input(0), .parameter(0)])
        #expect(conv.op.savedTensors(CostContext(inputNeedsGradient: [true], parameterTrainable: [false])) == [.input(0), .parameter(0)])
        #expect(conv.op.savedTensors(CostContext(inputNeedsGradient: [false], parameterTrainable: [false])).isEmpty)
        #expect(transposed.op.backwardReads(.inputGradient, firstLayer).isEmpty)
        #expect(transposed.op.backwardReads(.weightGradient, firstLayer) == [.input(0)])
        #expect(transposed.op.autocast == .lowerPrecision)
        let linear = try Self.node("input x: [3, 5]\noutput linear(x, 2, name = \"l\")\n", "l")
        #expect(linear.op.parameters.map(\.shape) == [[2, 5], [2]])
        // addmm's per-operand formulas: mat1 (the input) for the weight gradient, mat2
        // (the weight) for the input gradient.
        #expect(linear.op.savedTensors(firstLayer) == [.input(0)])
        #expect(linear.op.savedTensors(CostContext(inputNeedsGradient: [true], parameterTrainable: [false, true])) == [.parameter(0)])
        #expect(linear.op.backwardReads(.inputGradient, all) == [.parameter(0)])
        #expect(linear.op.backwardReads(.weightGradient, all) == [.input(0)])
    }
}
