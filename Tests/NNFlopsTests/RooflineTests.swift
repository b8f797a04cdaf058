import Foundation
import Testing
@testable import NNFlops

/// Roofline model (design §6, README, "Roofline"): the seeds' §19 worked examples, bounds
/// held below measured times, byte accounting by hand, user hardware files, training runs.
@Suite struct RooflineTests {
    func graph(_ source: String, file: String = "t.spec") throws -> Graph {
        try TestModel.graph(source, file: file)
    }

    func zoo(_ name: String, batch: Int) throws -> Graph {
        let (source, file) = try SpecLoader.load(name)
        return try Elaborator.elaborate(source: source, file: file, overrides: ["batch": .int(batch)])
    }

    /// TF32 off unless asked (the hand calculations price fp32 matrix work at the FP32 peak).
    func roofline(_ graph: Graph, gpu: String, tf32: TF32Ops? = TF32Ops.none, configuration: RunConfiguration = RunConfiguration()) throws -> RooflineAnalysis {
        let costs = try CostAnalysis(graph: graph)
        return try RooflineAnalysis(graph: graph, costs: costs, roof: try Roof(gpu: try GPUProfile.named(gpu), tf32: tf32),
                                    configuration: configuration)
    }

    // MARK: Seeds 002 §19 worked examples

    /// §19.2: "For an NVIDIA A100 GPU: AI_ridge = 312 TFLOP/s / 2039 GB/s ≈ 153 FLOP/byte".
    @Test func a100RidgePoint() throws {
        let roof = try Roof(gpu: try GPUProfile.named("a100-sxm-80gb"))
        let ridge = try roof.ridge(for: .bfloat16)
        #expect(abs(ridge - 153.0) < 0.5)
        #expect(abs(try roof.ridge(for: .float16) - 312e12 / 2039e9) < 1e-9)
        // The tool's headline ridge for a bf16 matmul spec on that GPU.
        let g = try graph("input a: [1024, 1024] bf16\ninput b: [1024, 1024] bf16\noutput matmul(a, b)\n")
        let analysis = try roofline(g, gpu: "a100-sxm-80gb", configuration: RunConfiguration(inference: true))
        #expect(abs(analysis.ridge - 153.0) < 0.5)
    }

    /// §19.2 table: ReLU on 1M elements: 1M FLOPs, 4 x 2 x 1M = 8M bytes, AI 0.125, memory-bound;
    /// bias addition on 1M elements: 1M FLOPs, 8M bytes, 0.125.
    @Test func reluAndBiasAddIntensity() throws {
        let relu = try roofline(try graph("input x: [1000000]\noutput relu(x)\n"), gpu: "a100-sxm-80gb",
                                configuration: RunConfiguration(inference: true))
        let entry = try #require(relu.entries.first)
        #expect(entry.flops == 1_000_000)
        #expect(entry.bytes == 8_000_000)
        #expect(entry.cost.intensity == 0.125)
        #expect(entry.cost.bound == .memory)
        // The bias is 1000 floats: 8.004 MB, AI 0.12494 ≈ 0.125.
        let bias = try roofline(try graph("input x: [1000, 1000]\ninput b: [1000]\noutput x + b\n"), gpu: "a100-sxm-80gb",
                                configuration: RunConfiguration(inference: true))
        let add = try #require(bias.entries.first)
        #expect(add.flops == 1_000_000)
        #expect(add.bytes == 8_004_000)
        #expect(abs(add.cost.intensity - 0.125) < 0.0001)
        #expect(add.cost.bound == .memory)
    }

