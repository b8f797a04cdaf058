import Foundation
import Testing
@testable import NNFlops

/// The memory model (README, "Training and inference memory") on graphs small enough to work out by hand: every
/// rule of design §5, each optimizer and precision policy, checkpointing against the
/// closed form, inference, batchnorm folding, budgets and their exit codes.
@Suite("Memory model")
struct MemoryTests {
    static func analyze(_ source: String, _ configuration: RunConfiguration = RunConfiguration(optimizer: .sgd),
                        overrides: [String: Value] = [:]) throws -> (Graph, CostAnalysis, MemoryAnalysis) {
        try TestModel.memory(source, configuration, overrides: overrides)
    }

    static func saved(_ memory: MemoryAnalysis, _ name: String) throws -> Int {
        try #require(memory.layers.first { $0.name == name }).savedBytes
    }

    static let mlp = """
    model t
    input x: [4, 8]
    h = linear(x, 16, name = "fc1")
    h = relu(h, name = "act")
    output linear(h, 2, name = "fc2")
    """

    /// fp32, SGD. Parameters 16*8+16 + 2*16+2 = 178 (712 B); input 4*8*4 = 128 B.
    /// Forward: fc1 keeps x (a graph input: static) and not its weight (x needs no
    /// gradient); its output h [4,16] (256 B) is freed after relu, which keeps its own
    /// output a (256 B); fc2 keeps a too (the same tensor, once); output [4,2] 32 B.
    /// Saved at the end of forward: 256 + 32 = 288.
    /// Backward: seed 32; fc2: da 256, dW2 128 + db2 8 -> live a 256 + out 32 + seed 32 + 256
    /// + 136 = 712; act: dh 256 -> a 256 + out 32 + da 256 + 136 + dh 256 = 936; fc1: a and
    /// da freed, dW1 512 + db1 64 -> out 32 + 136 + dh 256 + 576 = 1000. Peak = 712 + 128 + 1000.
    @Test func handComputedMLP() throws {
        let (_, _, m) = try Self.analyze(Self.mlp)
        #expect(m.paramsBytes == 712)
        #expect(m.inputsBytes == 128)
        #expect(m.gradsBytes == 712)
        #expect(m.optimizerStateBytes == 0)
        #expect(m.savedActivationsBytes == 288)
        #expect(try Self.saved(m, "fc1") == 0)
        #expect(try Self.saved(m, "act") == 256)
        #expect(try Self.saved(m, "fc2") == 0)     // a is attributed to act, its first keeper
        #expect(m.layers.first { $0.name == "fc2" }!.keptBytes == 256)
        #expect(m.peakBytes == 712 + 128 + 1000)
        #expect(m.peakPhase == .backward)
        #expect(m.peakLayer == "fc1")
        #expect(m.peakLive.contains { $0.name == "grad fc1.weight" && $0.bytes == 512 })
    }

    static let cnn = """
    model t
    input x: [2, 3, 8, 8]
    y = conv2d(x, 4, kernel = 3, padding = 1, bias = false, name = "conv")
    y = batchnorm(y, name = "bn")
    y = relu(y, inplace = true, name = "relu")
    y = maxpool(y, kernel = 2, name = "pool")
    y = dropout(y, p = 0.5, name = "drop")
    y = flatten(y, name = "flat")
    output linear(y, 10, name = "fc")
    """

    /// conv output [2,4,8,8] = 512 floats = 2048 B, kept by bn with its fp32 save_mean and
    /// save_invstd (4 + 4 floats = 32 B); in-place relu keeps its output, which is bn's output
    /// storage (2048 B, allocated by bn, not again by relu); maxpool keeps that same tensor
    /// (once) and int64 indices [2,4,4,4] = 128 * 8 = 1024 B; its output (512 B) is freed
    /// after dropout, which keeps a 1-byte mask (128 B); flatten is a view, so fc keeps the
    /// dropout output (512 B); the output [2,10] is 80 B. conv keeps x, a graph input.
    @Test func everyRuleOnASmallCNN() throws {
        let (_, _, m) = try Self.analyze(Self.cnn)
        #expect(try Self.saved(m, "conv") == 0)
        #expect(try Self.saved(m, "bn") == 2048 + 32)
        #expect(try Self.saved(m, "relu") == 2048)
        #expect(try Self.saved(m, "pool") == 1024)
        #expect(try Self.saved(m, "drop") == 128)
        #expect(try Self.saved(m, "flat") == 0)
        #expect(try Self.saved(m, "fc") == 512)
        #expect(m.savedActivationsBytes == 2080 + 2048 + 1024 + 128 + 512 + 80)
        // Buffers: running mean and var (4 floats each) + int64 num_batches_tracked.
        #expect(m.buffersBytes == 8 * 4 + 8)
    }

