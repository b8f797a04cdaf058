import Foundation
import Testing
@testable import NNFlops

/// What the libFuzzer targets found (README, "Fuzzing"), each kept as a reproducer in
/// Fuzz/reproducers/TARGET/ (and as a seed in Fuzz/corpus/TARGET/): every reproducer ends in
/// a result or a located error, and each finding has its own test of the rule that fixed it.
/// No timing: the inputs are sized so that the code before the fix would not finish.
@Suite struct FuzzRegressionTests {
    static let reproducers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/reproducers")

    static func files(_ target: String) throws -> [URL] {
        let directory = reproducers.appendingPathComponent(target)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Runs `body`; anything but a result or an NNFlopsError is recorded.
    static func endsInAResultOrALocatedError(_ name: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch is NNFlopsError {
        } catch {
            Issue.record("\(name): not an NNFlopsError: \(error)")
        }
    }

    @Test func everyHardwareReproducerIsReadOrRefused() throws {
        let files = try Self.files("hardware")
        #expect(!files.isEmpty)
        for file in files {
            let data = try Data(contentsOf: file)
            Self.endsInAResultOrALocatedError(file.lastPathComponent) {
                let profile = try GPUProfile.parse(hardwareJSON: data, file: file.lastPathComponent)
                _ = try RooflineRenderer.gpus([profile], format: .json)
            }
        }
    }

    @Test func everyONNXReproducerImportsOrIsRefused() throws {
        let files = try Self.files("onnx")
        #expect(!files.isEmpty)
        for file in files {
            Self.endsInAResultOrALocatedError(file.lastPathComponent) {
                _ = try CostAnalysis(graph: try ONNXModel(contentsOf: file.path).graph())
            }
        }
    }

    @Test func everySpecReproducerElaboratesOrIsRefused() throws {
        let files = try Self.files("spec")
        #expect(!files.isEmpty)
        for file in files {
            let source = try String(contentsOf: file, encoding: .utf8)
            // As the spec target runs them: under `Limits.fuzzing`.
            Self.endsInAResultOrALocatedError(file.lastPathComponent) {
                _ = try CostAnalysis(graph: try Elaborator.elaborate(source: source, file: file.lastPathComponent, limits: .fuzzing))
            }
        }
    }

    // MARK: spec: a MobileNet of 6,363 operators (a run over 5 s, under AddressSanitizer only)

    @Test func aMobileNetWithEveryBlockRepeatedPerChannelIsAnalysed() throws {
        // The reproducer: the zoo's mobilenet_v2, mutated to loop `range(setting[1])` (the
        // channels) instead of `range(setting[2])` (the repeats). It is a valid model; it
        // took 9 s through the fuzz target's whole downstream under AddressSanitizer, 1.2 s
        // without it, and the fuzz target now runs graphs this big through the cost
        // analysis alone. The operators, by hand: the loop runs 16 + 24 + 32 + 64 + 96 +
        // 160 + 320 = 712 inverted residuals; the 16 with t = 1 have 5 operators
        // (depthwise conv-bn-relu6, conv, bn), the other 696 have 8 (an expanding
        // conv-bn-relu6 first); every block but each group's first (7) adds its input:
        // 705 adds. With the stem and last conv-bn-relu6 (3 each), the pool, flatten,
        // dropout and linear: 80 + 5,568 + 705 + 10 = 6,363.
        let file = Self.reproducers.appendingPathComponent("spec/timeout-mobilenet-6363-operators.spec")
        let graph = try Elaborator.elaborate(source: try String(contentsOf: file, encoding: .utf8), file: file.lastPathComponent)
        #expect(graph.nodes.count == 6_363)
        #expect(graph.nodes.filter { $0.kind == "add" }.count == 705)
        let costs = try CostAnalysis(graph: graph)
        #expect(costs.layers.count == 6_363)
    }

    // MARK: spec: a MobileNet looping 600,000 times (35 s under AddressSanitizer to a limit)

    @Test func aLoopOfInvertedResidualsIsStoppedByTheFuzzingLimits() throws {
        // The reproducer: mobilenet_v2 mutated to loop `range(setting[0])` with
        // setting[0] = 600000 in its second group, and `xM =` where `x =` was, so x never
        // grows. Every inverted residual makes 4 block calls and 8 operators; the
        // block-call limit stops it. With the standard limits that took 4.5 s in a release
        // build (100,000 calls, about 200,000 operators) and 35 s under AddressSanitizer;
        // the fuzz target now elaborates under `Limits.fuzzing`. There `range(600000)` is
        // refused before the loop starts (50,000 list items); at 40,000 repeats the range
        // is allowed and the operator check stops the loop at the 10,001st operator (about
        // 2 operators a block call: it comes before the 5,001st call), at the conv2d of
        // conv_bn_relu6 that would make it.
        let file = Self.reproducers.appendingPathComponent("spec/timeout-mobilenet-600000-repeats.spec")
        let source = try String(contentsOf: file, encoding: .utf8)
        for (repeats, message, at) in [
            ("600000", "range(): list too large: 600,000 items, more than the limit of 50,000", [49, 18]),
            ("40000", "the model has more than 10,000 operators (the operator limit)", [23, 9]),
        ] {
            do {
                _ = try Elaborator.elaborate(source: source.replacingAll("[600000, 24, 2, 2]", with: "[\(repeats), 24, 2, 2]"),
                                             file: "m.spec", limits: .fuzzing)
                Issue.record("a loop of \(repeats) inverted residuals elaborated")
            } catch let error as NNFlopsError {
                #expect(error.message == message)
                #expect(error.location.map { [$0.line, $0.column] } == at)
            }
        }
        // The fuzzing limits bound less work than the standard ones, and only the work.
        let standard = Limits.standard, fuzzing = Limits.fuzzing
        #expect(fuzzing.blockCalls < standard.blockCalls && fuzzing.operators < standard.operators
                && fuzzing.loopIterations < standard.loopIterations && fuzzing.steps < standard.steps)
        #expect(fuzzing.nesting == standard.nesting && fuzzing.callDepth == standard.callDepth
                && fuzzing.tensorBytes == standard.tensorBytes && fuzzing.tensorRank == standard.tensorRank)
    }

    /// The fuzzing limits leave every real model inside them: each zoo model, a seed of
    /// the spec target, elaborates under them to the same graph as under the standard ones.
    @Test func everyZooModelElaboratesUnderTheFuzzingLimits() throws {
        for (name, _) in Zoo.models {
            let (source, file) = try SpecLoader.load(name)
            let fuzzing = try Elaborator.elaborate(source: source, file: file, limits: .fuzzing)
            let standard = try Elaborator.elaborate(source: source, file: file)
            #expect(fuzzing.nodes.map(\.name) == standard.nodes.map(\.name), "\(name)")
        }
    }

    // MARK: onnx: a Mul with one input, folded as a constant (an index out of range: a trap)

    @Test func aBinaryOperatorWithOneInputIsRefused() throws {
        // The reproducer: the hand-made elementwise_broadcast fixture, mutated so that
        // `Mul(two) -> m` has lost its second input; `two` is a Constant, so the importer
        // folds it and read the missing second operand.
        do {
            _ = try ONNXModel(contentsOf: Self.reproducers.appendingPathComponent("onnx/mul-with-one-constant-input.onnx").path).graph()
            Issue.record("a Mul with one input was imported")
        } catch let error as NNFlopsError {
            #expect(error.message.contains("Mul takes 2 inputs, got 1"), "got: \(error)")
        }
    }

    // MARK: onnx: a Split of a scalar (a trap)

    /// A model written byte by byte (ONNXProtobufTests' writer): input `x` of `shape` (a
    /// scalar when empty: a shape without dimensions), int64 initializers, one node of
    /// `op` over `inputs` with integer and integer-list attributes, its first output the
    /// graph's.
    static func oneNodeModel(_ op: String, x shape: [Int64], inputs: [String], outputs: [String], opset: Int64,
                             initializers: [(name: String, dims: [Int64], values: [Int64])] = [],
                             ints: [(String, Int64)] = [], intLists: [(String, [Int64])] = []) -> [UInt8] {
        var w = ProtobufWriter()
        w.int(1, 8)
        w.message(8) { $0.string(1, ""); $0.int(2, opset) }
        w.message(7) { graph in
            graph.message(1) { node in
                for input in inputs { node.string(1, input) }
                for output in outputs { node.string(2, output) }
                node.string(3, "n")
                node.string(4, op)
                for (name, value) in ints { node.message(5) { $0.string(1, name); $0.int(3, value); $0.int(20, 2) } }
                for (name, values) in intLists {
                    node.message(5) { a in a.string(1, name); for v in values { a.int(8, v) }; a.int(20, 7) }
                }
            }
            graph.string(2, "g")
            for initializer in initializers {
                graph.message(5) { t in
                    for d in initializer.dims { t.int(1, d) }
                    t.int(2, 7)  // INT64
                    for v in initializer.values { t.int(7, v) }
                    t.string(8, initializer.name)
                }
            }
            graph.message(11) { input in
                input.string(1, "x")
                input.message(2) { type in
                    type.message(1) { tensor in
                        tensor.int(1, 1)
                        tensor.message(2) { dims in for d in shape { dims.message(1) { $0.int(1, d) } } }
                    }
                }
            }
            graph.message(12) { $0.string(1, outputs[0]) }
        }
        return w.bytes
    }

    /// The reproducer: a hand-made Split fixture whose input's shape mutation left it a
    /// scalar. `normalizedAxis` takes axis 0 of a rank-0 tensor (torch wraps a 0-d
    /// tensor's dim for softmax and the reductions), and Split then read the size of a
    /// dimension the scalar does not have. Every op whose axis names a dimension whose
    /// size is read (Split, Concat, Gather, Slice, Pad; on activations and on folded
    /// constants) now refuses a scalar (`dimensionAxis`). Before, seven of the nine cases
    /// below trapped the same way (each run alone against the old importer); Concat of
    /// activations was refused by the catalog's concat, Gather of a constant by its own
    /// check, both located, now by the same rule.
    @Test func anAxisOfAScalarIsRefused() throws {
        let reproducer = try ONNXModel(contentsOf: Self.reproducers.appendingPathComponent("onnx/split-of-a-scalar.onnx").path)
        #expect(throws: NNFlopsError.self) { try reproducer.graph() }
        let scalar: [Int64] = []
        let c = (name: "c", dims: scalar, values: [Int64(5)])
        let cases: [(String, [UInt8])] = [
            ("Split", Self.oneNodeModel("Split", x: scalar, inputs: ["x"], outputs: ["a", "b"], opset: 11,
                                        ints: [("axis", 0)], intLists: [("split", [1, 1])])),
            ("Concat", Self.oneNodeModel("Concat", x: scalar, inputs: ["x", "x"], outputs: ["y"], opset: 13, ints: [("axis", 0)])),
            ("Gather", Self.oneNodeModel("Gather", x: scalar, inputs: ["x", "i"], outputs: ["y"], opset: 13,
                                         initializers: [(name: "i", dims: [], values: [0])], ints: [("axis", 0)])),
            ("Slice", Self.oneNodeModel("Slice", x: scalar, inputs: ["x", "s", "e", "a"], outputs: ["y"], opset: 13,
                                        initializers: [(name: "s", dims: [1], values: [0]), (name: "e", dims: [1], values: [1]),
                                                       (name: "a", dims: [1], values: [0])])),
            ("Pad", Self.oneNodeModel("Pad", x: scalar, inputs: ["x", "p", "", "a"], outputs: ["y"], opset: 18,
                                      initializers: [(name: "p", dims: [2], values: [1, 1]), (name: "a", dims: [1], values: [0])])),
            // The same on constants, which the importer folds.
            ("Split of a constant", Self.oneNodeModel("Split", x: [2], inputs: ["c"], outputs: ["a", "b"], opset: 11,
                                                      initializers: [c], ints: [("axis", 0)], intLists: [("split", [1, 1])])),
            ("Concat of constants", Self.oneNodeModel("Concat", x: [2], inputs: ["c", "c"], outputs: ["y"], opset: 13,
                                                      initializers: [c], ints: [("axis", 0)])),
            ("Gather of a constant", Self.oneNodeModel("Gather", x: [2], inputs: ["c", "i"], outputs: ["y"], opset: 13,
                                                       initializers: [c, (name: "i", dims: [], values: [0])], ints: [("axis", 0)])),
            ("Slice of a constant", Self.oneNodeModel("Slice", x: [2], inputs: ["c", "s", "e", "a"], outputs: ["y"], opset: 13,
                                                      initializers: [c, (name: "s", dims: [1], values: [0]), (name: "e", dims: [1], values: [1]),
                                                                     (name: "a", dims: [1], values: [0])])),
        ]
        for (name, bytes) in cases {
            do {
                _ = try ONNXImporter.graph(data: bytes, file: "scalar.onnx")
                Issue.record("\(name) of a scalar was imported")
            } catch let error as NNFlopsError {
                #expect(error.message.contains("of a scalar"), "\(name): \(error.message)")
            }
        }
        // The same ops on a tensor with a dimension import (the models above are well formed).
        let vector = Self.oneNodeModel("Split", x: [2], inputs: ["x"], outputs: ["a", "b"], opset: 11, ints: [("axis", 0)], intLists: [("split", [1, 1])])
        #expect(try ONNXImporter.graph(data: vector, file: "vector.onnx").nodes.map(\.kind) == ["split"])
        let pad = Self.oneNodeModel("Pad", x: [3], inputs: ["x", "p", "", "a"], outputs: ["y"], opset: 18,
                                    initializers: [(name: "p", dims: [2], values: [1, 1]), (name: "a", dims: [1], values: [0])])
        #expect(try ONNXImporter.graph(data: pad, file: "pad.onnx").tensors.last?.shape == [5])
    }

    // MARK: hardware: a 14 KB unknown key (a run over 5 s, in "did you mean")

    @Test func aLongUnknownKeyIsRefusedWithTheAllowedKeys() throws {
        // The reproducer: the README's RTX 4090 file, with the mutated 14 KB key
        // `bandwidth_gbtasheet datasheet ... datashee_s` in place of `bandwidth_gb_s`.
        let data = try Data(contentsOf: Self.reproducers.appendingPathComponent("hardware/long-unknown-key.json"))
        #expect(data.count == 14_072)
        do {
            _ = try GPUProfile.parse(hardwareJSON: data, file: "gpu.json")
            Issue.record("a file without bandwidth_gb_s was read")
        } catch let error as NNFlopsError {
            #expect(error.message.hasPrefix("gpu.json: unknown key 'bandwidth_gbtasheet datasheet"))
            // Quoted by its first 40 characters and its length, not whole.
            #expect(error.message.hasSuffix("… (13718 characters)'"), "got: \(error.message)")
            #expect(error.message.count < 120)
            #expect(!error.notes.contains { $0.hasPrefix("did you mean") })  // 14 KB is no typo of any key
            #expect(error.notes.contains { $0.hasPrefix("note: allowed keys: ") && $0.contains("bandwidth_gb_s") })
        }
        // A megabyte key, and a typo still suggested.
        let long = "{\"id\": \"x\", \"" + String(repeating: "k", count: 1_000_000) + "\": 1}"
        #expect(throws: NNFlopsError.self) { try GPUProfile.parse(hardwareJSON: Data(long.utf8), file: "gpu.json") }
        do {
            _ = try GPUProfile.parse(hardwareJSON: Data("{\"id\": \"x\", \"bandwith_gb_s\": 1}".utf8), file: "gpu.json")
            Issue.record("a misspelled key was read")
        } catch let error as NNFlopsError {
            #expect(error.notes.contains("did you mean 'bandwidth_gb_s'?"), "got: \(error)")
        }
    }

    @Test func closestMatchIsLinearInTheWordsLength() {
        // Two 200,000-character words one substitution apart, and one transposition apart:
        // the full table would be 4e10 cells; the band of width 7 is 1.4e6.
        let word = String(repeating: "abcdefghij", count: 20_000)
        var substituted = Array(word)
        substituted[100_000] = "z"
        #expect(closestMatch(to: word, in: ["short", String(substituted)]) == String(substituted))
        var transposed = Array(word)
        transposed.swapAt(150_000, 150_001)
        #expect(closestMatch(to: word, in: [String(transposed)]) == String(transposed))
        // Four edits are past the allowed three: no suggestion.
        var far = Array(word)
        for at in [10, 50_000, 90_000, 190_000] { far[at] = "z" }
        #expect(closestMatch(to: word, in: [String(far)]) == nil)
    }

    @Test func theBandedDistanceAgreesWithTheFullTable() {
        // The full optimal-string-alignment table (Damerau-Levenshtein, adjacent
        // transpositions), written out, against the banded one on random short words of a
        // small alphabet (so that matches, swaps and near misses are common).
        func full(_ a: [Character], _ b: [Character]) -> Int {
            var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0...a.count { d[i][0] = i }
            for j in 0...b.count { d[0][j] = j }
            for i in stride(from: 1, through: a.count, by: 1) {
                for j in stride(from: 1, through: b.count, by: 1) {
                    d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
                }
            }
            return d[a.count][b.count]
        }
        var rng = SeededGenerator(seed: 15)
        let alphabet: [Character] = ["a", "b", "c"]
        for _ in 0..<3_000 {
            let a = (0..<Int.random(in: 0...9, using: &rng)).map { _ in alphabet[Int.random(in: 0..<3, using: &rng)] }
            let b = (0..<Int.random(in: 0...9, using: &rng)).map { _ in alphabet[Int.random(in: 0..<3, using: &rng)] }
            let exact = full(a, b)
            for limit in 1...3 {
                #expect(editDistance(a, b, atMost: limit) == min(exact, limit + 1), "\(String(a)) / \(String(b)), limit \(limit)")
            }
        }
        // By hand: kitten -> sitting is 3 (two substitutions, one insertion); ca -> ac is 1.
        #expect(editDistance(Array("kitten"), Array("sitting"), atMost: 3) == 3)
        #expect(editDistance(Array("kitten"), Array("sitting"), atMost: 2) == 3)
        #expect(editDistance(Array("ca"), Array("ac"), atMost: 1) == 1)
    }
}
