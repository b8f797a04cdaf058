import Foundation
import Testing
@testable import NNFlops

/// The executor's memory against the memory model (README, "The reference executor", "Memory"): per node
/// the bytes kept for backward and the peak, exactly; checkpointing executed; every
/// optimizer's step FLOPs, state and temporaries; one update of each optimizer by hand.
@Suite struct ExecutorMemoryTests {
    /// Cases whose memory behaviour differs from the FLOP catalog's: in-place variants
    /// (relu family aliased; silu/hardswish/hardsigmoid keep a clone; dropout a float
    /// noise tensor), views whose kernels copy, a split piece nobody reads, a tensor kept
    /// by several nodes.
    static let memoryCases: [KernelCase] = [
        KernelCase("silu", "[3, 5]", "y = linear(x, 7)\ny = silu(y, inplace = true)\noutput linear(y, 2)"),
        KernelCase("hardswish", "[3, 5]", "y = linear(x, 7) * 4\ny = hardswish(y, inplace = true)\noutput linear(y, 2)"),
        KernelCase("hardsigmoid", "[3, 5]", "y = linear(x, 7) * 4\ny = hardsigmoid(y, inplace = true)\noutput linear(y, 2)"),
        KernelCase("dropout", "[3, 5]", "y = linear(x, 7)\ny = dropout(y, p = 0.3, inplace = true)\noutput linear(y, 2)"),
        KernelCase("dropout", "[3, 5]", "y = linear(x, 7)\ny = dropout(y, p = 0)\noutput linear(y, 2)"),
        KernelCase("relu", "[3, 5]", "y = linear(x, 7)\nz = relu(y, inplace = true)\noutput linear(z, 2) + linear(y, 2)"),
        KernelCase("relu", "[3, 5]", "y = linear(x, 7)\nz = relu(y)\noutput linear(z, 2) + linear(z, 2)"),
        KernelCase("permute", "[2, 3, 5]", "y = linear(x, 4)\nz = permute(y, [2, 0, 1])\noutput relu(z)"),
        KernelCase("expand", "[3, 1]", "y = linear(x, 1)\nz = expand(y, [3, 4])\noutput relu(z)"),
        KernelCase("split", "[2, 3, 10]", "h = linear(x, 10)\na, b, c = split(h, 4)\noutput linear(a, 2)"),
    ]

    static func engine(_ spec: String, _ options: ExecutionOptions = ExecutionOptions(seed: 1)) throws -> ExecutionEngine<Double> {
        let graph = try Elaborator.elaborate(source: spec, file: "t.spec")
        return try ExecutionEngine<Double>(graph: graph, options: options)
    }

