import Foundation
import NNFlops
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

    /// `nnflops MODEL [--format F] [--batch N] [--depth N] [--set NAME=VALUE]` and
    /// `--version` are read without ArgumentParser (Sources/nnflops/PlainAnalysis.swift);
    /// `nnflops analyze ...` always goes through it (a first word that names a command is
    /// ArgumentParser's). Each pair must write the same bytes and exit the same way, on
    /// every zoo model and on lines that fail in the library (a missing file, a bad spec,
    /// a bad override) as on lines that work.
    @Test func linesReadWithoutArgumentParserDoWhatItDoes() throws {
        let badSpec = try temporarySpec("model broken\ninput x: [1, 4]\ny = lineer(x, 2)\n")
        defer { try? FileManager.default.removeItem(at: badSpec) }
        var lines: [[String]] = []
        for (index, model) in Zoo.models.enumerated() {
            let format = OutputFormat.allCases[index % OutputFormat.allCases.count].rawValue
            lines.append([model.name])
            lines.append([model.name, "--format", format])
        }
        lines += [
            ["mlp", "--format=json", "--batch", "8", "--depth", "1"],
            ["resnet50", "--depth", "2", "--batch=4", "--format", "csv"],
            ["gpt2", "--set", "seq=128", "--set=layers=2", "--format", "markdown"],
            ["mlp", "--set", "nosuch=3"],
            ["mlp", "--set", "batch=0"],
            [badSpec.path],
            [badSpec.path, "--format", "json"],
            ["no-such-model.spec"],
        ]
        for line in lines {
            let plain = try run(line), parsed = try run(["analyze"] + line)
            #expect(plain.stdout == parsed.stdout, "\(line)")
            #expect(plain.stderr == parsed.stderr, "\(line)")
            #expect(plain.status == parsed.status, "\(line)")
        }
        let version = try run(["--version"]), parsedVersion = try run(["analyze", "--version"])
        #expect(version.status == 0 && parsedVersion.status == 0)
        #expect(version.stdout == parsedVersion.stdout)
        #expect(version.stdout.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+\n/) != nil)
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
    /// The README with its line breaks as spaces, for phrases that wrap.
    static let prose = readme.replacingOccurrences(of: "\n", with: " ")

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

    // MARK: Every command line runs

    /// Every fenced code block of the README, with the heading it sits under.
    static var blocks: [String] {
        let parts = readme.components(separatedBy: "```")
        return stride(from: 1, to: parts.count, by: 2).map { String(parts[$0]) }
    }

    /// A command line as the README writes it: `nnflops ...` (or `$ nnflops ...`, or
    /// `swift run -c release nnflops ...`), continued by a trailing backslash, without its
    /// `# comment` and shell redirection; the arguments after `nnflops`.
    static func arguments(of line: String) -> [String]? {
        var text = line.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("$ ") { text.removeFirst(2) }
        if text.hasPrefix("swift run -c release ") { text.removeFirst("swift run -c release ".count) }
        guard text.hasPrefix("nnflops ") else { return nil }
        if let comment = text.range(of: " #") { text = String(text[..<comment.lowerBound]) }
        if let redirect = text.range(of: " > ") { text = String(text[..<redirect.lowerBound]) }
        return Array(text.split(separator: " ").map(String.init).dropFirst())
    }

    /// The command lines of the code blocks, each with the output lines the README shows
    /// for it (`$ nnflops ...` followed by output).
    static var blockCommands: [(arguments: [String], output: [String])] {
        var commands: [([String], [String])] = []
        for block in blocks {
            var lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            // Join continuation lines.
            var joined: [String] = []
            while !lines.isEmpty {
                var line = lines.removeFirst()
                while line.hasSuffix("\\"), !lines.isEmpty { line = String(line.dropLast()) + " " + lines.removeFirst().trimmingCharacters(in: .whitespaces) }
                joined.append(line)
            }
            var index = 0
            while index < joined.count {
                let line = joined[index]
                index += 1
                guard let arguments = arguments(of: line) else { continue }
                var output: [String] = []
                if line.hasPrefix("$ ") {
                    while index < joined.count, !joined[index].hasPrefix("$ ") {
                        output.append(joined[index])
                        index += 1
                    }
                }
                commands.append((arguments, output))
            }
        }
        return commands
    }

    /// Inline `nnflops ...` spans that are whole command lines: no placeholders (`SPEC`,
    /// `[--svg F]`, `C`), not a bare command name (`nnflops check`).
    static var inlineCommands: [[String]] {
        var commands: [[String]] = []
        let parts = readme.components(separatedBy: "```")
        for prose in stride(from: 0, to: parts.count, by: 2).map({ parts[$0] }) {
            let spans = prose.components(separatedBy: "`")
            for span in stride(from: 1, to: spans.count, by: 2).map({ spans[$0].replacingOccurrences(of: "\n", with: " ") }) {
                guard span.hasPrefix("nnflops "), let arguments = arguments(of: span) else { continue }
                let placeholder = arguments.contains { word in
                    word.contains("[") || word.contains("|") || word == "..." || (word.count <= 8 && word.allSatisfy { $0.isUppercase || $0 == "_" })
                }
                let bareName = arguments.count == 1 && ["analyze", "check", "fit", "import", "infer", "plan", "roofline", "validate"].contains(arguments[0])
                if !placeholder && !bareName { commands.append(arguments) }
            }
        }
        return commands
    }

    /// A directory holding the files the README's commands name: `model.spec` (and
    /// `my-model.spec`, `specs/model.spec`), the README's own language example;
    /// `rtx-4090.json`, its hardware-file example; `config.json`, a transformers config
    /// from the fixtures (Qwen2-0.5B); `model.onnx`, torchvision's resnet18 from the fixtures.
    static func workingDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("specs"), withIntermediateDirectories: true)
        let parts = readme.components(separatedBy: "```")
        let example = try #require(ReadmeTests().codeBlocks(after: "## The spec language").first)
        for name in ["model.spec", "my-model.spec", "specs/model.spec"] {
            try example.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let hardware = try #require(stride(from: 1, to: parts.count, by: 2).map { parts[$0] }.first { $0.hasPrefix("json") && $0.contains("\"rtx-4090\"") })
        try String(hardware.dropFirst("json".count)).write(to: directory.appendingPathComponent("rtx-4090.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: CLITests.packageRoot.appendingPathComponent("Tests/Fixtures/hf/configs/Qwen2-0.5B.json"),
                                         to: directory.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: CLITests.packageRoot.appendingPathComponent("Tests/Fixtures/onnx/torchvision/resnet18_train.onnx"),
                                         to: directory.appendingPathComponent("model.onnx"))
        return directory
    }

    @Test func everyCommandLineRuns() throws {
        let directory = try Self.workingDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let commands = Self.blockCommands.map { ($0.arguments, $0.output) } + Self.inlineCommands.map { ($0, [String]()) }
        #expect(commands.count >= 45, "\(commands.count) command lines found")
        // The commands the README shows failing, with the exit code and message it documents.
        let documentedFailures: [String: (Int32, String)] = [
            "nnflops rooflin resnet50 --gpu h100-sxm": (2, "error: unknown command 'rooflin'; did you mean 'roofline'?"),
            "nnflops help rooflin": (2, "error: unknown command 'rooflin'; did you mean 'roofline'?"),
        ]
        // Two at a time: the machine has two cores.
        final class Results: @unchecked Sendable {
            var runs: [CLITests.Run?]
            let lock = NSLock()
            init(_ count: Int) { runs = Array(repeating: nil, count: count) }
        }
        let results = Results(commands.count)
        let argumentLists = commands.map(\.0)
        DispatchQueue.concurrentPerform(iterations: commands.count) { index in
            let result = try? CLITests().run(argumentLists[index], in: directory)
            results.lock.lock(); results.runs[index] = result; results.lock.unlock()
        }
        for ((arguments, output), result) in zip(commands, results.runs) {
            let command = "nnflops " + arguments.joined(separator: " ")
            guard let result else { Issue.record("\(command) did not run"); continue }
            if let (status, message) = documentedFailures[command] {
                #expect(result.status == status && result.stderr.contains(message), "\(command): exit \(result.status)\n\(result.stderr)")
                #expect(Self.prose.contains(message), "\(message)")
                continue
            }
            #expect(result.status == 0, "\(command): exit \(result.status)\n\(result.stderr)")
            // The output the README shows: each line, in order (`...` elides lines; a line
            // ending in `...` is a prefix).
            var remaining = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
            for expected in output.map({ $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }) where !expected.isEmpty && expected != "..." {
                let prefix = expected.hasSuffix("...") ? String(expected.dropLast(3)) : nil
                guard let at = remaining.firstIndex(where: { prefix.map($0.hasPrefix) ?? ($0 == expected) }) else {
                    Issue.record("\(command): the README shows a line the binary does not print: \(expected)")
                    break
                }
                remaining = remaining[(at + 1)...]
            }
        }
    }

    // MARK: Quoted figures come from the binary

    func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLITests().run(arguments + ["--format", "json"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test func gpuTableIsWhatGPUsPrints() throws {
        let result = try CLITests().run(["gpus", "--format", "markdown"])
        #expect(result.status == 0)
        #expect(Self.readme.contains(result.stdout.trimmingCharacters(in: .newlines)), "the README's GPU table differs from `nnflops gpus --format markdown`")
        // The reported-memory table: one row per profile that has a reported figure.
        let gpus = try #require(try json(["gpus"])["gpus"] as? [[String: Any]])
        for gpu in gpus {
            guard let bytes = (gpu["reported_memory_bytes"] as? NSNumber)?.doubleValue, let id = gpu["id"] as? String else { continue }
            let row = "| \(id) | \(Int(bytes).formatted(.number.grouping(.automatic))) | \(gpu["reported_memory_source"] as? String ?? "") |"
            #expect(Self.readme.contains(row), "\(row)")
        }
    }

    @Test func trainingRunFiguresAreWhatRooflinePrints() throws {
        let command = ["roofline", "resnet50", "--gpu", "v100-sxm2", "--precision", "amp-fp16", "--optimizer", "momentum", "--batch", "256",
                       "--samples", "1.28M", "--epochs", "90"]
        let one = try #require(try json(command)["training_run"] as? [String: Any])
        let eight = try #require(try json(command + ["--gpus", "8"])["training_run"] as? [String: Any])
        func value(_ run: [String: Any], _ key: String) -> Double { (run[key] as? NSNumber)?.doubleValue ?? .nan }
        let c = value(one, "total_flops")
        #expect(Self.prose.contains("prints C ≈ \(String(format: "%.2f", c / 1e18))e18 FLOPs"))
        #expect(Self.prose.contains("and \(String(format: "%.1f", value(one, "wall_time_s") / 3600)) hours at 50% of 125 TFLOP/s on one V100"))
        #expect(Self.prose.contains("The roofline bound for the same run is \(String(format: "%.1f", value(one, "roofline_time_s") / 3600)) hours on one V100"))
        #expect(Self.prose.contains("(\(String(format: "%.2f", value(eight, "roofline_time_s") / 3600)) hours on 8, `--gpus 8`)"))
    }

    @Test func heldAgainstMeasurementsBoundsAreWhatRooflinePrints() throws {
        // Rows: | title: `nnflops roofline ARGS` | measured ms | bound ms (ms with --tf32 none) | ratios |
        let rows = Self.readme.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains(": `nnflops roofline ") }
        #expect(rows.count == 6)
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let command = try #require(cells[0].components(separatedBy: "`").dropFirst().first)
            let arguments = Array(command.split(separator: " ").map(String.init).dropFirst())
            let measured = try #require(Double(cells[1].replacingOccurrences(of: " ms", with: "")))
            let bound = try #require((try json(arguments)["totals"] as? [String: Any])?["step_time_s"] as? Double) * 1e3
            let tf32 = try #require((try json(arguments + ["--tf32", "none"])["totals"] as? [String: Any])?["step_time_s"] as? Double) * 1e3
            #expect(cells[2] == String(format: "%.2f ms (%.2f ms with --tf32 none)", bound, tf32), "\(command)")
            #expect(cells[3] == String(format: "%.2f (%.2f)", measured / bound, measured / tf32), "\(command)")
        }
    }

    @Test func calibrationPredictionsAreWhatAnalyzePrints() throws {
        // | resnet50 B=32 adam | saved predicted | measured | error | peak predicted | measured | error |
        let rows = Self.readme.split(separator: "\n").filter { $0.range(of: #"^\| (resnet50|gpt2) B=\d+ \w+ \| [\d,]+ \|"#, options: .regularExpression) != nil }
        #expect(rows.count == 6)
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            let words = cells[0].split(separator: " ").map(String.init)
            let batch = String(words[1].dropFirst(2))
            let memory = try #require((try json([words[0], "--batch", batch, "--optimizer", words[2]])["totals"] as? [String: Any])?["memory"] as? [String: Any])
            func grouped(_ key: String) -> String { (memory[key] as? Int ?? -1).formatted(.number.grouping(.automatic)) }
            #expect(cells[1] == grouped("saved_activations_bytes"), "\(cells[0])")
            #expect(cells[4] == grouped("peak_bytes"), "\(cells[0])")
        }
    }

    @Test func reportSchemaIsWhatAnalyzeWrites() throws {
        // `config.depth` is present only with --depth, `layers[].tied_to` only on a tied layer.
        #expect((try json(["mlp"])["config"] as? [String: Any])?["depth"] == nil)
        #expect((try json(["mlp", "--depth", "1"])["config"] as? [String: Any])?["depth"] as? Int == 1)
        #expect(Self.readme.contains(#""depth": 1,                       // --depth; the key is present only when given"#))
        let layers = try #require(try json(["gpt2"])["layers"] as? [[String: Any]])
        #expect(layers.filter { $0["tied_to"] != nil }.map { $0["name"] as? String } == ["lm_head"])
        // The fit capacities the README quotes.
        let fit = try json(["fit", "mlp", "--gpu", "h100-sxm", "--precision", "fp32", "--checkpoint", "none"])
        #expect(Self.prose.contains((fit["capacity_bytes"] as? Int ?? 0).formatted(.number.grouping(.automatic)) + " bytes on an H100 80GB"))
    }
}
