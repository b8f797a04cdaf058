import Foundation
import Testing
@testable import NNFlops

/// Attention's implementations as PyTorch runs them (README, attention): the kernel torch
/// 2.11 picks on an H100, held against the backends scripts/measure_saved.py recorded; and
/// by hand the FLOPs and bytes of what each path keeps and allocates.
@Suite struct AttentionPathTests {
    static func layer(_ body: String, precision: PrecisionPolicy = .fp32, attention: AttentionConvention = .dense) throws -> (Attention, CostContext, LayerCost) {
        let graph = try Elaborator.elaborate(source: "model t\n" + body, file: "t.spec")
        let costs = try CostAnalysis(graph: graph, options: CountOptions(attention: attention, precision: precision))
        let index = try #require(graph.nodes.firstIndex { $0.kind == "attention" })
        return (try #require(graph.nodes[index].op as? Attention), costs.layers[index].context, costs.layers[index])
    }

    static func kernel(_ body: String, precision: PrecisionPolicy = .fp32) throws -> AttentionKernel {
        let (op, context, _) = try layer(body, precision: precision)
        return op.execution(context).kernel
    }

    /// Every sdpa call the fixtures recorded (zoo gpt2, bert-base, vit_b_16 in fp32 and
    /// amp-bf16; every Hugging Face family's sdpa runs): impl "auto" resolves to the same
    /// backend, node for node.
    @Test("auto picks the backend torch picks", arguments: [
        "gpt2-fp32", "gpt2-amp-bf16", "bert-base-fp32", "bert-base-amp-bf16", "vit_b_16-fp32", "vit_b_16-amp-bf16",
        "hf-bert/sdpa", "hf-bert/sdpa-amp-bf16", "hf-gemma/sdpa", "hf-gemma/sdpa-amp-bf16", "hf-gpt2/sdpa", "hf-gpt2/sdpa-amp-bf16",
        "hf-gpt_neox/sdpa", "hf-gpt_neox/sdpa-amp-bf16", "hf-llama/sdpa", "hf-llama/sdpa-amp-bf16", "hf-mistral/sdpa",
        "hf-mistral/sdpa-amp-bf16", "hf-phi3/sdpa", "hf-phi3/sdpa-amp-bf16", "hf-qwen2/sdpa", "hf-qwen2/sdpa-amp-bf16",
    ])
    func autoMatchesTorch(_ name: String) throws {
        let parts = name.split(separator: "/").map(String.init)
        let fixture = try SavedTensorFixture.file(parts[0])
        let run = parts.count > 1 ? try #require(fixture.variants?[parts[1]]) : nil
        let calls = try #require(run?.sdpa ?? fixture.sdpa)
        let called = Set(run?.modules_called ?? fixture.modules_called ?? [])
        let reference = fixture.config_file.map { SavedTensorFixture.root.appendingPathComponent($0).path } ?? fixture.model
        let (graph, configuration) = try SavedTensorFixture.arguments(run?.nnflops_args ?? fixture.nnflops_args, reference: reference)
        let costs = try CostAnalysis(graph: graph, options: CountOptions().run(configuration))
        var picks: [String: String] = [:]
        for (index, node) in graph.nodes.enumerated() {
            guard let attention = node.op as? Attention else { continue }
            picks[SavedTensorFixture.module(of: node.name, called: called)] = attention.execution(costs.layers[index].context).kernel.rawValue
        }
        #expect(picks.count == calls.count)
        for call in calls { #expect(picks[call.module] == call.backend, "\(name) \(call.module) (\(call.dtype))") }
    }

    /// The rule's other branches, from sdp_utils.cpp's checks: cuDNN wants head dims of at
    /// most 128 (flash takes 256), more than one key and no dropout with one query; nothing
    /// half takes a mask and grouped heads at once but math; fp32 needs head dims that are
    /// multiples of 4 for the efficient kernel.
    @Test func ruleBranches() throws {
        let mha = "input x: [2, 8, 512]\nq = linear(x, 512)\nk = linear(x, 512)\nv = linear(x, 512)\n"
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 2)\noutput a", precision: .ampBF16) == .flash)      // d = 256
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 4)\noutput a", precision: .ampBF16) == .cudnn)      // d = 128
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 4)\noutput a", precision: .bf16) == .cudnn)         // pure half
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 4)\noutput a") == .efficient)
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 256)\noutput a") == .math)                          // d = 2
        let gqa = "input x: [2, 8, 64]\nq = linear(x, 64)\nk = linear(x, 16)\nv = linear(x, 16)\n"
        #expect(try Self.kernel(gqa + "a = attention(q, k, v, 4, kv_heads = 1, causal = true)\noutput a", precision: .ampBF16) == .flash)
        #expect(try Self.kernel(gqa + "a = attention(q, k, v, 4, kv_heads = 1, causal = true, window = 4)\noutput a", precision: .ampBF16) == .math)
        #expect(try Self.kernel(gqa + "a = attention(q, k, v, 4, kv_heads = 1, causal = true, window = 4, repeat_kv = true)\noutput a", precision: .ampBF16) == .cudnn)
        // A window longer than the keys changes nothing: is_causal, flash.
        #expect(try Self.kernel(gqa + "a = attention(q, k, v, 4, kv_heads = 1, causal = true, window = 9)\noutput a", precision: .ampBF16) == .flash)
        // Decode: one query over six keys; with dropout cuDNN refuses one query.
        let decode = "input x: [2, 1, 64]\ninput m: [2, 6, 64]\nq = linear(x, 64)\nk = linear(m, 64)\nv = linear(m, 64)\n"
        #expect(try Self.kernel(decode + "a = attention(q, k, v, 4)\noutput a", precision: .ampBF16) == .cudnn)
        #expect(try Self.kernel(decode + "a = attention(q, k, v, 4, dropout = 0.1)\noutput a", precision: .ampBF16) == .flash)
        #expect(try Self.kernel(decode + "a = attention(q, k, v, 4, causal = true, dropout = 0.1)\noutput a", precision: .ampBF16) == .efficient)
        #expect(try Self.kernel(decode + "a = attention(q, k, v, 4)\noutput a") == .efficient)
        // The old spellings.
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 4, impl = \"fused\")\noutput a") == .flash)
        #expect(try Self.kernel(mha + "a = attention(q, k, v, 4, impl = \"naive\")\noutput a") == .eager)
    }

    /// By hand: B = 1, heads = 2, nq = nk = 6, d = dv = 4. A window of 3 in flash's own
    /// loops visits 1 + 2 + 3 + 3 + 3 + 3 = 15 keys per head under `executed`; the
    /// materialised mask of the other kernels computes all 36 with a mask add each.
    @Test func slidingWindowCounts() throws {
        let spec = "input x: [1, 6, 8]\nq = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\n"
        let (_, _, flash) = try Self.layer(spec + "a = attention(q, k, v, 2, causal = true, window = 3, impl = \"flash\")\noutput a", attention: .executed)
        // E = 2 * 15 = 30: MACs E (d + dv) = 240; FLOPs 2 * 240 + E * 6 + 2 * R (R = 12 rows).
        #expect(flash.cost.forward == Work(flops: 480 + 30 * 6 + 24, macs: 240))
        let (_, _, flashDense) = try Self.layer(spec + "a = attention(q, k, v, 2, causal = true, window = 3, impl = \"flash\")\noutput a")
        // dense: E = 72, the causal compare counted on each: 2 * 576 + 72 * 7 + 24.
        #expect(flashDense.cost.forward == Work(flops: 1152 + 72 * 7 + 24, macs: 576))
        let (_, _, efficient) = try Self.layer(spec + "a = attention(q, k, v, 2, causal = true, window = 3)\noutput a", attention: .executed)
        // The materialised mask: E = 72 under both conventions, one add each.
        #expect(efficient.cost.forward == flashDense.cost.forward)
    }

    /// By hand, what the paths keep, fp32, B = 1, heads = 2, n = 197 (vit's), d = 32.
    @Test func whatThePathsKeep() throws {
        let spec = "input x: [1, 197, 64]\nqkv = linear(x, 192, name = \"qkv\")\nq, k, v = split(qkv, 64)\n"
        func saved(_ call: String, _ configuration: RunConfiguration = RunConfiguration(optimizer: .sgd)) throws -> [String: Int] {
            let graph = try Elaborator.elaborate(source: "model t\n" + spec + "a = \(call)\noutput linear(a, 64, name = \"out\")", file: "t.spec")
            let memory = try MemoryAnalysis(graph: graph, costs: try CostAnalysis(graph: graph, options: CountOptions().run(configuration)), configuration: configuration)
            return Dictionary(uniqueKeysWithValues: memory.layers.map { ($0.name, $0.savedBytes) })
        }
        let qkv = 197 * 192 * 4, out = 197 * 64 * 4
        // efficient: q, k, v (one qkv storage), the output, lse [1, 2, 224] (197 rounded up to 32).
        let efficient = try saved("attention(q, k, v, 2, name = \"attn\")")
        #expect(efficient["attn"] == qkv + out + 2 * 224 * 4)
        #expect(efficient["out"] == 0)
        // Merging heads sequence first copies efficient's [B, n, heads, d] output: out keeps the copy.
        let mha = try saved("attention(q, k, v, 2, q_layout = \"nbhd\", out_layout = \"nbhd\", name = \"attn\")")
        #expect(mha["attn"] == qkv + out + 2 * 224 * 4)
        #expect(mha["out"] == out)
        // math: q and k scaled by sqrt(scale) (new), P [1, 2, 197, 197], v as the second matmul
        // reads it (a copy: not laid out per head), the merged copy kept by out.
        let math = try saved("attention(q, k, v, 2, impl = \"math\", name = \"attn\")")
        #expect(math["attn"] == 3 * out + 2 * 197 * 197 * 4)
        #expect(math["out"] == out)
        // The cache: new k and v (kept), so qkv is kept only for q.
        let cached = try saved("attention(q, k, v, 2, cache = true, name = \"attn\")")
        #expect(cached["attn"] == qkv + 2 * out + out + 2 * 224 * 4)
        let uncached = try saved("attention(q, k, v, 2, cache = true, name = \"attn\")", RunConfiguration(optimizer: .sgd, useCache: false))
        #expect(uncached == efficient)
    }

    /// gpt2 at B = 4 (the calibration's run): the KV cache's copies are 2 x [4, 12, 1024, 64]
    /// fp32 per layer, 12 layers = 301,989,888 bytes, live at the end of forward and through
    /// backward (the returned past_key_values holds them).
    @Test func gpt2CacheCopies() throws {
        let graph = try Elaborator.elaborate(source: try #require(Zoo.source(named: "gpt2")), file: "gpt2.spec", overrides: ["batch": .int(4)])
        func memory(_ useCache: Bool) throws -> MemoryAnalysis {
            let configuration = RunConfiguration(optimizer: .adamw, useCache: useCache)
            return try MemoryAnalysis(graph: graph, costs: try CostAnalysis(graph: graph, options: CountOptions().run(configuration)), configuration: configuration)
        }
        let on = try memory(true), off = try memory(false)
        #expect(on.savedActivationsBytes - off.savedActivationsBytes == 2 * 4 * 12 * 1024 * 64 * 4 * 12)
        #expect(on.peakBytes - off.peakBytes == 2 * 4 * 12 * 1024 * 64 * 4 * 12)
    }

    /// `float()`: the input itself in fp32; under autocast and pure bf16, where a linear's
    /// output is bf16, a new fp32 [4, 4096] (65,536 bytes) live next to the bf16 one while the
    /// cast runs. The output is fp32 under every policy.
    @Test func castCopiesOnlyWhenTheTypeChanges() throws {
        let graph = try Elaborator.elaborate(source: "model c\ninput x: [4, 16]\ny = linear(x, 4096, name = \"fc\")\noutput float(y, name = \"float\")", file: "c.spec")
        // (Under autocast fc's moment also holds its input's bf16 copy, [4, 16]: 128 bytes,
        // gone by the cast's.)
        for (precision, copy) in [(PrecisionPolicy.fp32, 0), (.ampBF16, 4 * 4096 * 4 - 4 * 16 * 2), (.bf16, 4 * 4096 * 4)] {
            let configuration = RunConfiguration(optimizer: .sgd, precision: precision, inference: true)
            let memory = try MemoryAnalysis(graph: graph, costs: try CostAnalysis(graph: graph, options: CountOptions().run(configuration)), configuration: configuration)
            let live = memory.steps.filter { $0.phase == .forward }.map(\.liveBytes)
            #expect(live[1] - live[0] == copy, "\(precision)")
            #expect(memory.savedActivationsBytes == 4 * 4096 * 4, "\(precision)")
            #expect(memory.types.tensors[graph.outputs[0]] == .float32)
        }
    }

    /// torchvision's ShiftedWindowAttention(8, [2, 3], [1, 1], 2): table [15, 2], and its
    /// relative_position_index buffer, printed once (torch 2.11, torchvision 0.26).
    @Test func relativePositionIndexIsTorchvisions() throws {
        let graph = try Elaborator.elaborate(source: "model t\ninput x: [1]\nb = relative_position_bias(2, [2, 3])\noutput b", file: "t.spec")
        let op = try #require(graph.nodes[0].op as? RelativePositionBias)
        #expect(op.parameters.map(\.shape) == [[15, 2]])
        #expect(op.buffers.map(\.shape) == [[36]] && op.buffers[0].dtype == .int64)
        let torchvision = [7, 6, 5, 2, 1, 0, 8, 7, 6, 3, 2, 1, 9, 8, 7, 4, 3, 2, 12, 11, 10, 7, 6, 5, 13, 12, 11, 8, 7, 6, 14, 13, 12, 9, 8, 7]
        #expect((0..<36).map { op.index($0 / 6, $0 % 6) } == torchvision)
        #expect(graph.tensors[graph.outputs[0]].shape == [1, 2, 6, 6])
    }

    @Test func badArguments() throws {
        let spec = "model t\ninput x: [1, 4, 8]\nq = linear(x, 8)\nk = linear(x, 4)\n"
        for (call, message) in [
            ("attention(q, k, k, 2, kv_heads = 1, impl = \"cudnn\")", "needs as many key/value heads"),
            ("attention(q, q, q, 2, window = 2)", "needs causal = true"),
            ("attention(q, q, q, 2, causal = true, window = 0)", "at least 1"),
            ("attention(q, q, q, 2, mask = reshape(q, [1, 1, 1, 4, 8]))", "broadcastable"),
            ("attention(q, q, q, 2, mask = q)", "does not broadcast"),
            ("attention(q, q, q, 2, mask = parameter([4, 3]))", "does not broadcast"),
            ("attention(q, q, q, 2, mask = parameter([4, 4]), impl = \"flash\")", "takes no mask"),
            ("attention(q, q, q, 2, q_layout = \"hnbd\")", "must be one of"),
            ("attention(q, q, q, 2, impl = \"sdpa\")", "must be one of"),
        ] {
            let error = try #require(throws: NNFlopsError.self) { try Elaborator.elaborate(source: spec + "output \(call)", file: "t.spec") }
            #expect(error.message.contains(message), "\(call): \(error.message)")
        }
    }
}