    /// §19.2 "Why FLOPs ≠ Speed": one 1 GFLOP matmul is compute-bound, 1G / 312T ≈ 3.2 µs;
    /// 1000 element-wise ops on 1M elements (1 GFLOP, AI ≈ 0.25: 4 GB) are memory-bound,
    /// 4 GB / 2039 GB/s ≈ 2 ms; "625x slower" (from the rounded 2 ms / 3.2 µs; exactly 612x).
    @Test func oneGigaFLOPMatmulVersusElementwise() throws {
        let config = RunConfiguration(inference: true)
        let matmul = try roofline(try graph("input a: [1000, 1000] f16\ninput b: [1000, 500] f16\noutput matmul(a, b)\n"),
                                  gpu: "a100-sxm-80gb", configuration: config)
        let mm = try #require(matmul.entries.first)
        #expect(mm.flops == 1_000_000_000)
        #expect(mm.cost.bound == .compute)
        #expect(mm.cost.intensity == 250)  // 1e9 / (2 x (1e6 + 5e5 + 5e5))
        #expect(abs(matmul.stepTime - 1e9 / 312e12) < 1e-12)
        #expect(abs(matmul.stepTime * 1e6 - 3.2) < 0.01)

        let elementwise = try roofline(try graph("input x: [1000000] f16\nrepeat 1000:\n    x = relu(x)\noutput x\n"),
                                       gpu: "a100-sxm-80gb", configuration: config)
        #expect(elementwise.entries.count == 1000)
        #expect(elementwise.stepFlops == 1_000_000_000)
        #expect(elementwise.stepBytes == 4_000_000_000)
        #expect(elementwise.entries.allSatisfy { $0.cost.bound == .memory && $0.cost.intensity == 0.25 })
        #expect(abs(elementwise.stepTime - 4e9 / 2039e9) < 1e-12)
        #expect(abs(elementwise.stepTime * 1e3 - 1.96) < 0.01)
        let ratio = elementwise.stepTime / matmul.stepTime
        #expect(ratio > 600 && ratio < 630)
    }

    /// §19.5: AI of a (B x n_in) x (n_in x n_out) fp32 matmul is 2 B n_in n_out / 4 (B n_in + n_in n_out + B n_out):
    /// about B/2 for small B.
    @Test func smallBatchLinearIntensity() throws {
        let g = try graph("input x: [4, 4096]\noutput linear(x, 4096, bias = false)\n")
        let analysis = try roofline(g, gpu: "h100-sxm", configuration: RunConfiguration(inference: true))
        let e = try #require(analysis.entries.first)
        let b = 4.0, n = 4096.0
        #expect(abs(e.cost.intensity - 2 * b * n * n / (4 * (b * n + n * n + b * n))) < 1e-9)
        #expect(e.cost.bound == .memory)
    }

    // MARK: Bytes by hand

    /// linear(8 -> 16) on [4, 8] fp32, input from data (no input gradient), Adam:
    /// forward reads x 128 B, W 512 B, b 64 B, writes y 256 B = 960 B;
    /// weight gradient reads dY 256 B and the saved x 128 B, writes dW 512 B + db 64 B = 960 B;
    /// Adam reads w, g, m, v and writes w, m, v: 28 B x 144 parameters, 14 FLOPs each.
    @Test func linearBytesPerPhase() throws {
        let g = try graph("input x: [4, 8]\noutput linear(x, 16)\n")
        let analysis = try roofline(g, gpu: "h100-sxm", configuration: RunConfiguration(optimizer: .adam))
        let phases = Dictionary(uniqueKeysWithValues: analysis.entries.map { ($0.phase, $0) })
        #expect(phases[.inputGradient] == nil)
        #expect(phases[.forward]?.bytes == 960)
        #expect(phases[.forward]?.flops == 2 * 4 * 8 * 16 + 4 * 16)
        #expect(phases[.forward]?.matrixFlops == 2 * 4 * 8 * 16)
        #expect(phases[.weightGradient]?.bytes == 960)
        #expect(phases[.optimizer]?.bytes == 144 * 28)
        #expect(phases[.optimizer]?.flops == 144 * 14)
        // With two layers the second's input gradient reads dY and W, writes dX.
        let two = try roofline(try graph("input x: [4, 8]\nh = linear(x, 16)\noutput linear(h, 2)\n"), gpu: "h100-sxm")
        let dx = try #require(two.entries.first { $0.phase == .inputGradient })
        #expect(dx.bytes == 4 * 2 * 4 + 2 * 16 * 4 + 4 * 16 * 4)
    }

