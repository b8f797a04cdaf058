import Foundation
import Testing
@testable import NNFlops

/// The fuzzers' command-line reproducers, run through the built binary: each exits 0, 1
/// or 2 within seconds with the message the user needs (README, "Limits"), and the same
/// input gives byte-identical output on every run.
@Suite struct LimitsCLITests {
    let cli = CLITests()

    /// A spec file that is removed when `body` returns.
    func withSpec<T>(_ text: String, _ body: (String) throws -> T) throws -> T {
        let url = try cli.temporarySpec(text)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    func withSpec<T>(bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-limits-\(UUID().uuidString).spec")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    /// Runs `arguments`, expects exit 2 with every fragment on stderr and nothing on stdout.
    func expectError(_ arguments: [String], _ fragments: String..., sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let result = try cli.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.status) \(result.stderr)", sourceLocation: sourceLocation)
        for fragment in fragments {
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        }
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)", sourceLocation: sourceLocation)
    }

    // MARK: Crashes, hangs and memory blow-ups

    @Test func recursionThroughADefaultIsTheCallDepthError() throws {
        try withSpec("model t\ninput x: [1, 4]\nblock f(a = f()):\n    return a\nq = f()\n") { path in
            try expectError([path], "\(path):3:13: error: blocks nest deeper than 64 calls (the call-depth limit")
        }
    }

    @Test func exponentialRecursionStopsAtTheBlockCallLimit() throws {
        try withSpec("model t\ninput x: [1, 4]\nblock f(n):\n    if n == 0:\n        return 1\n    return f(n - 1) + f(n - 1)\nq = f(40)\n") { path in
            try expectError([path], "\(path):6:12: error: the spec makes more than 100,000 block calls (the block-call limit)")
        }
    }

    @Test func doublingListsAndStringsAreTooLarge() throws {
        try withSpec("model t\ninput x: [1, 4]\nxs = [1]\nrepeat 40:\n    xs = xs + xs\ny = relu(x)\n") { path in
            try expectError([path], "\(path):5:13: error: list too large: 1,048,576 items, more than the limit of 1,000,000")
        }
        try withSpec("model t\ninput x: [1, 4]\ns = \"ab\"\nrepeat 40:\n    s = s + s\ny = relu(x)\n") { path in
            try expectError([path], "error: string too large: 1,048,576 bytes")
        }
    }

    @Test func loopsPastTheLimitFailAtOnce() throws {
        for count in ["10**12", "4999999"] {
            try withSpec("model t\ninput x: [1, 4]\nrepeat \(count):\n    x = relu(x)\n") { path in
                try expectError([path], "\(path):3:", "error: a loop of", "iterations would take the spec past 1,000,000 loop iterations (the iteration limit)")
            }
        }
    }

    @Test func validateRefusesWhatTheMachineCannotHold() throws {
        // [1, 3, 100000, 100000] into a conv: 120 GB of input alone.
        try withSpec("model t\ninput x: [1, 3, 100000, 100000]\ny = conv2d(x, 8, kernel = 3)\n") { path in
            try expectError(["validate", path], "error: validate needs", "(the run's fp32 peak), more than this machine has")
        }
        // 16 GiB samples of MNIST; the note names a batch that fits, by the flag that was used.
        try expectError(["validate", "mlp", "--set", "batch=16GiB"], "error: validate needs", "more than this machine has",
                        "note: --set batch=")
        // More work than the limit: the figure, the limit and a scale that fits.
        // ResNet-18's step is about 1.1e10 FLOPs; at --scale 0.5 a quarter of it, at 0.25 a sixteenth.
        try expectError(["validate", "resnet18", "--max-flops", "1e9"], "error: validate would execute 1.07e10 FLOPs, more than the limit of 1.00e9 (--max-flops)",
                        "note: --scale 0.25 needs")
    }

