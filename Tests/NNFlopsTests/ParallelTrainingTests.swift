import Foundation
import Testing
@testable import NNFlops

/// Training on many GPUs (README, "Training on many GPUs"): ZeRO against Rajbhandari et
/// al. 2020's table, the collectives' ring volumes by hand, the pipeline's bubble and
/// in-flight micro-batches, and the layouts a model refuses.
@Suite struct ParallelTrainingTests {
    /// Rajbhandari et al. 2020 (arXiv 1910.02054), §5 and Figure 1: Psi = 7.5B parameters,
    /// mixed precision with Adam (K = 12 bytes of optimizer state per parameter: the fp32
    /// master weights, momentum and variance), N = 64 data-parallel GPUs:
    ///   baseline      (2 + 2 + K) Psi            = 120 GB
    ///   P_os          2 Psi + 2 Psi + K Psi / N  = 31.4 GB
    ///   P_os+g        2 Psi + (2 + K) Psi / N    = 16.6 GB
    ///   P_os+g+p      (2 + 2 + K) Psi / N        = 1.9 GB
    /// Our pure bf16 policy keeps exactly those states: bf16 parameters and gradients, fp32
    /// master weights and Adam's two fp32 moments.
    @Test func zeroStagesAreRajbhandariTable() throws {
        let source = """
        model zero
        input x: [1, 100000]
        output linear(x, 75000, bias = false, name = "w")
        """
        let graph = try Elaborator.elaborate(source: source, file: "zero.spec")
        let psi = 7_500_000_000
        #expect(graph.parameterCount.value == psi)
        let costs = try CostAnalysis(graph: graph)
        let n = 64
        // (stage, bytes by the paper's formula written out, the paper's GB figure).
        let table: [(ZeROStage, Int, Double)] = [
            (.none, 16 * psi, 120),
            (.optimizerState, 4 * psi + 12 * psi / n, 31.4),
            (.gradients, 2 * psi + 14 * psi / n, 16.6),
            (.parameters, 16 * psi / n, 1.9),
        ]
        for (stage, expected, paperGB) in table {
            var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
            configuration.parallel = ParallelLayout(gpus: n, zero: stage)
            let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
            let states = memory.paramsBytes + memory.gradsBytes + memory.masterParamsBytes + memory.optimizerStateBytes
            #expect(states == expected, "ZeRO-\(stage.rawValue)")
            #expect((Double(states) / 1e8).rounded() / 10 == paperGB, "ZeRO-\(stage.rawValue): \(Double(states) / 1e9) GB")
        }
    }