    /// A view moves nothing; amp-bf16 halves the linear's traffic and uses the bf16 peak.
    @Test func viewsAndPrecisionPolicies() throws {
        let g = try graph("input x: [64, 1024]\nh = linear(x, 1024)\noutput reshape(h, [64, 32, 32])\n")
        let fp32 = try roofline(g, gpu: "h100-sxm")
        #expect(!fp32.entries.contains { $0.op == "reshape" })
        let amp = try roofline(g, gpu: "h100-sxm", configuration: RunConfiguration(precision: .ampBF16))
        #expect(amp.mainType == .bfloat16)
        #expect(abs(amp.peak - 989.4e12) < 1)
        let forward = try #require(amp.entries.first { $0.phase == .forward })
        #expect(forward.computeType == .bfloat16)
        // fp32 input read as is, bf16 weight copy, fp32 bias (not cast) ... and a bf16 output.
        #expect(forward.bytes < fp32.entries.first { $0.phase == .forward }!.bytes)
    }

    // MARK: Precisions a GPU lacks

    @Test func bf16OnV100IsAnError() throws {
        let g = try graph("input x: [64, 1024]\noutput linear(x, 1024)\n")
        #expect(throws: NNFlopsError.self) { try roofline(g, gpu: "v100-sxm2", configuration: RunConfiguration(precision: .ampBF16)) }
        #expect(throws: NNFlopsError.self) { try roofline(g, gpu: "v100-sxm2", configuration: RunConfiguration(precision: .bf16)) }
        #expect(throws: NNFlopsError.self) { try Roof(gpu: try GPUProfile.named("v100-pcie"), tf32: .all) }
        #expect(throws: NNFlopsError.self) { try Roof(gpu: try GPUProfile.named("v100-pcie"), tf32: .conv) }
        let fp16 = try roofline(g, gpu: "v100-sxm2", configuration: RunConfiguration(precision: .ampFP16))
        #expect(fp16.peak == 125e12)
        do {
            _ = try roofline(g, gpu: "v100-sxm2", configuration: RunConfiguration(precision: .ampBF16))
        } catch let error as NNFlopsError {
            #expect(error.message.contains("bf16"))
            #expect(error.message.contains("V100"))
        }
    }

    // MARK: TF32, as PyTorch's defaults

    /// PyTorch runs fp32 convolutions on TF32 tensor cores (cudnn.allow_tf32 = True) and fp32
    /// matmuls on the FP32 cores (cuda.matmul.allow_tf32 = False). On an H100 SXM, by hand:
    /// conv 3->8, 3x3, on [1, 3, 16, 16] without padding: 14x14 outputs, MACs = 8*14*14*27 =
    /// 42336, compute = 2*42336 / 494.7e12 (TF32) + 1568 bias adds / 67e12; linear 1568->10:
    /// 15680 MACs at the FP32 67e12. A V100 has no TF32: its defaults are none.
    @Test func tf32DefaultsArePyTorchs() throws {
        let g = try graph("input x: [1, 3, 16, 16]\nh = conv2d(x, 8, kernel = 3, name = \"conv\")\nh = flatten(h)\noutput linear(h, 10, name = \"fc\")\n")
        let h100 = try GPUProfile.named("h100-sxm")
        #expect(try Roof(gpu: h100).tf32 == .conv)
        #expect(try Roof(gpu: try GPUProfile.named("v100-sxm2")).tf32 == .none)
        let inference = RunConfiguration(inference: true)
        func forward(_ tf32: TF32Ops?, _ name: String) throws -> RooflineEntry {
            try #require(try roofline(g, gpu: "h100-sxm", tf32: tf32, configuration: inference).entries.first { $0.name == name })
        }
        let conv = try forward(nil, "conv"), fc = try forward(nil, "fc")
        #expect(conv.matrixFormat == .tf32 && fc.matrixFormat == .fp32)
        #expect(conv.matrixFlops == 2 * 42336 && fc.matrixFlops == 2 * 15680)
        #expect(abs(conv.cost.computeTime - (2 * 42336 / 494.7e12 + 1568 / 67e12)) < 1e-20)
        #expect(abs(fc.cost.computeTime - (2 * 15680 / 67e12 + 10 / 67e12)) < 1e-20)
        #expect(try forward(TF32Ops.none, "conv").matrixFormat == .fp32)
        #expect(try forward(.all, "fc").matrixFormat == .tf32 && (try forward(.all, "conv")).matrixFormat == .tf32)
        #expect(try forward(.matmul, "fc").matrixFormat == .tf32 && (try forward(.matmul, "conv")).matrixFormat == .fp32)
        // Most matrix FLOPs are the convolution's: the headline format is TF32.
        #expect(try roofline(g, gpu: "h100-sxm", tf32: nil, configuration: inference).mainFormat == .tf32)
        // Half precision is unaffected: bf16 convolutions run at the BF16 peak whatever the switch.
        let amp = try roofline(g, gpu: "h100-sxm", tf32: nil, configuration: RunConfiguration(precision: .ampBF16, inference: true))
        #expect(amp.entries.first { $0.name == "conv" }?.matrixFormat == .bf16)
    }

