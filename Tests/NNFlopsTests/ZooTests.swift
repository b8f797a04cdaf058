import Testing
@testable import NNFlops

/// The model zoo (specs/*.spec, embedded in the library): every model elaborates, has the
/// exact parameter count of its reference implementation, and its forward matmul /
/// convolution / attention work matches PyTorch's FlopCounterMode.
@Suite("Model zoo")
struct ZooTests {
    /// Every model the zoo must ship, with its exact parameter count and where it comes from.
    /// No spec freezes anything, so trainable == total.
    static let references: [ZooReference] = [
        .init("mlp", 203_530, "reference/params.md: Linear(784,256), ReLU, Linear(256,10)"),
        .init("alexnet", 61_100_840, "reference/params.md: torchvision alexnet"),
        .init("vgg16", 138_357_544, "reference/params.md: torchvision vgg16"),
        .init("resnet18", 11_689_512, "reference/params.md: torchvision resnet18"),
        .init("resnet34", 21_797_672, "torchvision resnet34 (ResNet34_Weights meta num_params)"),
        .init("resnet50", 25_557_032, "reference/params.md: torchvision resnet50"),
        .init("resnet101", 44_549_160, "torchvision resnet101 (ResNet101_Weights meta num_params)"),
        .init("resnet152", 60_192_808, "reference/params.md: torchvision resnet152"),
        .init("mobilenet_v2", 3_504_872, "reference/params.md: torchvision mobilenet_v2"),
        .init("efficientnet_b0", 5_288_548, "reference/params.md: torchvision efficientnet_b0"),
        .init("vit_b_16", 86_567_656, "reference/params.md: torchvision vit_b_16"),
        .init("bert-base", 109_482_240, "reference/params.md: HF BertModel(BertConfig()) with pooler"),
        .init("gpt2", 124_439_808, "reference/params.md: HF GPT2LMHeadModel(GPT2Config()), tied head"),
        .init("gpt2-xl", 1_557_611_200, "HF GPT2LMHeadModel, gpt2-xl config (48 x 1600, 25 heads), tied head"),
        .init("llama2-7b", 6_738_415_616, "HF LlamaForCausalLM, Llama-2-7b config, untied head"),
        .init("gpt3-175b", 174_604_259_328, "Brown et al. 2020 Table 2.1 (96 x 12288, vocab 50257, n_ctx 2048), tied head; arithmetic in the spec header"),
    ]

    /// Forward FLOPs measured by torch.utils.flop_counter.FlopCounterMode (reference/params.md,
    /// h100-calibration.json). FlopCounterMode counts only matmul, convolution and attention
    /// kernels, 2 FLOPs per multiply-accumulate, and attention as 4*b*h*n^2*d even when causal,
    /// which is what 2 * (forward MACs) counts under the default `.dense` attention convention.
    static let forwardFLOPs: [FLOPReference] = [
        .init("resnet18", 3.628e9),
        .init("resnet50", 8.178e9),
        .init("resnet50", 8_178_368_512, exact: true, "h100-calibration.json resnet50@B1"),
        .init("resnet50", 261_707_792_384, batch: 32, exact: true, "h100-calibration.json resnet50@B32"),
        .init("vgg16", 30.941e9),
        .init("mobilenet_v2", 0.6015e9),
        .init("efficientnet_b0", 0.7716e9),
        .init("vit_b_16", 35.128e9),
        .init("alexnet", 1.428e9),
        .init("bert-base", 96.638e9, "seq 512"),
        .init("gpt2", 291.648e9, "seq 1024"),
        // addmm 173,946,175,488 (the 48 Linear layers) + mm 79,047,426,048 (lm_head)
        // + attention 38,654,705,664 (4*b*h*n^2*d, dense though causal).
        .init("gpt2", 291_648_307_200, exact: true, "h100-calibration.json gpt2@B1, seq 1024"),
        .init("mlp", 13_008_896, batch: 32, exact: true, "h100-calibration.json mlp@B32 (aten.addmm)"),
    ]

    static func elaborate(_ name: String, batch: Int? = nil) throws -> Graph {
        try TestModel.zoo(name, batch: batch)
    }

