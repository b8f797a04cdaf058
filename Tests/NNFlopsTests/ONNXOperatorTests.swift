import Foundation
import Testing
@testable import NNFlops

/// Reads the committed ONNX fixtures (scripts/make_onnx_fixtures.py).
enum ONNXFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/onnx")

    static func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(name)))
    }

    static func graph(_ name: String, _ overrides: [String: Value] = [:]) throws -> Graph {
        try ONNXImporter.graph(data: try bytes(name), file: name, overrides: overrides)
    }
}

/// Each supported op type, from a hand-built ONNX graph (odd shapes, attributes and
/// opsets), against the same model written as a spec and run through the elaborator:
/// the same catalog operators with the same shapes, parameters and per-phase costs. The
/// headline numbers are also worked out by hand in the test.
@Suite("ONNX operator mapping")
struct ONNXOperatorTests {
    /// Imports `fixture` and elaborates `spec`; every node must match in kind, output
    /// shapes, parameters and cost (forward, input gradient, weight gradient).
    @discardableResult
    func expectEquivalent(_ fixture: String, _ spec: String, overrides: [String: Value] = [:],
                          names: [String]? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> CostAnalysis {
        let imported = try ONNXFixtures.graph("hand/" + fixture + ".onnx", overrides)
        let written = try Elaborator.elaborate(source: spec, file: fixture + ".spec")
        let a = try CostAnalysis(graph: imported), b = try CostAnalysis(graph: written)
        #expect(a.layers.map(\.kind) == b.layers.map(\.kind), "\(fixture): kinds", sourceLocation: sourceLocation)
        for (x, y) in zip(a.layers, b.layers) {
            #expect(x.outputShapes == y.outputShapes, "\(fixture) \(x.name): shapes", sourceLocation: sourceLocation)
            #expect(x.parameters == y.parameters, "\(fixture) \(x.name): parameters", sourceLocation: sourceLocation)
            #expect(x.cost == y.cost, "\(fixture) \(x.name): cost \(x.cost) vs \(y.cost)", sourceLocation: sourceLocation)
            #expect(x.detail == y.detail, "\(fixture) \(x.name): detail", sourceLocation: sourceLocation)
        }
        #expect(a.parameters == b.parameters, sourceLocation: sourceLocation)
        #expect(imported.outputs.map { imported.tensors[$0].shape } == written.outputs.map { written.tensors[$0].shape },
                "\(fixture): output shapes", sourceLocation: sourceLocation)
        if let names { #expect(imported.nodes.map(\.name) == names, sourceLocation: sourceLocation) }
        return a
    }

    // MARK: - Convolutions

    @Test("Conv with group 3, strides [2, 1], dilations [1, 2], pads [1, 2, 1, 2] (opset 11)")
    func convGroupDilation() throws {
        let a = try expectEquivalent("conv_group_dilation_stride", """
            input x: [2, 6, 17, 13]
            output conv2d(x, 9, kernel = [3, 5], stride = [2, 1], padding = [1, 2], dilation = [1, 2], groups = 3, name = "stem.conv")
            """, names: ["stem.conv"])
        // H: (17 + 2 - 1*(3-1) - 1) / 2 + 1 = 9; W: (13 + 4 - 2*(5-1) - 1) / 1 + 1 = 9.
        #expect(a.layers[0].outputShapes == [[2, 9, 9, 9]])
        // 2*9*9*9 outputs, each (6/3)*3*5 = 30 taps; + 9 bias parameters.
        let expected1: Int = 2 * 9 * 9 * 9 * 30
        #expect(a.forward.macs.value == expected1)
        let expected2: Int = 9 * 2 * 3 * 5 + 9
        #expect(a.parameters == expected2)
    }

    /// SAME_UPPER, stride 2, kernel 4 on 15: output 8, padding 1 before and 2 after; even
    /// padding 2 gives the same output, so the same MACs.
    @Test("Conv with auto_pad SAME_UPPER and uneven padding (opset 13)")
    func convSameUpper() throws {
        let a = try expectEquivalent("conv_auto_pad_same_upper", """
            input x: [1, 4, 15, 15]
            output conv2d(x, 5, kernel = 4, stride = 2, padding = 2, bias = false)
            """)
        #expect(a.layers[0].outputShapes == [[1, 5, 8, 8]])
        let expected3: Int = 5 * 8 * 8 * 4 * 4 * 4
        #expect(a.forward.macs.value == expected3)
    }

    @Test("Conv with pads that differ before and after but give the output of even ones")
    func convAsymmetricPads() throws {
        let a = try expectEquivalent("conv_pads_asymmetric_same_output", """
            input x: [1, 3, 8, 8]
            output conv2d(x, 4, kernel = 3, stride = 2, padding = 1, bias = false)
            """)
        // (8 + 1 + 0 - 3) / 2 + 1 = 4 = (8 + 2 - 3) / 2 + 1.
        #expect(a.layers[0].outputShapes == [[1, 4, 4, 4]])
    }

    @Test("a 1-D Conv runs as conv2d over a height of 1")
    func conv1d() throws {
        let a = try expectEquivalent("conv1d", """
            input x: [2, 4, 29]
            y = reshape(x, [2, 4, 1, 29])
            y = conv2d(y, 6, kernel = [1, 5], stride = [1, 3], padding = [0, 2], dilation = [1, 2])
            output reshape(y, [2, 6, 9])
            """, names: ["conv_unsqueeze", "conv", "conv_squeeze"])
        // L: (29 + 4 - 2*(5-1) - 1) / 3 + 1 = 9 outputs of 4*5 taps, 6 channels, batch 2.
        let expected4: Int = 2 * 6 * 9 * 4 * 5
        #expect(a.forward.macs.value == expected4)
        let expected5: Int = 6 * 4 * 5 + 6
        #expect(a.parameters == expected5)
    }

    @Test("ConvTranspose with group, strides, pads and output_padding (opset 14)")
    func convTranspose() throws {
        let a = try expectEquivalent("conv_transpose", """
            input x: [2, 4, 7, 5]
            output conv_transpose2d(x, 6, kernel = [3, 4], stride = [2, 3], padding = [1, 0], output_padding = [1, 2], groups = 2)
            """)
        // H: (7-1)*2 - 2 + (3-1) + 1 + 1 = 14; W: (5-1)*3 + (4-1) + 2 + 1 = 18.
        #expect(a.layers[0].outputShapes == [[2, 6, 14, 18]])
        // Every input element times (6/2)*3*4 weights.
        let expected6: Int = 2 * 4 * 7 * 5 * 3 * 3 * 4
        #expect(a.forward.macs.value == expected6)
    }

    // MARK: - Dense layers

    @Test("Gemm with transA, alpha 2 and beta 0.5 (opset 11)")
    func gemmTransposedScaled() throws {
        let a = try expectEquivalent("gemm_trans_alpha_beta", """
            input a: [5, 7]
            y = permute(a, [1, 0], name = "fc_transpose")
            y = linear(y, 3, bias = false, name = "fc")
            y = mul(y, 2.0, name = "fc_alpha")
            output add(y, parameter([3], name = "c"), name = "fc_bias")
            """, names: ["fc_transpose", "fc", "fc_alpha", "c", "fc_bias"])
        let expected7: Int = 7 * 5 * 3
        #expect(a.forward.macs.value == expected7)
        let expected8: Int = 5 * 3 + 3
        #expect(a.parameters == expected8)
    }

    @Test("Gemm with transB is a linear layer named after its weight")
    func gemmLinear() throws {
        try expectEquivalent("gemm_linear", """
            input a: [4, 10]
            output linear(a, 6, name = "fc")
            """, names: ["fc"])
    }

    @Test("MatMul by a transposed stored weight plus Add of a bias is one linear layer")
    func matmulWeightBias() throws {
        let a = try expectEquivalent("matmul_weight_bias", """
            input x: [2, 3, 5]
            output linear(x, 4, name = "proj")
            """, names: ["proj"])
        let expected9: Int = 2 * (2 * 3 * 5 * 4) + 2 * 3 * 4
        #expect(a.forward.flops.value == expected9)
    }

    @Test("MatMul of two activations broadcasts their batch dimensions")
    func matmulActivations() throws {
        let a = try expectEquivalent("matmul_activations", """
            input a: [2, 1, 3, 5]
            input b: [4, 5, 6]
            output matmul(a, b)
            """)
        #expect(a.layers[0].outputShapes == [[2, 4, 3, 6]])
        let expected10: Int = 2 * 4 * 3 * 5 * 6
        #expect(a.forward.macs.value == expected10)
    }

    @Test("one initializer read by two MatMuls is one parameter (tied)")
    func tiedWeights() throws {
        let a = try expectEquivalent("tied_weights", """
            input x: [3, 8]
            y = linear(x, 8, bias = false, name = "first")
            y = relu(y, name = "relu")
            output linear(y, 8, bias = false, tie = "first", name = "second")
            """, names: ["first", "relu", "second"])
        #expect(a.parameters == 64)
        let graph = try ONNXFixtures.graph("hand/tied_weights.onnx")
        #expect(graph.nodes[0].parameterIDs == graph.nodes[2].parameterIDs)
        #expect(graph.parameters.count == 1)
        #expect(graph.parameters[0].uses == 2)
    }

    @Test("Gather of a stored table by ids is an embedding; the head reading its transpose is tied to it")
    func embeddingTiedHead() throws {
        let a = try expectEquivalent("embedding_tied_head", """
            input ids: [2, 5] int
            h = embedding(ids, 50, 12, name = "wte")
            output linear(h, 50, bias = false, tie = "wte", name = "lm_head")
            """, overrides: ["batch": .int(2), "seq": .int(5)], names: ["wte", "lm_head"])
        let expected11: Int = 50 * 12
        #expect(a.parameters == expected11)
        let expected12: Int = 2 * 5 * 12 * 50
        #expect(a.forward.macs.value == expected12)
    }

    // MARK: - Element-wise

    @Test("Add, Sub, Mul, Div with broadcasting: an initializer is a parameter, a one-value constant a number")
    func elementwise() throws {
        let a = try expectEquivalent("elementwise_broadcast", """
            input x: [2, 3, 4, 5]
            input z: [4, 1]
            y = add(x, parameter([3, 1, 1], name = "bias"), name = "add_param")
            y = mul(y, 2.0, name = "mul_number")
            y = sub(y, z, name = "sub_tensors")
            y = div(y, 4.0, name = "div_number")
            output mul(y, z, name = "mul_broadcast")
            """, names: ["bias", "add_param", "mul_number", "sub_tensors", "div_number", "mul_broadcast"])
        #expect(a.parameters == 3)
        // Five element-wise ops over 120 outputs each.
        let expected13: Int = 5 * 120
        #expect(a.forward.flops.value == expected13)
    }

    @Test("the activations, Clip(0, 6) as relu6, HardSigmoid(1/6, 1/2), Neg (opset 14)")
    func activations() throws {
        try expectEquivalent("activations", """
            input x: [2, 3, 5]
            y = leaky_relu(relu(x), 0.2)
            y = tanh(sigmoid(y))
            y = hardsigmoid(hardswish(relu6(y)))
            output neg(y)
            """, names: ["relu", "leaky", "sigmoid", "tanh", "relu6", "hardswish", "hardsigmoid", "neg"])
    }

    /// Clip to bounds other than relu's and relu6's is clamp: one compare per bound given.
    @Test("Clip to [-1, 1], to a lower bound only and to an upper bound only is clamp (opset 13)")
    func clipOtherBounds() throws {
        let a = try expectEquivalent("clip_other_bounds", """
            input x: [4, 9]
            output clamp(clamp(clamp(x, -1.0, 1.0), min = -1.0), max = 2.5)
            """, names: ["hardtanh", "floor_only", "cap_only"])
        // 36 elements: 2 compares each, then 1, then 1.
        let expected: Int = 36 * 2 + 36 + 36
        #expect(a.forward.flops.value == expected)
        #expect(a.layers.map(\.detail) == ["[-1, 1]", "min -1", "max 2.5"])
    }

    @Test("Abs, Sqrt, Exp, Log, Reciprocal, Neg and Erf outside GELU: one catalog operator each (opset 13)")
    func mathUnary() throws {
        let a = try expectEquivalent("math_unary", """
            input x: [3, 4, 7]
            output neg(reciprocal(log(exp(sqrt(abs(x))))))
            """, names: ["abs", "sqrt", "exp", "log", "reciprocal", "neg"])
        // 84 elements, one operation each in six functions.
        let expected: Int = 6 * 84
        #expect(a.forward.flops.value == expected)
        try expectEquivalent("erf_alone", "input x: [2, 7]\noutput erf(x)", names: ["erf"])
    }

    /// Pow by a number is pow's rule for that exponent (x^2 one multiply, x^0.5 a sqrt,
    /// x^1.7 one pow); by a stored tensor, a parameter; by an activation, tensor ** tensor.
    @Test("Pow by 2, 0.5, 1.7, a stored exponent and an activation (opset 15)")
    func pow() throws {
        let a = try expectEquivalent("pow", """
            input x: [2, 3, 5]
            y = pow(pow(pow(x, 2), 0.5), 1.7)
            e = parameter([3, 5], name = "exponent.weight")
            output pow(pow(y, e, name = "stored_exponent"), x)
            """, names: ["square", "root", "odd_power", "exponent.weight", "stored_exponent", "tensor_exponent"])
        #expect(a.parameters == 15)
        // 30 outputs per pow, one operation each: five pows.
        let expected: Int = 5 * 30
        #expect(a.forward.flops.value == expected)
    }

    /// torch's rsub (c - x) is -x then + c here: the catalog's sub takes the tensor first;
    /// 0 - x is -x alone. c / x is reciprocal(x) * c, which is how torch runs it
    /// (Tensor.__rtruediv__), and 1 / x the reciprocal alone.
    @Test("c - x, 0 - x, c / x and 1 / x (opset 14)")
    func constantFirstOperand() throws {
        let a = try expectEquivalent("constant_first_operand", """
            input x: [2, 3, 5]
            a = add(neg(x), 1.0)
            b = neg(a)
            c = mul(reciprocal(b), 3.0)
            output reciprocal(c)
            """, names: ["rsub_neg", "rsub", "negate", "rdiv_reciprocal", "rdiv", "inverse"])
        let expected: Int = 6 * 30
        #expect(a.forward.flops.value == expected)
    }

    /// LlamaRMSNorm exported: Pow, ReduceMean, Add, Sqrt, Div(1, .), Mul, Mul(weight). The
    /// Sqrt and the Div that inverts it were one torch.rsqrt.
    @Test("RMSNorm decomposed by the exporter: 1 / sqrt is rsqrt; the weight is a parameter (opset 18)")
    func rmsnormDecomposed() throws {
        let a = try expectEquivalent("rmsnorm_decomposed", """
            input x: [2, 5, 12]
            r = rsqrt(add(mean(pow(x, 2), dim = [2], keepdim = true), 1e-6))
            n = mul(x, r)
            output mul(parameter([12], name = "norm.weight"), n)
            """, names: ["norm.pow", "norm.reducemean", "norm.add", "norm.sqrt", "norm.mul", "norm.weight", "norm.mul_1"])
        // x^2: 120 multiplies; mean of 12 over 10 rows, accumulated from zero: 12 adds and
        // a divide each (130); + eps: 10; rsqrt: a sqrt and a divide each (20); two
        // multiplies of 120.
        let expected: Int = 120 + 130 + 10 + 20 + 120 + 120
        #expect(a.forward.flops.value == expected)
        #expect(a.parameters == 12)
    }

    /// ONNX pads are begins then ends per axis; the catalog's (torch's) padding lists
    /// (before, after) pairs from the last axis backwards. ONNX's edge is replicate.
    @Test("Pad: constant with a value, reflect, edge over some axes (opset 18)")
    func pad() throws {
        let a = try expectEquivalent("pad_modes", """
            input x: [2, 3, 5, 6]
            y = pad(x, [2, 0, 1, 3], value = 0.5, name = "pad")
            y = pad(y, [1, 3, 2, 1], mode = "reflect", name = "reflect")
            output pad(y, [1, 0, 2, 1], mode = "replicate", name = "edge")
            """, names: ["pad", "reflect", "edge"])
        // pads [0, 0, 1, 2, 0, 0, 3, 0]: H 1 before, 3 after; W 2 before. Then H 2 and 1,
        // W 1 and 3; then (axes [-1, 2]) W 1 before, H 2 before and 1 after.
        // H: 5 + 4 = 9, + 3 = 12, + 3 = 15; W: 6 + 2 = 8, + 4 = 12, + 1 = 13.
        #expect(a.layers.map(\.outputShapes) == [[[2, 3, 9, 8]], [[2, 3, 12, 12]], [[2, 3, 15, 13]]])
        #expect(a.forward.flops.value == 0)
    }

    /// A cast between floating-point types is the catalog's cast: no arithmetic, a new
    /// tensor of the other type.
    @Test("Cast to float16 is cast (opset 13)")
    func castToHalf() throws {
        let a = try expectEquivalent("cast_to_half", "input x: [2, 3]\noutput cast(x, \"f16\")", names: ["half"])
        #expect(a.forward.flops.value == 0)
        let graph = try ONNXFixtures.graph("hand/cast_to_half.onnx")
        #expect(graph.tensors[graph.outputs[0]].dtype == .float16)
    }

    /// GroupNormalization of opsets 18 to 20 scales and shifts per group: groupnorm
    /// without affine, then a [G, 1] scale and bias over [N, G, C/G * H * W].
    @Test("GroupNormalization with a scale and bias per group (opset 18)")
    func groupnormPerGroup() throws {
        let a = try expectEquivalent("groupnorm_opset18_per_group", """
            input x: [2, 6, 4, 5]
            y = reshape(groupnorm(x, 3, eps = 1e-4, affine = false, name = "gn"), [2, 3, 40], name = "gn_groups")
            y = mul(y, parameter([3, 1], name = "s"), name = "gn_scale")
            y = add(y, parameter([3, 1], name = "b"), name = "gn_shift")
            output reshape(y, [2, 6, 4, 5], name = "gn_ungroup")
            """, names: ["gn", "gn_groups", "s", "gn_scale", "b", "gn_shift", "gn_ungroup"])
        // 3 scales and 3 shifts, one multiply and one add per element of the 240.
        #expect(a.parameters == 6)
        #expect(a.layers[3].cost.forward.flops.value == 240 && a.layers[5].cost.forward.flops.value == 240)
    }

    @Test("Gelu (opset 20), exact and tanh")
    func gelu() throws {
        try expectEquivalent("gelu_opset20", """
            input x: [3, 11]
            output gelu(gelu(x), approximate = "tanh")
            """)
    }

    @Test("x * 0.5 * (1 + erf(x / sqrt 2)) is recognised as one exact GELU")
    func geluErfPattern() throws {
        try expectEquivalent("gelu_erf_pattern", """
            input x: [2, 7, 9]
            output gelu(x)
            """, names: ["mlp.act"])
    }

    @Test("x * sigmoid(x) is recognised as SiLU")
    func siluPattern() throws {
        try expectEquivalent("silu_pattern", """
            input x: [2, 8, 3, 3]
            output silu(x)
            """, names: ["act"])
    }

    @Test("Softmax before opset 13 normalises the input flattened to 2-D at axis")
    func softmaxCoerced() throws {
        try expectEquivalent("softmax_opset11_coerced", """
            input x: [2, 3, 4]
            y = reshape(x, [2, 12])
            output reshape(softmax(y, -1), [2, 3, 4])
            """)
    }

    @Test("Softmax on axis 1 and LogSoftmax (opset 13)")
    func softmax() throws {
        try expectEquivalent("softmax_opset13", """
            input x: [2, 3, 4]
            output log_softmax(softmax(x, 1), -1)
            """)
    }

    /// torchvision's StochasticDepth in training: the input times a random per-sample
    /// mask computed from constants. The mask folds to a constant; the multiply is priced
    /// as one by a number (n multiplies forward, n backward), what torch's mul costs.
    @Test("stochastic depth's mask multiply is one element-wise multiply")
    func stochasticDepth() throws {
        let a = try expectEquivalent("stochastic_depth", """
            input x: [3, 4, 5, 5]
            output mul(x, 1.0, name = "sd")
            """, overrides: ["batch": .int(3)], names: ["sd"])
        let expected14: Int = 3 * 4 * 5 * 5
        #expect(a.forward.flops.value == expected14)
    }

    // MARK: - Normalisation

    @Test("BatchNormalization in training mode: ONNX momentum 0.8 is torch's 0.2; statistics are buffers")
    func batchnormTraining() throws {
        try expectEquivalent("batchnorm_training", """
            input x: [3, 5, 7, 6]
            output batchnorm(x, eps = 1e-3, momentum = 0.2, name = "bn")
            """, names: ["bn"])
        let graph = try ONNXFixtures.graph("hand/batchnorm_training.onnx")
        #expect(graph.parameters.map(\.name) == ["bn.weight", "bn.bias"])
        #expect(graph.nodes[0].op.buffers.map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
    }

    @Test("BatchNormalization in inference (opset 11) maps onto the same batchnorm")
    func batchnormEval() throws {
        try expectEquivalent("batchnorm_eval_opset11", """
            input x: [2, 4, 3, 3]
            output batchnorm(x)
            """)
    }

    @Test("InstanceNormalization, LayerNormalization over two axes and without bias, GroupNormalization (opset 21)")
    func normalizations() throws {
        try expectEquivalent("instancenorm", """
            input x: [2, 3, 5, 7]
            output instancenorm(x, eps = 1e-4, affine = true)
            """)
        try expectEquivalent("layernorm_axis", """
            input x: [2, 3, 4, 5]
            output layernorm(x, normalized = 2, eps = 1e-6, name = "ln")
            """, names: ["ln"])
        try expectEquivalent("layernorm_no_bias", """
            input x: [3, 7]
            output layernorm(x, bias = false)
            """)
        try expectEquivalent("groupnorm_opset21", """
            input x: [2, 6, 4, 5]
            output groupnorm(x, 3)
            """)
    }

    @Test("Dropout with training_mode true is dropout; in inference it is nothing")
    func dropout() throws {
        try expectEquivalent("dropout_training", """
            input x: [4, 10]
            output dropout(x, 0.3)
            """, names: ["drop"])
        try expectEquivalent("dropout_inference", """
            input x: [4, 10]
            output relu(x)
            """)
    }

    // MARK: - Pooling

    @Test("MaxPool with ceil_mode (opset 11)")
    func maxpoolCeil() throws {
        let a = try expectEquivalent("maxpool_ceil", """
            input x: [2, 3, 10, 8]
            output maxpool(x, kernel = [3, 2], stride = 2, padding = 1, ceil_mode = true)
            """)
        // H: ceil((10 + 2 - 3) / 2) + 1 = 6 (floor would give 5); W: (8 + 2 - 2) / 2 + 1 = 5.
        #expect(a.layers[0].outputShapes == [[2, 3, 6, 5]])
    }

    @Test("AveragePool with and without count_include_pad; ONNX's default stride is 1")
    func averagepool() throws {
        try expectEquivalent("averagepool_count_include_pad", """
            input x: [1, 4, 11, 11]
            y = avgpool(x, kernel = 3, stride = 2, padding = 1, count_include_pad = true)
            output avgpool(y, kernel = 2, stride = 1, padding = 1, count_include_pad = false)
            """)
    }

    @Test("GlobalAveragePool")
    func globalAveragePool() throws {
        try expectEquivalent("globalaveragepool", """
            input x: [3, 5, 6, 7]
            output globalavgpool(x)
            """)
    }

    // MARK: - Shape operators

    @Test("Flatten, Reshape (0 and -1), Transpose, Unsqueeze, Squeeze, Concat, Split, Slice, Gather, Expand, Identity")
    func shapeOperators() throws {
        try expectEquivalent("shape_ops", """
            input x: [2, 3, 4, 5]
            y = reshape(x, [6, 20])
            y = reshape(y, [6, 4, 5])
            t = permute(y, [2, 0, 1])
            y = reshape(t, [5, 1, 6, 4])
            y = reshape(y, [5, 6, 4])
            y = concat([y, t], dim = 2)
            p1, p2 = split(y, [3, 5], dim = 2)
            y = slice(p2, 1, 1, 6, 2)
            y = slice(y, 2, 0, 3)
            y = select(y, 1, 1)
            output expand(y, [4, 5, 3]), p1
            """)
    }

    @Test("Slice with clamped and negative bounds; Gather of a run of indices is a slice, of one index a select")
    func sliceAndGather() throws {
        try expectEquivalent("slice_and_gather", """
            input x: [2, 9, 7]
            y = slice(x, 1, 1, 8, 2)
            y = slice(y, 2, 2, 5)
            y = slice(y, 1, 1, 3)
            output select(y, 2, 2)
            """)
    }

    @Test("Split by attribute (opset 11) and by num_outputs (opset 18)")
    func splits() throws {
        try expectEquivalent("split_opset11_attribute", """
            input x: [2, 7]
            output split(x, [1, 2, 4], dim = 1)
            """)
        // ceil(8 / 3) = 3: parts 3, 3, 2.
        try expectEquivalent("split_opset18_num_outputs", """
            input x: [2, 8]
            output split(x, [3, 3, 2], dim = 1)
            """)
    }

    @Test("Squeeze and Unsqueeze with axes attributes (opset 11)")
    func squeezeUnsqueeze() throws {
        try expectEquivalent("squeeze_unsqueeze_opset11", """
            input x: [3, 4]
            output reshape(reshape(x, [1, 3, 4, 1]), [1, 3, 4])
            """)
    }

    @Test("ReduceMean with axes attribute, ReduceSum with axes input (opset 13); ReduceMean's axes input (opset 18)")
    func reductions() throws {
        try expectEquivalent("reductions", """
            input x: [2, 3, 4, 5]
            output sum(mean(x, [2, 3], keepdim = true), [2, 3])
            """)
        try expectEquivalent("reducemean_opset18", """
            input x: [2, 3, 4]
            output mean(x, [1])
            """)
    }

    /// Shape -> Gather -> Unsqueeze -> Concat -> Cast -> Reshape and ConstantOfShape,
    /// Range, Equal, Where, ReduceProd, Div, Mul on shapes: all folded, only the two
    /// reshapes remain.
    @Test("shape arithmetic folds to constants and is never counted", arguments: [1, 3])
    func shapeArithmetic(batch: Int) throws {
        try expectEquivalent("shape_arithmetic", """
            input x: [\(batch), 3, 4, 5]
            y = reshape(x, [\(batch), 60], name = "flatten")
            output reshape(y, [\(batch), 5, 12], name = "view")
            """, overrides: ["batch": .int(batch)], names: ["flatten", "view"])
    }

    // MARK: - Inputs and weights

    @Test("symbolic dimensions: axis 0 is the batch, the others are named settings")
    func symbolicDimensions() throws {
        let graph = try ONNXFixtures.graph("hand/symbolic_dims.onnx", ["batch": .int(2), "sequence": .int(7)])
        #expect(graph.settings.map(\.name) == ["batch", "sequence"])
        #expect(graph.tensors[graph.inputs[0].tensor].shape == [2, 7, 8])
        #expect(graph.tensors[graph.outputs[0]].shape == [2, 7, 3])
        // The batch defaults to 1; another symbol must be given.
        let single = try ONNXFixtures.graph("hand/symbolic_dims.onnx", ["sequence": .int(4)])
        #expect(single.tensors[single.inputs[0].tensor].shape == [1, 4, 8])
        #expect(throws: NNFlopsError.self) { try ONNXFixtures.graph("hand/symbolic_dims.onnx") }
        do {
            _ = try ONNXFixtures.graph("hand/symbolic_dims.onnx")
        } catch let error as NNFlopsError {
            #expect(error.message.contains("sequence"))
            #expect(error.notes.joined().contains("--set sequence=N"))
        }
        do {
            _ = try ONNXFixtures.graph("hand/symbolic_dims.onnx", ["sequence": .int(4), "sequense": .int(4)])
            Issue.record("an unknown override was accepted")
        } catch let error as NNFlopsError {
            #expect(error.message.contains("sequense"))
            #expect(error.message.contains("did you mean 'sequence'"))
        }
    }

    @Test("36 KiB of inline weights are skipped; an initializer listed as an input is not an input")
    func inlineWeights() throws {
        #expect(try ONNXFixtures.bytes("hand/inline_weights.onnx").count > 32 * 32 * 9 * 4)
        try expectEquivalent("inline_weights", """
            input x: [1, 32, 9, 9]
            output conv2d(x, 32, kernel = 3, padding = 1, name = "conv")
            """, names: ["conv"])
        let graph = try ONNXFixtures.graph("hand/initializer_as_input.onnx")
        #expect(graph.inputs.map(\.name) == ["x"])
        #expect(graph.parameterCount.value == 12)
    }

    @Test("layer names from parameter names and from TorchScript module paths")
    func naming() {
        #expect(ONNXGraphImporter.layerName(fromParameter: "layer1.0.conv1.weight", parameterNode: false) == "layer1.0.conv1")
        #expect(ONNXGraphImporter.layerName(fromParameter: "encoder.layers.encoder_layer_0.self_attention.in_proj_weight", parameterNode: false)
                == "encoder.layers.encoder_layer_0.self_attention.in_proj")
        #expect(ONNXGraphImporter.layerName(fromParameter: "onnx::Conv_193", parameterNode: false) == nil)
        #expect(ONNXGraphImporter.layerName(fromParameter: "weight", parameterNode: false) == nil)
        #expect(ONNXGraphImporter.modulePath("/layer1/layer1.0/conv1/Conv")! == ("layer1.0.conv1", "conv"))
        #expect(ONNXGraphImporter.modulePath("/features/features.1/features.1.0/block/block.1/Transpose_1")! == ("features.1.0.block.1", "transpose_1"))
        #expect(ONNXGraphImporter.modulePath("/Flatten")! == ("", "flatten"))
        #expect(ONNXGraphImporter.modulePath("conv") == nil)
    }
}
