import Foundation
import Testing

/// What a new user meets in the first hour, and the command-line reproducers of the
/// fuzzers' findings, run against the built binary: help that reads well at 80 columns,
/// mistakes answered with the right message, output files written through their path,
/// numbers from hardware files and flags checked where they enter, output that says what
/// was run, and stdout that is the same on every run.
@Suite struct CLIExperienceTests {
    let cli = CLITests()

    /// Every command whose help is rendered ("" is the root).
    static let commands = ["", "analyze", "zoo", "plan", "fit", "check", "roofline", "gpus", "validate"]

    func help(_ command: String, columns: Int) throws -> String {
        let result = try cli.run(command.isEmpty ? ["--help"] : [command, "--help"], environment: ["COLUMNS": String(columns)])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        return result.stdout
    }

    /// Runs `arguments`, expects exit 2, `message` on stderr and nothing on stdout.
    func expectUsageError(_ arguments: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try cli.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)", sourceLocation: sourceLocation)
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: Help at 80 columns

    /// A line whose parentheses do not balance was broken inside a parenthesis (interval
    /// notation such as `[0, 1)` is not a parenthesis and has no place in the help either).
    static func unbalanced(_ line: String) -> Bool {
        var depth = 0
        for c in line {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1; if depth < 0 { return true } }
        }
        return depth != 0
    }

    @Test func helpReadsWellAt80Columns() throws {
        // Every command the root help lists, so that a new one is held to the same rules.
        let root = try help("", columns: 200)
        let listed = root.components(separatedBy: "SUBCOMMANDS:").last?.split(separator: "\n")
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") && !$0.contains("See '") }
            .compactMap { $0.split(separator: " ").first.map(String.init) } ?? []
        #expect(Set(Self.commands.dropFirst()).isSubset(of: Set(listed)), "\(listed)")
        for command in [""] + listed {
            let narrow = try help(command, columns: 80)
            let wide = try help(command, columns: 400)
            let lines = narrow.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for line in lines {
                #expect(line.count <= 80, "\(command): longer than 80 columns: \(line)")
                #expect(!Self.unbalanced(line), "\(command): broken inside a parenthesis: \(line)")
            }
            // Examples: every example line of the wide rendering is one line at 80 columns.
            let examples = wide.split(separator: "\n").map(String.init).filter { $0.hasPrefix("  nnflops ") || $0.hasPrefix("      --") }
            #expect(!examples.filter { $0.hasPrefix("  nnflops ") }.isEmpty, "\(command): no examples")
            for example in examples {
                #expect(lines.contains(example), "\(command): example broken at 80 columns: \(example)")
            }
            // Closed sets are listed once, with what each value means, not as "(values: ...)".
            #expect(!narrow.contains("(values:"), "\(command): a choice list printed twice")
        }
        // Options that mean nothing for a command are not offered.
        #expect(!(try help("check", columns: 80)).contains("--memory "))
        #expect(!(try help("validate", columns: 80)).contains("  --attention-flops <"))
    }

    // MARK: Mistakes get the right message

    @Test func misspelledCommandsAreNamedAsCommands() throws {
        try expectUsageError(["rooflin", "resnet50", "--gpu", "h100-sxm"], "error: unknown command 'rooflin'; did you mean 'roofline'?")
        try expectUsageError(["analyse", "resnet50"], "error: unknown command 'analyse'; did you mean 'analyze'?")
        try expectUsageError(["help", "rooflin"], "error: unknown command 'rooflin'; did you mean 'roofline'?")
        // A model name is still a model name, a typo of one still suggests the model.
        #expect(try cli.run(["mlp"]).status == 0)
        try expectUsageError(["resnt50"], "did you mean 'resnet50'?")
        #expect(try cli.run(["help", "roofline"]).stdout.contains("USAGE: nnflops roofline"))
    }

    @Test func partialNamesSuggestEveryMatch() throws {
        try expectUsageError(["llama2"], "did you mean 'llama2-7b'?")
        try expectUsageError(["roofline", "mlp", "--gpu", "h100"], "did you mean 'h100-sxm' or 'h100-pcie'?")
        // The README once used this id: the parts name a profile in another order.
        try expectUsageError(["fit", "mlp", "--gpu", "a100-80gb-sxm"], "did you mean 'a100-sxm-80gb'?")
    }

    @Test func negativeNumbersAreValues() throws {
        try expectUsageError(["mlp", "--batch", "-1"], "Error: The value '-1' is invalid for '--batch <n>': must be at least 1")
        try expectUsageError(["roofline", "mlp", "--gpu", "h100-sxm", "--top", "-3"], "'--top <n>': must be at least 0")
        try expectUsageError(["plan", "--compute", "-1e21"], "Error: The value '-1e21' is invalid for '--compute <flops>': must be a positive number")
        try expectUsageError(["fit", "mlp", "--memory", "1GiB", "--reserve", "-0.5"], "'--reserve <fraction>': must be in [0, 1)")
    }

    @Test func batchGivenTwiceIsAConflict() throws {
        try expectUsageError(["mlp", "--set", "batch=2", "--batch", "8"], "error: --batch 8 and --set batch=2 both set the batch: give one of them")
        try expectUsageError(["mlp", "--set", "hidden=64", "--set", "hidden=32"], "--set gives 'hidden' twice")
        #expect(try cli.run(["mlp", "--set", "batch=2"]).stdout.hasPrefix("mlp (batch 2)"))
    }

    @Test func tabsMixedWithSpacesAreLocated() throws {
        let mixed = try cli.temporarySpec("model t\ninput x: [1, 4]\nblock f(x):\n    y = relu(x)\n\treturn y\nq = f(x)\n")
        defer { try? FileManager.default.removeItem(at: mixed) }
        try expectUsageError([mixed.path], "\(mixed.path):5:2: error: inconsistent use of tabs and spaces in indentation: this line is indented with 1 tab, the block around it with 4 spaces")
        // Tabs alone, or a tab followed by spaces in every line of the block, are consistent.
        for body in ["\ty = relu(x)\n\treturn y\n", "\t  y = relu(x)\n\t  return y\n"] {
            let spec = try cli.temporarySpec("model t\ninput x: [1, 4]\nblock f(x):\n" + body + "q = f(x)\n")
            defer { try? FileManager.default.removeItem(at: spec) }
            let result = try cli.run([spec.path])
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    // MARK: Output files

    @Test func outputFilesAreWrittenThroughTheirPath() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let chart = directory.appendingPathComponent("chart.svg")
        let created = try cli.run(["roofline", "mlp", "--gpu", "h100-sxm", "--svg", chart.path])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stderr.contains("wrote the roofline chart to \(chart.path)"))
        // A symlink to a regular file stays a symlink; the file it names is rewritten.
        let target = directory.appendingPathComponent("target.svg"), link = directory.appendingPathComponent("link.svg")
        try "old contents that are longer than nothing".write(to: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        let through = try cli.run(["roofline", "mlp", "--gpu", "h100-sxm", "--svg", link.path])
        #expect(through.status == 0, "\(through.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == target.path)
        #expect(try String(contentsOf: target, encoding: .utf8).hasPrefix("<svg"))
        // --emit-spec the same way, truncating what was there.
        let spec = directory.appendingPathComponent("plan.spec")
        try String(repeating: "x", count: 100_000).write(to: spec, atomically: false, encoding: .utf8)
        let plan = try cli.run(["plan", "--compute", "1e21", "--emit-spec", spec.path])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stderr.contains("wrote the spec to \(spec.path)"))
        #expect(try String(contentsOf: spec, encoding: .utf8).hasPrefix("# "))
        #expect(!(try String(contentsOf: spec, encoding: .utf8)).contains("xxx"))
    }

    @Test func outputFilesThatAreNotRegularFilesAreRefused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let linkToDirectory = directory.appendingPathComponent("dir.svg")
        try FileManager.default.createSymbolicLink(at: linkToDirectory, withDestinationURL: directory)
        let cases: [(String, String)] = [
            (directory.path, "it is a directory"),
            ("/dev/null", "it is a device, not a regular file"),
            (linkToDirectory.path, "it is a directory"),
            (directory.appendingPathComponent("missing/chart.svg").path, "the directory '\(directory.appendingPathComponent("missing").path)' does not exist"),
        ]
        for (path, reason) in cases {
            for arguments in [["roofline", "mlp", "--gpu", "h100-sxm", "--svg", path], ["plan", "--compute", "1e21", "--emit-spec", path]] {
                let result = try cli.run(arguments)
                #expect(result.status == 2, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains("error: cannot write '\(path)': \(reason)"), "\(arguments): \(result.stderr)")
                #expect(!result.stderr.contains("Domain") && !result.stderr.contains("NSCocoa"), "\(result.stderr)")
                #expect(result.stdout.isEmpty)
            }
        }
        // /dev/null is still the character device it was.
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    }

    // MARK: Numbers checked where they enter

    func hardwareFile(_ json: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-gpu-\(UUID().uuidString).json")
        try json.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func hardwareFiguresBeyondAnyDeviceAreRejected() throws {
        let cases: [(String, String)] = [
            (#""memory_gb": 1e308, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}"#, "'memory_gb' is 1e+308, more than the largest accepted figure"),
            (#""memory_gb": 24, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 1e300, "fp16": 160}"#, "'tflops.fp32' is 1e+300, more than the largest accepted figure"),
            (#""memory_gb": 24, "bandwidth_gb_s": 1e20, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}"#, "'bandwidth_gb_s' is 1e+20"),
        ]
        for (figures, message) in cases {
            let file = try hardwareFile(#"{"id": "mine", "name": "Mine", "# + figures + "}")
            defer { try? FileManager.default.removeItem(at: file) }
            for arguments in [["gpus", "--hardware", file.path], ["roofline", "mlp", "--hardware", file.path, "--gpu", "mine", "--format", "json"],
                              ["fit", "mlp", "--hardware", file.path, "--gpu", "mine"]] {
                try expectUsageError(arguments, message)
            }
        }
    }

    @Test func longHardwareStringsAreCutInTables() throws {
        let source = String(repeating: "datasheet ", count: 300_000)  // 3 MB
        let file = try hardwareFile(#"{"id": "mine", "name": "Mine", "source": ""# + source + #"", "memory_gb": 24, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}"#)
        defer { try? FileManager.default.removeItem(at: file) }
        let table = try cli.run(["gpus", "--hardware", file.path])
        #expect(table.status == 0, "\(table.stderr)")
        let longest = table.stdout.split(separator: "\n").map(\.count).max() ?? 0
        #expect(longest < 400, "the table's longest line has \(longest) characters")
        #expect(table.stdout.contains("datasheet datasheet") && table.stdout.contains("…"))
        // JSON keeps the whole text.
        let json = try cli.run(["gpus", "--hardware", file.path, "--format", "json"])
        #expect(json.status == 0 && json.stdout.contains(source.trimmingCharacters(in: .whitespaces)))
        let newline = try hardwareFile(#"{"id": "mine", "name": "Two\nlines", "memory_gb": 24, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}"#)
        defer { try? FileManager.default.removeItem(at: newline) }
        try expectUsageError(["gpus", "--hardware", newline.path], "'name' must be one line of text")
    }

    @Test func hugeBudgetLimitsPrint() throws {
        let flag = try cli.run(["check", "mlp", "--max-params", "1e19"])
        #expect(flag.status == 0, "\(flag.stderr)")
        #expect(flag.stdout.contains("params 204K <= 1.00e19  (--max-params)"))
        let spec = try cli.temporarySpec(MemoryTests.mlp + "\nbudget peak_memory <= 1e308\nbudget train_flops <= 1e300\n")
        defer { try? FileManager.default.removeItem(at: spec) }
        let budget = try cli.run(["check", spec.path])
        #expect(budget.status == 0, "\(budget.stderr)")
        #expect(budget.stdout.contains("<= 1.00e308 B"))
        #expect(budget.stdout.contains("<= 1.00e300 FLOPs"))
        let json = try cli.run(["check", spec.path, "--format", "json"])
        #expect(json.status == 0 && json.stdout.contains("\"ok\" : true"))
        let beyond = try cli.temporarySpec(MemoryTests.mlp + "\nbudget peak_memory <= 1e400\n")
        defer { try? FileManager.default.removeItem(at: beyond) }
        try expectUsageError(["check", beyond.path], "number '1e400' is too large")
    }

    @Test func planSizesOutOfRange() throws {
        let huge = "9223372036854775807"
        try expectUsageError(["plan", "--compute", "1e21", "--vocab", huge, "--gpu", "h100-sxm"],
                             "Error: The value '\(huge)' is invalid for '--vocab <v>': '\(huge)' is out of range (1 to 1,000,000,000)")
        try expectUsageError(["plan", "--compute", "1e21", "--seq", huge, "--gpu", "h100-sxm"], "'--seq <s>': '\(huge)' is out of range (1 to 100,000,000)")
        try expectUsageError(["plan", "--compute", "1e21", "--micro-batch", huge, "--gpu", "h100-sxm"],
                             "'--micro-batch <b>': '\(huge)' is out of range (1 to 1,000,000)")
        try expectUsageError(["plan", "--compute", "1e21", "--vocab", "99999999999999999999"], "is out of range (beyond 64 bits)")
        // The largest accepted sizes together still plan, without overflow.
        let largest = try cli.run(["plan", "--compute", "1e30", "--vocab", "1000000000", "--seq", "100000000", "--gpu", "h100-sxm",
                                   "--micro-batch", "1000000", "--format", "json"])
        #expect(largest.status == 0, "\(largest.stderr)")
        // Its spec would need an output of 10^17 elements: a located error, not a trap.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try cli.run(["plan", "--compute", "1e30", "--vocab", "1000000000", "--seq", "100000000",
                                "--emit-spec", directory.appendingPathComponent("big.spec").path])
        #expect(spec.status == 2 && spec.stderr.contains("overflows 64-bit counts"), "\(spec.stderr)")
    }

    @Test func validateStdoutIsTheSameEveryRun() throws {
        for arguments in [["validate", "mlp"], ["validate", "mlp", "--format", "json"]] {
            let first = try cli.run(arguments), second = try cli.run(arguments)
            #expect(first.status == 0 && second.status == 0)
            #expect(first.stdout == second.stdout, "\(arguments)")
        }
        let json = try cli.run(["validate", "mlp", "--format", "json"])
        #expect(json.stdout.contains("\"seconds\" : null"))
        let timed = try cli.run(["validate", "mlp", "--timing", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(timed.stdout.utf8)) as? [String: Any])
        #expect((object["seconds"] as? Double).map { $0 > 0 } == true)
        let table = try cli.run(["validate", "mlp", "--timing"])
        #expect(table.stdout.contains("kernel time by kind") && table.stdout.contains("FLOP/s"))
        #expect(!table.stdout.contains("FLOPs/s"))
    }

    // MARK: fit is right about capacity

    @Test func fitFillsTheMemoryTheDriverReports() throws {
        // An H100 80GB HBM3's driver reports 85,017,493,504 bytes (torch.cuda total_memory), not 80e9.
        let h100 = try cli.run(["fit", "mlp", "--gpu", "h100-sxm", "--precision", "fp32", "--checkpoint", "none", "--format", "json"])
        #expect(h100.status == 0, "\(h100.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(h100.stdout.utf8)) as? [String: Any])
        #expect(object["capacity_bytes"] as? Int == 85_017_493_504)
        #expect(object["capacity_source"] as? String == "reported")
        #expect(object["gpu"] as? String == "h100-sxm")
        // A profile without a published report falls back to the datasheet and says so.
        let v100 = try cli.run(["fit", "mlp", "--gpu", "v100-sxm2"])
        #expect(v100.status == 0, "\(v100.stderr)")
        #expect(v100.stdout.contains("v100-sxm2: the datasheet figure, no report of its driver's total is known"))
        // No bf16 on a V100, as roofline says.
        #expect(!v100.stdout.contains("amp-bf16  ") && !v100.stdout.contains("\nbf16 "))
        #expect(v100.stdout.contains("Left out: amp-bf16, bf16 (v100-sxm2 has no bf16 units)."))
        try expectUsageError(["fit", "mlp", "--gpu", "v100-sxm2", "--precision", "bf16"], "cannot compute in bf16")
        // GPT-3's 175B parameters need 16 bytes each under Adam: batch 1 does not fit 80 GB.
        let big = try cli.run(["fit", "gpt3-175b", "--gpu", "h100-sxm", "--precision", "fp32", "--checkpoint", "none"])
        #expect(big.status == 0, "\(big.stderr)")
        #expect(big.stdout.contains("fp32       none             none  batch 1 needs"))
        #expect(big.stdout.contains("none: not even batch 1 fits."))
    }

    @Test func fitAndPlanTakeHardwareFiles() throws {
        let file = try hardwareFile(#"{"id": "mine", "name": "Mine 24GB", "memory_gb": 24, "reported_memory_bytes": "# +
            #"25390000000, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}"#)
        defer { try? FileManager.default.removeItem(at: file) }
        let fit = try cli.run(["fit", "mlp", "--hardware", file.path, "--gpu", "mine", "--format", "json"])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stdout.contains("\"capacity_bytes\" : 25390000000"))
        // No bf16 figure: the bf16 policies are left out.
        #expect(fit.stdout.contains("\"unsupported_precisions\" : [\n    \"amp-bf16\",\n    \"bf16\"\n  ]"))
        let plan = try cli.run(["plan", "--compute", "1e21", "--hardware", file.path, "--gpu", "mine", "--format", "json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("\"gpu\" : \"mine\""))
        try expectUsageError(["plan", "--compute", "1e21", "--hardware", file.path], "--hardware needs --gpu")
        try expectUsageError(["fit", "mlp", "--memory", "1GiB", "--hardware", file.path], "--hardware adds a GPU for --gpu")
    }

    // MARK: Output says what was run

    @Test func rooflineAndCheckNameTheRun() throws {
        let roofline = try cli.run(["roofline", "resnet18", "--gpu", "a100-sxm-80gb", "--batch", "16", "--optimizer", "sgd",
                                    "--precision", "amp-bf16", "--top", "3"])
        #expect(roofline.status == 0, "\(roofline.stderr)")
        let lines = roofline.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "resnet18 on a100-sxm-80gb (NVIDIA A100 SXM4 80GB): batch 16, sgd, amp-bf16, checkpoint none")
        // The per-kind summary comes before the entries, and its shares add up to the whole.
        let kindsAt = try #require(lines.firstIndex(of: "By operator kind"))
        let entriesAt = try #require(lines.firstIndex { $0.hasPrefix("Largest entries (3 of ") })
        #expect(kindsAt < entriesAt)
        let json = try cli.run(["roofline", "resnet18", "--gpu", "a100-sxm-80gb", "--batch", "16", "--optimizer", "sgd",
                                "--precision", "amp-bf16", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let layers = try #require(object["layers"] as? [[String: Any]])
        let kinds = Set(layers.compactMap { $0["op"] as? String })
        for kind in kinds {
            #expect(lines[kindsAt..<entriesAt].contains { $0.hasPrefix(kind + " ") }, "\(kind) missing from the summary")
        }
        let check = try cli.run(["check", "mlp", "--batch", "8", "--micro-batch", "4", "--optimizer", "adamw", "--precision", "bf16", "--max-params", "1M"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.hasPrefix("mlp: batch 8 (2 micro-batches of 4), adamw, bf16, checkpoint none\n"))
        let inference = try cli.run(["check", "mlp", "--inference", "--max-params", "1M", "--format", "json"])
        #expect(inference.stdout.contains("\"run\" : \"batch 1, inference, fp32\""))
    }

    @Test func tablesSayWhatTheyShow() throws {
        // The tied head's row names the layer whose weight it uses.
        let gpt2 = try cli.run(["gpt2", "--depth", "1"])
        #expect(gpt2.status == 0)
        #expect(gpt2.stdout.split(separator: "\n").contains { $0.hasPrefix("lm_head") && $0.contains("tied to wte") })
        #expect(gpt2.stdout.hasPrefix("gpt2 (batch 1, attention FLOPs: dense)"))
        // Models without attention state no attention convention.
        for model in ["mlp", "resnet18"] {
            let result = try cli.run([model])
            #expect(!result.stdout.contains("attention FLOPs"), "\(model)")
        }
        // The zoo in natural order, with the default input the figures are for.
        let zoo = try cli.run(["zoo"])
        let names = zoo.stdout.split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: " ").first.map(String.init) }
        let resnets = names.filter { $0.hasPrefix("resnet") }
        #expect(resnets == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"])
        #expect(names.firstIndex(of: "gpt2")! < names.firstIndex(of: "gpt2-xl")!)
        #expect(zoo.stdout.contains("default input") && zoo.stdout.contains("[1, 3, 224, 224]"))
    }

    // MARK: The SVG chart

    /// A label's box, estimated as a renderer lays text out: 0.6 em per character (wider
    /// than the fonts' average advance), from one em above the baseline to 0.3 em below.
    struct LabelBox {
        var x0, y0, x1, y1: Double
        func intersects(_ o: LabelBox) -> Bool { x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1 }
        /// Whether the segment crosses the box (Liang-Barsky clipping).
        func crosses(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double) -> Bool {
            var t0 = 0.0, t1 = 1.0
            for (p, q) in [(ax - bx, ax - x0), (bx - ax, x1 - ax), (ay - by, ay - y0), (by - ay, y1 - ay)] {
                if p == 0 { if q < 0 { return false }; continue }
                let t = q / p
                if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
                if t0 > t1 { return false }
            }
            return true
        }
    }

    static func attribute(_ name: String, in tag: Substring) -> String? {
        guard let start = tag.range(of: " \(name)=\"") else { return nil }
        let rest = tag[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    /// Every `<text class="label">` of the chart, as boxes: one per label, or one per
    /// character cell for a rotated one; labels numbered so a label's own cells never collide.
    static func labelBoxes(_ svg: String) -> [(label: Int, text: String, box: LabelBox)] {
        var boxes: [(Int, String, LabelBox)] = []
        for (number, piece) in svg.components(separatedBy: "<text class=\"label\"").dropFirst().enumerated() {
            guard let close = piece.range(of: ">"), let end = piece.range(of: "</text>") else { continue }
            let tag = Substring(" " + piece[..<close.lowerBound])
            let text = String(piece[close.upperBound..<end.lowerBound]).replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            let size = attribute("font-size", in: tag).flatMap(Double.init) ?? 13
            let advance = size * 0.6
            if let transform = attribute("transform", in: tag) {
                // translate(X Y) rotate(A)
                let numbers = transform.split(whereSeparator: { !"0123456789.-".contains($0) }).compactMap { Double($0) }
                let (x, y, a) = (numbers[0], numbers[1], numbers[2] * .pi / 180)
                for i in 0..<text.count {
                    let along = (Double(i) + 0.5) * advance, up = -size * 0.4
                    let cx = x + along * cos(a) - up * sin(a), cy = y + along * sin(a) + up * cos(a)
                    boxes.append((number, text, LabelBox(x0: cx - size * 0.5, y0: cy - size * 0.5, x1: cx + size * 0.5, y1: cy + size * 0.5)))
                }
            } else {
                let x = Double(attribute("x", in: tag) ?? "0") ?? 0, y = Double(attribute("y", in: tag) ?? "0") ?? 0
                let width = Double(text.count) * advance
                let anchor = attribute("text-anchor", in: tag) ?? "start"
                let left = anchor == "end" ? x - width : anchor == "middle" ? x - width / 2 : x
                boxes.append((number, text, LabelBox(x0: left, y0: y - size, x1: left + width, y1: y + size * 0.3)))
            }
        }
        return boxes
    }

    /// The segments of the roof paths (`M x y L x y L x y`, solid or dashed roof strokes).
    static func roofSegments(_ svg: String) -> [(Double, Double, Double, Double)] {
        var segments: [(Double, Double, Double, Double)] = []
        for piece in svg.components(separatedBy: "<path d=\"").dropFirst() {
            guard let end = piece.firstIndex(of: "\"") else { continue }
            let numbers = piece[..<end].split(whereSeparator: { !"0123456789.-".contains($0) }).compactMap { Double($0) }
            for i in stride(from: 0, to: numbers.count - 3, by: 2) {
                segments.append((numbers[i], numbers[i + 1], numbers[i + 2], numbers[i + 3]))
            }
        }
        return segments
    }

    @Test func chartLabelsNeverOverlap() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let runs: [[String]] = [
            ["resnet50", "--gpu", "h100-sxm", "--batch", "32"],
            ["gpt2", "--gpu", "h100-sxm", "--precision", "amp-bf16", "--optimizer", "adamw"],
            ["mobilenet_v2", "--gpu", "v100-sxm2", "--precision", "amp-fp16", "--batch", "64"],
            ["vit_b_16", "--gpu", "a100-sxm-80gb", "--precision", "bf16", "--batch", "8"],
            ["mlp", "--gpu", "a100-pcie-40gb", "--inference"],
        ]
        for run in runs {
            let file = directory.appendingPathComponent("\(run[0]).svg")
            let result = try cli.run(["roofline"] + run + ["--svg", file.path])
            #expect(result.status == 0, "\(run): \(result.stderr)")
            let svg = try String(contentsOf: file, encoding: .utf8)
            let boxes = Self.labelBoxes(svg)
            #expect(boxes.count >= 5, "\(run): \(boxes.count) labels")
            for i in boxes.indices {
                for j in boxes.indices where j > i && boxes[i].label != boxes[j].label {
                    #expect(!boxes[i].box.intersects(boxes[j].box), "\(run): '\(boxes[i].text)' overlaps '\(boxes[j].text)'")
                }
                for (ax, ay, bx, by) in Self.roofSegments(svg) {
                    #expect(!boxes[i].box.crosses(ax, ay, bx, by), "\(run): '\(boxes[i].text)' crosses a roof line")
                }
            }
        }
    }

    @Test func chartTitleAndTicks() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("gpt2.svg")
        let result = try cli.run(["roofline", "gpt2", "--gpu", "h100-sxm", "--precision", "amp-bf16", "--optimizer", "adamw", "--batch", "4", "--svg", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        let svg = try String(contentsOf: file, encoding: .utf8)
        #expect(svg.contains(">gpt2, batch 4, adamw, amp-bf16 on NVIDIA H100 SXM5 80GB: step lower bound "))
        // Tick labels: the text of every tick, one spelling per axis.
        let ticks = svg.components(separatedBy: "text-anchor=\"middle\">").dropFirst().compactMap { $0.components(separatedBy: "</text>").first }
            .filter { $0.count <= 6 }
        #expect(ticks.contains("1K") && ticks.contains("0.01") && !ticks.contains("1000") && !ticks.contains("1 K"), "\(ticks)")
        let yTicks = svg.components(separatedBy: "text-anchor=\"end\">").dropFirst().compactMap { $0.components(separatedBy: "</text>").first }
            .filter { $0.hasSuffix("FLOP/s") && $0.count < 14 }
        #expect(yTicks.count >= 5)
        for tick in yTicks { #expect(tick.range(of: #"^(1|10|100) [KMGTPE]?FLOP/s$"#, options: .regularExpression) != nil, "\(tick)") }
    }
}
