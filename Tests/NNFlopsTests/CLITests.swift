import Foundation
import Testing

/// Runs the built `nnflops` binary the way a user does: exit codes, output, golden text.
@Suite struct CLITests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The `nnflops` executable built beside this test bundle.
    static let binary: URL = {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return here.appendingPathComponent("nnflops")
    }()

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    func temporarySpec(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-cli-\(UUID().uuidString).spec")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func goldenTableForMLP() throws {
        let result = try run(["mlp", "--batch", "32"])
        #expect(result.status == 0)
        let golden = try String(contentsOf: Self.packageRoot.appendingPathComponent("Tests/Golden/mlp-batch32.txt"), encoding: .utf8)
        #expect(result.stdout == golden)
    }

    @Test func jsonSchemaAndFigures() throws {
        let result = try run(["mlp", "--batch", "32", "--format", "json"])
        #expect(result.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["schema"] as? String == "nnflops.report/1")
        #expect(json["model"] as? String == "mlp")
        let config = try #require(json["config"] as? [String: Any])
        #expect(config["batch"] as? Int == 32)
        let totals = try #require(json["totals"] as? [String: Any])
        // 784*256 + 256 + 256*10 + 10 (reference/params.md: 203,530).
        #expect(totals["params"] as? Int == 203_530)
        #expect(totals["trainable_params"] as? Int == 203_530)
        // FlopCounterMode (h100-calibration.json, mlp@B32): 13,008,896 = 2 * forward MACs.
        #expect((totals["forward_macs"] as? Int).map { $0 * 2 } == 13_008_896)
        for key in ["forward_flops", "backward_flops", "train_step_flops"] { #expect(totals[key] is Int) }
        let layers = try #require(json["layers"] as? [[String: Any]])
        #expect(!layers.isEmpty)
        for key in ["name", "op", "output_shape", "params", "forward_flops", "forward_macs", "backward_flops"] {
            #expect(layers[0][key] != nil, "layers[].\(key)")
        }
        let byOp = try #require(json["by_op"] as? [String: [String: Any]])
        #expect(byOp["linear"]?["count"] as? Int == 2)
    }

    @Test func csvAndMarkdown() throws {
        let csv = try run(["mlp", "--format", "csv"])
        #expect(csv.status == 0)
        #expect(csv.stdout.hasPrefix("name,op,detail,output_shape,params,forward_flops"))
        let markdown = try run(["mlp", "--format", "markdown"])
        #expect(markdown.stdout.contains("| name | op |"))
    }

    @Test func zooWorksFromAnyDirectory() throws {
        let result = try run(["resnet50", "--depth", "1"], in: FileManager.default.temporaryDirectory)
        #expect(result.status == 0)
        #expect(result.stdout.contains("25,557,032"))
        let zoo = try run(["zoo"])
        #expect(zoo.status == 0)
        #expect(zoo.stdout.contains("gpt2"))
    }

    @Test func explicitAnalyzeSubcommandAndVersion() throws {
        #expect(try run(["analyze", "mlp"]).status == 0)
        let version = try run(["--version"])
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty)
        let help = try run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("MAC"))
    }

    @Test func badSpecExitsTwoWithLocatedError() throws {
        let spec = try temporarySpec("model broken\ninput x: [1, 4]\ny = lineer(x, 2)\n")
        defer { try? FileManager.default.removeItem(at: spec) }
        let result = try run([spec.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("\(spec.path):3:5: error: unknown operator or block 'lineer'"))
        #expect(result.stderr.contains("    ^"))
        #expect(result.stderr.contains("did you mean 'linear'?"))
        #expect(result.stdout.isEmpty)
    }

    @Test func planCommand() throws {
        let table = try run(["plan", "--compute", "1e21"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("2.89B"))  // 20 tokens/param: N = sqrt(1e21 / 120) = 2.887e9
        let json = try run(["plan", "--compute", "1e21", "--format", "json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "nnflops.plan/1")
        let methods = try #require(object["methods"] as? [[String: Any]])
        #expect(methods.count == 4)
        for method in methods {
            let n = try #require(method["params"] as? Double), d = try #require(method["tokens"] as? Double)
            #expect(abs(6 * n * d / 1e21 - 1) < 1e-9)
        }
        for arguments in [["plan", "--compute", "0"], ["plan", "--compute=-5"], ["plan", "--compute", "1e21", "--gpu", "h100-sxm", "--mfu", "1.5"],
                          ["plan", "--compute", "1e21", "--gpu", "h100"], ["plan", "--compute", "1e21", "--params", "1B", "--tokens", "1T"], ["plan"]] {
            let result = try run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stdout)")
            #expect(!result.stderr.isEmpty, "\(arguments)")
        }
    }

    @Test func usageErrorsExitTwo() throws {
        for arguments in [["mlp", "--bogus"], ["mlp", "--format", "xml"], ["mlp", "--batch", "0"], ["mlp", "--batch", "x"],
                          ["no-such-model"], ["mlp", "--set", "nonsense"], ["mlp", "--set", "bacth=2"], ["mlp", "--depth", "0"], []] {
            let result = try run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.isEmpty, "\(arguments)")
        }
        let typo = try run(["resnt50"])
        #expect(typo.stderr.contains("did you mean 'resnet50'?"))
    }
}

/// The README stays true: its language example elaborates and its sample output is what
/// the binary prints.
@Suite struct ReadmeTests {
    static let readme = (try? String(contentsOf: CLITests.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""

    /// Code blocks (``` fenced) following a heading that contains `heading`.
    func codeBlocks(after heading: String) -> [String] {
        guard let start = Self.readme.range(of: heading) else { return [] }
        let parts = Self.readme[start.upperBound...].components(separatedBy: "```")
        return stride(from: 1, to: parts.count, by: 2).map { String(parts[$0]) }
    }

    @Test func languageExampleElaborates() throws {
        let example = try #require(codeBlocks(after: "## The spec language").first)
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("readme-example-\(UUID().uuidString).spec")
        try example.write(to: spec, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: spec) }
        let result = try CLITests().run([spec.path, "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"model\" : \"tiny-resnet\""))
        #expect(result.stdout.contains("\"name\" : \"1.down\""))
    }

    @Test func sampleOutputIsCurrent() throws {
        let block = try #require(codeBlocks(after: "## Two commands").dropFirst().first)
        let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let command = try #require(lines.first { $0.hasPrefix("$ nnflops ") })
        let arguments = command.dropFirst("$ nnflops ".count).split(separator: " ").map(String.init)
        let expected = lines.drop { !$0.hasPrefix("$ nnflops ") }.dropFirst().joined(separator: "\n")
        let result = try CLITests().run(arguments)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
