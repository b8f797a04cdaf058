import Foundation
import Testing
@testable import NNFlops

/// `JSONOutput` (the streaming writer every report's JSON goes through) against
/// Foundation's `JSONEncoder` with the options the reports used before it: the same
/// bytes for every zoo model's reports and for values chosen to reach every branch
/// (escapes, number forms, empty and nested containers, key order).
@Suite struct JSONOutputTests {
    static func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func expectSame<T: Encodable>(_ value: T, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let ours = try JSONOutput.encode(value)
        let theirs = try foundation(value)
        if ours != theirs {
            let a = Array(ours.utf8), b = Array(theirs.utf8)
            let at = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
            let context = { (bytes: [UInt8]) in String(decoding: bytes[max(0, at - 80)..<min(bytes.count, at + 80)], as: UTF8.self) }
            Issue.record("\(what): differs at byte \(at) of \(a.count) / \(b.count):\n--- JSONOutput\n\(context(a))\n--- JSONEncoder\n\(context(b))",
                         sourceLocation: sourceLocation)
        }
    }

    func zoo(_ name: String) throws -> Graph {
        let (source, file) = try SpecLoader.load(name)
        return try Elaborator.elaborate(source: source, file: file)
    }

    @Test func everyZooReportIsByteIdentical() throws {
        for (name, _) in Zoo.models {
            let graph = try zoo(name)
            let costs = try CostAnalysis(graph: graph)
            try Self.expectSame(AnalysisReport(graph: graph, analysis: costs, options: CountOptions()), "\(name) analyze")
            try Self.expectSame(AnalysisReport(graph: graph, analysis: costs, options: CountOptions(), depth: 1), "\(name) analyze --depth 1")
            for configuration in [RunConfiguration(), RunConfiguration(optimizer: .adamw, precision: .ampBF16, checkpoint: .sqrt)] {
                let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
                try Self.expectSame(AnalysisReport(graph: graph, analysis: costs, options: CountOptions(), memory: memory), "\(name) analyze --memory")
                let roofline = try RooflineAnalysis(graph: graph, costs: costs, roof: try Roof(gpu: try GPUProfile.named("h100-sxm")),
                                                    configuration: configuration)
                try Self.expectSame(RooflineReport(graph: graph, analysis: roofline), "\(name) roofline")
            }
        }
        try Self.expectSame(try ZooReport(), "zoo")
        try Self.expectSame(try Plan(PlanRequest(compute: 1e21)), "plan")
    }

    /// The members no zoo report above has, each written by the report's own writer
    /// (JSONRow) inside a nested object: a parallel layout (`parallel`, one stage's
    /// `totals.memory`, `totals.communication`), warnings, and a spec without params
    /// (`config.params` an empty object).
    @Test func parallelReportsWarningsAndEmptyParamsAreByteIdentical() throws {
        var configuration = RunConfiguration(optimizer: .adam, precision: .bf16)
        configuration.parallel = ParallelLayout(gpus: 8, tensor: 2, pipeline: 2, schedule: .oneForwardOneBackward)
        let (graph, run) = try ModelRequest("gpt2", overrides: ["batch": .int(8), "seq": .int(128)]).run(configuration, microBatch: 1)
        let costs = try CostAnalysis(graph: graph)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: run.onOneGPU)
        let parallel = try ParallelAnalysis(graph: graph, options: CountOptions(), configuration: run)
        let report = AnalysisReport(graph: graph, analysis: costs, options: CountOptions(), memory: memory, parallel: parallel)
        #expect(report.parallel != nil && report.totals.communication != nil && report.totals.memory?.stage != nil)
        try Self.expectSame(report, "gpt2 tensor 2 x pipeline 2")

