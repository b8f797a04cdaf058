import Foundation
import Testing
@testable import NNFlops

/// `nnflops plan`'s fleet section from the emitted spec's graph (README, "Planning",
/// "Fleet"): each figure held against a hand calculation or against the other commands
/// run by the user's path (the CLI on the spec the plan writes, with the same layout).
@Suite struct PlanFleetTests {
    let cli = CLITests()

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func json(_ arguments: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let result = try cli.run(arguments + ["--format", "json"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], sourceLocation: sourceLocation)
    }

    static func close(_ a: Double?, _ b: Double?, _ tolerance: Double = 1e-9) -> Bool {
        guard let a, let b else { return false }
        return Tolerance.close(a, b, relative: tolerance, absolute: 0)
    }

    /// One step's FLOPs of a tiny emitted shape, by hand: L = 1 layer, d = 128, one head of
    /// 128, vocabulary V = 64, s = 8 positions, one sequence (n = 8 tokens), pure bf16 on an
    /// H100, Adam. Attention counts every score entry (the dense convention, README,
    /// attention), the causal mask included (c = 1).
    ///
    /// Forward (README's operator formulas): wte gather 0, wpe 0, + n d = 1,024; each
    /// layernorm 6nd + 5n + 2nd (affine) = 8,232; c_attn 2 n d 3d + n 3d = 789,504; attention
    /// E = s^2 = 64 entries, 2 E (d + d) + 7E + 2s = 33,232; c_proj 2 n d^2 + n d = 263,168;
    /// residual adds 1,024 each; c_fc 2 n d 4d + n 4d = 1,052,672; gelu 5 x 4nd = 20,480;
    /// mlp_proj 1,049,600; the tied head 2 n d V = 131,072. Sum: 3,367,496.
    /// Backward: wte's scatter-add n d = 1,024; the broadcast wpe's sum n d = 1,024; each
    /// layernorm 13 nd + 2n = 13,328; c_attn 2 x 786,432 + 3,072 = 1,575,936; attention
    /// (fused: recompute 2Ed + 4E, dV 2Ed, dP 2Ed + 2sd + 3E, dQ and dK 4Ed) = 84,416; c_proj
    /// 525,312; c_fc 2,101,248; gelu 11 x 4nd = 45,056; mlp_proj 2,098,176; the head dX and
    /// dW 2 x 131,072 + its fold into wte's gradient V d = 270,336. Sum: 6,742,512.
    /// Adam: 14 FLOPs x 207,744 parameters (12 d^2 + 13 d + (V + s + 2) d) = 2,908,416.
    /// One GPU: 13,018,424. 6 N n = 9,971,712 is 23% short of it.
    @Test func stepFLOPsByHand() throws {
        let shape = TransformerShape(layers: 1, dModel: 128, heads: 1, vocab: 64, sequence: 8)
        #expect(shape.parameters == 207_744)
        let request = FleetRequest(gpu: "h100-sxm", gpus: 1, mfu: 0.5)
        let fleet = try FleetEstimate(request: request, compute: 6 * 207_744 * 800, params: 207_744, tokens: 800, shape: shape)
        #expect(fleet.graphAvailable)
        #expect(fleet.stepFlopsPerGPU.map { Int($0) } == 3_367_496 + 6_742_512 + 2_908_416)
        // 800 tokens are 100 steps of 8; at half of 989.4e12 FLOP/s.
        #expect(fleet.steps == 100)
        #expect(Self.close(fleet.trainingSeconds, 100 * 13_018_424 / (989.4e12 * 0.5)))
        #expect(Self.close(fleet.trainingFlops, 1_301_842_400))
        // Two GPUs under FSDP: each runs its own sequence and updates half the parameters.
        let two = try FleetEstimate(request: FleetRequest(gpu: "h100-sxm", gpus: 2), compute: 1e9, params: 207_744, tokens: 800, shape: shape)
        #expect(two.stepFlopsPerGPU.map { Int($0) } == 3_367_496 + 6_742_512 + 14 * 103_872)
        #expect(two.steps == 50 && two.tokensPerStep == 16)
    }