    /// Korthikanti et al. 2022 (arXiv 2205.05198), Table 2: activation memory of one
    /// transformer layer with 16-bit activations, s = 2048, b = 1, their GPT configurations
    /// (Table 3: 22B, 175B, 530B, 1T, all at t = 8):
    ///   no parallelism             sbh (34 + 5as/h)
    ///   tensor parallel            sbh (10 + 24/t + 5as/(ht))
    ///   tensor + sequence parallel sbh (34/t + 5as/(ht))
    /// The graph is their layer (GPT-2's block with its three dropouts, eager attention),
    /// whose second copy (h.1, reading the first's output as a real layer does) is measured
    /// in pure bf16. It keeps what their closed form counts and two things it leaves out:
    /// transformers' eager attention keeps the softmax in fp32 (4 bytes, not 2: + 2as²b,
    /// split over t with the heads), and each of the two layernorms keeps its mean and
    /// rstd in fp32 (2 x 8sb bytes; split over t under sequence parallelism).
    @Test(arguments: [(64, 6144), (96, 12288), (128, 20480), (160, 25600)])
    func activationsPerLayerAreKorthikantiTable2(heads a: Int, hidden h: Int) throws {
        let s = 2048, b = 1, t = 8
        let source = """
        model korthikanti
        param s = \(s)
        param h = \(h)
        param a = \(a)
        input x: [\(b), s, h] bf16
        block layer(x):
            y = layernorm(x, eps = 1e-5, name = "ln_1")
            qkv = linear(y, 3 * h, parallel = "column", name = "c_attn")
            q, k, v = split(qkv, h, dim = -1, name = "split")
            o = attention(q, k, v, heads = a, causal = true, dropout = 0.1, impl = "eager", name = "attention")
            x = x + dropout(linear(o, h, parallel = "row", name = "c_proj"), 0.1, name = "resid_dropout")
            y = gelu(linear(layernorm(x, eps = 1e-5, name = "ln_2"), 4 * h, parallel = "column", name = "c_fc"), approximate = "tanh", name = "act")
            return x + dropout(linear(y, h, parallel = "row", name = "c_proj2"), 0.1, name = "dropout")
        x = layer(x, name = "h.0")
        output layer(x, name = "h.1")
        """
        let graph = try Elaborator.elaborate(source: source, file: "korthikanti.spec")
        func perLayer(degree: Int, sequenceParallel: Bool) throws -> Int {
            let rank = try TensorParallelGraph(graph: graph, degree: degree, sequenceParallel: sequenceParallel)
            var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
            configuration.parallel = ParallelLayout(gpus: degree, tensor: degree, sequenceParallel: sequenceParallel)
            let memory = try MemoryAnalysis(graph: rank.graph, costs: try CostAnalysis(graph: rank.graph), configuration: configuration)
            return memory.layers.filter { $0.name.hasPrefix("h.1.") }.reduce(0) { $0 + $1.savedBytes }
        }
        let sbh = s * b * h, scores = a * s * s * b
        // Their closed forms (bytes), and what the graph adds to each.
        let none = sbh * 34 + 5 * scores
        let tensor = sbh * 10 + sbh * 24 / t + 5 * scores / t
        let sequence = sbh * 34 / t + 5 * scores / t
        let stats = 2 * 8 * s * b
        #expect(try perLayer(degree: 1, sequenceParallel: false) == none + 2 * scores + stats)
        #expect(try perLayer(degree: t, sequenceParallel: false) == tensor + 2 * scores / t + stats)
        #expect(try perLayer(degree: t, sequenceParallel: true) == sequence + 2 * scores / t + stats / t)
    }

    /// The zoo's gpt3-175b (Korthikanti et al.'s 175B configuration: a = 96, h = 12288,
    /// s = 2048) against Table 2 at t = 8, b = 1, pure bf16. The spec has no dropout and
    /// runs flash attention, so two of the closed form's terms are not there: the two
    /// residual dropout masks (sbh each; split under sequence parallelism) and the stored
    /// scores (5as²b); flash keeps instead its logsumexp, fp32 [b, a, s] (4abs, split with
    /// the heads). With each layernorm's fp32 mean and rstd (8sb each), the layer keeps
    /// exactly sbh (34 - 2), sbh (10 - 2 + 24/t) and sbh (34 - 2)/t.
    @Test func zooGPT3LayerIsKorthikantiTable2WithoutDropout() throws {
        let s = 2048, b = 1, h = 12288, a = 96, t = 8
        let graph = try ModelRequest("gpt3-175b", overrides: ["layers": .int(2)]).graph()
        func perLayer(degree: Int, sequenceParallel: Bool) throws -> Int {
            let rank = try TensorParallelGraph(graph: graph, degree: degree, sequenceParallel: sequenceParallel)
            var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
            configuration.parallel = ParallelLayout(gpus: degree, tensor: degree, sequenceParallel: sequenceParallel)
            let memory = try MemoryAnalysis(graph: rank.graph, costs: try CostAnalysis(graph: rank.graph), configuration: configuration)
            return memory.layers.filter { $0.name.hasPrefix("h.1.") }.reduce(0) { $0 + $1.savedBytes }
        }
        let sbh = s * b * h, logsumexp = 4 * a * b * s, stats = 2 * 8 * s * b
        #expect(try perLayer(degree: 1, sequenceParallel: false) == sbh * (34 - 2) + logsumexp + stats)
        #expect(try perLayer(degree: t, sequenceParallel: false) == sbh * (10 - 2) + sbh * 24 / t + logsumexp / t + stats)
        #expect(try perLayer(degree: t, sequenceParallel: true) == sbh * (34 - 2) / t + logsumexp / t + stats / t)
    }

