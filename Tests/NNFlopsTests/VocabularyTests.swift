import Foundation
import Testing
@testable import NNFlops

/// The one vocabulary of numbers (README, "Numbers and units"): byte sizes take IEC and SI
/// byte units or plain bytes, counts take K/M/B/G/T/P or scientific notation, a suffix of
/// the other kind is an error; the same in specs and on flags. And the model request that
/// every command loads a model through.
@Suite struct VocabularyTests {
    func graph(_ source: String, overrides: [String: Value] = [:]) throws -> Graph {
        try TestModel.graph(source, overrides: overrides)
    }

    func failure(_ source: String) -> NNFlopsError? {
        do {
            _ = try graph(source)
            return nil
        } catch let error as NNFlopsError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    // MARK: Byte sizes

    @Test func byteSizesTakeByteUnits() throws {
        let cases: [(String, Int)] = [
            ("24GiB", 24 * 1_073_741_824), ("80GB", 80_000_000_000), ("1073741824", 1_073_741_824), ("16e9", 16_000_000_000),
            ("1.5KiB", 1536), ("2MiB", 2 * 1_048_576), ("1TiB", 1_099_511_627_776), ("3KB", 3000), ("4MB", 4_000_000),
            ("1TB", 1_000_000_000_000), ("1_000", 1000), ("16 GiB", 16 * 1_073_741_824), ("2.5", 2),
        ]
        for (text, bytes) in cases {
            #expect(try Quantity.bytes(text) == bytes, "\(text)")
        }
    }

    @Test func byteSizesRefuseCountsAndNonsense() {
        // B is a billion (a count), never a byte; counts' G, K, T and lower-case units too.
        for text in ["1B", "2G", "1K", "1T", "7b", "1e9B"] {
            #expect(throws: NNFlopsError.self, "\(text)") { try Quantity.bytes(text) }
            let message = Self.message { _ = try Quantity.bytes(text) }
            #expect(message.contains("is a count suffix"), "\(text): \(message)")
            #expect(message.contains("byte sizes take KiB, MiB, GiB, TiB (powers of 2), KB, MB, GB, TB (powers of 10) or a plain number of bytes"))
        }
        // Byte units are spelt exactly: `kb` could be kilobits.
        for text in ["16gib", "16GIB", "1kb", "lots", "", "0", "-1", "0x10", "nan", "1e30", "1..2GiB"] {
            #expect(throws: NNFlopsError.self, "\(text)") { try Quantity.bytes(text) }
        }
        #expect(Self.message { _ = try Quantity.bytes("16Gib", what: "--memory") }.hasPrefix("--memory: unknown unit 'Gib' (did you mean 'GiB'?)"))
    }

    // MARK: Counts

    @Test func countsTakeCountSuffixes() throws {
        let cases: [(String, Double)] = [("7B", 7e9), ("7b", 7e9), ("3G", 3e9), ("1.5k", 1500), ("1.28M", 1.28e6), ("2T", 2e12),
                                          ("1P", 1e15), ("5.76E23", 5.76e23), ("1281167", 1_281_167)]
        for (text, value) in cases {
            #expect(try Quantity.count(text) == value, "\(text)")
        }
        for text in ["16GiB", "80GB", "1KiB"] {
            let message = Self.message { _ = try Quantity.count(text, what: "--max-params") }
            #expect(message.hasPrefix("--max-params: '\(text.drop { $0.isNumber })' is a byte unit"), "\(message)")
            #expect(message.contains("counts take K, M, B or G, T, P (10^3 to 10^15) or scientific notation (1e21)"))
        }
        #expect(Self.message { _ = try Quantity.count("7m") }.contains("'m' is ambiguous (milli or mega?)"))
    }

    @Test func unitsKeepTheirKind() throws {
        #expect(try Quantity.parse("16GiB") == Quantity(value: 17_179_869_184, unit: .gibibyte))
        #expect(try Quantity.parse("7B").unit?.kind == .count)
        #expect(try Quantity.parse("7B").mismatch(for: .bytes) != nil)
        #expect(try Quantity.parse("1e9").mismatch(for: .bytes) == nil)
        #expect(try Quantity.parse("1e9").mismatch(for: .count) == nil)
        #expect(try Quantity.parse("1.5K").integerValue == 1500)
        #expect(try Quantity.parse("1.5").integerValue == nil)
    }

    // MARK: Spec literals

    @Test func specLiteralsKeepTheirUnit() throws {
        // A count suffix still makes a count: `param hidden = 4K` is 4000, and lower case too.
        let g = try graph("param hidden = 4K\nparam small = 2k\ninput x: [1, 4]\ny = linear(x, hidden)\nz = linear(y, small)\n")
        #expect(g.tensors[g.nodes[0].outputs[0]].shape == [1, 4000])
        #expect(g.tensors[g.nodes[1].outputs[0]].shape == [1, 2000])
        #expect(failure("param m = 4m\ninput x: [1, 4]\ny = linear(x, 2)\n")?.message.contains("'m' is ambiguous") == true)
    }

    @Test func budgetLimitsTakeTheirMetricsUnits() throws {
        let head = "input x: [1, 4]\ny = linear(x, 2)\n"
        let g = try graph(head + "budget peak_memory <= 2 * 8GiB\nbudget activation_memory <= 80GB\nbudget params <= 1.5B\n"
                          + "budget train_flops <= 5e12\nbudget forward_flops <= 2T\nbudget peak_memory <= 1073741824\n")
        #expect(g.budgets.map(\.limit) == [17_179_869_184, 80e9, 1.5e9, 5e12, 2e12, 1_073_741_824])
        #expect(g.budgets.map(\.metric.unit) == [.bytes, .bytes, .parameters, .flops, .flops, .bytes])

        // `budget peak_memory <= 1B` meant a billion bytes; now B (a count) is refused there,
        // with the location of the literal.
        let bytes = try #require(failure(head + "budget peak_memory <= 1B\n"))
        #expect(bytes.message == "budget peak_memory is a byte size: 'B' is a count suffix (10^9), not a byte unit; "
                + "byte sizes take KiB, MiB, GiB, TiB (powers of 2), KB, MB, GB, TB (powers of 10) or a plain number of bytes")
        #expect(bytes.location == SourceLocation(file: "t.spec", line: 3, column: 23))
        let count = try #require(failure(head + "budget params <= 16GiB\n"))
        #expect(count.message.hasPrefix("budget params is a count: 'GiB' is a byte unit (2^30 bytes), not a count suffix"))
        #expect(failure(head + "budget train_flops <= 2 * 1TB\n")?.message.contains("'TB' is a byte unit") == true)
        #expect(failure(head + "budget activation_memory <= 8G\n")?.message.contains("'G' is a count suffix") == true)
    }