        let dead = try Elaborator.elaborate(source: """
            model dead
            input x: [4, 8]
            h = linear(x, 16, name = "fc1")
            unused = linear(x, 5, name = "unused")
            output linear(h, 2, name = "fc2")
            """, file: "dead.spec")
        let deadReport = AnalysisReport(graph: dead, analysis: try CostAnalysis(graph: dead), options: CountOptions())
        #expect(deadReport.warnings?.count == 1 && deadReport.config.paramValues.isEmpty)
        try Self.expectSame(deadReport, "dead code, no params")
    }

    struct Sample: Codable {
        var text: String
        var numbers: [Double]
        var integers: [Int]
        var nested: [String: [Int]]
        var empty: [Int]
        var emptyObject: [String: Int]
        var optional: Int?
        var present: Double?
        var flag: Bool
        var big: UInt64
        var small: Int8
        var float: Float
        var listOfObjects: [Inner]
        var optionals: [Int?]

        struct Inner: Codable { var b: Int; var a: String; var aa: [String: Bool] }
    }

    @Test func edgeCasesAreByteIdentical() throws {
        let doubles: [Double] = [0, -0.0, 1, -1, 0.1, 0.1 + 0.2, 1.5, 100, 1e15, 1e16, 1e17, 123456789012345683968, 1e21, 1e22,
                                 1e-4, 1e-5, 1.0e-7, .leastNonzeroMagnitude, 2.2250738585072014e-308, 1.7976931348623157e308, 3.3, 2.5e-3,
                                 -123.456, 1.0 / 3.0, 6.02214076e23, 0.3e-2, 9007199254740992, 9007199254740994]
        let sample = Sample(text: "tab\tquote\" backslash\\ slash/ newline\n cr\r bell\u{07} nul\u{00} esc\u{1B} del\u{7F} é 中 🎉 \u{2028}",
                            numbers: doubles, integers: [0, -1, Int.max, Int.min, 42], nested: ["z": [1], "a": [], "m": [2, 3], "": [4]],
                            empty: [], emptyObject: [:], optional: nil, present: 2.0, flag: true, big: UInt64.max, small: -128,
                            float: 0.1, listOfObjects: [Sample.Inner(b: 1, a: "x", aa: ["é": true, "e": false, "E": true, "_": false, "10": true, "9": true]),
                                                        Sample.Inner(b: 2, a: "", aa: [:])],
                            optionals: [1, nil, 3])
        try Self.expectSame(sample, "sample")
        try Self.expectSame([Sample](), "an empty top-level array")
        try Self.expectSame(["only": 1], "a dictionary")
        try Self.expectSame(42, "a top-level integer")
        try Self.expectSame("text", "a top-level string")
        try Self.expectSame([[1, 2], [], [3]], "nested arrays")
        for d in doubles { try Self.expectSame(["v": d], "\(d)") }
        #expect(throws: EncodingError.self) { try JSONOutput.encode(["v": Double.infinity]) }
        #expect(throws: EncodingError.self) { try JSONOutput.encode([Double.nan]) }
    }

    /// Custom `encode(to:)` with nested containers (no report uses them; Codable allows them).
    struct Nesting: Encodable {
        enum Keys: String, CodingKey { case outer, list, after, b, a }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            var outer = container.nestedContainer(keyedBy: Keys.self, forKey: .outer)
            try outer.encode(2, forKey: .b)
            try outer.encode(1, forKey: .a)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try list.encode(1)
            var inner = list.nestedContainer(keyedBy: Keys.self)
            try inner.encode("x", forKey: .a)
            var deeper = list.nestedUnkeyedContainer()
            try deeper.encode(true)
            try list.encode(3)
            try container.encode("end", forKey: .after)
        }
    }

    /// An object whose members are written in a given order (reports write theirs in
    /// declaration order, which is not key order).
    struct Ordered: Encodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        var members: [(String, Int)]
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for (key, value) in members { try container.encode(value, forKey: Key(stringValue: key)) }
        }
    }

    /// The order reused from the last object sorted (`StreamingJSONEncoder.lastOrder`):
    /// taken by the next object only when its keys' heads are the same sequence and all
    /// differed. Rows in the same order; then the same keys written in another order; then
    /// keys that agree in their first 16 bytes (the heads cannot tell them apart, so the
    /// order must not be reused: written in one order, then the other).
    @Test func reusedKeyOrderIsByteIdentical() throws {
        let row = [("name", 1), ("op", 2), ("forward_flops", 3), ("backward_flops", 4), ("detail", 5)]
        try Self.expectSame((0..<4).map { _ in Ordered(members: row) }, "rows in one order")
        try Self.expectSame([Ordered(members: row), Ordered(members: row.reversed()), Ordered(members: row)], "rows in two orders")
        let long = [("abcdefghijklmnopB", 1), ("abcdefghijklmnopA", 2), ("abcdefghijklmnop", 3), ("z", 4)]
        let other = [("abcdefghijklmnopA", 5), ("abcdefghijklmnopB", 6), ("abcdefghijklmnop", 7), ("z", 8)]
        try Self.expectSame([Ordered(members: long), Ordered(members: other), Ordered(members: long), Ordered(members: long)],
                            "keys alike in their first 16 bytes")
        // A short key and its zero-padded head: "a" and "a\u{0}" share both words.
        try Self.expectSame([Ordered(members: [("a\u{0}", 1), ("a", 2)]), Ordered(members: [("a", 3), ("a\u{0}", 4)])],
                            "a key and the same key with U+0000")
    }

    @Test func nestedContainersAreByteIdentical() throws {
        try Self.expectSame(Nesting(), "nested containers")
        try Self.expectSame([Nesting(), Nesting()], "nested containers in an array")
    }
}