    static func expectMemoryAgrees(_ report: ExecutionReport, _ label: String) {
        for row in report.rows where row.phase == .forward {
            #expect(row.analyticSavedBytes == row.executedSavedBytes,
                    "\(label) \(row.name): saved analytic \(row.analyticSavedBytes ?? -1) executed \(row.executedSavedBytes ?? -1)")
            #expect(row.analyticKeptBytes == row.executedKeptBytes,
                    "\(label) \(row.name): kept analytic \(row.analyticKeptBytes ?? -1) executed \(row.executedKeptBytes ?? -1)")
        }
        #expect(report.memory.peakBytes == report.memory.analyticPeakBytes,
                "\(label): peak analytic \(report.memory.analyticPeakBytes) (\(report.memory.analyticPeakLayer), \(report.memory.analyticPeakPhase)) executed \(report.memory.peakBytes) (\(report.memory.peakPoint?.name ?? "-"), \(report.memory.peakPoint?.phase.rawValue ?? "-"))")
        #expect(report.ok, "\(label): \(report.mismatches.map { "\($0.name) \($0.phase)" })")
    }

    /// Every operator's conformance case: saved bytes per node and the peak equal the
    /// memory model's, with SGD and with Adam (state and temporaries).
    @Test(arguments: ExecutorTests.cases + memoryCases)
    func savedBytesAndPeakEqualTheMemoryModel(_ c: KernelCase) throws {
        let spec = "model t\ninput x: \(c.input)\n" + c.body
        for optimizer in [Optimizer.sgd, .adam] {
            var options = ExecutionOptions(seed: 1, optimizer: optimizer)
            options.randomLossWeights = true
            let report = try Self.engine(spec, options).trainStep()
            Self.expectMemoryAgrees(report, "\(c.testDescription) [\(optimizer.rawValue)]")
        }
    }

    /// The saved sizes are what the kernels keep: a relu keeps its 28-element output
    /// (112 B), a maxpool its input (the conv output) and int64 indices (8 B each).
    @Test func savedBytesAreTheKernelsOwn() throws {
        let report = try Self.engine("model t\ninput x: [1, 1, 4, 4]\ny = conv2d(x, 2, kernel = 1, name = \"c\")\noutput maxpool(y, kernel = 2, name = \"p\")").trainStep()
        let pool = report.rows.first { $0.name == "p" && $0.phase == .forward }!
        #expect(pool.executedSavedBytes == 2 * 16 * 4 + 2 * 4 * 8)
        let relu = try Self.engine("model t\ninput x: [4, 3]\ny = linear(x, 7, name = \"l\")\noutput relu(y, name = \"r\")").trainStep()
        #expect(relu.rows.first { $0.name == "r" && $0.phase == .forward }!.executedSavedBytes == 4 * 7 * 4)
        Self.expectMemoryAgrees(report, "conv+pool")
    }

    // MARK: Checkpointing

    static let chain = """
    model chain
    input x: [4, 16]
    h = linear(x, 32, name = "l0")
    h = relu(h, name = "r0")
    h = linear(h, 32, name = "l1")
    h = relu(h, name = "r1")
    h = linear(h, 32, name = "l2")
    h = relu(h, name = "r2")
    h = linear(h, 32, name = "l3")
    h = relu(h, name = "r3")
    h = linear(h, 32, name = "l4")
    h = relu(h, name = "r4")
    h = linear(h, 32, name = "l5")
    h = gelu(h, name = "g5")
    output linear(h, 4, name = "head")
    """

    static let smallResNet = """
    model tiny_resnet
    input x: [2, 3, 12, 12]
    h = relu(batchnorm(conv2d(x, 8, kernel = 3, padding = 1, bias = false, name = "stem"), name = "stem_bn"), inplace = true, name = "stem_relu")
    a = relu(batchnorm(conv2d(h, 8, kernel = 3, padding = 1, bias = false, name = "block1.conv1"), name = "block1.bn1"), inplace = true, name = "block1.relu1")
    a = batchnorm(conv2d(a, 8, kernel = 3, padding = 1, bias = false, name = "block1.conv2"), name = "block1.bn2")
    h = relu(a + h, inplace = true, name = "block1.relu2")
    b = relu(batchnorm(conv2d(h, 16, kernel = 3, stride = 2, padding = 1, bias = false, name = "block2.conv1"), name = "block2.bn1"), inplace = true, name = "block2.relu1")
    b = batchnorm(conv2d(b, 16, kernel = 3, padding = 1, bias = false, name = "block2.conv2"), name = "block2.bn2")
    s = batchnorm(conv2d(h, 16, kernel = 1, stride = 2, bias = false, name = "block2.down"), name = "block2.down_bn")
    h = relu(b + s, inplace = true, name = "block2.relu2")
    h = globalavgpool(h, name = "pool")
    output linear(flatten(h, start = 1, name = "flat"), 5, name = "fc")
    """

    @Test(arguments: [(chain, CheckpointPolicy.segments(2)), (chain, .segments(3)), (chain, .sqrt),
                      (smallResNet, .segments(2)), (smallResNet, .sqrt), (smallResNet, .segments(4))])
    func checkpointingExecutesAsTheModelSays(_ spec: String, _ policy: CheckpointPolicy) throws {
        let plain = try Self.engine(spec).trainStep()
        let engine = try Self.engine(spec, ExecutionOptions(seed: 1, checkpoint: policy))
        #expect(!engine.segments.isEmpty, "\(policy): no segment checkpointed")
        let report = try engine.trainStep()
        Self.expectMemoryAgrees(report, "checkpoint \(policy)")
        let recompute = report.rows.first { $0.phase == .recompute }
        #expect(recompute != nil)
        #expect(recompute.map { $0.executedFLOPs > 0 && $0.executedFLOPs == $0.analyticFLOPs } == true,
                "\(policy): recompute analytic \(recompute?.analyticFLOPs ?? -1) executed \(recompute?.executedFLOPs ?? -1)")
        // Checkpointing keeps less after the forward, and the same gradients come out.
        #expect(report.memory.savedBytesAfterForward < plain.memory.savedBytesAfterForward)
        #expect(abs(report.loss - plain.loss) <= 1e-12 * max(1, abs(plain.loss)))
    }

    /// Recomputation reproduces the gradients: checkpointed and plain runs give the same
    /// parameter gradients.
    @Test func checkpointedGradientsEqualPlainOnes() throws {
        let plain = try Self.engine(Self.smallResNet).lossAndGradients()
        let checkpointed = try Self.engine(Self.smallResNet, ExecutionOptions(seed: 1, checkpoint: .segments(3))).lossAndGradients()
        for (a, b) in zip(plain.parameters, checkpointed.parameters) {
            guard let a, let b else { #expect(a == nil && b == nil); continue }
            for (x, y) in zip(a.toArray(), b.toArray()) { #expect(abs(x - y) <= 1e-9 * max(1, abs(x))) }
        }
    }

    // MARK: Optimizers

    static let mlp = "model t\ninput x: [4, 8]\nh = linear(x, 16, name = \"fc1\")\nh = relu(h, name = \"act\")\noutput linear(h, 2, name = \"fc2\")"

    struct OptimizerCase: Sendable, CustomTestStringConvertible {
        var optimizer: Optimizer
        var weightDecay: Double
        var gradClip: Double?
        var testDescription: String { "\(optimizer.rawValue) wd=\(weightDecay) clip=\(gradClip.map { "\($0)" } ?? "off")" }
    }

    static let optimizerCases: [OptimizerCase] = Optimizer.allCases.flatMap {
        [OptimizerCase(optimizer: $0, weightDecay: 0, gradClip: nil), OptimizerCase(optimizer: $0, weightDecay: 0.05, gradClip: 0.5)]
    }

    /// Executed step FLOPs, state bytes and the step's peak (temporaries) equal the
    /// analytic ones, for each optimizer with and without weight decay and clipping.
    @Test(arguments: optimizerCases)
    func optimizerStepEqualsAnalytic(_ c: OptimizerCase) throws {
        let options = ExecutionOptions(seed: 3, optimizer: c.optimizer, weightDecay: c.weightDecay, gradClip: c.gradClip)
        let engine = try Self.engine(Self.mlp, options)
        let report = try engine.trainStep()
        let row = report.rows.first { $0.phase == .optimizer }!
        #expect(row.executedFLOPs == row.analyticFLOPs, "\(c.testDescription): analytic \(row.analyticFLOPs) executed \(row.executedFLOPs)")
        #expect(row.executedFLOPs == engine.memory.optimizerFLOPs.value)
        #expect(report.memory.optimizerStateBytes == c.optimizer.stateTensors * 4 * 178)
        #expect(report.memory.optimizerStateBytes == report.memory.analyticOptimizerStateBytes)
        Self.expectMemoryAgrees(report, c.testDescription)
        // A graph whose peak is the optimizer step (big parameters, tiny activations):
        // the temporaries are what sets it.
        let wide = try Self.engine("model w\ninput x: [1, 64]\noutput linear(x, 64)", options).trainStep()
        Self.expectMemoryAgrees(wide, "wide " + c.testDescription)
        if c.optimizer.temporaries(weightDecay: c.weightDecay) > 0 {
            #expect(wide.memory.peakPoint?.phase == .optimizer)
        }
    }

    /// One update of a 2-element parameter, by hand: y = w . x (linear, no bias), loss =
    /// y, so g = x; lr 0.01, torch's defaults otherwise.
    @Test(arguments: Optimizer.allCases)
    func oneUpdateByHand(_ optimizer: Optimizer) throws {
        let engine = try Self.engine("model t\ninput x: [1, 2]\noutput linear(x, 1, bias = false)", ExecutionOptions(seed: 7, optimizer: optimizer))
        let p = engine.parameters[0].toArray(), g = engine.inputValues[0].toArray()
        _ = try engine.trainStep()
        let updated = engine.parameters[0].toArray()
        let lr = 0.01, wd = 0.01
        func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var expected: [Double]
        switch optimizer {
        case .sgd, .momentum:
            expected = (0..<2).map { p[$0] - lr * g[$0] }               // buf = g
        case .nesterov:
            expected = (0..<2).map { p[$0] - lr * (g[$0] + 0.9 * g[$0]) } // g + mu * buf
        case .adagrad:
            expected = (0..<2).map { p[$0] - lr * g[$0] / (abs(g[$0]) + 1e-10) }
        case .rmsprop:
            expected = (0..<2).map { p[$0] - lr * g[$0] / ((0.01 * g[$0] * g[$0]).squareRoot() + 1e-8) }
        case .adam:
            // m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) = g, v / (1 - 0.999) = g^2.
            expected = (0..<2).map { p[$0] - lr * g[$0] / (abs(g[$0]) + 1e-8) }
        case .adamw:
            expected = (0..<2).map { p[$0] * (1 - lr * wd) - lr * g[$0] / (abs(g[$0]) + 1e-8) }
        case .lamb:
            let u = (0..<2).map { g[$0] / (abs(g[$0]) + 1e-6) + wd * p[$0] }
            let ratio = norm(p) / norm(u)
            expected = (0..<2).map { p[$0] - lr * ratio * u[$0] }
        case .lars:
            let local = 0.001 * norm(p) / (norm(g) + wd * norm(p))
            expected = (0..<2).map { p[$0] - lr * local * (g[$0] + wd * p[$0]) }
        }
        for k in 0..<2 {
            #expect(abs(updated[k] - expected[k]) <= 1e-12 * max(1, abs(expected[k])),
                    "\(optimizer): p[\(k)] = \(updated[k]), by hand \(expected[k]) (p \(p[k]), g \(g[k]))")
        }
        #expect(updated != p)
    }
}
