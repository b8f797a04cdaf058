import Testing
@testable import NNFlops

/// The CNN operators (norms, activations, dropout, pools, transposed convolution, sub/mul/div):
/// shapes, parameters, buffers and the exact FLOPs per phase, each checked against a hand
/// calculation written out on small sizes.
///
/// Graph inputs need no gradient, so to see an operator's input-gradient cost a trainable
/// layer (conv2d with a 1x1 kernel, or linear) is put in front of it.
@Suite struct CNNOperatorTests {
    func analyze(_ body: String, input: String = "[2, 3, 5, 5]") throws -> (graph: Graph, cost: CostAnalysis) {
        try TestModel.costs("model t\ninput x: \(input)\n" + body)
    }

    /// The one layer of operator kind `kind`.
    func layer(_ body: String, input: String = "[2, 3, 5, 5]", kind: String) throws -> LayerCost {
        let layers = try analyze(body, input: input).cost.layers.filter { $0.kind == kind }
        try #require(layers.count == 1)
        return layers[0]
    }

    /// The error elaborating `body` (after the two header lines: `body` starts on line 3).
    func failure(_ body: String, input: String = "[2, 3, 5, 5]") -> NNFlopsError? {
        do {
            _ = try analyze(body, input: input)
            return nil
        } catch let error as NNFlopsError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    func expectFailure(_ body: String, input: String = "[2, 3, 5, 5]", line: Int = 3, column: Int, containing fragments: [String],
                       sourceLocation: SourceLocation_ = #_sourceLocation) {
        guard let error = failure(body, input: input) else {
            Issue.record("expected an error for \(body)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.location?.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.location?.column == column, "\(error)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
        }
    }

    typealias SourceLocation_ = Testing.SourceLocation

    // MARK: - BatchNorm

    @Test func batchnormOnGraphInput() throws {
        let (graph, cost) = try analyze("y = batchnorm(x)\n")
        let bn = cost.layers[0]
        #expect(bn.outputShapes == [[2, 3, 5, 5]])
        // weight [3] + bias [3]
        #expect(bn.parameters == 6)
        // 2*3*5*5 = 150 elements, 3 channels of 50.
        // mean: 150 adds + 3 divs; variance: 150 * (sub, mul, add) = 450 + 3 divs;
        // rstd: 3 * (add, sqrt, div) = 9; normalise: 150 * (sub, mul) = 300;
        // scale/shift: 150 * (mul, add) = 300; running stats: 3 * (1 div + 3 + 3) = 21.
        #expect(bn.cost.forward.flops == Count(150 + 3 + 450 + 3 + 9 + 300 + 300 + 21))
        #expect(bn.cost.forward.macs == 0)
        // The input is a graph input: no input gradient.
        #expect(bn.cost.inputGradient == .zero)
        // dgamma: sum (x - mean) * dY = 150 * 3 = 450, then * rstd per channel = 3;
        // dbeta: sum dY = 150.
        #expect(bn.cost.weightGradient == Work(flops: 450 + 3 + 150, macs: 0))
        // Buffers: running_mean [3], running_var [3] float32, num_batches_tracked int64.
        let buffers = graph.nodes[0].op.buffers
        #expect(buffers.map(\.name) == ["running_mean", "running_var", "num_batches_tracked"])
        #expect(buffers.map(\.shape) == [[3], [3], [1]])
        #expect(Count.sum(buffers.map(\.bytes)) == Count(3 * 4 + 3 * 4 + 8))
    }

    @Test func batchnormBackwardAfterConv() throws {
        let body = "h = conv2d(x, 4, kernel = 1, bias = false)\ny = batchnorm(h)\n"
        let bn = try layer(body, kind: "batchnorm")
        // h: [2, 4, 5, 5] = 200 elements, 4 channels of 50.
        // forward: 200 + 4 + 600 + 4 + 12 + 400 + 400 + 4 * 7 = 1648
        #expect(bn.cost.forward.flops == Count(200 + 4 + 600 + 4 + 12 + 400 + 400 + 28))
        // input gradient: per channel k = p*rstd*rstd/m (3), s/m (1), rstd*gamma (1) = 4 * 5 = 20;
        // per element (dY - s/m - (x - mean)*k) * scale = 200 * 5 = 1000.
        #expect(bn.cost.inputGradient == Work(flops: 1000 + 20, macs: 0))
        // weight gradient: p = 200 * 3 = 600, dgamma = p * rstd: 4, dbeta = sum dY: 200.
        #expect(bn.cost.weightGradient.flops == Count(600 + 4 + 200))
    }

    @Test func frozenAndNonAffineBatchnormChargeTheReductionsToTheInputGradient() throws {
        let frozen = try layer("h = conv2d(x, 4, kernel = 1, bias = false)\ny = batchnorm(h, frozen = true)\n", kind: "batchnorm")
        #expect(frozen.cost.weightGradient == .zero)
        #expect(frozen.trainableParameters == 0)
        // 1020 as above + p = sum (x - mean) * dY (600) + s = sum dY (200).
        #expect(frozen.cost.inputGradient.flops == Count(1000 + 20 + 600 + 200))

        let plain = try layer("h = conv2d(x, 4, kernel = 1, bias = false)\ny = batchnorm(h, affine = false)\n", kind: "batchnorm")
        #expect(plain.parameters == 0)
        // forward without scale/shift: 200 + 4 + 600 + 4 + 12 + 400 + 28
        #expect(plain.cost.forward.flops == Count(200 + 4 + 600 + 4 + 12 + 400 + 28))
        // input: 1000 per element + 4 * 4 per channel (no rstd*gamma) + 600 + 200.
        #expect(plain.cost.inputGradient.flops == Count(1000 + 16 + 600 + 200))
        #expect(plain.cost.weightGradient == .zero)
    }

    /// torchvision's ResNet-50 has 53 batchnorms over 26,560 channels; PyTorch reports
    /// 212,904 buffer bytes (reference/h100-calibration.json): 2 * 26,560 float32 running
    /// statistics + 53 int64 num_batches_tracked.
    @Test func resnet50BatchnormBuffersMatchPyTorch() throws {
        let body = """
        block bn(x, c):
            return batchnorm(conv2d(x, c, kernel = 1, bias = false))
        x = bn(x, 64)
        for s in [[64, 256, 3], [128, 512, 4], [256, 1024, 6], [512, 2048, 3]]:
            repeat s[2]:
                x = bn(x, s[0])
                x = bn(x, s[0])
                x = bn(x, s[1])
            x = bn(x, s[1])

        """
        let (graph, cost) = try analyze(body, input: "[1, 3, 2, 2]")
        let norms = graph.nodes.filter { $0.kind == "batchnorm" }
        #expect(norms.count == 53)
        let parameters = cost.layers.filter { $0.kind == "batchnorm" }.reduce(0) { $0 + $1.parameters }
        #expect(parameters == 2 * 26_560)
        let bytes = Count.sum(norms.flatMap(\.op.buffers).map(\.bytes))
        #expect(bytes == Count(212_904))
    }

    @Test func batchnormErrors() {
        // Rank 1 has no channel dimension; the caret points at the input argument.
        expectFailure("y = batchnorm(x)\n", input: "[8]", column: 15, containing: ["batchnorm", "channel", "[8]"])
        // One value per channel cannot be normalised in training.
        expectFailure("y = batchnorm(x)\n", input: "[1, 3, 1, 1]", column: 15, containing: ["more than one value per channel"])
        expectFailure("y = batchnorm(x, momentum = 2.0)\n", column: 18, containing: ["momentum"])
        expectFailure("y = batchnorm(x, eps = 0)\n", column: 18, containing: ["eps must be positive"])
        expectFailure("y = batchnorm(x)\n", input: "[2, 3] int", column: 15, containing: ["floating-point"])
    }

    // MARK: - LayerNorm, GroupNorm, InstanceNorm, RMSNorm

    @Test func layernorm() throws {
        let ln = try layer("h = linear(x, 4)\ny = layernorm(h)\n", input: "[2, 3, 5]", kind: "layernorm")
        #expect(ln.outputShapes == [[2, 3, 4]])
        #expect(ln.parameters == 4 + 4)
        // h: 24 elements in 6 rows of 4. mean 24 + 6 divs; variance 72 + 6 divs;
        // rstd 6 * 3 = 18; normalise 48; weight 24; bias 24.
        #expect(ln.cost.forward == Work(flops: 24 + 6 + 72 + 6 + 18 + 48 + 24 + 24, macs: 0))
        // weight gradient: xhat recomputed 48; dW = sum dY * xhat 48; db = sum dY 24.
        #expect(ln.cost.weightGradient.flops == Count(48 + 48 + 24))
        // input gradient: g = dY * w 24; sum g 24; sum g * xhat 48; two divs per row 12;
        // (g - a - xhat * b) * rstd 96.
        #expect(ln.cost.inputGradient.flops == Count(24 + 24 + 48 + 12 + 96))

        let two = try layer("h = linear(x, 4)\ny = layernorm(h, normalized = 2, bias = false)\n", input: "[2, 3, 5]", kind: "layernorm")
        // weight [3, 4], no bias; 2 rows of 12.
        #expect(two.parameters == 12)
        #expect(two.cost.forward.flops == Count(24 + 2 + 72 + 2 + 6 + 48 + 24))
        #expect(two.cost.weightGradient.flops == Count(48 + 48))

        let plain = try layer("h = linear(x, 4)\ny = layernorm(h, affine = false)\n", input: "[2, 3, 5]", kind: "layernorm")
        #expect(plain.parameters == 0)
        #expect(plain.cost.forward.flops == Count(24 + 6 + 72 + 6 + 18 + 48))
        // no g = dY * w; xhat (48) now charged to the input gradient.
        #expect(plain.cost.inputGradient.flops == Count(24 + 48 + 12 + 96 + 48))
        #expect(plain.cost.weightGradient == .zero)
    }

    @Test func layernormErrors() {
        expectFailure("y = layernorm(x, normalized = 4)\n", input: "[2, 3, 5]", column: 18, containing: ["last 4 dimensions", "[2, 3, 5]"])
        expectFailure("y = layernorm(x, normalized = 0)\n", input: "[2, 3, 5]", column: 18, containing: ["at least 1"])
    }

    @Test func groupnorm() throws {
        let gn = try layer("h = conv2d(x, 4, kernel = 1)\ny = groupnorm(h, 2)\n", input: "[2, 4, 3, 3]", kind: "groupnorm")
        #expect(gn.outputShapes == [[2, 4, 3, 3]])
        #expect(gn.parameters == 4 + 4)
        // 72 elements; 2 samples * 2 groups = 4 groups of 18.
        // mean 72 + 4; variance 216 + 4; rstd 12; normalise 144; affine 144.
        #expect(gn.cost.forward.flops == Count(72 + 4 + 216 + 4 + 12 + 144 + 144))
        // input: g 72, sum g 72, sum g*xhat 144, 2 divs per group 8, dX 4 * 72 = 288.
        #expect(gn.cost.inputGradient.flops == Count(72 + 72 + 144 + 8 + 288))
        // weight: xhat 144, dW 144, db 72.
        #expect(gn.cost.weightGradient.flops == Count(144 + 144 + 72))
    }

    @Test func groupnormErrors() {
        expectFailure("y = groupnorm(x, 2)\n", column: 18, containing: ["groups = 2", "3 channels"])
        expectFailure("y = groupnorm(x, groups = 0)\n", column: 18, containing: ["at least 1"])
    }

    @Test func instancenorm() throws {
        let plain = try layer("h = conv2d(x, 4, kernel = 1)\ny = instancenorm(h)\n", input: "[2, 4, 3, 3]", kind: "instancenorm")
        #expect(plain.parameters == 0)
        // 72 elements; 2 * 4 = 8 instances of 9.
        // mean 72 + 8; variance 216 + 8; rstd 24; normalise 144.
        #expect(plain.cost.forward.flops == Count(72 + 8 + 216 + 8 + 24 + 144))
        // input: xhat 144, sum dY 72, sum dY*xhat 144, divs 16, dX 288.
        #expect(plain.cost.inputGradient.flops == Count(144 + 72 + 144 + 16 + 288))
        #expect(plain.cost.weightGradient == .zero)

        let affine = try layer("h = conv2d(x, 4, kernel = 1)\ny = instancenorm(h, affine = true)\n", input: "[2, 4, 3, 3]", kind: "instancenorm")
        #expect(affine.parameters == 8)
        #expect(affine.cost.forward.flops == Count(72 + 8 + 216 + 8 + 24 + 144 + 144))
        #expect(affine.cost.inputGradient.flops == Count(72 + 72 + 144 + 16 + 288))
        #expect(affine.cost.weightGradient.flops == Count(144 + 144 + 72))
    }

    @Test func instancenormErrors() {
        expectFailure("y = instancenorm(x)\n", input: "[2, 3]", column: 18, containing: ["[N, C, spatial...]"])
        expectFailure("y = instancenorm(x)\n", input: "[2, 3, 1]", column: 18, containing: ["more than one spatial value"])
    }

    @Test func rmsnorm() throws {
        let rms = try layer("h = linear(x, 4)\ny = rmsnorm(h)\n", input: "[2, 3, 5]", kind: "rmsnorm")
        #expect(rms.outputShapes == [[2, 3, 4]])
        #expect(rms.parameters == 4)
        // 24 elements in 6 rows of 4: squares and sum 48; per row /D, +eps, sqrt, 1/ = 24;
        // x * r 24; * weight 24.
        #expect(rms.cost.forward == Work(flops: 48 + 24 + 24 + 24, macs: 0))
        // weight: xn = x * r 24, dW = sum dY * xn 48.
        #expect(rms.cost.weightGradient.flops == Count(24 + 48))
        // input: g 24, sum g * xn 48, /D 6, (g - xn * b) * r 72.
        #expect(rms.cost.inputGradient.flops == Count(24 + 48 + 6 + 72))

        let frozen = try layer("h = linear(x, 4)\ny = rmsnorm(h, frozen = true)\n", input: "[2, 3, 5]", kind: "rmsnorm")
        #expect(frozen.cost.weightGradient == .zero)
        #expect(frozen.cost.inputGradient.flops == Count(24 + 48 + 6 + 72 + 24))
    }

    // MARK: - Activations and dropout

    /// linear(x, 3) on [2, 5] gives 6 elements that need gradients.
    @Test(arguments: [
        // (call, forward per element, input gradient per element)
        ("relu6(h)", 2, 2),                          // max, min | two compares
        ("relu6(h, inplace = true)", 2, 2),          // in place: same FLOPs
        ("silu(h, inplace = true)", 4, 9),
        ("gelu(h)", 5, 11),                          // mul, erf, add, mul, mul | cdf 4 + pdf 4 + 3
        ("gelu(h, approximate = \"tanh\")", 9, 18),  // 5 inner + tanh, add, mul, mul | 18
        ("silu(h)", 4, 9),                           // neg, exp, add, div | 4 + 5
        ("sigmoid(h)", 4, 3),                        // neg, exp, add, div | dY * (1 - y) * y
        ("tanh(h)", 1, 3),                           // tanh | dY * (1 - y * y)
        ("leaky_relu(h, slope = 0.2)", 2, 2),        // compare, mul | compare, mul
        ("hardswish(h)", 5, 5),                      // add, max, min, mul, div | div, add, mul, 2 compares
        ("hardsigmoid(h)", 4, 3),                    // add, max, min, div | 2 compares, div
        ("dropout(h, p = 0.1)", 3, 2),               // compare, 2 muls | 2 muls
    ])
    func activation(call: String, forward: Int, backward: Int) throws {
        let kind = String(call.prefix { $0 != "(" })
        let act = try layer("h = linear(x, 3)\ny = \(call)\n", input: "[2, 5]", kind: kind)
        #expect(act.outputShapes == [[2, 3]])
        #expect(act.parameters == 0)
        #expect(act.cost.forward == Work(flops: Count(6 * forward), macs: 0))
        #expect(act.cost.inputGradient == Work(flops: Count(6 * backward), macs: 0))
        #expect(act.cost.weightGradient == .zero)
        // Straight after the graph input, nothing needs the gradient.
        let first = try layer("y = \(call.replacingOccurrences(of: "(h", with: "(x"))\n", input: "[2, 3]", kind: kind)
        #expect(first.cost.forward.flops == Count(6 * forward))
        #expect(first.cost.inputGradient == .zero)
    }

    @Test func dropoutWithZeroProbabilityCostsNothing() throws {
        let d = try layer("h = linear(x, 3)\ny = dropout(h, p = 0)\n", input: "[2, 5]", kind: "dropout")
        #expect(d.cost.forward == .zero)
        #expect(d.cost.inputGradient == .zero)
    }

    @Test func activationErrors() {
        expectFailure("y = gelu(x, approximate = \"fast\")\n", column: 13, containing: ["\"none\", \"tanh\"", "fast"])
        expectFailure("y = dropout(x, p = 1.0)\n", column: 16, containing: ["[0, 1)"])
        expectFailure("y = dropout(x, p = -0.5)\n", column: 16, containing: ["[0, 1)"])
        expectFailure("y = sigmoid(x)\n", input: "[2, 3] int", column: 13, containing: ["floating-point"])
        // A misspelled argument gets a suggestion.
        let error = failure("y = leaky_relu(x, slop = 0.1)\n")
        #expect(error?.notes.contains("did you mean 'slope'?") == true)
    }

    // MARK: - Pooling

    @Test func maxpoolWithPadding() throws {
        let body = "h = conv2d(x, 2, kernel = 1)\ny = maxpool(h, kernel = 3, stride = 2, padding = 1)\n"
        let pool = try layer(body, input: "[1, 3, 5, 5]", kind: "maxpool")
        // floor((5 + 2 - 2 - 1) / 2) + 1 = 3
        #expect(pool.outputShapes == [[1, 2, 3, 3]])
        // Rows of the three windows along an axis: [-1, 1] -> 2 valid, [1, 3] -> 3, [3, 5] -> 2;
        // 7 * 7 = 49 valid taps per plane, minus one per output (9): 40 compares; 2 planes.
        #expect(pool.cost.forward == Work(flops: 2 * (49 - 9), macs: 0))
        // one add per output into dX.
        #expect(pool.cost.inputGradient.flops == Count(2 * 9))
        #expect(pool.parameters == 0)
    }

    @Test func maxpoolStrideDefaultsToKernelAndCeilMode() throws {
        let floor = try layer("h = conv2d(x, 2, kernel = 1)\ny = maxpool(h, 2)\n", input: "[1, 3, 5, 5]", kind: "maxpool")
        // stride 2: floor((5 - 1 - 1) / 2) + 1 = 2; 4 outputs * (4 - 1) compares * 2 planes.
        #expect(floor.outputShapes == [[1, 2, 2, 2]])
        #expect(floor.cost.forward.flops == Count(4 * 3 * 2))
        #expect(floor.cost.inputGradient.flops == Count(4 * 2))

        let ceil = try layer("h = conv2d(x, 2, kernel = 1)\ny = maxpool(h, 2, ceil_mode = true)\n", input: "[1, 3, 5, 5]", kind: "maxpool")
        // ceil(3 / 2) + 1 = 3 (the last window starts at 4 < 5); windows [0,1], [2,3], [4]:
        // 2 + 2 + 1 = 5 per axis, 25 valid taps - 9 outputs = 16 compares per plane.
        #expect(ceil.outputShapes == [[1, 2, 3, 3]])
        #expect(ceil.cost.forward.flops == Count(16 * 2))
        #expect(ceil.cost.inputGradient.flops == Count(9 * 2))

        let dilated = try layer("y = maxpool(x, 2, stride = 1, dilation = 2)\n", input: "[1, 2, 5, 5]", kind: "maxpool")
        // 5 - 2 * 1 - 1 + 1 = 3; every window holds its 4 taps: 9 * 3 * 2 planes.
        #expect(dilated.outputShapes == [[1, 2, 3, 3]])
        #expect(dilated.cost.forward.flops == Count(9 * 3 * 2))
    }

    @Test func maxpoolEmptyWindowCostsNothing() throws {
        // H = W = 2, kernel 2, dilation 3, padding 1: (2 + 2 - 3 - 1) / 1 + 1 = 1 output whose
        // taps are at -1 and 2, both outside the input.
        let pool = try layer("h = conv2d(x, 1, kernel = 1)\ny = maxpool(h, 2, stride = 1, padding = 1, dilation = 3)\n",
                             input: "[1, 1, 2, 2]", kind: "maxpool")
        #expect(pool.outputShapes == [[1, 1, 1, 1]])
        #expect(pool.cost.forward.flops == 0)
        #expect(pool.cost.inputGradient.flops == 0)
    }

    @Test func maxpoolErrors() {
        expectFailure("y = maxpool(x, 3, padding = 2)\n", column: 19, containing: ["padding 2", "half the kernel"])
        expectFailure("y = maxpool(x, 7)\n", column: 16, containing: ["larger than the padded input", "5"])
        expectFailure("y = maxpool(x, 2)\n", input: "[2, 3, 5]", column: 13, containing: ["[N, C, H, W]", "[2, 3, 5]"])
        expectFailure("y = maxpool(x, 2, stride = 0)\n", column: 19, containing: ["stride must be positive"])
        expectFailure("y = maxpool(x, [2, 2, 2])\n", column: 16, containing: ["list of 2 integers"])
    }

    /// Absurd strides and dilations give errors or exact counts, never a trap.
    @Test func hugePoolingArgumentsDoNotTrap() throws {
        let huge = try layer("y = maxpool(x, 3, stride = 9223372036854775807, padding = 1)\n", input: "[1, 1, 5, 5]", kind: "maxpool")
        // One output per axis, window [-1, 1]: 2 valid taps; 2 * 2 - 1 = 3 compares.
        #expect(huge.outputShapes == [[1, 1, 1, 1]])
        #expect(huge.cost.forward.flops == 3)
        let ceil = try layer("y = avgpool(x, 3, stride = 9223372036854775807, padding = 1, ceil_mode = true)\n", input: "[1, 1, 5, 5]", kind: "avgpool")
        #expect(ceil.outputShapes == [[1, 1, 1, 1]])
        // 2 * 2 valid taps + 1 div.
        #expect(ceil.cost.forward.flops == 5)
        expectFailure("y = maxpool(x, 2, dilation = 9223372036854775807)\n", input: "[1, 1, 5, 5]", column: 16, containing: ["larger than the padded input"])
        expectFailure("y = conv_transpose2d(x, 2, 3, stride = 9223372036854775807)\n", input: "[1, 1, 5, 5]", column: 31, containing: ["overflow"])
    }

    @Test func avgpool() throws {
        let body = "h = conv2d(x, 2, kernel = 1)\ny = avgpool(h, kernel = 3, stride = 2, padding = 1)\n"
        let pool = try layer(body, input: "[1, 3, 5, 5]", kind: "avgpool")
        #expect(pool.outputShapes == [[1, 2, 3, 3]])
        // Valid taps per axis 2 + 3 + 2 = 7: 49 adds + 9 divs per plane, 2 planes.
        #expect(pool.cost.forward == Work(flops: 2 * (49 + 9), macs: 0))
        // backward: one div per output, one add per valid tap.
        #expect(pool.cost.inputGradient.flops == Count(2 * (49 + 9)))

        let plain = try layer("h = conv2d(x, 2, kernel = 1)\ny = avgpool(h, 2, count_include_pad = false)\n", input: "[1, 3, 5, 5]", kind: "avgpool")
        // 2x2 outputs, 4 adds + 1 div each, 2 planes.
        #expect(plain.outputShapes == [[1, 2, 2, 2]])
        #expect(plain.cost.forward.flops == Count(4 * (4 + 1) * 2))
    }

    @Test func adaptiveAvgpool() throws {
        let body = "h = conv2d(x, 2, kernel = 1)\ny = adaptive_avgpool(h, 3)\n"
        let pool = try layer(body, input: "[1, 3, 5, 5]", kind: "adaptive_avgpool")
        #expect(pool.outputShapes == [[1, 2, 3, 3]])
        // 5 -> 3 bins: [0, ceil(5/3) = 2), [floor(5/3) = 1, ceil(10/3) = 4), [floor(10/3) = 3, 5):
        // sizes 2 + 3 + 2 = 7; 7 * 7 adds + 9 divs per plane, 2 planes.
        #expect(pool.cost.forward.flops == Count(2 * (49 + 9)))
        #expect(pool.cost.inputGradient.flops == Count(2 * (49 + 9)))

        let wide = try layer("h = conv2d(x, 2, kernel = 1)\ny = adaptive_avgpool(h, [2, 4])\n", input: "[1, 3, 5, 5]", kind: "adaptive_avgpool")
        // rows 5 -> 2: [0, 3), [2, 5) = 3 + 3 = 6; columns 5 -> 4: [0, 2), [1, 3), [2, 4), [3, 5) = 8.
        #expect(wide.outputShapes == [[1, 2, 2, 4]])
        #expect(wide.cost.forward.flops == Count(2 * (6 * 8 + 8)))

        let up = try layer("y = adaptive_avgpool(x, [7, 1])\n", input: "[1, 2, 5, 5]", kind: "adaptive_avgpool")
        // rows 5 -> 7: [0,1) [0,2) [1,3) [2,3) [2,4) [3,5) [4,5) = 1+2+2+1+2+2+1 = 11;
        // columns 5 -> 1: 5. 11 * 5 adds + 7 divs per plane.
        #expect(up.outputShapes == [[1, 2, 7, 1]])
        #expect(up.cost.forward.flops == Count(2 * (11 * 5 + 7)))
        #expect(up.cost.inputGradient == .zero)

        expectFailure("y = adaptive_avgpool(x, [2, 0])\n", column: 25, containing: ["output size must be positive"])
    }

    @Test func globalAvgpool() throws {
        let pool = try layer("h = conv2d(x, 3, kernel = 1)\ny = globalavgpool(h)\n", input: "[2, 3, 4, 4]", kind: "globalavgpool")
        #expect(pool.outputShapes == [[2, 3, 1, 1]])
        // 2 * 3 planes of 16: 16 adds + 1 div each.
        #expect(pool.cost.forward == Work(flops: 6 * (16 + 1), macs: 0))
        #expect(pool.cost.inputGradient.flops == Count(6 * (16 + 1)))
        expectFailure("y = globalavgpool(x)\n", input: "[2, 3]", column: 19, containing: ["[N, C, H, W]"])
    }

    // MARK: - Transposed convolution

    @Test func convTranspose2d() throws {
        let up = try layer("y = conv_transpose2d(x, 4, kernel = 3, stride = 2, padding = 1, output_padding = 1)\n",
                           input: "[1, 2, 3, 3]", kind: "conv_transpose2d")
        // (3 - 1) * 2 - 2 * 1 + 1 * (3 - 1) + 1 + 1 = 6
        #expect(up.outputShapes == [[1, 4, 6, 6]])
        // weight [2, 4, 3, 3] = 72, bias 4
        #expect(up.parameters == 72 + 4)
        // 18 input elements, each times 4 * 3 * 3 = 36 weights: 648 MACs; bias on 4 * 36 = 144 outputs.
        // (torch's FlopCounterMode: 3*3 * 3*3 * 1 * 2 * 4 * 2 = 1296 FLOPs without bias.)
        #expect(up.cost.forward == Work(flops: 2 * 648 + 144, macs: 648))
        #expect(up.cost.inputGradient == .zero)
        #expect(up.cost.weightGradient == Work(flops: 2 * 648 + 144, macs: 648))

        let grouped = try layer("h = conv2d(x, 2, kernel = 1)\ny = conv_transpose2d(h, 4, kernel = 3, stride = 2, groups = 2, bias = false)\n",
                                input: "[1, 2, 3, 3]", kind: "conv_transpose2d")
        // (3 - 1) * 2 + 2 + 1 = 7; weight [2, 2, 3, 3] = 36; 18 inputs * 2 * 9 = 324 MACs.
        #expect(grouped.outputShapes == [[1, 4, 7, 7]])
        #expect(grouped.parameters == 36)
        #expect(grouped.cost.forward == Work(flops: 648, macs: 324))
        #expect(grouped.cost.inputGradient == Work(flops: 648, macs: 324))
        #expect(grouped.cost.weightGradient == Work(flops: 648, macs: 324))
    }

    @Test func convTranspose2dErrors() {
        expectFailure("y = conv_transpose2d(x, 4, 3, stride = 2, output_padding = 2)\n", column: 43, containing: ["output_padding 2", "stride (2)"])
        expectFailure("y = conv_transpose2d(x, 4, 3, groups = 2)\n", column: 31, containing: ["groups = 2", "3"])
        expectFailure("y = conv_transpose2d(x, 4, 1, padding = 1)\n", input: "[1, 3, 1, 1]", column: 31, containing: ["crops the whole output"])
        expectFailure("y = conv_transpose2d(x, 4, 3)\n", input: "[1, 3, 5]", column: 22, containing: ["[N, C, H, W]"])
    }

    // MARK: - sub, mul, div

    /// h: [2, 3] and g: [2, 1], both needing gradients; g broadcasts to [2, 3] (6 elements).
    let operands = "h = linear(x, 3)\ng = linear(x, 1)\n"

    @Test func subtraction() throws {
        let sub = try layer(operands + "y = h - g\n", input: "[2, 5]", kind: "sub")
        #expect(sub.outputShapes == [[2, 3]])
        #expect(sub.cost.forward == Work(flops: 6, macs: 0))
        // left: dY as is (0); right: -dY (6) summed over the broadcast column (6).
        #expect(sub.cost.inputGradient.flops == Count(0 + 6 + 6))
        let swapped = try layer(operands + "y = sub(g, h)\n", input: "[2, 5]", kind: "sub")
        // left broadcast: 6 adds; right: 6 negations.
        #expect(swapped.cost.inputGradient.flops == Count(6 + 6))
        let number = try layer(operands + "y = h - 1\n", input: "[2, 5]", kind: "sub")
        #expect(number.cost.forward.flops == 6)
        #expect(number.cost.inputGradient.flops == 0)
    }

    @Test func multiplication() throws {
        let mul = try layer(operands + "y = h * g\n", input: "[2, 5]", kind: "mul")
        #expect(mul.cost.forward == Work(flops: 6, macs: 0))
        // left: dY * g (6); right: dY * h (6) summed over the broadcast column (6).
        #expect(mul.cost.inputGradient.flops == Count(6 + 6 + 6))
        let negated = try layer(operands + "y = -h\n", input: "[2, 5]", kind: "mul")
        // -h is mul(h, -1): 6 muls forward, dY * -1 backward.
        #expect(negated.cost.forward.flops == 6)
        #expect(negated.cost.inputGradient.flops == 6)
        let scaled = try layer(operands + "y = 2 * h\n", input: "[2, 5]", kind: "mul")
        #expect(scaled.outputShapes == [[2, 3]])
        #expect(scaled.cost.inputGradient.flops == 6)
    }

    @Test func division() throws {
        let div = try layer(operands + "y = h / g\n", input: "[2, 5]", kind: "div")
        #expect(div.cost.forward == Work(flops: 6, macs: 0))
        // left: dY / g (6); right: -dY * (h / g) / g = 4 per element (24), summed (6).
        #expect(div.cost.inputGradient.flops == Count(6 + 24 + 6))
        let number = try layer(operands + "y = h / 4\n", input: "[2, 5]", kind: "div")
        #expect(number.cost.inputGradient.flops == 6)
    }

    @Test func arithmeticErrors() {
        // [2, 3] and [2, 4] do not broadcast: both shapes are named, the caret is at 'other'.
        expectFailure("h = linear(x, 3)\nk = linear(x, 4)\ny = sub(h, k)\n", input: "[2, 5]", line: 5, column: 12,
                      containing: ["sub", "[2, 3]", "[2, 4]"])
        expectFailure("h = linear(x, 3)\nk = linear(x, 4)\ny = h * k\n", input: "[2, 5]", line: 5, column: 7,
                      containing: ["mul", "[2, 3]", "[2, 4]"])
        expectFailure("y = div(x, 0)\n", column: 12, containing: ["division by zero"])
    }
}