    /// Not in place, relu allocates its output beside bn's: in inference both are live at
    /// relu's step (2 * 2048 + conv output 2048 until bn is done... bn has consumed it).
    /// Inference peak = weights + input + largest live set: conv (out 2048), bn (2048 in +
    /// 2048 out), relu (2048 + 2048 not in place, 2048 in place), pool, ...
    @Test func inPlaceAliasingInInference() throws {
        let inference = RunConfiguration(inference: true)
        let (_, _, inplace) = try Self.analyze(Self.cnn, inference)
        let (_, _, copy) = try Self.analyze(Self.cnn.replacingOccurrences(of: "inplace = true", with: "inplace = false"), inference)
        let staticBytes = inplace.paramsBytes + inplace.buffersBytes + inplace.inputsBytes
        // conv -> bn: conv output (2048) and bn output (2048) live at bn's step.
        #expect(inplace.peakBytes == staticBytes + 4096)
        #expect(copy.peakBytes == staticBytes + 4096)
        #expect(inplace.savedActivationsBytes == 80)     // only the output survives
        // relu's step: in place nothing new (2048 live); a copy: 2048 + 2048.
        let reluStep = { (m: MemoryAnalysis) in m.steps.first { $0.node == 2 }!.liveBytes - staticBytes }
        #expect(reluStep(inplace) == 2048)
        #expect(reluStep(copy) == 4096)
        #expect(inplace.gradsBytes == 0 && inplace.optimizerStateBytes == 0)
    }

    /// A tensor kept by several operators counts once: a = relu(x) is kept by relu (its
    /// output) and by both linears (their input).
    @Test func sharedSavedTensorCountsOnce() throws {
        let (_, _, m) = try Self.analyze("""
        model t
        input x: [4, 8]
        a = relu(linear(x, 8, name = "pre"), name = "act")
        b = linear(a, 4, name = "left")
        c = linear(a, 4, name = "right")
        output b + c
        """)
        // a 128 B once; the outputs b, c are freed after the add (add keeps nothing); the
        // output [4,4] 64 B.
        #expect(m.savedActivationsBytes == 128 + 64)
        #expect(m.layers.first { $0.name == "right" }!.keptBytes == 128)
        #expect(try Self.saved(m, "right") == 0)
    }

    /// Parameters, gradients and optimizer state per policy and optimizer, P trainable.
    @Test(arguments: Optimizer.allCases)
    func optimizerStateAndStepFLOPs(_ optimizer: Optimizer) throws {
        let p = 178
        let (_, _, m) = try Self.analyze(Self.mlp, RunConfiguration(optimizer: optimizer))
        let state: [Optimizer: Int] = [.sgd: 0, .momentum: 1, .nesterov: 1, .adagrad: 1, .rmsprop: 1, .adam: 2, .adamw: 2, .lamb: 2, .lars: 1]
        let flops: [Optimizer: Int] = [.sgd: 2, .momentum: 4, .nesterov: 5, .adagrad: 7, .rmsprop: 8, .adam: 14, .adamw: 16, .lamb: 20, .lars: 11]
        #expect(m.optimizerStateBytes == state[optimizer]! * 4 * p)
        // LAMB and LARS add their trust ratio's scalar work per tensor (4 tensors).
        let perTensor: [Optimizer: Int] = [.lamb: 6, .lars: 8]
        let trust = (perTensor[optimizer] ?? 0) * 4
        #expect(m.optimizerFLOPs.value == flops[optimizer]! * p + trust)
        // Coupled weight decay adds 2 per parameter; clipping 3 per parameter + 3 per tensor + 4.
        let (_, _, decayed) = try Self.analyze(Self.mlp, RunConfiguration(optimizer: optimizer, weightDecay: 0.01, gradClip: 1))
        let decay = optimizer.decayIsCoupled ? 2 * p : 0
        #expect(decayed.optimizerFLOPs.value == flops[optimizer]! * p + trust + decay + 3 * p + 3 * 4 + 4)
    }