    // MARK: A bound never exceeds reality

    /// `reference/gpus.md`, measured on an H100 SXM5 with PyTorch 2.11: bf16 GEMM 8192^3 at
    /// 789 TFLOP/s, fp32 without TF32 51.5 TFLOP/s, TF32 412 TFLOP/s, device-to-device copy
    /// 2,974 GB/s counting bytes read and written.
    @Test func boundsStayBelowMeasuredKernels() throws {
        let n = 8192.0, flops = 2 * n * n * n
        for (dtype, tf32, measuredRate) in [("bf16", TF32Ops.none, 789e12), ("f32", .none, 51.5e12), ("f32", .matmul, 412e12)] {
            let g = try graph("input a: [8192, 8192] \(dtype)\ninput b: [8192, 8192] \(dtype)\noutput matmul(a, b)\n")
            let analysis = try roofline(g, gpu: "h100-sxm", tf32: tf32, configuration: RunConfiguration(inference: true))
            #expect(Double(analysis.stepFlops) == flops)
            let measured = flops / measuredRate
            #expect(analysis.stepTime < measured, "\(dtype) tf32=\(tf32): bound \(analysis.stepTime) s vs measured \(measured) s")
            #expect(measured / analysis.stepTime < 1.35)
        }
        // A ReLU on 128M fp32 elements moves what a copy of 512 MiB moves (read + write);
        // no kernel moving those bytes beats the measured copy.
        let relu = try roofline(try graph("input x: [134217728]\noutput relu(x)\n"), gpu: "h100-sxm", configuration: RunConfiguration(inference: true))
        let copyTime = Double(2 * 134_217_728 * 4) / 2974e9
        #expect(relu.stepTime < copyTime)
        #expect(abs(copyTime / relu.stepTime - 3350.0 / 2974.0) < 1e-9)
    }

    /// `reference/h100-calibration.json`: step_ms_median of whole training steps on an H100
    /// SXM5 (PyTorch 2.11, fp32, cuDNN convolutions on TF32, matmuls fp32). The step lower
    /// bound stays below every one, with TF32 for the convolutions (what ran) and without.
    @Test func stepBoundStaysBelowCalibration() throws {
        let runs: [(String, Int, Optimizer, Double)] = [
            ("resnet50", 32, .adam, 26.737648010253906), ("resnet50", 32, .sgd, 25.939215660095215),
            ("resnet50", 32, .momentum, 26.556431770324707), ("resnet50", 8, .adam, 24.566495895385742),
            ("resnet50", 64, .adam, 39.083839416503906), ("gpt2", 4, .adamw, 100.14097595214844),
        ]
        for (model, batch, optimizer, measuredMS) in runs {
            let g = try zoo(model, batch: batch)
            for tf32 in [TF32Ops.none, nil, .all] {
                let analysis = try roofline(g, gpu: "h100-sxm", tf32: tf32, configuration: RunConfiguration(optimizer: optimizer))
                let boundMS = analysis.stepTime * 1e3
                #expect(boundMS < measuredMS, "\(model) B=\(batch) \(optimizer) tf32=\(tf32): bound \(boundMS) ms vs measured \(measuredMS) ms")
                #expect(boundMS > 0.02 * measuredMS)
            }
        }
    }

