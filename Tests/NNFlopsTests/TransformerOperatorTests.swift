import Testing
@testable import NNFlops

/// The transformer-side operators (shape and data movement, matmul, embedding, parameter,
/// attention, rope, softmax, reductions, losses): shapes, parameters and the exact FLOPs
/// per phase, each checked against a hand calculation written out on small sizes.
///
/// Graph inputs need no gradient, so to see an operator's input-gradient cost a trainable
/// `linear` is put in front of it.
@Suite struct TransformerOperatorTests {
    typealias SourceLocation_ = Testing.SourceLocation

    /// Elaborates `model t` + `body` (so `body` starts on line 2) and counts it.
    func analyze(_ body: String, attention: AttentionConvention = .dense) throws -> (graph: Graph, cost: CostAnalysis) {
        try TestModel.costs("model t\n" + body, options: CountOptions(attention: attention))
    }

    /// The one layer of operator kind `kind`.
    func layer(_ body: String, kind: String, attention: AttentionConvention = .dense) throws -> LayerCost {
        let layers = try analyze(body, attention: attention).cost.layers.filter { $0.kind == kind }
        try #require(layers.count == 1)
        return layers[0]
    }

    func expectCost(_ layer: LayerCost, forward: Int, forwardMACs: Int = 0, inputGradient: Int, inputGradientMACs: Int = 0,
                    weightGradient: Int = 0, sourceLocation: SourceLocation_ = #_sourceLocation) {
        #expect(layer.cost.forward.flops.value == forward, "forward", sourceLocation: sourceLocation)
        #expect(layer.cost.forward.macs.value == forwardMACs, "forward MACs", sourceLocation: sourceLocation)
        #expect(layer.cost.inputGradient.flops.value == inputGradient, "input gradient", sourceLocation: sourceLocation)
        #expect(layer.cost.inputGradient.macs.value == inputGradientMACs, "input gradient MACs", sourceLocation: sourceLocation)
        #expect(layer.cost.weightGradient.flops.value == weightGradient, "weight gradient", sourceLocation: sourceLocation)
    }

