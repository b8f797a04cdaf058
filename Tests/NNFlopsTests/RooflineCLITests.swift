import Foundation
import Testing

/// `nnflops roofline` and `nnflops gpus` as a user runs them (the built binary).
@Suite struct RooflineCLITests {
    let cli = CLITests()

    @Test func gpusListsEveryProfile() throws {
        let result = try cli.run(["gpus"])
        #expect(result.status == 0)
        for id in ["v100-sxm2", "v100-pcie", "a100-sxm-40gb", "a100-sxm-80gb", "a100-pcie-40gb", "a100-pcie-80gb", "h100-sxm", "h100-pcie", "h200"] {
            #expect(result.stdout.contains(id + " "), "\(id)")
        }
        #expect(result.stdout.contains("datasheet"))
        let json = try cli.run(["gpus", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "nnflops.gpus/1")
    }

    @Test func rooflineJSONAndSVG() throws {
        let svg = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-roofline-\(UUID().uuidString).svg")
        defer { try? FileManager.default.removeItem(at: svg) }
        let result = try cli.run(["roofline", "mlp", "--gpu", "a100-sxm-80gb", "--precision", "amp-bf16", "--format", "json", "--svg", svg.path])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "nnflops.roofline/2")
        #expect(object["gpu"] as? String == "a100-sxm-80gb")
        #expect(object["precision"] as? String == "amp-bf16")
        #expect((object["ridge_flops_per_byte"] as? Double).map { abs($0 - 153.0) < 0.5 } == true)
        #expect(((object["totals"] as? [String: Any])?["step_time_s"] as? Double).map { $0 > 0 } == true)
        let text = try String(contentsOf: svg, encoding: .utf8)
        #expect(text.hasPrefix("<svg") && text.contains("ridge 153 FLOP/B"))
    }

    @Test func trainingRunAndTable() throws {
        let result = try cli.run(["roofline", "resnet50", "--gpu", "v100-sxm2", "--precision", "amp-fp16", "--optimizer", "momentum",
                                  "--batch", "256", "--samples", "1.28M", "--epochs", "90", "--gpus", "8", "--top", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("training FLOPs C"))
        #expect(result.stdout.contains("450000 steps"))
        #expect(result.stdout.contains("GPU-hours"))
        #expect(result.stdout.contains("step lower bound"))
    }

    @Test func usageErrorsExit2() throws {
        let bf16 = try cli.run(["roofline", "mlp", "--gpu", "v100-sxm2", "--precision", "amp-bf16"])
        #expect(bf16.status == 2)
        #expect(bf16.stderr.contains("bf16"))
        let unknown = try cli.run(["roofline", "mlp", "--gpu", "h100-sxn"])
        #expect(unknown.status == 2 && unknown.stderr.contains("did you mean 'h100-sxm'"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-gpu-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try #"{"id": "mine", "name": "Mine", "memory_gb": 24, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp61": 160}}"#
            .write(to: file, atomically: true, encoding: .utf8)
        let bad = try cli.run(["gpus", "--hardware", file.path])
        #expect(bad.status == 2 && bad.stderr.contains("unknown key 'tflops.fp61'"))
        try #"{"id": "mine", "name": "Mine", "memory_gb": 24, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}"#
            .write(to: file, atomically: true, encoding: .utf8)
        let good = try cli.run(["roofline", "mlp", "--hardware", file.path, "--gpu", "mine"])
        #expect(good.status == 0 && good.stdout.contains("Mine (mine)"))
    }
}