    // MARK: Training-run totals (seeds 002 §17.4, errata item 2)

    /// ResNet-50 on ImageNet (1.28M images, 90 epochs) on a V100 at 125 TFLOP/s FP16 and 50%
    /// utilisation. The seed uses "3.8 GFLOPs" forward (really GMACs) and gets 1.32e18 FLOPs
    /// and 21,100 s; with the true 8.18 GFLOPs (FlopCounterMode: 8,178,368,512 for conv +
    /// linear; 24,299,077,632 forward + backward per image) C is about 2.8e18 and the time
    /// about 12.5 hours on one V100.
    @Test func resnet50ImageNetOnV100() throws {
        let g = try zoo("resnet50", batch: 256)
        let costs = try CostAnalysis(graph: g)
        let config = RunConfiguration(optimizer: .momentum, precision: .ampFP16)
        let analysis = try RooflineAnalysis(graph: g, costs: costs, roof: try Roof(gpu: try GPUProfile.named("v100-sxm2")), configuration: config)
        let run = try TrainingRun(request: TrainingRunRequest(samples: 1.28e6, epochs: 90), graph: g, costs: costs, roofline: analysis)
        #expect(run.steps == 450_000)
        #expect(run.peakFlopsPerGPU == 125e12)
        let flopCounter = 24_299_077_632.0 * 1.28e6 * 90  // conv + linear only
        #expect(run.totalFlops > flopCounter)
        #expect(run.totalFlops < flopCounter * 1.03)
        #expect(run.totalFlops > 2 * 1.32e18)  // errata 2: the seed is low by ~2x
        #expect(abs(run.forwardFlopsPerSample / 8.178e9 - 1) < 0.02)
        #expect(abs(run.wallTimeSeconds! - run.totalFlops / (125e12 * 0.5)) < 1e-6 * run.wallTimeSeconds!)
        #expect(run.wallTimeSeconds! > 43_000 && run.wallTimeSeconds! < 47_000)
        #expect(abs(run.gpuHours! - run.wallTimeSeconds! / 3600) < 1e-9)
        // The roofline bound is above the 50%-of-peak estimate: memory-bound batchnorm and
        // ReLU on 900 GB/s make "50% of 125 TFLOP/s" unreachable for this model, and the
        // report says so.
        #expect(run.rooflineTimeSeconds! > run.wallTimeSeconds!)
        #expect(run.utilizationEstimateBelowBound)
        // 8 GPUs: an eighth of the time, the same GPU-hours.
        let eight = try TrainingRun(request: TrainingRunRequest(samples: 1.28e6, epochs: 90, gpus: 8), graph: g, costs: costs, roofline: analysis)
        #expect(abs(eight.wallTimeSeconds! * 8 - run.wallTimeSeconds!) < 1e-6)
        #expect(abs(eight.gpuHours! - run.gpuHours!) < 1e-6)
        // The seed's "in practice ~6-8 hours on 8x V100": the bound stays below 6 hours.
        #expect(eight.rooflineTimeSeconds! < 6 * 3600)
    }

    @Test func tokensAndRequestErrors() throws {
        let g = try zoo("gpt2", batch: 1)
        let costs = try CostAnalysis(graph: g)
        let analysis = try RooflineAnalysis(graph: g, costs: costs, roof: try Roof(gpu: try GPUProfile.named("h100-sxm")),
                                            configuration: RunConfiguration(optimizer: .adamw, precision: .ampBF16))
        let run = try TrainingRun(request: TrainingRunRequest(tokens: 1024 * 1000), graph: g, costs: costs, roofline: analysis)
        #expect(run.tokensPerStep == 1024)
        #expect(run.steps == 1000)
        #expect(run.totalFlops == Double(analysis.stepFlops) * 1000)
        #expect(throws: NNFlopsError.self) { try TrainingRun(request: TrainingRunRequest(samples: 10, tokens: 10), graph: g, costs: costs, roofline: analysis) }
        #expect(throws: NNFlopsError.self) { try TrainingRun(request: TrainingRunRequest(), graph: g, costs: costs, roofline: analysis) }
        #expect(throws: NNFlopsError.self) { try TrainingRun(request: TrainingRunRequest(samples: 10, utilization: 1.5), graph: g, costs: costs, roofline: analysis) }
        #expect(throws: NNFlopsError.self) { try TrainingRun(request: TrainingRunRequest(samples: 10, gpus: 0), graph: g, costs: costs, roofline: analysis) }
    }

