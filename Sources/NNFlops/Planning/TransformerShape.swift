#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A GPT-2-style decoder-only transformer (pre-norm, learned positions, biases,
/// GELU MLP of width 4d, input and output embeddings tied) that realises a parameter
/// count, and its spec.
///
/// Shape rule (stated in README, "Planning"):
/// - head dimension 128, so heads = d_model / 128 and d_model is a multiple of 128;
/// - aspect ratio d_model / n_layers as close to 128 as the count allows: GPT-3 175B is
///   12288 / 96 = 128 exactly, Chinchilla 70B is 8192 / 80 = 102;
/// - the real layer count L_r solving params(L, 128 L) = N is found first; every integer
///   L within 10% of it (and L_r rounded +-1) is tried with the two multiples of 128
///   around the width that gives N; among the pairs within 1% of N the aspect ratio
///   closest to 128 wins; when none is within 1%, the pair closest to N wins.
public struct TransformerShape: Sendable, Hashable, Codable {
    public var layers: Int
    public var dModel: Int
    public var heads: Int
    public var headDim: Int
    public var vocab: Int
    public var sequence: Int

    enum CodingKeys: String, CodingKey {
        case layers
        case dModel = "d_model"
        case heads
        case headDim = "head_dim"
        case vocab
        case sequence = "seq"
    }

    public static let defaultVocab = 50257
    public static let defaultSequence = 2048
    public static let headDimension = 128
    public static let targetAspectRatio = 128.0
    /// Relative parameter error within which the aspect ratio decides.
    public static let parameterTolerance = 0.01

    public init(layers: Int, dModel: Int, heads: Int, headDim: Int = TransformerShape.headDimension,
                vocab: Int = TransformerShape.defaultVocab, sequence: Int = TransformerShape.defaultSequence) {
        self.layers = layers
        self.dModel = dModel
        self.heads = heads
        self.headDim = headDim
        self.vocab = vocab
        self.sequence = sequence
    }

    /// d_model / n_layers.
    public var aspectRatio: Double { Double(dModel) / Double(layers) }

    /// Exact parameter count of the emitted spec:
    /// per layer 12 d^2 + 13 d (qkv 3d^2+3d, attention projection d^2+d, MLP 8d^2+5d,
    /// two layernorms 4d), plus token embedding V d (tied with the output layer, which
    /// has no bias), learned positions S d and the final layernorm 2d.
    public var parameters: Int {
        Self.parameters(layers: layers, dModel: dModel, vocab: vocab, sequence: sequence)
    }

    public static func parameters(layers L: Int, dModel d: Int, vocab V: Int, sequence S: Int) -> Int {
        12 * L * d * d + 13 * L * d + (V + S + 2) * d
    }

    static func parametersReal(layers L: Double, dModel d: Double, vocab V: Double, sequence S: Double) -> Double {
        12 * L * d * d + 13 * L * d + (V + S + 2) * d
    }

    /// The shape whose parameter count is closest to `params` under the shape rule.
    public static func realising(params N: Double, vocab: Int = defaultVocab, sequence: Int = defaultSequence) throws -> TransformerShape {
        guard N.isFinite, N > 0 else { throw NNFlopsError("cannot build a transformer of \(N) parameters") }
        guard vocab > 0, sequence > 0 else { throw NNFlopsError("vocabulary and sequence length must be positive") }
        guard N <= 1e16 else {
            throw NNFlopsError("a transformer of \(PlanQuantity.format(N)) parameters is beyond what a spec can describe (at most 1e16)")
        }
        let V = Double(vocab), S = Double(sequence), h = Double(headDimension)
        // Real L with params(L, 128 L) = N: increasing in L, so bisect.
        var low = 0.0, high = 1.0
        while parametersReal(layers: high, dModel: targetAspectRatio * high, vocab: V, sequence: S) < N { high *= 2 }
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if parametersReal(layers: mid, dModel: targetAspectRatio * mid, vocab: V, sequence: S) < N { low = mid } else { high = mid }
        }
        let realLayers = (low + high) / 2
        let lowest = max(1, min(Int((realLayers * 0.9).rounded(.down)), Int(realLayers.rounded()) - 1))
        let highest = max(lowest, max(Int((realLayers * 1.1).rounded(.up)), Int(realLayers.rounded()) + 1))
        var best: (shape: TransformerShape, error: Double, aspect: Double)?
        for L in lowest...highest {
            // 12 L d^2 + (13 L + V + S + 2) d - N = 0.
            let a = 12 * Double(L), b = 13 * Double(L) + V + S + 2
            let d = (-b + (b * b + 4 * a * N).squareRoot()) / (2 * a)
            let base = max(1, Int((d / h).rounded(.down)))
            for units in [base, base + 1] {
                let dModel = units * headDimension
                let shape = TransformerShape(layers: L, dModel: dModel, heads: units, vocab: vocab, sequence: sequence)
                let error = abs(Double(shape.parameters) - N)
                let aspect = abs(shape.aspectRatio - targetAspectRatio)
                // Within the tolerance, the aspect ratio decides; outside it, the error.
                let good = error <= parameterTolerance * N
                if let current = best {
                    let currentGood = current.error <= parameterTolerance * N
                    let better = good && currentGood ? aspect < current.aspect || (aspect == current.aspect && error < current.error)
                        : good != currentGood ? good : error < current.error
                    if !better { continue }
                }
                best = (shape, error, aspect)
            }
        }
        guard let best else { throw NNFlopsError("no transformer shape realises \(PlanQuantity.format(N)) parameters") }
        return best.shape
    }

    /// The spec text, in the language nnflops analyses.
    public func spec(modelName: String, comment: String? = nil) -> String {
        var lines: [String] = []
        if let comment {
            for line in comment.split(separator: "\n", omittingEmptySubsequences: false) { lines.append("# " + line) }
        }
        lines += [
            "# Decoder-only transformer (GPT-2 style: pre-norm, learned positions, GELU MLP 4d,",
            "# tied input/output embeddings), emitted by `nnflops plan`.",
            "# d_model/n_layers = \(String(cFormat: "%.1f", aspectRatio)), head dim \(headDim); parameters: \(parameters).",
            "model \(modelName)",
            "param batch = 1",
            "param seq = \(sequence)",
            "param vocab = \(vocab)",
            "param d = \(dModel)",
            "param heads = \(heads)",
            "param layers = \(layers)",
            "input ids: [batch, seq] int",
            "",
            "block decoder(x, d, heads):",
            "    h = layernorm(x, name = \"ln_1\")",
            "    qkv = linear(h, 3 * d, name = \"c_attn\")",
            "    q, k, v = split(qkv, d, dim = -1)",
            "    a = attention(q, k, v, heads = heads, causal = true)",
            "    x = x + linear(a, d, name = \"c_proj\")",
            "    h = layernorm(x, name = \"ln_2\")",
            "    x = x + linear(gelu(linear(h, 4 * d, name = \"c_fc\")), d, name = \"mlp_proj\")",
            "    return x",
            "",
            "block blocks(x, d, heads):",
            "    for i in range(layers):",
            "        x = decoder(x, d, heads, name = i)",
            "    return x",
            "",
            "x = embedding(ids, vocab, d, name = \"wte\") + parameter([seq, d], name = \"wpe\")",
            "x = blocks(x, d, heads, name = \"h\")",
            "x = layernorm(x, name = \"ln_f\")",
            "output linear(x, vocab, bias = false, tie = \"wte\")",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// The spec's model name. (No digits: `plan-gpt-2.77b` would lex as a number.)
    public static let modelName = "plan-gpt"
}