    /// Narayanan et al. 2021 (arXiv 2104.04473), Table 1: GPT-3 175B trains with T = 8 and
    /// P = 16 on 1536 80 GB A100s (global batch 1536, micro-batch 1, activation
    /// recomputation, mixed precision with Adam); P = 8 fits as well. T = 1, P = 1 holds
    /// 16 bytes per parameter, 2.8 TB, on one GPU, and does not.
    @Test func gpt3LayoutsFitAnA100AsNarayanan() throws {
        let capacity = try #require(GPUProfile.named("a100-sxm-80gb").reportedMemoryBytes)
        func peak(tensor: Int, pipeline: Int, gpus: Int) throws -> (bytes: Int, stage: String) {
            var configuration = RunConfiguration(optimizer: .adam, precision: .bf16, checkpoint: .sqrt)
            configuration.parallel = ParallelLayout(gpus: gpus, tensor: tensor, pipeline: pipeline)
            let request = try ModelRequest("gpt3-175b", overrides: ["batch": .int(gpus / (tensor * pipeline) * 128)])
            let (graph, run) = try request.run(configuration, microBatch: 1)
            let analysis = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: run)
            #expect(analysis.microBatches == 128)
            return (analysis.peak.peakBytes, analysis.peak.name)
        }
        for pipeline in [16, 8] {
            let (bytes, stage) = try peak(tensor: 8, pipeline: pipeline, gpus: 8 * pipeline * 12)
            #expect(Double(bytes) < capacity, "T = 8, P = \(pipeline): \(bytes) bytes at \(stage)")
            // The first stage holds the most micro-batches (P of them under 1F1B) and the embedding.
            #expect(stage.hasPrefix("stage 1 "))
        }
        let (whole, _) = try peak(tensor: 1, pipeline: 1, gpus: 1)
        #expect(whole > 16 * 174_604_259_328)
        #expect(Double(whole) > capacity)
    }

    /// NCCL ring volumes and times by hand on two tensor-parallel MLP layers, T = 4 and
    /// D = 2 on one H100 node (NVLink 4: 900 GB/s both ways, 450e9 bytes/s each way; NCCL
    /// 2.28.9's tuning.cc: 8.4 us a call, 3.4 us a ring step), pure bf16, m = 2 micro-batches
    /// of [4, 128, 256].
    @Test func ringVolumesAndTimesByHand() throws {
        let source = """
        model comm
        input x: [4, 128, 256] bf16
        block mlp(x):
            return linear(relu(linear(x, 1024, parallel = "column", name = "fc1")), 256, parallel = "row", name = "fc2")
        x = mlp(x, name = "h.0")
        output mlp(x, name = "h.1")
        """
        let graph = try Elaborator.elaborate(source: source, file: "comm.spec")
        var configuration = RunConfiguration(optimizer: .adam, precision: .bf16, accumulationSteps: 2)
        configuration.parallel = ParallelLayout(gpus: 8, tensor: 4)
        let analysis = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: configuration)
        let time = try ParallelStepTime(analysis: analysis, roof: Roof(gpu: GPUProfile.named("h100-sxm")))
        let collectives = time.stages[0].communication.collectives
        func find(_ kind: OperatorCollective.Kind, _ group: CommunicationAnalysis.Group, _ what: String) throws -> CommunicationAnalysis.Collective {
            try #require(collectives.first { $0.kind == kind && $0.group == group && $0.what == what })
        }
        let activation = 4 * 128 * 256 * 2                     // one [4, 128, 256] bf16 buffer: 262,144 bytes
        let ring = 2.0 * 3 / 4                                  // all-reduce over n = 4: 2 (n - 1) / n
        let bandwidth = 450e9, call = 8.4e-6, step = 3.4e-6
        // Forward: g after each row-parallel fc2, 2 per micro-batch.
        let forward = try find(.allReduce, .tp, "activations")
        #expect(forward.count == 4 && forward.bufferBytes == 4 * activation)
        #expect(forward.bytesPerGPU == Int(ring * Double(4 * activation)))
        #expect(abs(forward.time! - (ring * Double(4 * activation) / bandwidth + 4 * (call + 6 * step))) < 1e-12)
        // Backward: f before h.1's fc1 (h.0's input is data: no gradient to reduce).
        let backward = try find(.allReduce, .tp, "activation gradients")
        #expect(backward.count == 2 && backward.bytesPerGPU == Int(ring * Double(2 * activation)))
        // Data parallel: one rank's gradients, bf16: per layer fc1 [256, 256] + 256, fc2 [256, 256] + 256 (its bias whole).
        let gradients = 2 * (256 * 256 + 256 + 256 * 256 + 256) * 2
        let dp = try find(.allReduce, .dp, "gradients")
        #expect(dp.count == 1 && dp.ranks == 2 && dp.nodes == 1)
        #expect(dp.bytesPerGPU == gradients)                   // 2 (n - 1) / n = 1 for n = 2
        #expect(abs(dp.time! - (Double(gradients) / bandwidth + call + 2 * step)) < 1e-12)
        #expect(time.stages[0].communication.bytesPerGPU == forward.bytesPerGPU + backward.bytesPerGPU + gradients)
        // The gradient all-reduce runs during the backward: only its last (and only) bucket is exposed.
        #expect(dp.exposedTime == dp.time)
        #expect(forward.exposedTime == forward.time)
    }

    /// Reduce-scatter and all-gather volumes, (n - 1) / n of the buffer, and the network
    /// between nodes: ZeRO-2 over D = 16 ranks spans two 8-GPU nodes, at 400 Gb/s per GPU.
    @Test func reduceScatterOverTheNetworkByHand() throws {
        let source = """
        model zero
        input x: [8, 1024] bf16
        output linear(x, 1024, bias = false, name = "w")
        """
        let graph = try Elaborator.elaborate(source: source, file: "zero.spec")
        var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
        configuration.parallel = ParallelLayout(gpus: 16, zero: .gradients)
        let analysis = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: configuration)
        let time = try ParallelStepTime(analysis: analysis, roof: Roof(gpu: GPUProfile.named("a100-sxm-80gb")))
        let collectives = time.stages[0].communication.collectives
        let gradients = 1024 * 1024 * 2
        let scatter = try #require(collectives.first { $0.kind == .reduceScatter && $0.group == .dp })
        #expect(scatter.nodes == 2 && scatter.bytesPerGPU == gradients * 15 / 16)
        // The call's base latency (8.4 us) and 15 ring steps, one of them between the nodes
        // (14.0 us), the rest on NVLink (3.4 us).
        #expect(abs(scatter.time! - (Double(gradients * 15 / 16) / 50e9 + 8.4e-6 + 14 * 3.4e-6 + 14.0e-6)) < 1e-12)
        let gather = try #require(collectives.first { $0.kind == .allGather && $0.group == .dp && $0.what == "parameters" })
        #expect(gather.bytesPerGPU == gradients * 15 / 16)
    }

    /// The bubble: (P - 1) / (m + P - 1) for 1F1B and GPipe, divided by V interleaved; the
    /// micro-batches each stage holds (1F1B: P - i; GPipe: all m).
    @Test func pipelineBubbleAndInFlight() throws {
        let roof = try Roof(gpu: GPUProfile.named("h100-sxm"))
        func analysis(_ schedule: PipelineSchedule) throws -> (ParallelAnalysis, ParallelStepTime) {
            var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
            configuration.parallel = ParallelLayout(gpus: 4, pipeline: 4, schedule: schedule)
            let (graph, run) = try ModelRequest("gpt2", overrides: ["batch": .int(8), "seq": .int(128)]).run(configuration, microBatch: 1)
            let parallel = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: run)
            return (parallel, try ParallelStepTime(analysis: parallel, roof: roof))
        }
        let (oneF, oneFTime) = try analysis(.oneForwardOneBackward)
        #expect(oneF.microBatches == 8)
        #expect(oneF.stages.map(\.inFlight) == [4, 3, 2, 1])
        #expect(abs(oneFTime.bubbleFraction - 3.0 / 11) < 1e-12)
        let (gpipe, gpipeTime) = try analysis(.gpipe)
        #expect(gpipe.stages.map(\.inFlight) == [8, 8, 8, 8])
        #expect(abs(gpipeTime.bubbleFraction - 3.0 / 11) < 1e-12)
        let (_, interleavedTime) = try analysis(.interleaved(2))
        #expect(abs(interleavedTime.bubbleFraction - 1.5 / 9.5) < 1e-12)
        // The parameters are cut, not copied: the stages hold the model's, once (wte, tied to lm_head, in both end stages).
        let model = try ModelRequest("gpt2", overrides: ["seq": .int(128)]).graph().parameterCount.value
        #expect(oneF.stages.reduce(0) { $0 + $1.parameters } == model + 50257 * 768)
    }

    /// Bad layouts: a clear error and exit 2 (README, "Training on many GPUs").
    @Test(arguments: [
        (["gpt2", "--tp", "8"], "--tp 8 does not divide its 12 heads"),
        (["llama2-7b", "--tp", "3"], "does not divide its 32 heads"),
        (["gpt2", "--pp", "13"], "--pp cuts the model into 13 pipeline pieces, but it has 12 layers"),
        (["gpt2", "--gpus", "6", "--tp", "4"], "--gpus 6 is not a multiple of --tp 4 x --pp 1 = 4"),
        (["gpt2", "--gpus", "4", "--batch", "2"], "it must be a multiple of 4"),
        (["gpt2", "--sequence-parallel"], "--sequence-parallel needs --tp 2 or more"),
        (["gpt2", "--zero", "1"], "--zero 1 shards over the data-parallel ranks"),
        (["gpt2", "--pp", "2", "--pipeline-split", "h.3,h.6"], "--pipeline-split names 2 split points; 2 pipeline pieces need 1"),
        (["gpt2", "--pp", "2", "--pipeline-split", "h.99"], "'h.99' is not a top-level unit"),
        (["gpt2", "--fsdp", "--zero", "1", "--gpus", "2", "--batch", "2"], "--fsdp is --zero 3"),
        (["gpt2", "--pp", "2", "--pipeline-schedule", "interleaved=1"], "--pipeline-schedule"),
    ])
    func badLayoutsExitTwo(_ arguments: [String], _ message: String) throws {
        let result = try CLITests().run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stdout)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLITests().run(arguments + ["--format", "json"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    static func number(_ object: Any?) -> Double { (object as? NSNumber)?.doubleValue ?? .nan }

    /// `fit` for a layout answers what `analyze` reports: the largest micro-batch (dividing a
    /// data-parallel rank's 16 samples) whose worst stage's peak fits, and the next one does not.
    @Test func fitForALayoutIsWhatAnalyzeReports() throws {
        let layout = ["--gpus", "4", "--tp", "2", "--pp", "2", "--precision", "bf16", "--checkpoint", "none", "--set", "seq=256"]
        func peak(_ microBatch: Int) throws -> Int {
            let report = try Self.json(["gpt2", "--batch", "16", "--micro-batch", String(microBatch)] + layout)
            let memory = try #require((report["totals"] as? [String: Any])?["memory"] as? [String: Any])
            return Int(Self.number(memory["peak_bytes"]))
        }
        let (two, four) = (try peak(2), try peak(4))
        #expect(two < four)
        let capacity = (two + four) / 2
        let fit = try Self.json(["fit", "gpt2", "--memory", String(capacity), "--reserve", "0", "--global-batch", "16"] + layout)
        let rows = try #require(fit["layouts"] as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(Self.number(rows[0]["max_micro_batch"]) == 2)
        #expect(Self.number(rows[0]["micro_batches"]) == 8)
        #expect(Int(Self.number(rows[0]["peak_bytes"])) == two)
    }

    /// `fit --gpus N` alone: every layout of 4 GPUs (T in 1, 2, 4; P dividing 4 / T; ZeRO 0-3
    /// where D > 1: 15 in all), fastest first, each step the time `roofline` gives it.
    @Test func layoutSearchIsFastestFirst() throws {
        let fit = try Self.json(["fit", "gpt2", "--gpu", "h100-sxm", "--gpus", "4", "--global-batch", "16", "--set", "seq=128"])
        #expect(Self.number(fit["layouts_tried"]) == 15)
        let rows = try #require(fit["layouts"] as? [[String: Any]])
        #expect(rows.count == 15)
        let times = rows.map { Self.number($0["step_time_s"]) }
        #expect(times == times.sorted())
        let first = rows[0]
        var arguments = ["roofline", "gpt2", "--gpu", "h100-sxm", "--precision", "bf16", "--set", "seq=128", "--batch", "16", "--gpus", "4"]
        arguments += ["--tp", String(Int(Self.number(first["tp"]))), "--pp", String(Int(Self.number(first["pp"]))),
                      "--micro-batch", String(Int(Self.number(first["max_micro_batch"])))]
        if Self.number(first["dp"]) > 1 { arguments += ["--zero", String(Int(Self.number(first["zero"])))] }
        let roofline = try Self.json(arguments)
        let step = Self.number((roofline["totals"] as? [String: Any])?["step_time_s"])
        #expect(abs(step - times[0]) <= 1e-9 * step, "\(arguments)")
    }
}