    /// Expects elaborating `body` to fail at `line` (1 = `model t`) and at the column where
    /// `at` first occurs on that line, with a message containing every fragment.
    func expectFailure(_ body: String, line: Int, at needle: String, containing fragments: [String],
                       sourceLocation: SourceLocation_ = #_sourceLocation) {
        let source = "model t\n" + body
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard line - 1 < lines.count, let range = lines[line - 1].range(of: needle) else {
            Issue.record("test bug: '\(needle)' not on line \(line)", sourceLocation: sourceLocation)
            return
        }
        let column = lines[line - 1].distance(from: lines[line - 1].startIndex, to: range.lowerBound) + 1
        do {
            _ = try analyze(body)
            Issue.record("expected an error for \(body)", sourceLocation: sourceLocation)
        } catch let error as NNFlopsError {
            #expect(error.location?.line == line, "\(error)", sourceLocation: sourceLocation)
            #expect(error.location?.column == column, "\(error)", sourceLocation: sourceLocation)
            for fragment in fragments {
                #expect(error.message.contains(fragment), "\(error.message) lacks \(fragment)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - Shape and data movement

    @Test func flatten() throws {
        let (_, cost) = try analyze("input x: [2, 3, 4, 5]\nh = linear(x, 5)\na = flatten(h)\nb = flatten(h, 1, 2)\nc = flatten(h, 0)\n")
        let layers = cost.layers.filter { $0.kind == "flatten" }
        #expect(layers.map(\.outputShapes) == [[[2, 60]], [[2, 12, 5]], [[120]]])
        for layer in layers { expectCost(layer, forward: 0, inputGradient: 0) }
        #expect(layers.allSatisfy { $0.parameters == 0 })
    }

    @Test func reshape() throws {
        let (_, cost) = try analyze("input x: [2, 4, 8]\nh = linear(x, 8)\na = reshape(h, [8, -1])\nb = reshape(h, [4, 16])\n")
        let layers = cost.layers.filter { $0.kind == "reshape" }
        #expect(layers.map(\.outputShapes) == [[[8, 8]], [[4, 16]]])
        for layer in layers { expectCost(layer, forward: 0, inputGradient: 0) }
        expectFailure("input x: [2, 4, 8]\ny = reshape(x, [3, -1])\n", line: 3, at: "[3, -1]", containing: ["[2, 4, 8]", "[3, -1]", "64"])
        expectFailure("input x: [2, 4, 8]\ny = reshape(x, [4, 4])\n", line: 3, at: "[4, 4]", containing: ["[2, 4, 8]", "[4, 4]"])
        expectFailure("input x: [2, 4, 8]\ny = reshape(x, [-1, -1])\n", line: 3, at: "[-1, -1]", containing: ["only one"])
    }

    @Test func transposeAndPermute() throws {
        let (_, cost) = try analyze("input x: [2, 4, 8]\nh = linear(x, 8)\na = transpose(h, 1, 2)\nb = transpose(h, 0, -1)\nc = permute(h, [2, 0, 1])\nd = permute(h, [-1, 1, 0])\n")
        let moved = cost.layers.filter { $0.kind == "transpose" || $0.kind == "permute" }
        #expect(moved.map(\.outputShapes) == [[[2, 8, 4]], [[8, 4, 2]], [[8, 2, 4]], [[8, 4, 2]]])
        for layer in moved { expectCost(layer, forward: 0, inputGradient: 0) }
        expectFailure("input x: [2, 4, 8]\ny = transpose(x, 1, 3)\n", line: 3, at: "3)", containing: ["dimension 3", "[2, 4, 8]"])
        expectFailure("input x: [2, 4, 8]\ny = permute(x, [0, 0, 1])\n", line: 3, at: "[0, 0, 1]", containing: ["permutation"])
        expectFailure("input x: [2, 4, 8]\ny = permute(x, [0, 1])\n", line: 3, at: "[0, 1]", containing: ["all 3"])
    }

    @Test func concat() throws {
        let layer = try layer("input a: [2, 3]\ninput b: [2, 5]\nh = linear(a, 3)\ny = concat([h, b], dim=1)\n", kind: "concat")
        #expect(layer.outputShapes == [[2, 8]])
        expectCost(layer, forward: 0, inputGradient: 0)
        let last = try self.layer("input a: [2, 3]\ninput b: [4, 3]\ny = concat([a, b, a], dim=0)\n", kind: "concat")
        #expect(last.outputShapes == [[8, 3]])
        expectFailure("input a: [2, 3]\ninput b: [3, 5]\ny = concat([a, b], dim=1)\n", line: 4, at: "[a, b]", containing: ["[3, 5]", "[2, 3]"])
        expectFailure("input a: [2, 3]\ny = concat([a], dim=2)\n", line: 3, at: "dim=2", containing: ["dimension 2"])
    }

    @Test func splitAndChunk() throws {
        let (_, cost) = try analyze("input x: [2, 10]\nh = linear(x, 10)\na, b, c = split(h, 4)\nd, e = split(h, [3, 7], dim=1)\n")
        let split = cost.layers.filter { $0.kind == "split" }
        // 10 = 4 + 4 + 2; 3 + 7.
        #expect(split.map(\.outputShapes) == [[[2, 4], [2, 4], [2, 2]], [[2, 3], [2, 7]]])
        for layer in split { expectCost(layer, forward: 0, inputGradient: 0) }
        // The pieces are separate tensors usable downstream.
        let (graph, _) = try analyze("input x: [2, 10]\na, b = split(x, 5)\ny = a + b\n")
        #expect(graph.nodes[1].inputs == graph.nodes[0].outputs)
    }

    @Test func chunkFollowsTorch() throws {
        // torch.chunk(6 entries, 4): piece size ceil(6/4) = 2 -> sizes 2, 2, 2 (3 pieces).
        let layer = try layer("input x: [2, 6]\ny = chunk(x, 4)\n", kind: "chunk")
        #expect(layer.outputShapes == [[2, 2], [2, 2], [2, 2]])
        // 10 entries, 4 chunks: size ceil(10/4) = 3 -> 3, 3, 3, 1.
        let ten = try self.layer("input x: [10, 2]\ny = chunk(x, 4, dim=0)\n", kind: "chunk")
        #expect(ten.outputShapes == [[3, 2], [3, 2], [3, 2], [1, 2]])
        expectCost(ten, forward: 0, inputGradient: 0)
        expectFailure("input x: [2, 10]\na, b = split(x, [3, 6])\n", line: 3, at: "[3, 6]", containing: ["[3, 6]", "9", "10"])
        expectFailure("input x: [2, 1000000]\na = split(x, 1)\n", line: 3, at: "1)", containing: ["more than"])
    }

    @Test func selectAndSlice() throws {
        let (_, cost) = try analyze("input x: [2, 4, 8]\nh = linear(x, 8)\na = select(h, 1, -1)\nb = slice(h, 2, 2, 8, step=3)\nc = slice(h, -1, -3)\nd = slice(h, 1, 1, 100)\n")
        let layers = cost.layers.filter { $0.kind == "select" || $0.kind == "slice" }
        // entries 2 and 5 of 8; the last 3; 1..<4 (clamped)
        #expect(layers.map(\.outputShapes) == [[[2, 8]], [[2, 4, 2]], [[2, 4, 3]], [[2, 3, 8]]])
        for layer in layers { expectCost(layer, forward: 0, inputGradient: 0) }
        expectFailure("input x: [2, 4, 8]\ny = select(x, 1, 4)\n", line: 3, at: "4)", containing: ["index 4", "size 4"])
        expectFailure("input x: [2, 4, 8]\ny = slice(x, 1, 3, 3)\n", line: 3, at: "3, 3)", containing: ["empty"])
    }

    @Test func expand() throws {
        let grown = try layer("input x: [1, 4]\nh = linear(x, 4)\ny = expand(h, [3, 5, 4])\n", kind: "expand")
        #expect(grown.outputShapes == [[3, 5, 4]])
        // Forward is a view; backward sums the 3*5*4 = 60 gradient entries back into [1, 4]:
        // one add per output element.
        expectCost(grown, forward: 0, inputGradient: 60)
        let same = try layer("input x: [2, 4]\nh = linear(x, 4)\ny = expand(h, [1, -1, 4])\n", kind: "expand")
        #expect(same.outputShapes == [[1, 2, 4]])
        expectCost(same, forward: 0, inputGradient: 0)
        let fromInput = try layer("input x: [1, 4]\ny = expand(x, [3, 4])\n", kind: "expand")
        expectCost(fromInput, forward: 0, inputGradient: 0)
        expectFailure("input x: [2, 4]\ny = expand(x, [3, 4])\n", line: 3, at: "[3, 4]", containing: ["[2, 4]", "[3, 4]"])
    }

    // MARK: - Matmul

    @Test func matmul() throws {
        let layer = try layer("input x: [2, 1, 3, 5]\ninput z: [5, 4, 7]\na = linear(x, 4)\nb = linear(z, 6)\ny = matmul(a, b)\n", kind: "matmul")
        // [2, 1, 3, 4] x [5, 4, 6]: batch broadcast [2, 5], M = 3, K = 4, N = 6.
        #expect(layer.outputShapes == [[2, 5, 3, 6]])
        let macs = 2 * 5 * 3 * 4 * 6  // 720
        expectCost(layer, forward: 2 * macs, forwardMACs: macs, inputGradient: 2 * (2 * macs), inputGradientMACs: 2 * macs)
        // Only the first operand needs a gradient.
        let one = try self.layer("input x: [3, 5]\ninput w: [4, 6]\na = linear(x, 4)\ny = matmul(a, w)\n", kind: "matmul")
        expectCost(one, forward: 2 * (3 * 4 * 6), forwardMACs: 3 * 4 * 6, inputGradient: 2 * (3 * 4 * 6), inputGradientMACs: 3 * 4 * 6)
        expectFailure("input a: [2, 3, 4]\ninput b: [2, 5, 6]\ny = matmul(a, b)\n", line: 4, at: "b)", containing: ["[2, 3, 4]", "[2, 5, 6]"])
        expectFailure("input a: [2, 3, 4]\ninput b: [3, 4, 6]\ny = matmul(a, b)\n", line: 4, at: "b)", containing: ["batch"])
        expectFailure("input a: [4]\ninput b: [4, 6]\ny = matmul(a, b)\n", line: 4, at: "a,", containing: ["rank 2"])
    }

    // MARK: - Embedding and parameter

    @Test func embedding() throws {
        let (graph, cost) = try analyze("input ids: [2, 8] int\ne = embedding(ids, 50, 16)\n")
        let layer = cost.layers[0]
        #expect(layer.outputShapes == [[2, 8, 16]])
        #expect(graph.tensors[graph.nodes[0].outputs[0]].dtype == .float32)
        #expect(layer.parameters == 50 * 16)
        // Gather forward; weight gradient scatter-adds 2*8 rows of 16: 256 adds.
        expectCost(layer, forward: 0, inputGradient: 0, weightGradient: 2 * 8 * 16)
        expectFailure("input x: [2, 8]\ne = embedding(x, 50, 16)\n", line: 3, at: "x,", containing: ["integer", "[2, 8]"])
    }

    @Test func tiedEmbeddingCountsOnce() throws {
        let (graph, cost) = try analyze("input ids: [2, 8] int\ne = embedding(ids, 50, 16, name=\"wte\")\nlogits = linear(e, 50, bias=false, tie=\"wte\")\n")
        #expect(graph.parameters.count == 1)
        #expect(graph.parameters[0].name == "wte.weight")
        #expect(cost.parameters == 50 * 16)
        let head = cost.layers[1]
        #expect(head.parameters == 0)
        // Head: 16 rows x 16 in x 50 out = 12800 MACs; input gradient (the embedding output
        // needs one) 12800 MACs; weight gradient 12800 MACs + 800 adds folding the tied
        // gradient into the embedding's.
        let macs = 2 * 8 * 16 * 50
        expectCost(head, forward: 2 * macs, forwardMACs: macs, inputGradient: 2 * macs, inputGradientMACs: macs, weightGradient: 2 * macs + 800)
        #expect(cost.weightGradient.flops.value == 2 * 8 * 16 + 2 * macs + 800)
    }

    @Test func learnedParameter() throws {
        let (graph, cost) = try analyze("input x: [2, 4, 8]\npos = parameter([1, 4, 8], name=\"pos\")\ny = x + pos\n")
        // A bare nn.Parameter is named by its attribute, as PyTorch names it.
        #expect(graph.parameters.map(\.name) == ["pos"])
        #expect(graph.parameters[0].shape == [1, 4, 8])
        let pos = cost.layers[0]
        #expect(pos.parameters == 32)
        #expect(pos.outputShapes == [[1, 4, 8]])
        #expect(graph.nodes[0].inputs.isEmpty)
        expectCost(pos, forward: 0, inputGradient: 0, weightGradient: 0)
        // The add reduces the gradient over the batch for the parameter: 64 adds.
        #expect(cost.layers[1].cost.inputGradient.flops.value == 64)
        let unnamed = try analyze("input x: [2]\ng = parameter([2])\ny = x + g\n").graph
        #expect(unnamed.parameters.map(\.name) == ["parameter"])
        let scalar = try layer("input x: [2]\ng = parameter([])\n", kind: "parameter")
        #expect(scalar.outputShapes == [[]])
        #expect(scalar.parameters == 1)
        expectFailure("input x: [2]\ng = parameter([2, 0])\n", line: 3, at: "[2, 0]", containing: ["positive"])
    }

    // MARK: - Attention

    /// B = 2, n = 4, heads = 2, d = 4: q, k, v [2, 4, 8], each from a linear (all need gradients).
    func attentionSpec(_ arguments: String) -> String {
        "input x: [2, 4, 8]\nq = linear(x, 8)\nk = linear(x, 8)\nv = linear(x, 8)\ny = attention(q, k, v, 2\(arguments))\n"
    }

    @Test func attentionDenseFused() throws {
        let layer = try layer(attentionSpec(""), kind: "attention")
        #expect(layer.outputShapes == [[2, 4, 8]])
        #expect(layer.parameters == 0)
        // E = B*h*nq*nk = 2*2*4*4 = 64 scores, R = 2*2*4 = 16 rows, d = dv = 4.
        // forward: QK^T 64*4 MACs + AV 64*4 MACs = 512 MACs; scale 64, softmax 5*64,
        // log-sum-exp 2*16.
        let forward = 2 * 512 + 64 + 5 * 64 + 2 * 16
        // backward: recompute QK^T 256 MACs, scale 64, exp(S - lse) 2*64; dV 256 MACs;
        // D = rowsum(dO*O) 16 rows * 2*4; dP 256 MACs; dS = P*(dP - D) 2*64; scale 64;
        // dQ 256 MACs, dK 256 MACs.
        let backwardMACs = 5 * 256
        let backward = 2 * backwardMACs + 64 + 2 * 64 + 16 * 8 + 2 * 64 + 64
        expectCost(layer, forward: forward, forwardMACs: 512, inputGradient: backward, inputGradientMACs: backwardMACs)
        // Fused attention's matmul backward is 2.5x the forward's (FlopCounterMode).
        #expect(layer.cost.inputGradient.macs.value * 2 == layer.cost.forward.macs.value * 5)
        // The executed convention only differs when causal.
        let executed = try self.layer(attentionSpec(""), kind: "attention", attention: .executed)
        #expect(executed.cost == layer.cost)
        // Dropout, fused: forward +3 per score; backward regenerates the mask and applies it
        // (3 per score) and scales dP (2 per score).
        let dropout = try self.layer(attentionSpec(", dropout=0.1"), kind: "attention")
        expectCost(dropout, forward: forward + 3 * 64, forwardMACs: 512, inputGradient: backward + 3 * 64 + 2 * 64, inputGradientMACs: backwardMACs)
        // Only v needs a gradient: recompute (256 MACs, scale, exp 2) and dV (256 MACs).
        let onlyV = try self.layer("input x: [2, 4, 8]\nv = linear(x, 8)\ny = attention(x, x, v, 2)\n", kind: "attention")
        expectCost(onlyV, forward: forward, forwardMACs: 512, inputGradient: 2 * 512 + 64 + 2 * 64, inputGradientMACs: 512)
    }

    @Test func attentionNaive() throws {
        let layer = try layer(attentionSpec(", impl=\"naive\""), kind: "attention")
        // forward: 512 MACs, scale 64, softmax 5*64 (no log-sum-exp).
        let forward = 2 * 512 + 64 + 5 * 64
        // backward: dV 256, dP 256, dQ 256, dK 256 MACs; softmax backward 4*64, scale 64.
        let backward = 2 * (4 * 256) + 4 * 64 + 64
        expectCost(layer, forward: forward, forwardMACs: 512, inputGradient: backward, inputGradientMACs: 4 * 256)
        let dropout = try self.layer(attentionSpec(", impl=\"naive\", dropout=0.1"), kind: "attention")
        // dropout: compare + 2 multiplies per score forward, 2 multiplies backward.
        expectCost(dropout, forward: forward + 3 * 64, forwardMACs: 512, inputGradient: backward + 2 * 64, inputGradientMACs: 4 * 256)
    }

    @Test func causalExecutedSkipsMaskedEntries() throws {
        let dense = try layer(attentionSpec(", causal=true"), kind: "attention")
        // Dense causal: every one of the 64 scores, plus one mask compare each.
        expectCost(dense, forward: 2 * 512 + 64 + 64 + 5 * 64 + 2 * 16, forwardMACs: 512,
                   inputGradient: 2 * (5 * 256) + 64 + 64 + 2 * 64 + 16 * 8 + 2 * 64 + 64, inputGradientMACs: 5 * 256)
        let executed = try layer(attentionSpec(", causal=true"), kind: "attention", attention: .executed)
        // Executed fused causal: 4*5/2 = 10 visible scores per head, 2*2 heads: E = 40. The
        // loops stop at the diagonal, so no mask operation runs (scale 1 + softmax 5).
        let visible = 2 * 2 * (4 * 5 / 2)
        let forward = 2 * (visible * 8) + visible * (1 + 5) + 2 * 16
        let backward = 2 * (visible * 4 * 5) + visible * (1 + 2) + 16 * 8 + visible * (2 + 1)
        expectCost(executed, forward: forward, forwardMACs: visible * 8, inputGradient: backward, inputGradientMACs: visible * 4 * 5)
        // Below dense by the 2*2*(4*3/2) = 24 masked entries, each worth 2*(d + dv) matmul
        // FLOPs + scale + mask + 5 softmax forward, and by the 40 visible entries' masks.
        let masked = 2 * 2 * (4 * 3 / 2)
        #expect(dense.cost.forward.flops.value - executed.cost.forward.flops.value == masked * (2 * 8 + 1 + 1 + 5) + visible)
        #expect(dense.cost.forward.macs.value - executed.cost.forward.macs.value == masked * 8)
        // Naive attention materialises the full matrix under either convention.
        let naiveDense = try layer(attentionSpec(", causal=true, impl=\"naive\""), kind: "attention")
        let naiveExecuted = try layer(attentionSpec(", causal=true, impl=\"naive\""), kind: "attention", attention: .executed)
        #expect(naiveDense.cost == naiveExecuted.cost)
        #expect(naiveDense.cost.forward.flops.value == 2 * 512 + 64 + 64 + 5 * 64)
    }

    @Test func causalWithMoreQueriesThanKeys() throws {
        // nq = 5, nk = 3, one head of d = 2, B = 1: top-left causal rows see min(i+1, 3)
        // keys: 1 + 2 + 3 + 3 + 3 = 12 of 15 in a fused kernel (impl = "fused": with d = 2
        // auto picks math in fp32, which computes all 15).
        let layer = try layer("input q: [1, 5, 2]\ninput k: [1, 3, 2]\ny = attention(q, k, k, 1, causal=true, impl=\"fused\")\n", kind: "attention", attention: .executed)
        #expect(layer.cost.forward.macs.value == 12 * (2 + 2))
        #expect(layer.cost.inputGradient.flops.value == 0)
    }

    @Test func groupedQueryAttention() throws {
        // B = 1, n = 4, 4 query heads of d = 2, 2 key/value heads: k, v [1, 4, 4].
        let layer = try layer("input x: [1, 4, 8]\nq = linear(x, 8)\nk = linear(x, 4)\nv = linear(x, 4)\ny = attention(q, k, v, 4, kv_heads=2, impl=\"naive\")\n", kind: "attention")
        #expect(layer.outputShapes == [[1, 4, 8]])
        // E = 1*4*4*4 = 64 (query heads), d = 2: QK^T 128 + AV 128 MACs.
        expectCost(layer, forward: 2 * 256 + 64 + 5 * 64, forwardMACs: 256,
                   inputGradient: 2 * (4 * 128) + 4 * 64 + 64, inputGradientMACs: 4 * 128)
        let mqa = try self.layer("input q: [1, 4, 8]\ninput k: [1, 6, 2]\ny = attention(q, k, k, 4, kv_heads=1)\n", kind: "attention")
        // E = 4 heads * 4 * 6 = 96; d = 2.
        #expect(mqa.cost.forward.macs.value == 96 * 4)
        #expect(mqa.outputShapes == [[1, 4, 8]])
        expectFailure("input x: [1, 4, 8]\ny = attention(x, x, x, 4, kv_heads=3)\n", line: 3, at: "kv_heads", containing: ["divide"])
        expectFailure("input x: [1, 4, 8]\ninput k: [1, 4, 6]\ny = attention(x, k, k, 4, kv_heads=2)\n", line: 4, at: "k,", containing: ["[1, 4, 6]", "[1, 4, 8]"])
        expectFailure("input x: [1, 4, 8]\ny = attention(x, x, x, 3)\n", line: 3, at: "3)", containing: ["not divisible"])
    }

    @Test func gpt2AttentionMatchesFlopCounterMode() throws {
        // One gpt2 layer: B = 1, n = 1024, 12 heads of 64. FlopCounterMode: forward
        // 4*b*h*n^2*d = 4*12*1024*1024*64 = 3,221,225,472 per layer (x12 = 38.65e9) and the
        // efficient-attention backward 2.5x that (x12 = 96.64e9).
        let layer = try layer("input x: [1, 1024, 768]\nq = linear(x, 768)\nk = linear(x, 768)\nv = linear(x, 768)\ny = attention(q, k, v, 12, causal=true)\n", kind: "attention")
        #expect(layer.cost.forward.macs.value * 2 == 3_221_225_472)
        #expect(layer.cost.inputGradient.macs.value * 2 == 8_053_063_680)
        #expect(12 * layer.cost.forward.macs.value * 2 == 38_654_705_664)
        #expect(12 * layer.cost.inputGradient.macs.value * 2 == 96_636_764_160)
    }

    // MARK: - Rope

    @Test func rope() throws {
        let layer = try layer("input x: [2, 4, 8]\nh = linear(x, 8)\ny = rope(h, 2)\n", kind: "rope")
        #expect(layer.outputShapes == [[2, 4, 8]])
        // N = 64: x*cos, *sin, + per element, and the negation of half: 3*64 + 32.
        expectCost(layer, forward: 3 * 64 + 32, inputGradient: 3 * 64 + 32)
        expectFailure("input x: [2, 4, 6]\ny = rope(x, 2)\n", line: 3, at: "2)", containing: ["even"])
        expectFailure("input x: [2, 4, 8]\ny = rope(x, 3)\n", line: 3, at: "3)", containing: ["divisible"])
        let (graph, _) = try analyze("input x: [2, 4, 8]\ny = rope(x, 2)\n")
        #expect(graph.nodes[0].op.buffers.map(\.shape) == [[2]])
    }

    // MARK: - Softmax and reductions

    @Test func softmaxAndLogSoftmax() throws {
        let softmax = try layer("input x: [2, 4, 8]\nh = linear(x, 8)\ny = softmax(h)\n", kind: "softmax")
        #expect(softmax.outputShapes == [[2, 4, 8]])
        // 64 elements: max, subtract, exp, sum, divide = 5 each; backward 4 each.
        expectCost(softmax, forward: 5 * 64, inputGradient: 4 * 64)
        let onInput = try layer("input x: [2, 4, 8]\ny = softmax(x, dim=1)\n", kind: "softmax")
        expectCost(onInput, forward: 5 * 64, inputGradient: 0)
        let log = try layer("input x: [2, 4, 8]\nh = linear(x, 8)\ny = log_softmax(h)\n", kind: "log_softmax")
        // 2*4 = 8 rows of 8: 5 per element + one log per row; backward 4 per element.
        expectCost(log, forward: 5 * 64 + 8, inputGradient: 4 * 64)
        let log1 = try layer("input x: [2, 4, 8]\ny = log_softmax(x, dim=1)\n", kind: "log_softmax")
        // 2*8 = 16 rows of 4.
        expectCost(log1, forward: 5 * 64 + 16, inputGradient: 0)
        expectFailure("input x: [2, 4, 8]\ny = softmax(x, dim=3)\n", line: 3, at: "dim=3", containing: ["dimension 3"])
    }

    @Test func sumAndMean() throws {
        // Every reduction is an output: one that reaches none would be dead code, without a backward.
        let (_, cost) = try analyze("input x: [2, 4, 8]\nh = linear(x, 8)\na = sum(h)\nb = sum(h, dim=1)\n"
                                    + "c = sum(h, dim=-1, keepdim=true)\nd = mean(h, dim=[0, 2])\ne = mean(h)\noutput a, b, c, d, e\n")
        let reductions = cost.layers.filter { $0.kind == "sum" || $0.kind == "mean" }
        #expect(reductions.map(\.outputShapes) == [[[]], [[2, 8]], [[2, 4, 1]], [[4]], [[]]])
        // sum: 64 adds, gradient is a broadcast view.
        for layer in reductions.prefix(3) { expectCost(layer, forward: 64, inputGradient: 0) }
        // mean over [0, 2] into 4 outputs: 64 adds + 4 divides; backward 64 divides.
        expectCost(reductions[3], forward: 64 + 4, inputGradient: 64)
        expectCost(reductions[4], forward: 64 + 1, inputGradient: 64)
        expectFailure("input x: [2, 4, 8]\ny = mean(x, dim=[1, -2])\n", line: 3, at: "dim=", containing: ["twice"])
    }

    // MARK: - Losses

    /// h = linear(x) [2, 4] (needs a gradient) against a graph-input target.
    func lossLayer(_ call: String, target: String = "input t: [2, 4]", kind: String) throws -> LayerCost {
        try layer("input x: [2, 3]\n\(target)\nh = linear(x, 4)\nl = \(call)\n", kind: kind)
    }

    @Test func mseLoss() throws {
        let layer = try lossLayer("mse_loss(h, t)", kind: "mse_loss")
        #expect(layer.outputShapes == [[]])
        // N = 8: subtract, square, add = 3 each + 1 divide; backward 1 scalar + 2 each.
        expectCost(layer, forward: 3 * 8 + 1, inputGradient: 1 + 2 * 8)
        // Both sides need gradients: 1 + 2*8 + 2*8.
        let both = try self.layer("input x: [2, 3]\nh = linear(x, 4)\ng = linear(x, 4)\nl = mse_loss(h, g)\n", kind: "mse_loss")
        expectCost(both, forward: 25, inputGradient: 1 + 16 + 16)
        expectFailure("input x: [2, 4]\ninput t: [2, 5]\nl = mse_loss(x, t)\n", line: 4, at: "t)", containing: ["[2, 5]", "[2, 4]"])
    }

    @Test func bceLoss() throws {
        let logits = try lossLayer("bce_loss(h, t)", kind: "bce_loss")
        #expect(logits.outputShapes == [[]])
        // stable logits form 9 per element + sum + 1 divide; backward 1 + 6 per element.
        expectCost(logits, forward: 10 * 8 + 1, inputGradient: 1 + 6 * 8)
        let probabilities = try lossLayer("bce_loss(h, t, logits=false)", kind: "bce_loss")
        expectCost(probabilities, forward: 11 * 8 + 1, inputGradient: 1 + 6 * 8)
        let soft = try self.layer("input x: [2, 3]\nh = linear(x, 4)\ng = linear(x, 4)\nl = bce_loss(h, g)\n", kind: "bce_loss")
        // target gradient -x * s: 2 per element.
        expectCost(soft, forward: 81, inputGradient: 1 + 6 * 8 + 2 * 8)
    }

    @Test func crossEntropy() throws {
        // [2, 5] scores, ids [2]: N = 10, R = 2.
        // [2, 5] scores, ids [2]: N = 10, R = 2. log_softmax 5*10 + 2 logs; 2 negates,
        // 2 adds, 1 divide. Backward: h = -dL/R (2), log_softmax backward 4*10.
        let five = try layer("input x: [2, 3]\ninput t: [2] int\nh = linear(x, 5)\nl = cross_entropy(h, t)\n", kind: "cross_entropy")
        #expect(five.outputShapes == [[]])
        expectCost(five, forward: 5 * 10 + 2 + 2 + 2 + 1, inputGradient: 2 + 4 * 10)
        let smooth = try layer("input x: [2, 3]\ninput t: [2] int\nh = linear(x, 5)\nl = cross_entropy(h, t, label_smoothing=0.1)\n", kind: "cross_entropy")
        // per row: 5 adds for sum(logp), 2 multiplies, 1 add, 1 negate; backward adds the two
        // scaled scalars (2) and one add per row at the target (2).
        expectCost(smooth, forward: 5 * 10 + 2 + 2 * (5 + 4) + 2 + 1, inputGradient: 2 + 2 + 2 + 4 * 10)
        let soft = try layer("input x: [2, 3]\ninput t: [2, 5]\nh = linear(x, 5)\nl = cross_entropy(h, t)\n", kind: "cross_entropy")
        // per row: 5 multiplies, 5 adds, 1 negate; backward h*t 10 multiplies + 4*10.
        expectCost(soft, forward: 5 * 10 + 2 + 2 * (2 * 5 + 1) + 2 + 1, inputGradient: 2 + 10 + 4 * 10)
        // Class dimension 1 for rank 4: [2, 5, 3, 3], ids [2, 3, 3]: N = 90, R = 18.
        let image = try layer("input x: [2, 5, 3, 3]\ninput t: [2, 3, 3] int\nl = cross_entropy(x, t)\n", kind: "cross_entropy")
        expectCost(image, forward: 5 * 90 + 18 + 18 + 18 + 1, inputGradient: 0)
        expectFailure("input x: [2, 5]\ninput t: [2, 5] int\nl = cross_entropy(x, t)\n", line: 4, at: "t)", containing: ["[2, 5] i64", "[2]"])
    }

    @Test func huberHingeFocalKL() throws {
        let huber = try lossLayer("huber_loss(h, t, delta=0.5)", kind: "huber_loss")
        // subtract, abs, compare, 2 for the branch = 5 each + sum + divide; backward 1 + 4 each.
        expectCost(huber, forward: 6 * 8 + 1, inputGradient: 1 + 4 * 8)
        #expect(huber.outputShapes == [[]])
        let hinge = try lossLayer("hinge_loss(h, t)", kind: "hinge_loss")
        // binary: multiply, subtract, max = 3 each + sum + divide; backward 2 + 5 each.
        expectCost(hinge, forward: 4 * 8 + 1, inputGradient: 2 + 5 * 8)
        let multi = try layer("input x: [2, 3]\ninput t: [2] int\nh = linear(x, 5)\nl = hinge_loss(h, t)\n", kind: "hinge_loss")
        // multi-class, R = 2 rows of C = 5: per row 1 + 2*4 + 4 adds + 1 divide = 14; 2 adds
        // and a divide for the mean: 31. Backward 1 + per row 1 + 3*4 + 4 + 1 = 18.
        expectCost(multi, forward: 2 * 14 + 2 + 1, inputGradient: 1 + 2 * 18)
        let focal = try lossLayer("focal_loss(h, t)", kind: "focal_loss")
        // 4 sigmoid + 9 BCE + 5 p_t + 3 modulating + 5 alpha = 26 each, + sum + divide;
        // backward 1 + 14 each (the modulating factor q^gamma is read back, not recomputed).
        expectCost(focal, forward: 27 * 8 + 1, inputGradient: 1 + 14 * 8)
        let focalNoAlpha = try lossLayer("focal_loss(h, t, alpha=-1)", kind: "focal_loss")
        expectCost(focalNoAlpha, forward: 22 * 8 + 1, inputGradient: 1 + 13 * 8)
        let kl = try lossLayer("kl_div(h, t)", kind: "kl_div")
        // xlogy 3 + multiply + subtract = 5 each + sum + divide; dX = -t * s: 2 each.
        expectCost(kl, forward: 6 * 8 + 1, inputGradient: 1 + 2 * 8)
        let klLog = try lossLayer("kl_div(h, t, log_target=true)", kind: "kl_div")
        expectCost(klLog, forward: 4 * 8 + 1, inputGradient: 1 + 3 * 8)
        expectFailure("input x: [2, 5]\ninput t: [3] int\nl = hinge_loss(x, t)\n", line: 4, at: "t)", containing: ["[3] i64", "[2, 5]"])
    }

    @Test func everyOperatorIsInTheCatalog() {
        for name in ["flatten", "reshape", "transpose", "permute", "concat", "split", "chunk", "select", "slice", "expand",
                     "matmul", "embedding", "parameter", "attention", "rope", "softmax", "log_softmax", "mean", "sum",
                     "mse_loss", "bce_loss", "cross_entropy", "huber_loss", "hinge_loss", "focal_loss", "kl_div"] {
            #expect(OperatorCatalog.lookup(name) != nil, "\(name)")
        }
    }
}