    /// Bytes per parameter with Adam: fp32 4 + 4 + 8; autocast keeps fp32 weights, gradients
    /// and state (16); pure half 2 + 2 + fp32 master 4 + 8 = 16 (errata item 4).
    @Test(arguments: PrecisionPolicy.allCases)
    func bytesPerParameter(_ precision: PrecisionPolicy) throws {
        let p = 178
        let (_, _, m) = try Self.analyze(Self.mlp, RunConfiguration(optimizer: .adam, precision: precision))
        let weight = precision.isPureHalf ? 2 : 4
        #expect(m.paramsBytes == weight * p)
        #expect(m.gradsBytes == weight * p)
        #expect(m.masterParamsBytes == (precision.isPureHalf ? 4 * p : 0))
        #expect(m.optimizerStateBytes == 8 * p)
        #expect(m.paramsBytes + m.gradsBytes + m.masterParamsBytes + m.optimizerStateBytes == 16 * p)
        // Pure half halves the activations: a (4x16) and the output (4x2) at 2 bytes.
        if precision.isPureHalf { #expect(m.savedActivationsBytes == 144) }
        if precision == .fp32 { #expect(m.savedActivationsBytes == 288) }
    }

    /// Autocast: fc1 (lower precision) keeps a bf16 copy of its fp32 input x (4*8*2 = 64 B);
    /// its bf16 weight copy is cached for the forward but not kept (x needs no gradient);
    /// softmax (an fp32 op) casts h up (a transient copy) and keeps its fp32 output
    /// (4*16*4 = 256 B); fc2 keeps a bf16 copy of that (128 B) and a bf16 copy of its weight
    /// (2*16*2 = 64 B); the output is bf16 [4,2] = 16 B. Total 64 + 256 + 128 + 64 + 16.
    @Test func autocastCastsAndTypes() throws {
        let source = """
        model t
        input x: [4, 8]
        h = linear(x, 16, name = "fc1")
        s = softmax(h, name = "sm")
        output linear(s, 2, name = "fc2")
        """
        let (_, _, m) = try Self.analyze(source, RunConfiguration(precision: .ampBF16))
        #expect(try Self.saved(m, "fc1") == 64)
        #expect(try Self.saved(m, "sm") == 256)
        #expect(try Self.saved(m, "fc2") == 128 + 64)
        #expect(m.savedActivationsBytes == 64 + 256 + 128 + 64 + 16)
        let (_, _, fp32) = try Self.analyze(source)
        // fp32: fc1 keeps x (static), sm keeps s (256), fc2 keeps s (the same) and its weight (static).
        #expect(fp32.savedActivationsBytes == 256 + 32)
    }

    /// Fused attention keeps q, k, v (here three views of one qkv tensor: once), the output
    /// and an fp32 log-sum-exp [B, heads, n]; naive keeps the probabilities [B, heads, n, n]
    /// and with dropout a bool mask and the dropped probabilities.
    @Test func attentionKeeps() throws {
        func source(_ impl: String) -> String {
            """
            model t
            input x: [2, 16, 32]
            qkv = linear(x, 96, name = "qkv")
            q, k, v = split(qkv, 32, dim = -1)
            a = attention(q, k, v, heads = 4, causal = true, impl = "\(impl)", dropout = 0.1, name = "attn")
            output linear(a, 32, name = "proj")
            """
        }
        let (_, _, fused) = try Self.analyze(source("fused"))
        // qkv [2,16,96] 12288 B (first kept by attention); output [2,16,32] 4096 B; lse 2*4*16*4 = 512.
        #expect(try Self.saved(fused, "attn") == 12288 + 4096 + 512)
        #expect(try Self.saved(fused, "proj") == 0)   // its input is attention's output, kept already
        let (_, _, naive) = try Self.analyze(source("naive"))
        // scores [2,4,16,16] = 2048 entries: probabilities 8192 B, mask 2048 B, dropped 8192 B.
        #expect(try Self.saved(naive, "attn") == 12288 + 8192 + 2048 + 8192)
        #expect(try Self.saved(naive, "proj") == 4096)
    }

    static let chain = """
    model chain
    param batch = 256
    param layers = 16
    input x: [batch, 64]
    block layer(x):
        return linear(x, 64, name = "fc")
    for i in range(layers):
        x = layer(x, name = i)
    output x
    """

    /// L equal linear layers, b = 256, d = 64 (each keeps its input, b*d*4 = 65536 B, the first's input being
    /// the graph input). No checkpointing: L - 1 kept inputs + the output = L * a, a = 65536.
    /// segments=K (L = K*s): torch's checkpoint_sequential checkpoints K - 1 segments (each
    /// keeps only its input: segment 0's is x, static) and runs the last normally (s kept
    /// inputs): (K - 2 + s + 1) * a. Recompute re-runs the K - 1 checkpointed segments'
    /// forward, (K - 1) * s * F, F = 2*b*d*d + b*d, not the last segment (errata item 7).
    @Test(arguments: [(16, 4), (16, 2), (12, 3), (16, 16)])
    func checkpointingClosedForm(_ layers: Int, _ k: Int) throws {
        let overrides: [String: Value] = ["layers": .int(layers)]
        let (_, costs, none) = try Self.analyze(Self.chain, overrides: overrides)
        let a = 256 * 64 * 4
        #expect(none.savedActivationsBytes == layers * a)
        #expect(none.recomputeFLOPs == .zero)
        let (_, _, ckpt) = try Self.analyze(Self.chain, RunConfiguration(optimizer: .sgd, checkpoint: .segments(k)), overrides: overrides)
        let s = layers / k
        #expect(ckpt.checkpointedSegments.count == k - 1)
        #expect(ckpt.savedActivationsBytes == (k - 2 + s + 1) * a)
        let f = 2 * 256 * 64 * 64 + 256 * 64
        #expect(ckpt.recomputeFLOPs.value == (k - 1) * s * f)
        #expect(costs.forward.flops.value == layers * f)
        // One layer per segment (K = L) keeps exactly what the layers kept: no saving.
        if s > 1 { #expect(ckpt.peakBytes < none.peakBytes) } else { #expect(ckpt.peakBytes == none.peakBytes) }
    }

    /// sqrt: K = round(sqrt(L)) = 4 for L = 16.
    @Test func sqrtCheckpointing() throws {
        let (_, _, m) = try Self.analyze(Self.chain, RunConfiguration(optimizer: .sgd, checkpoint: .sqrt))
        #expect(m.checkpointedSegments.count == 3)
        #expect(m.savedActivationsBytes == (2 + 4 + 1) * 256 * 64 * 4)
    }

    /// Gradient accumulation: the graph at the micro-batch; gradients live from the start.
    @Test func microBatches() throws {
        let (_, _, one) = try Self.analyze(Self.mlp)
        let (_, _, four) = try Self.analyze(Self.mlp, RunConfiguration(optimizer: .sgd, accumulationSteps: 4))
        #expect(four.savedActivationsBytes == one.savedActivationsBytes)
        // Every gradient exists through the forward. The single-step peak (fc1's backward)
        // already holds all 712 B of gradients; accumulating adds fc1's contribution (576 B),
        // computed before it is added in.
        #expect(four.peakBytes == one.peakBytes + 576)
    }

    /// --fold-bn: batchnorm disappears into the conv, which gains a bias.
    @Test func foldBatchNorm() throws {
        let graph = try Elaborator.elaborate(source: Self.cnn, file: "t.spec")
        let folded = graph.foldingNormalizations()
        #expect(folded.nodes.count == graph.nodes.count - 1)
        #expect(!folded.nodes.contains { $0.name == "bn" })
        let before = try CostAnalysis(graph: graph), after = try CostAnalysis(graph: folded)
        // bn: weight + bias (8) vanish; conv gains a bias (4).
        #expect(after.parameters == before.parameters - 8 + 4)
        let bn = before.layers.first { $0.name == "bn" }!.cost.forward.flops
        let conv = before.layers.first { $0.name == "conv" }!.cost.forward.flops
        #expect(after.forward.flops == before.forward.flops - bn + 512)       // + one bias add per conv output
        #expect(after.layers.first { $0.name == "conv" }!.cost.forward.flops == conv + 512)
        let m = try MemoryAnalysis(graph: folded, costs: after, configuration: RunConfiguration(inference: true))
        #expect(m.buffersBytes == 0)
    }

    /// --weight-precision: stored model size.
    @Test func weightPrecision() throws {
        for (precision, bytes) in [(WeightPrecision.fp16, 356), (.int8, 178), (.int4, 64 + 8 + 16 + 1)] {
            let (_, _, m) = try Self.analyze(Self.mlp, RunConfiguration(inference: true, weightPrecision: precision))
            #expect(m.paramsBytes == bytes)
        }
    }

    /// Budgets: metrics against limits; the spec's own budget statements.
    @Test func budgets() throws {
        let (graph, costs, m) = try Self.analyze(Self.mlp + "\nbudget params <= 100\n")
        let metrics = try RunMetrics(costs: costs, memory: m)
        #expect(metrics.params == 178)
        #expect(metrics.trainFLOPs == costs.trainStep.flops.value + 2 * 178)
        let violations = BudgetCheck.violations(metrics, BudgetCheck.limits(of: graph)
            + [BudgetLimit(metric: .peakMemory, limit: 1e9, source: "--max-peak-memory")])
        #expect(violations == [BudgetViolation(metric: .params, actual: 178, limit: 100, source: "t.spec:6:1")])
    }

    @Test func budgetExitCodes() throws {
        let cli = CLITests()
        let spec = try cli.temporarySpec(Self.mlp)
        let within = try cli.run(["check", spec.path, "--max-peak-memory", "1MiB", "--max-params", "1K"])
        #expect(within.status == 0, "\(within.stdout)\(within.stderr)")
        let over = try cli.run(["check", spec.path, "--max-peak-memory", "1KiB", "--format", "json"])
        #expect(over.status == 1)
        #expect(over.stdout.contains("\"schema\" : \"nnflops.check/1\""))
        #expect(over.stdout.contains("\"ok\" : false"))
        // Adam (check's default): static 712 + 1424 state + 128 input; the peak is the step:
        // gradients 712 + Adam's sqrt(v) + eps temporary 712. 2264 + 1424 = 3688.
        #expect(over.stdout.contains("\"actual\" : 3688"))
        let bad = try cli.run(["check", spec.path, "--max-peak-memory", "lots"])
        #expect(bad.status == 2)
        let inSpec = try cli.temporarySpec(Self.mlp + "\nbudget peak_memory <= 1KiB\n")
        #expect(try cli.run(["check", inSpec.path]).status == 1)
        let fit = try cli.run(["fit", "resnet18", "--memory", "8GiB", "--precision", "fp32", "--checkpoint", "none", "--format", "json"])
        #expect(fit.status == 0)
        #expect(fit.stdout.contains("\"schema\" : \"nnflops.fit/1\""))
        #expect(fit.stdout.contains("\"max_batch\""))
    }

    /// The batch search: peak at max_batch fits, at max_batch + 1 it does not.
    @Test func fitFindsTheLargestBatch() throws {
        let source = Zoo.source(named: "resnet18")!
        let config = RunConfiguration(optimizer: .adam)
        let capacity = 4 << 30
        let row = try BatchFit.search(capacity: capacity, configuration: config) { b in
            try Elaborator.elaborate(source: source, file: "r.spec", overrides: ["batch": .int(b)])
        }
        #expect(row.maxBatch > 1)
        #expect(row.peakBytes <= capacity)
        let graph = try Elaborator.elaborate(source: source, file: "r.spec", overrides: ["batch": .int(row.maxBatch + 1)])
        let next = try MemoryAnalysis(graph: graph, costs: CostAnalysis(graph: graph), configuration: config)
        #expect(next.peakBytes > capacity)
    }
}
