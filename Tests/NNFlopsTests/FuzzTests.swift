import Testing
@testable import NNFlops

/// Throws mutated zoo specs and random bytes at the lexer, parser, elaborator and cost
/// analysis. Every input must either analyse or fail with an `NNFlopsError`: no crash,
/// no trap, no hang, no other error type.
@Suite struct FuzzTests {

    static let fragments = ["(", ")", "[", "]", ",", ":", "=", "==", "-", "*", "**", "//", "/", "\n", "    ", "\t", "#", "\"",
                            "0", "-1", "1e400", "9223372036854775807", "99999999999", "16GiB", "7B", "none", "true",
                            "if ", "else", "for ", "in ", "repeat ", "block ", "return ", "model ", "param ", "input ",
                            "tie = \"x\"", "frozen = true", "name = 1", "x", "x.shape", "channels(x)", "é", "\u{0}"]

    func mutate(_ source: String, using rng: inout SeededGenerator) -> String {
        var chars = Array(source)
        let edits = Int.random(in: 1...4, using: &rng)
        for _ in 0..<edits where !chars.isEmpty {
            let at = Int.random(in: 0..<chars.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:  // delete a run
                chars.removeSubrange(at..<min(chars.count, at + Int.random(in: 1...8, using: &rng)))
            case 1:  // insert a fragment
                chars.insert(contentsOf: Self.fragments[Int.random(in: 0..<Self.fragments.count, using: &rng)], at: at)
            case 2:  // replace a digit run with a hostile number
                if let digit = chars[at...].firstIndex(where: { $0.isNumber }) {
                    var end = digit
                    while end < chars.count, chars[end].isNumber { end += 1 }
                    let hostile = ["0", "-1", "1", "3", "9223372036854775807", "4611686018427387904", "65536", "100000000"]
                    chars.replaceSubrange(digit..<end, with: hostile[Int.random(in: 0..<hostile.count, using: &rng)])
                }
            case 3:  // duplicate a line
                let lines = String(chars).split(separator: "\n", omittingEmptySubsequences: false)
                var copy = lines.map(String.init)
                let line = Int.random(in: 0..<copy.count, using: &rng)
                copy.insert(copy[line], at: Int.random(in: 0...copy.count, using: &rng))
                chars = Array(copy.joined(separator: "\n"))
            case 4:  // swap two characters
                let other = Int.random(in: 0..<chars.count, using: &rng)
                chars.swapAt(at, other)
            default:  // truncate
                chars.removeSubrange(at...)
            }
        }
        return String(chars)
    }

    /// The paths the commands run on a spec that elaborates: costs always; with `deep`,
    /// training memory under one of three run configurations (chosen by `round`) and the
    /// roofline; with `fit`, when the spec has a batch, `fit`'s batch search too. The deep
    /// paths run on a share of the inputs only, to keep the suite quick.
    func survive(_ source: String, round: Int = 0, deep: Bool = false, fit: Bool = false) {
        do {
            let graph = try Elaborator.elaborate(source: source, file: "fuzz.spec")
            let costs = try CostAnalysis(graph: graph)
            _ = try CostAnalysis(graph: graph, options: CountOptions(attention: .executed))
            guard deep else { return }
            let configuration = Self.configurations[round % Self.configurations.count]
            let run = try CostAnalysis(graph: graph, options: CountOptions().run(configuration))
            _ = try MemoryAnalysis(graph: graph, costs: run, configuration: configuration)
            _ = try RooflineAnalysis(graph: graph, costs: costs, roof: Roof(gpu: GPUProfile.named("h100-sxm")), configuration: configuration)
            if fit, ModelRequest.batch(of: graph) != nil {
                _ = try BatchFit.search(capacity: 1 << 30, configuration: configuration, limit: 1 << 12) { batch in
                    try Elaborator.elaborate(source: source, file: "fuzz.spec", overrides: ["batch": .int(batch)])
                }
            }
        } catch is NNFlopsError {
            // A located, reportable error: what bad input must produce.
        } catch {
            Issue.record("non-NNFlopsError \(error) for input:\n\(source)")
        }
    }

    static let configurations = [
        RunConfiguration(optimizer: .sgd),
        RunConfiguration(optimizer: .adamw, precision: .ampBF16, checkpoint: .sqrt),
        RunConfiguration(optimizer: .adam, precision: .fp16, checkpoint: .segments(3)),
    ]
    /// Every `deepEvery`-th mutated spec also runs memory and the roofline; every
    /// `fitEvery`-th, the batch search.
    static let deepEvery = 4
    static let fitEvery = 60

    static let corpus: [String] = {
        var sources = Zoo.models.map(\.source)
        sources.append("""
        model seedling
        param batch = 2
        input x: [batch, 3, 16, 16]
        block unit(x, out, stride = 1):
            y = relu(conv2d(x, out, kernel = 3, stride = stride, padding = 1))
            if stride != 1 or channels(x) != out:
                x = conv2d(x, out, kernel = 1, stride = stride, name = "down")
            return y + x
        for i in range(3):
            x = unit(x, 4 * 2 ** i, 1 if i == 0 else 2, name = i)
        output linear(x, 10, tie = "0.down" if false else none)
        """)
        return sources
    }()

    @Test func mutatedSpecs() {
        var rng = SeededGenerator(seed: 0x5EED)
        for round in 0..<3000 {
            let seed = Self.corpus[round % Self.corpus.count]
            survive(mutate(seed, using: &rng), round: round / Self.deepEvery, deep: round % Self.deepEvery == 0, fit: round % Self.fitEvery == 0)
        }
    }

    @Test func randomBytes() {
        var rng = SeededGenerator(seed: 0xB17E5)
        for _ in 0..<1500 {
            let length = Int.random(in: 0...200, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            survive(String(decoding: bytes, as: UTF8.self))
            // Printable soup, closer to real syntax.
            let printable = (0..<length).map { _ in Character(Unicode.Scalar(UInt8.random(in: 9...126, using: &rng))) }
            survive(String(printable))
        }
    }

    @Test func overridesFuzz() {
        var rng = SeededGenerator(seed: 0x0FF)
        let values: [Value] = [.int(0), .int(-1), .int(Int.max), .int(1 << 40), .float(.nan), .float(.infinity), .bool(true), .string("x"), .float(0.5)]
        for model in Zoo.models.prefix(4) {
            for _ in 0..<20 {
                let value = values.randomElement(using: &rng)!
                do {
                    let graph = try Elaborator.elaborate(source: model.source, file: model.name, overrides: ["batch": value])
                    _ = try CostAnalysis(graph: graph)
                } catch is NNFlopsError {
                } catch {
                    Issue.record("non-NNFlopsError \(error) for batch=\(value) on \(model.name)")
                }
            }
        }
    }
}
