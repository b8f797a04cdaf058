import Foundation
import Testing
@testable import NNFlops

/// Bad ONNX input: a clear `NNFlopsError` that names the file and, for a node, its index,
/// name, op type and the opset; never a crash, a hang or a silent zero.
@Suite("ONNX bad input")
struct ONNXBadInputTests {
    static func message(_ fixture: String, _ overrides: [String: Value] = [:]) -> String? {
        do {
            _ = try ONNXFixtures.graph("hand/" + fixture + ".onnx", overrides)
            return nil
        } catch let error as NNFlopsError {
            return error.description
        } catch {
            return "not an NNFlopsError: \(error)"
        }
    }

    @Test("each malformed or unsupported fixture fails with a message that says what and where", arguments: [
        ("bad_unknown_op", ["node 1 '/block/mystery'", "com.example.FancyOp", "opset 13", "not a standard ONNX operator"]),
        ("bad_unsupported_op", ["node 1 '/up/Resize'", "(Resize, opset 13)", "no mapping for op type 'Resize'", "supported op types:"]),
        ("pad_wrap", ["node 0 '/pad/Pad' (Pad, opset 19)", "Pad mode 'wrap'"]),
        ("bad_opset_too_old", ["opset 9", "opsets 11 to 21"]),
        ("bad_opset_too_new", ["opset 23", "opsets 11 to 21"]),
        ("bad_cycle", ["cycle", "node 0 'first'"]),
        ("bad_missing_input_shape", ["input 'x' has no shape"]),
        ("bad_unknown_dimension", ["dimension 1 of input 'x'", "neither a size nor a name"]),
        ("bad_absurd_dimension", ["input 'x'", "overflows 64-bit counts"]),
        ("bad_undefined_input", ["node 0 'add'", "'nowhere'", "no node, input or initializer"]),
        ("bad_reshape_mismatch", ["node 0 'reshape' (Reshape, opset 13)", "cannot reshape [2, 3]"]),
        ("conv3d", ["node 0 'conv3d' (Conv, opset 13)", "3-D convolution"]),
        ("conv_pads_asymmetric_unrepresentable", ["pads 2 before and 0 after", "pads both sides alike"]),
        ("slice_negative_step", ["(Slice, opset 13)", "step -1"]),
        ("where_on_activations", ["node 0 'greater' (Greater, opset 13)", "reads an activation"]),
        ("cast_to_int", ["node 0 '/ids/Cast' (Cast, opset 13)", "to int64", "between floating-point types"]),
    ])
    func badFixture(fixture: String, fragments: [String]) throws {
        let text = try #require(Self.message(fixture), "\(fixture) imported")
        #expect(text.contains("\(fixture).onnx"), "\(text)")
        for fragment in fragments { #expect(text.contains(fragment), "\(fixture): \(text)") }
    }

    @Test("truncated exports are errors, at any length")
    func truncated() throws {
        let bytes = try ONNXFixtures.bytes("torchvision/resnet18_train.onnx")
        for fraction in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999] {
            let prefix = Array(bytes[..<Int(Double(bytes.count) * fraction)])
            #expect(throws: NNFlopsError.self) { try ONNXImporter.graph(data: prefix, file: "cut.onnx") }
        }
    }

    @Test("files that are not ONNX: text, a PNG header, zeros")
    func notONNX() {
        let samples: [[UInt8]] = [Array("model x\ninput x: [1]\n".utf8), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A],
                                  [UInt8](repeating: 0, count: 64), []]
        for sample in samples {
            #expect(throws: NNFlopsError.self) { try ONNXImporter.graph(data: sample, file: "x.onnx") }
        }
    }

    @Test("a missing file is an error")
    func missingFile() {
        #expect(throws: NNFlopsError.self) { try ONNXImporter.graph(contentsOf: "/nonexistent/model.onnx") }
    }


    static let hostileBytes: [UInt8] = [0x00, 0xFF, 0x80, 0x7F, 0x01]

    static func mutate(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var b = bytes
        for _ in 0..<Int.random(in: 1...4, using: &rng) where !b.isEmpty {
            let at = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: b[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)          // flip a bit
            case 1: b[at] = Self.hostileBytes[Int.random(in: 0..<Self.hostileBytes.count, using: &rng)] // a hostile byte
            case 2: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...16, using: &rng)))
            case 3: b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            case 4:                                                                       // a huge varint
                b.replaceSubrange(at..<min(b.count, at + 1), with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
            case 5:                                                                       // duplicate a run
                let end = min(b.count, at + Int.random(in: 1...64, using: &rng))
                b.insert(contentsOf: b[at..<end], at: Int.random(in: 0...b.count, using: &rng))
            default: b.removeSubrange(at...)                                             // truncate
            }
        }
        return b
    }

    /// Every mutant either imports (and then analyses) or fails with an NNFlopsError.
    @Test("fuzz: mutated ONNX bytes never crash, hang or throw anything but NNFlopsError")
    func fuzz() throws {
        let seeds = ["hand/shape_arithmetic.onnx", "hand/conv_group_dilation_stride.onnx", "hand/gelu_erf_pattern.onnx",
                     "hand/shape_ops.onnx", "hand/stochastic_depth.onnx", "hand/batchnorm_training.onnx",
                     "hand/embedding_tied_head.onnx", "hand/pad_modes.onnx", "hand/rmsnorm_decomposed.onnx",
                     "exports/tiny_llama.onnx", "torchvision/mobilenet_v2_train.onnx", "torchvision/vit_b_32_eval.onnx"]
        let samples = try seeds.map { try ONNXFixtures.bytes($0) }
        var rng = SeededGenerator(seed: 0x0_0ADD_F00D)
        let deadline = Date().addingTimeInterval(8)
        var imported = 0, rejected = 0
        for round in 0..<3000 {
            if round % 50 == 0 && Date() > deadline { break }
            let mutant = Self.mutate(samples[round % samples.count], using: &rng)
            do {
                let graph = try ONNXImporter.graph(data: mutant, file: "fuzz.onnx", overrides: ["batch": .int(2), "seq": .int(3)])
                _ = try CostAnalysis(graph: graph)
                imported += 1
            } catch is NNFlopsError {
                rejected += 1
            } catch {
                Issue.record("round \(round): \(type(of: error)): \(error)")
            }
        }
        #expect(imported > 0 && rejected > 0, "imported \(imported), rejected \(rejected)")
    }
}