    // MARK: Profiles and user hardware

    /// `reference/gpus.md`, dense figures.
    @Test func builtinProfilesMatchTheTable() throws {
        let ids = ["v100-sxm2", "v100-pcie", "a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-40gb", "a100-pcie-80gb", "h100-sxm", "h100-pcie", "h200"]
        for id in ids { #expect(GPUProfile.builtinIDs.contains(id)) }
        let h100 = try GPUProfile.named("h100-sxm")
        #expect(h100.fp32 == 67e12 && h100.tf32Tensor == 494.7e12 && h100.bf16Tensor == 989.4e12 && h100.fp8Tensor == 1978.9e12)
        #expect(h100.memoryBandwidth == 3350e9 && abs(h100.fp16NonTensor! - 133.8e12) < 1)
        let pcie = try GPUProfile.named("h100-pcie")
        #expect(pcie.fp32 == 51e12 && pcie.memoryBandwidth == 2000e9)  // errata 3: keep SXM and PCIe apart
        #expect(try GPUProfile.named("v100-sxm2").bf16Tensor == nil)
        #expect(try GPUProfile.named("h200").memoryBandwidth == 4800e9)
        for profile in GPUProfile.builtins { #expect(!profile.source.isEmpty) }
    }

    static let userJSON = #"""
    {"id": "rtx-4090", "name": "NVIDIA GeForce RTX 4090 24GB", "source": "Ada whitepaper",
     "memory_gb": 24, "bandwidth_gb_s": 1008,
     "tflops": {"fp64": 1.29, "fp32": 82.6, "tf32": 82.6, "fp16": 165.2, "bf16": 165.2, "int8": 660.6, "fp16_non_tensor": 82.6}}
    """#

    @Test func userHardwareFile() throws {
        let profile = try GPUProfile.parse(hardwareJSON: Data(Self.userJSON.utf8), file: "my.json")
        #expect(profile.id == "rtx-4090")
        #expect(profile.memoryBytes == 24e9)
        #expect(profile.memoryBandwidth == 1008e9)
        #expect(profile.bf16Tensor == 165.2e12)
        #expect(profile.fp8Tensor == nil)
        #expect(try GPUProfile.named("rtx-4090", extra: [profile]).id == "rtx-4090")
        let roof = try Roof(gpu: profile)
        #expect(abs(try roof.ridge(for: .bfloat16) - 165.2e12 / 1008e9) < 1e-9)
    }

    @Test func userHardwareErrors() throws {
        func message(_ json: String) -> String {
            do {
                _ = try GPUProfile.parse(hardwareJSON: Data(json.utf8), file: "my.json")
                return "no error"
            } catch let error as NNFlopsError {
                return error.description
            } catch {
                return "other error"
            }
        }
        let base = #""id": "x", "name": "X", "memory_gb": 16, "bandwidth_gb_s": 500"#
        #expect(message("not json").contains("not valid JSON"))
        #expect(message("[1]").contains("JSON object"))
        #expect(message(#"{"name": "X"}"#).contains("missing required key 'id'"))
        #expect(message("{\(base)}").contains("missing required key 'tflops'"))
        #expect(message("{\(base), \"tflops\": {\"fp32\": 10, \"fp16\": 20}}").contains("tflops.fp64"))
        let typo = message("{\(base), \"tflops\": {\"fp64\": 1, \"fp32\": 10, \"fp16\": 20, \"bf61\": 3}}")
        #expect(typo.contains("unknown key 'tflops.bf61'") && typo.contains("did you mean 'tflops.bf16'"))
        #expect(message("{\(base), \"bandwith_gb_s\": 1, \"tflops\": {}}").contains("did you mean 'bandwidth_gb_s'"))
        #expect(message("{\(base), \"tflops\": {\"fp64\": 1, \"fp32\": -10, \"fp16\": 20}}").contains("'tflops.fp32' must be a positive number"))
        #expect(message("{\(base), \"tflops\": {\"fp64\": 1, \"fp32\": \"fast\", \"fp16\": 20}}").contains("must be a number"))
        #expect(message("{\(base), \"tflops\": {\"fp64\": 1, \"fp32\": true, \"fp16\": 20}}").contains("must be a number"))
        #expect(message(#"{"id": "h100-sxm", "name": "X", "memory_gb": 1, "bandwidth_gb_s": 1, "tflops": {}}"#).contains("built-in"))
        #expect(message(#"{"id": "My GPU", "name": "X", "memory_gb": 1, "bandwidth_gb_s": 1, "tflops": {}}"#).contains("lowercase"))
        // The GPU lacks fp8 / bf16 when the file says nothing of them.
        let noBF16 = try GPUProfile.parse(hardwareJSON: Data("{\(base), \"tflops\": {\"fp64\": 1, \"fp32\": 10, \"fp16\": 20}}".utf8), file: "my.json")
        let g = try graph("input x: [64, 1024]\noutput linear(x, 1024)\n")
        let costs = try CostAnalysis(graph: g)
        #expect(throws: NNFlopsError.self) {
            try RooflineAnalysis(graph: g, costs: costs, roof: try Roof(gpu: noBF16), configuration: RunConfiguration(precision: .ampBF16))
        }
        #expect(throws: NNFlopsError.self) { try GPUProfile.load(hardwareFile: "/nonexistent/gpu.json") }
    }

    // MARK: Report

    @Test func reportSortedByTimeWithSchema() throws {
        let g = try zoo("mlp", batch: 32)
        let analysis = try roofline(g, gpu: "h100-sxm")
        let report = RooflineReport(graph: g, analysis: analysis)
        #expect(report.schema == "nnflops.roofline/2")
        #expect(zip(report.layers, report.layers.dropFirst()).allSatisfy { $0.timeS >= $1.timeS })
        #expect(abs(report.layers.map(\.timeShare).reduce(0, +) - 1) < 1e-9)
        #expect(abs(report.totals.stepTimeS - (report.totals.forwardTimeS + report.totals.backwardTimeS + report.totals.optimizerTimeS)) < 1e-15)
        let json = try AnalysisRenderer.json(report)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["gpu"] as? String == "h100-sxm")
        #expect(object["precision"] as? String == "fp32")
        #expect((object["ridge_flops_per_byte"] as? Double).map { abs($0 - 67e12 / 3350e9) < 1e-9 } == true)
        let layer = try #require((object["layers"] as? [[String: Any]])?.first)
        for key in ["name", "op", "phase", "flops", "bytes", "intensity", "bound", "time_s"] { #expect(layer[key] != nil, "\(key)") }
        #expect((object["totals"] as? [String: Any])?["step_time_s"] is Double)
    }

    @Test func svgChart() throws {
        let g = try zoo("resnet18", batch: 8)
        let analysis = try roofline(g, gpu: "a100-sxm-80gb", configuration: RunConfiguration(precision: .ampBF16))
        let svg = SVGRoofline.render(analysis, report: RooflineReport(graph: g, analysis: analysis))
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("resnet18, batch 8, adam, amp-bf16 on NVIDIA A100 SXM4 80GB: step lower bound"))
        #expect(svg.hasSuffix("</svg>\n"))
        #expect(svg.contains("Arithmetic intensity"))
        #expect(svg.contains("ridge 153 FLOP/B"))
        #expect(svg.contains("bf16 matrix peak 312 TFLOP/s"))
        #expect(svg.components(separatedBy: "<circle").count > 10)
        // Well-formed enough for XML: no raw '<' inside text.
        #expect(!svg.contains("<0.1"))
    }
}