    @Test("every zoo model is embedded and elaborates", arguments: references.map(\.name))
    func modelElaborates(_ name: String) throws {
        #expect(Zoo.models.contains { $0.name == name })
        let graph = try Self.elaborate(name)
        #expect(graph.model == name)
        #expect(!graph.nodes.isEmpty)
        // Every spec defaults to batch 1.
        let batch = graph.settings.first { $0.name == "batch" }?.value
        guard case .int(1)? = batch else {
            Issue.record("\(name): param batch defaults to \(batch?.description ?? "nothing"), not 1")
            return
        }
    }

    /// Each spec opens with a comment saying what it is, which reference it reproduces and its
    /// exact parameter count (written with thousands separators), before any statement.
    @Test("every spec's header states its reference and exact parameter count", arguments: references)
    func headerStatesParameterCount(_ reference: ZooReference) throws {
        let source = try #require(Zoo.source(named: reference.name))
        let header = source.split(separator: "\n").prefix { $0.hasPrefix("#") }.joined(separator: "\n")
        #expect(header.contains("Reproduces"), "\(reference.name): the header names no reference implementation")
        #expect(header.contains(Self.grouped(reference.parameters)), "\(reference.name): the header lacks \(Self.grouped(reference.parameters))")
    }

    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    @Test("exact parameter counts of the reference implementations", arguments: references)
    func parameterCount(_ reference: ZooReference) throws {
        let graph = try Self.elaborate(reference.name)
        let analysis = try CostAnalysis(graph: graph)
        #expect(analysis.parameters == reference.parameters, "\(reference.name): \(reference.source)")
        #expect(graph.parameterCount.value == reference.parameters)
        #expect(analysis.trainableParameters == analysis.parameters)
    }

    @Test("forward MACs x 2 match FlopCounterMode", arguments: forwardFLOPs)
    func forwardFLOPsMatchFlopCounter(_ reference: FLOPReference) throws {
        let graph = try Self.elaborate(reference.name, batch: reference.batch)
        let analysis = try CostAnalysis(graph: graph)
        let ours = Double(analysis.forward.macs.value) * 2
        if reference.exact {
            #expect(analysis.forward.macs.value * 2 == Int(reference.flops), "\(reference)")
        }
        let difference = abs(ours - reference.flops) / reference.flops
        #expect(difference < 0.005, "\(reference): ours \(ours), \(difference * 100)% off")
    }

    /// Backward against the calibration's `train_by_op` (forward + backward with
    /// loss = output.sum(); the backward kernels are the train entries minus the forward ones).
    /// The MLP at batch 32: aten.mm = 13,172,736 is the whole backward of the two Linear
    /// layers: fc1's weight gradient (32*784*256 MACs), fc2's input and weight gradients
    /// (2 * 32*256*10 MACs). fc1's input gradient is skipped because its input is data.
    @Test("mlp@B32 backward MACs x 2 = aten.mm of the calibration")
    func mlpBackward() throws {
        let analysis = try CostAnalysis(graph: try Self.elaborate("mlp", batch: 32))
        #expect(analysis.backward.macs.value * 2 == 13_172_736)
        #expect(analysis.inputGradient.macs.value == 32 * 256 * 10)
        #expect(analysis.weightGradient.macs.value == 32 * 784 * 256 + 32 * 256 * 10)
    }

    /// ResNet-50: every convolution's input and weight gradients (aten.convolution_backward)
    /// except conv1's input gradient (its input is the image), plus the fc layer's two
    /// gradients (aten.mm, 2 * 2 * B * 2048 * 1000).
    @Test("resnet50 backward MACs x 2 = convolution_backward + mm of the calibration", arguments: [
        (1, 16_112_517_120 + 8_192_000),
        (32, 515_600_547_840 + 262_144_000),
    ])
    func resnet50Backward(batch: Int, flops: Int) throws {
        let analysis = try CostAnalysis(graph: try Self.elaborate("resnet50", batch: batch))
        #expect(analysis.backward.macs.value * 2 == flops)
        let conv1 = try #require(analysis.layers.first { $0.name == "conv1" })
        #expect(conv1.cost.inputGradient == .zero)
    }