    /// The plan's fleet against `roofline` and `analyze` on the spec the same plan writes,
    /// with the same layout: 4 A100s, FSDP, 2 sequences per GPU (a global batch of 8), Adam,
    /// bf16, 1B tokens at MFU 0.35.
    @Test func fleetAgreesWithRooflineAndAnalyze() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = directory.appendingPathComponent("plan.spec").path
        let plan = try json(["plan", "--params", "20M", "--tokens", "1B", "--gpu", "a100-sxm-80gb", "--gpus", "4", "--micro-batch", "2",
                             "--mfu", "0.35", "--price-per-gpu-hour", "1.5", "--emit-spec", spec])
        let fleet = try #require(plan["fleet"] as? [String: Any])
        let layout = ["--gpus", "4", "--fsdp", "--optimizer", "adam", "--precision", "bf16", "--batch", "8"]
        let roofline = try json(["roofline", spec, "--gpu", "a100-sxm-80gb", "--tokens", "1B", "--utilization", "0.35"] + layout)
        let totals = try #require(roofline["totals"] as? [String: Any])
        let run = try #require(roofline["training_run"] as? [String: Any])
        #expect(fleet["graph_available"] as? Bool == true)
        #expect(Self.close(fleet["step_flops_per_gpu"] as? Double, totals["step_flops"] as? Double))
        #expect(Self.close(fleet["steps"] as? Double, run["steps"] as? Double))
        #expect(Self.close(fleet["training_seconds"] as? Double, run["wall_time_s"] as? Double))
        #expect(Self.close(fleet["training_flops"] as? Double, run["total_flops"] as? Double))
        #expect(Self.close(fleet["gpu_hours"] as? Double, run["gpu_hours"] as? Double))
        #expect(Self.close(fleet["cost"] as? Double, 1.5 * (run["gpu_hours"] as? Double ?? 0)))
        #expect(Self.close(fleet["bound_step_seconds"] as? Double, totals["step_time_s"] as? Double))
        #expect(Self.close(fleet["bound_compute_seconds"] as? Double, totals["compute_time_s"] as? Double))
        #expect(Self.close(fleet["bound_exposed_communication_seconds"] as? Double, totals["exposed_communication_time_s"] as? Double))
        #expect(Self.close(fleet["bound_training_seconds"] as? Double, run["roofline_time_s"] as? Double))
        #expect(fleet["bound_checkpoint"] as? String == "none")
        // MFU at the bound: the step's FLOPs over the GPU's peak for the bound's time.
        let ceiling = (totals["step_flops"] as? Double ?? 0) / (312e12 * (totals["step_time_s"] as? Double ?? 1))
        #expect(Self.close(fleet["bound_mfu"] as? Double, ceiling))
        // 6ND stays as the comparison: 6 x 20M x 1B over 4 x 312e12 x 0.35.
        #expect(Self.close(fleet["six_nd_training_seconds"] as? Double, 6 * 20e6 * 1e9 / (4 * 312e12 * 0.35)))
        // Memory: analyze's peak with and without every block recomputed.
        for (checkpoint, key) in [("none", "bytes_per_gpu"), ("each=h.*", "checkpointed_bytes_per_gpu")] {
            let analysis = try json([spec, "--checkpoint", checkpoint] + layout)
            let memory = try #require((analysis["totals"] as? [String: Any])?["memory"] as? [String: Any])
            #expect(fleet[key] as? Double == memory["peak_bytes"] as? Double, "\(checkpoint)")
        }
    }

    /// The fewest GPUs: that many fit and one fewer does not, by `analyze --gpus` on the
    /// emitted spec. GPT-style 1B (14 x 2304) on 16 GB V100s, fp16; and a 20M model with 4
    /// sequences of 2048 per GPU on a 2 GB GPU, where the activations and the fp32 logits
    /// alone nearly fill it: every GPU added takes off only its share of the state.
    @Test func fewestGPUsFitAndOneFewerDoesNot() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = directory.appendingPathComponent("small.json")
        try #"{"id": "small", "name": "Small 2GB", "memory_gb": 2, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160, "bf16": 160}}"#
            .write(to: small, atomically: true, encoding: .utf8)
        let cases: [(gpu: [String], params: String, microBatch: Int, precision: String, capacity: Double, fewest: Int, fewestCheckpointed: Int)] = [
            (["--gpu", "v100-sxm2-16gb"], "1B", 1, "fp16", 16e9, 2, 2),
            (["--hardware", small.path, "--gpu", "small"], "20M", 4, "bf16", 2e9, 14, 1),
        ]
        for c in cases {
            let spec = directory.appendingPathComponent("plan-\(c.params).spec").path
            let plan = try json(["plan", "--params", c.params, "--tokens", "1B", "--micro-batch", String(c.microBatch), "--emit-spec", spec] + c.gpu)
            let fleet = try #require(plan["fleet"] as? [String: Any])
            #expect(fleet["min_gpus"] as? Int == c.fewest, "\(c.params)")
            #expect(fleet["min_gpus_checkpointed"] as? Int == c.fewestCheckpointed, "\(c.params)")
            func peak(_ gpus: Int, _ checkpoint: String) throws -> Double {
                let zero = gpus > 1 ? ["--fsdp"] : []
                let analysis = try json([spec, "--gpus", String(gpus), "--optimizer", "adam", "--precision", c.precision,
                                         "--batch", String(gpus * c.microBatch), "--checkpoint", checkpoint] + zero)
                return try #require(((analysis["totals"] as? [String: Any])?["memory"] as? [String: Any])?["peak_bytes"] as? Double)
            }
            for (fewest, checkpoint) in [(c.fewest, "none"), (c.fewestCheckpointed, "each=h.*")] {
                #expect(try peak(fewest, checkpoint) <= c.capacity, "\(c.params) \(checkpoint) on \(fewest)")
                if fewest > 1 { #expect(try peak(fewest - 1, checkpoint) > c.capacity, "\(c.params) \(checkpoint) on \(fewest - 1)") }
            }
        }
    }

    /// A GPU that not even 2^20 of hold the run: 8 sequences of 2048 of a 20M model on 3 GB,
    /// whose fp32 logits alone (4 x 8 x 2048 x 50257 bytes = 3.29 GB) pass it whatever the
    /// recompute: both counts are null, and the largest fleet searched does not fit.
    @Test func neverFits() throws {
        let profile = GPUProfile(id: "small", name: "Small 3GB", formFactor: "SXM", memoryType: "HBM", fp64: 1e12, fp64Tensor: nil,
                                 fp32: 80e12, tf32Tensor: nil, fp16Tensor: 160e12, bf16Tensor: 160e12, fp8Tensor: nil, int8Tensor: nil,
                                 fp16NonTensor: nil, memoryBytes: 3e9, memoryBandwidth: 1e12, source: "a test's GPU")
        let shape = try TransformerShape.realising(params: 20e6)
        let fleet = try FleetEstimate(request: FleetRequest(gpu: "small", microBatch: 8, hardware: [profile]),
                                      compute: 1e17, params: 20e6, tokens: 1e9, shape: shape)
        #expect(fleet.graphAvailable && fleet.minGPUs == nil && fleet.minGPUsCheckpointed == nil)
        let graph = try FleetGraph(shape: shape, microBatch: 8, precision: .bf16)
        for recompute in [false, true] {
            #expect(Double(try graph.analysis(gpus: FleetGraph.largestFleet, recompute: recompute).peak.peakBytes) > 3e9)
        }
    }

    /// Sizes past 64-bit counts: no graph, and the report says so instead of answering with
    /// the closed forms; the 6ND comparison and the static bound remain.
    @Test func withoutTheGraphTheReportSaysSo() throws {
        let plan = try Plan(PlanRequest(compute: 1e30, fleet: FleetRequest(gpu: "h100-sxm", microBatch: 1_000_000),
                                        vocab: 1_000_000_000, sequence: 100_000_000))
        let fleet = try #require(plan.fleet)
        #expect(!fleet.graphAvailable)
        #expect(fleet.trainingSeconds == nil && fleet.boundStepSeconds == nil && fleet.bytesPerGPU == nil && fleet.fits == nil)
        #expect(fleet.minGPUs == nil && fleet.minGPUsCheckpointed == nil)
        #expect(fleet.sixNDTrainingSeconds > 0 && fleet.minGPUsStatic >= 1)
        let table = plan.renderTable()
        #expect(table.contains("training time    unavailable: the spec's sizes pass 64-bit counts"))
        #expect(table.contains("on this fleet    unavailable (no graph)"))
    }
}