    @Test func overridesReadTheSameVocabulary() throws {
        let (name, value) = try SpecLoader.parseOverride("hidden=2K")
        #expect(name == "hidden")
        #expect(value.description == "2000")
        #expect(try SpecLoader.parseOverride("mem=16GiB").1.description == "17179869184")
        #expect(try SpecLoader.parseOverride("n=-1.5K").1.description == "-1500")
    }

    // MARK: Phases and run modes

    @Test func onePhaseSpelling() throws {
        #expect(Phase.allCases.map(\.rawValue) == ["forward", "input_gradient", "weight_gradient", "recompute", "optimizer"])
        let json = String(decoding: try JSONEncoder().encode([Phase.inputGradient, .weightGradient]), as: UTF8.self)
        #expect(json == #"["input_gradient","weight_gradient"]"#)
        #expect(RunConfiguration(inference: true).mode == .inference)
        #expect(RunConfiguration().mode == .training)
    }

    // MARK: Model requests

    static let mlp = "param batch = 8\ninput x: [batch, 4]\ny = linear(x, 3)\n"

    func spec(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-vocab-\(UUID().uuidString).spec")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func modelRequestsElaborateAtAnyBatch() throws {
        let url = try spec(Self.mlp)
        defer { try? FileManager.default.removeItem(at: url) }
        let request = try ModelRequest(url.path)
        #expect(try request.graph().tensors[0].shape == [8, 4])
        #expect(try request.graph(batch: 3).tensors[0].shape == [3, 4])
        #expect(try ModelRequest(url.path, batch: 5).graph().tensors[0].shape == [5, 4])
        #expect(try ModelRequest(url.path, settings: ["batch=6"]).batchSize() == 6)
        #expect(throws: NNFlopsError.self) { try ModelRequest(url.path, batch: 0) }

        // --micro-batch 2 of 8: elaborated at 2, four micro-batches per step.
        let (graph, configuration) = try request.run(RunConfiguration(optimizer: .sgd), microBatch: 2)
        #expect(graph.tensors[0].shape == [2, 4])
        #expect(configuration.accumulationSteps == 4)
        #expect(configuration.optimizer == .sgd)
        #expect(Self.message { _ = try request.run(RunConfiguration(), microBatch: 3) } == "--micro-batch 3 must divide the batch size 8")
    }

    @Test func scalingInputsForValidate() throws {
        // resnet18's `image` 224 x 0.25 = 56, unless --set gives it.
        let scaled = try ModelRequest("resnet18").scalingInputs(by: 0.25).graph()
        #expect(scaled.settings.first { $0.name == "image" }?.value.description == "56")
        let pinned = try ModelRequest("resnet18", settings: ["image=64"]).scalingInputs(by: 0.25).graph()
        #expect(pinned.settings.first { $0.name == "image" }?.value.description == "64")
    }

    @Test func emphasisBoldsTitleAndTotals() throws {
        let graph = try self.graph(Self.mlp)
        let report = AnalysisReport(graph: graph, analysis: try CostAnalysis(graph: graph), options: CountOptions())
        let plain = try AnalysisRenderer.render(report, format: .table)
        let bold = try AnalysisRenderer.render(report, format: .table, emphasis: true)
        #expect(!plain.contains("\u{1B}"))
        let lines = bold.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("\u{1B}[1m") == true)
        #expect(lines.contains("\u{1B}[1mTotals\u{1B}[0m"))
        #expect(bold.replacingOccurrences(of: "\u{1B}[1m", with: "").replacingOccurrences(of: "\u{1B}[0m", with: "") == plain)
        #expect(try AnalysisRenderer.render(report, format: .json, emphasis: true) == AnalysisRenderer.render(report, format: .json))
    }

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return ""
        } catch let error as NNFlopsError {
            return error.message
        } catch {
            return "\(error)"
        }
    }
}