    @Test func fitOnABatchDependentStructureFailsAtItsProbe() throws {
        try withSpec("model t\nparam batch = 1\ninput x: [1, 4]\nrepeat batch:\n    x = relu(x)\n") { path in
            try expectError(["fit", path, "--gpu", "h100-sxm"],
                            "\(path):4:8: error: fit tried batch 16,777,216 (fp32, checkpoint none): a loop of 16,777,216 iterations would take the spec past 1,000,000 loop iterations (the iteration limit)")
        }
    }

    @Test func fitOnTenThousandOperatorsTakesAFewProbes() throws {
        // 23 s before, an elaboration and analysis for every probe of every row; now a
        // row is predicted from batches 1 and 2 and checked, a handful of probes.
        let source = "model t\nparam batch = 1\ninput x: [batch, 4]\nx = linear(x, 4)\nrepeat 9999:\n    x = relu(x)\n"
        try withSpec(source) { path in
            let result = try cli.run(["fit", path, "--memory", "1GiB", "--precision", "fp32", "--checkpoint", "none", "--format", "json"])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let row = try #require((json["rows"] as? [[String: Any]])?.first)
            // Found inside the search range (that the batch is the largest that fits is
            // LimitsTests' everyRowIsTheLargestBatchThatFits, on the same search).
            let batch = try #require(row["max_batch"] as? Int)
            #expect(batch > 1 && batch < 1 << 24, "\(row)")
            #expect(row["memory_depends_on_batch"] as? Bool == true)
            #expect((row["peak_bytes"] as? Int).map { $0 <= 1 << 30 } == true)
        }
    }