    /// GPT-2 at batch 1: backward = the Linear layers' two gradients (everywhere, the first
    /// c_attn included, since its input comes from a LayerNorm) + fused attention's backward
    /// (which recomputes the scores: 5 matmuls, 2.5x forward, as FlopCounterMode prices
    /// `_scaled_dot_product_efficient_attention_backward`). Measured: train aten.mm minus
    /// forward aten.mm (the forward addmm has no backward entry of its own) + the attention
    /// backward entry.
    @Test("gpt2 backward MACs x 2 equal the calibration's backward mm + attention backward")
    func gpt2Backward() throws {
        let analysis = try CostAnalysis(graph: try Self.elaborate("gpt2"))
        let linear = analysis.layers.filter { $0.kind == "linear" }.reduce(0) { $0 + $1.cost.backward.macs.value }
        let attention = analysis.layers.filter { $0.kind == "attention" }.reduce(0) { $0 + $1.cost.backward.macs.value }
        #expect(attention * 2 == 96_636_764_160)
        #expect(linear * 2 == 585_034_629_120 - 79_047_426_048)
        #expect(analysis.backward.macs.value * 2 == 585_034_629_120 - 79_047_426_048 + 96_636_764_160)
    }

    @Test("names read like the reference modules")
    func pytorchLikeNames() throws {
        let expected: [(String, [String])] = [
            ("resnet50", ["conv1", "bn1", "maxpool", "layer1.0.conv1", "layer2.1.conv2", "layer3.0.downsample.0", "layer3.0.downsample.1", "fc"]),
            ("resnet18", ["layer2.0.downsample.0", "layer4.1.bn2"]),
            ("gpt2", ["wte", "wpe", "h.0.attn.c_attn", "h.11.mlp.c_proj", "ln_f", "lm_head"]),
            ("bert-base", ["embeddings.word_embeddings", "encoder.layer.0.attention.self.query", "encoder.layer.11.output.LayerNorm", "pooler.dense"]),
            ("llama2-7b", ["embed_tokens", "layers.0.self_attn.q_proj", "layers.31.mlp.down_proj", "norm", "lm_head"]),
            ("vit_b_16", ["conv_proj", "encoder.layers.encoder_layer_0.self_attention.in_proj", "encoder.ln", "heads.head"]),
            ("mobilenet_v2", ["features.0.0", "features.2.conv.1.0", "features.18.0", "classifier.1"]),
            ("efficientnet_b0", ["features.0.0", "features.2.0.block.1.0", "features.2.0.block.2.fc1", "features.8.0", "classifier.1"]),
            ("vgg16", ["features.0", "features.28", "classifier.6"]),
            ("alexnet", ["features.0", "features.10", "classifier.6"]),
        ]
        for (model, names) in expected {
            let graph = try Self.elaborate(model)
            let present = Set(graph.nodes.map(\.name))
            for name in names {
                #expect(present.contains(name), "\(model) has no operator named \(name)")
            }
        }
    }

    @Test("gpt2's head is tied to wte")
    func gpt2TiedHead() throws {
        let graph = try Self.elaborate("gpt2")
        let head = try #require(graph.nodes.first { $0.name == "lm_head" })
        let wte = try #require(graph.nodes.first { $0.name == "wte" })
        #expect(head.parameterIDs == wte.parameterIDs)
    }
}

struct ZooReference: Sendable, CustomTestStringConvertible {
    var name: String
    var parameters: Int
    var source: String
    init(_ name: String, _ parameters: Int, _ source: String) {
        self.name = name
        self.parameters = parameters
        self.source = source
    }
    var testDescription: String { name }
}

struct FLOPReference: Sendable, CustomTestStringConvertible, CustomStringConvertible {
    var name: String
    var flops: Double
    var batch: Int?
    var exact: Bool
    var note: String
    init(_ name: String, _ flops: Double, batch: Int? = nil, exact: Bool = false, _ note: String = "") {
        self.name = name
        self.flops = flops
        self.batch = batch
        self.exact = exact
        self.note = note
    }
    var testDescription: String { "\(name)@B\(batch ?? 1)" + (exact ? " exact" : "") }
    var description: String { "\(name)@B\(batch ?? 1) FlopCounterMode \(flops)" + (note.isEmpty ? "" : " (\(note))") }
}