extension JSONOutputTests {
    /// A layer row is written straight into the buffer (JSONRow) and through a keyed
    /// container for JSONEncoder: the two must agree wherever a row stands, whatever it
    /// holds. Rows with and without the optional members, an empty shape (a loss's) and a
    /// name that needs escaping; alone, in an array, and two levels down.
    @Test func layerRowsAreByteIdentical() throws {
        typealias Layer = AnalysisReport.Layer
        let full = Layer(name: "h.0.attn \"q\"\n", op: "linear", detail: "768 -> 2304", outputShape: [8, 1024, 2304], params: 1_771_776,
                         forwardFlops: 29_023_535_104, forwardMacs: 14_511_767_552, backwardFlops: 58_047_070_208, backwardMacs: 29_023_535_104,
                         inputGradFlops: 29_023_535_104, weightGradFlops: 29_023_535_104, operators: 1, savedBytes: 25_165_824, tiedTo: "wte")
        let bare = Layer(name: "loss", op: "cross_entropy", detail: "", outputShape: [], params: 0, forwardFlops: 0, forwardMacs: 0,
                         backwardFlops: -1, backwardMacs: 0, inputGradFlops: 0, weightGradFlops: 0, operators: 3)
        try Self.expectSame(full, "a full row")
        try Self.expectSame(bare, "a bare row")
        try Self.expectSame([bare, full, bare], "rows in an array")
        try Self.expectSame(["outer": ["rows": [full, bare]], "a": ["rows": []]], "rows two levels down")
    }
}

extension JSONOutputTests {
    /// README, "nnflops roofline": a layer that moves no bytes has `"intensity": null`,
    /// the key present (it was left out, as the synthesized `encodeIfPresent` does).
    @Test func aRooflineRowWithoutBytesHasANullIntensity() throws {
        let row = RooflineReport.Layer(name: "flat", op: "reshape", phase: .forward, dtype: "fp32", flops: 0, matrixFlops: 0, bytes: 0,
                                       intensity: nil, ridgeFlopsPerByte: 295.2, bound: .memory, attainableFlopsPerS: 0,
                                       timeS: 0, timeShare: 0)
        try Self.expectSame([row], "a roofline row without bytes")
        #expect(try JSONOutput.encode(row).contains("\"intensity\" : null"))
    }
}