    @Test func aBatchIndependentModelSaysSo() throws {
        try withSpec("model t\nparam batch = 1\ninput x: [4, 4]\ny = relu(x)\n") { path in
            let table = try cli.run(["fit", path, "--memory", "1GiB", "--precision", "fp32"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("fp32       none              any  128 B"), "\(table.stdout)")
            #expect(table.stdout.contains("any: memory does not depend on batch (the peak is the same at batch 1 and 16,777,216)."))
            let json = try cli.run(["fit", path, "--memory", "1GiB", "--precision", "fp32", "--format", "json"])
            #expect(json.stdout.contains("\"memory_depends_on_batch\" : false") && json.stdout.contains("\"search_limit\" : 16777216"))
        }
    }

    @Test func fitOnAMegabyteLineIsQuick() throws {
        // A zoo spec with one line of 1 MB: parsed once, elaborated per probe.
        let source = try #require(Zoo.source(named: "mlp"))
        try withSpec(source + "note = \"" + String(repeating: "x", count: 500_000) + "\"  # " + String(repeating: "y", count: 500_000) + "\n") { path in
            let result = try cli.run(["fit", path, "--memory", "1GiB", "--precision", "fp32", "--checkpoint", "none"])
            #expect(result.status == 0, "\(result.stderr)")
            let plain = try cli.run(["fit", "mlp", "--memory", "1GiB", "--precision", "fp32", "--checkpoint", "none"])
            #expect(result.stdout == plain.stdout)
        }
    }

    // MARK: Wrong answers

    @Test func aHundredAndOneTermSumIsAccepted() throws {
        try withSpec("model t\ninput x: [1, 4]\ny = " + Array(repeating: "x", count: 101).joined(separator: " + ") + "\n") { path in
            let result = try cli.run([path, "--format", "json"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("\"operators\" : 100"))
        }
    }

    // MARK: Clear messages

    @Test func invalidUTF8AndCRLineEndingsAreLocated() throws {
        try withSpec(bytes: Array("model t\ninput x: [1, 4]\ny = relu(x) # caf".utf8) + [0xE9] + Array("\n".utf8)) { path in
            try expectError([path], "\(path):3:18: error: invalid UTF-8 at byte offset 41 (byte 0xE9): a spec is UTF-8 text")
        }
        try withSpec(bytes: Array("model t\rinput x: [1, 4]\ry = relu(x)\r".utf8)) { path in
            try expectError([path], "\(path):1:8: error: carriage return inside a line: the file has CR line endings")
        }
    }

    @Test func anOverflowingTotalNamesTheLayer() throws {
        try withSpec("model t\ninput x: [\(1 << 20), \(1 << 20)]\nrepeat 3:\n    x = linear(x, \(1 << 20), bias = false)\n") { path in
            try expectError([path], "\(path):4:9: error: the model's total FLOP count overflows 64 bits at 'linear_1' (linear)")
        }
    }

    @Test func batchErrorsNameTheFlagTheUserTyped() throws {
        try withSpec("model t\ninput x: [1, 4]\ny = relu(x)\n") { path in
            try expectError([path, "--batch", "8"], "error: --batch 8: the spec has no param 'batch'")
            try expectError(["roofline", path, "--gpu", "h100-sxm", "--batch", "2"], "error: --batch 2: the spec has no param 'batch'")
            try expectError([path, "--set", "batch=8"], "error: --set batch: the spec has no param 'batch'")
        }
        try withSpec("model t\nparam batch = \"b\"\ninput x: [1, 4]\ny = relu(x)\n") { path in
            try expectError([path, "--batch", "8"], "error: --batch 8: expected string (the default is \"b\"), got int 8")
        }
        try expectError(["mlp", "--set", "batch=1e400"], "batch: the number '1e400' is too large")
        try expectError(["mlp", "--set", "batch=99999999999999999999"], "does not fit in 64 bits")
    }

    @Test func operatorErrorsUseTheOperatorsName() throws {
        for (call, name) in [("conv2d(x, 8, kernel = 3)", "conv2d"), ("conv_transpose2d(x, 8, kernel = 3)", "conv_transpose2d"),
                             ("maxpool(x, 2)", "maxpool"), ("avgpool(x, 2)", "avgpool"), ("adaptive_avgpool(x, 2)", "adaptive_avgpool")] {
            try withSpec("model t\ninput x: [1, 3, 8]\ny = \(call)\n") { path in
                let result = try cli.run([path])
                #expect(result.status == 2)
                #expect(result.stderr.contains("error: \(name): input must be [N, C, H, W]"), "\(result.stderr)")
                #expect(!result.stderr.contains("Nd"), "\(result.stderr)")
            }
        }
    }

    // MARK: The same input, the same bytes

    @Test func everyZooModelPrintsTheSameBytesEveryRun() throws {
        // Separate processes: a dictionary's order differs between them, if anything
        // depended on it.
        for model in Zoo.models.map(\.name) {
            let first = try cli.run([model, "--format", "json"]), second = try cli.run([model, "--format", "json"])
            #expect(first.status == 0 && first.stdout == second.stdout, "\(model)")
        }
        // The other formats (the same report as the JSON), rendered twice.
        for model in Zoo.models {
            let graph = try Elaborator.elaborate(source: model.source, file: model.name + ".spec")
            let report = AnalysisReport(graph: graph, analysis: try CostAnalysis(graph: graph), options: CountOptions())
            func rendered() throws -> [String] { try [OutputFormat.table, .csv, .markdown].map { try AnalysisRenderer.render(report, format: $0) } }
            #expect(try rendered() == rendered(), "\(model.name)")
        }
    }

    @Test func rooflineAndFitPrintTheSameBytesEveryRun() throws {
        for arguments in [["roofline", "resnet50", "--gpu", "h100-sxm", "--format", "json"], ["roofline", "gpt2", "--gpu", "a100-sxm-80gb"],
                          ["roofline", "bert-base", "--gpu", "v100-sxm2", "--precision", "amp-fp16", "--format", "json"],
                          ["fit", "resnet18", "--memory", "8GiB", "--format", "json"], ["fit", "gpt2", "--gpu", "h100-sxm"],
                          ["check", "vit_b_16", "--max-params", "1B", "--format", "json"], ["gpus", "--format", "json"],
                          ["resnet50", "--memory", "--format", "json"], ["llama2-7b", "--optimizer", "adamw", "--precision", "bf16"],
                          ["plan", "--compute", "1e21", "--format", "json"]] {
            let first = try cli.run(arguments), second = try cli.run(arguments)
            #expect(first.status == 0, "\(arguments): \(first.stderr)")
            #expect(first.stdout == second.stdout, "\(arguments)")
        }
    }
}
