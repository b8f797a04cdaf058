import Testing
@testable import NNFlops

/// The spec language: every feature of design.md §3, checked through the graph it builds.
@Suite struct LanguageTests {
    func graph(_ source: String, overrides: [String: Value] = [:]) throws -> Graph {
        try TestModel.graph(source, overrides: overrides)
    }

    func failure(_ source: String, overrides: [String: Value] = [:]) -> NNFlopsError? {
        do {
            _ = try CostAnalysis(graph: graph(source, overrides: overrides))
            return nil
        } catch let error as NNFlopsError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    /// len() is Python's: a list's or string's length, a tensor's first dimension. A
    /// rank-0 tensor has no first dimension (torch: "len() of a 0-d tensor"); this trapped
    /// with an index out of range before.
    @Test func lenOfRankZeroTensorIsALocatedError() throws {
        let error = try #require(failure("input x: [4, 8]\ny = sum(x)\nn = len(y)\noutput y\n"))
        #expect(error.message.contains("rank-0 tensor has no first dimension"))
        #expect(error.location?.line == 3)
        let lengths = try graph("input x: [4, 8]\nc = linear(x, len(x) + len([1, 2, 3]) + len(\"ab\"))\noutput c\n")
        #expect(lengths.tensors[lengths.nodes[0].outputs[0]].shape == [4, 9])
    }

    /// The elaborator remembers the last name it let be assigned and the last callee it
    /// found to be an operator (Elaborator.lastAssignableName, lastOperatorCallee): a
    /// loop that alternates names still has each checked, and a block that shadows no
    /// operator is still called as the block.
    @Test func rememberedNamesAndCalleesAreStillChecked() throws {
        let assigned = try #require(failure("input x: [2, 8]\nrepeat 3:\n  x = relu(x)\n  relu = x\noutput x\n"))
        #expect(assigned.message.contains("'relu' is an operator or block name and cannot be assigned"))
        #expect(assigned.location?.line == 4)
        let block = try #require(failure("block f(t):\n  return relu(t)\ninput x: [2, 8]\ny = relu(x)\nf = y\noutput y\n"))
        #expect(block.message.contains("'f' is an operator or block name"))
        let called = try graph("block f(t):\n  return sigmoid(t)\ninput x: [2, 8]\ny = relu(x)\nz = f(y)\nw = relu(z)\noutput w\n")
        #expect(called.nodes.map(\.kind) == ["relu", "sigmoid", "relu"])
    }

    /// `name =`, `tie =` and `frozen =` (ReservedArguments): never bound to an operator's
    /// or a block's own arguments; of a repeated one, the last counts; `tie =` is refused
    /// on a block call.
    @Test func reservedArgumentsOfOperatorAndBlockCalls() throws {
        let block = "block head(t, width):\n  return linear(t, width)\ninput x: [2, 8]\n"
        let named = try graph(block + "y = head(x, 4, name = \"a\", frozen = true, name = \"b\")\nz = linear(y, 3, name = \"c\", frozen = false, name = \"d\")\noutput z\n")
        #expect(named.nodes.map(\.name) == ["b.linear", "d"])
        // The block's linear is frozen (8 x 4 + 4), the last linear is not (4 x 3 + 3).
        #expect(named.parameters.map(\.name) == ["b.linear.weight", "b.linear.bias", "d.weight", "d.bias"])
        #expect(named.parameters.map(\.frozen) == [true, true, false, false])
        let tied = try graph("input x: [2, 8]\ny = linear(x, 8, name = \"a\")\nz = linear(y, 8, tie = \"a\", name = \"b\")\noutput z\n")
        #expect(tied.parameters.count == 2)
        #expect(tied.parameters.map(\.uses) == [2, 2])
        let refused = try #require(failure(block + "y = head(x, 4, tie = \"a\")\noutput y\n"))
        #expect(refused.message.contains("tie= applies to operators, not blocks"))
        #expect(refused.location?.line == 4)
    }

    @Test func paramsInputsAndOverrides() throws {
        let source = """
        model demo
        param batch = 2
        param width = 8
        param scale = 1.5
        input x: [batch, 16]
        y = linear(x, int(width * scale))
        """
        let g = try graph(source)
        #expect(g.model == "demo")
        #expect(g.tensors[g.nodes[0].outputs[0]].shape == [2, 12])
        let h = try graph(source, overrides: ["batch": .int(5), "width": .int(10)])
        #expect(h.tensors[h.nodes[0].outputs[0]].shape == [5, 15])
        // An int override of a float param is accepted as a float.
        let k = try graph(source, overrides: ["scale": .int(2)])
        #expect(k.tensors[k.nodes[0].outputs[0]].shape == [2, 16])
    }

    @Test func modelNamesAreFreeForm() throws {
        #expect(try graph("model llama2-7b  # comment\ninput x: [1, 4]\ny = linear(x, 2)\n").model == "llama2-7b")
        #expect(try graph("model gpt3-175b\ninput x: [1, 4]\ny = linear(x, 2)\n").model == "gpt3-175b")
        #expect(try graph("model bert-base.v2\ninput x: [1, 4]\ny = linear(x, 2)\n").model == "bert-base.v2")
        // `model` stays usable as a variable name.
        #expect(try graph("input x: [1, 4]\nmodel = 3\ny = linear(x, model)\n").nodes.count == 1)
    }

    @Test func unknownOverrideSuggestsParam() {
        let error = failure("param batch = 1\ninput x: [batch, 4]\ny = linear(x, 2)\n", overrides: ["bacth": .int(2)])
        #expect(error?.message.contains("did you mean 'batch'") == true)
    }

    @Test func integerInputForTokenIds() throws {
        let g = try graph("input ids: [1, 7] int\ninput t: [1, 7] bf16\ny = linear(t, 3)\n")
        #expect(g.tensors[g.inputs[0].tensor].dtype == .int64)
        #expect(g.tensors[g.inputs[1].tensor].dtype == .bfloat16)
    }

    @Test func blocksLoopsConditionalsAndNames() throws {
        let source = """
        input x: [1, 4, 8, 8]
        block unit(x, out, stride = 1):
            y = conv2d(x, out, kernel = 3, stride = stride, padding = 1, name = "conv")
            if stride != 1 or channels(x) != out:
                x = conv2d(x, out, kernel = 1, stride = stride, name = "down")
            return relu(y + x)
        block stage(x, out, count, stride):
            x = unit(x, out, stride, name = 0)
            repeat count - 1 as i:
                x = unit(x, out, name = i + 1)
            return x
        x = stage(x, 4, 2, 1, name = "layer1")
        x = stage(x, 8, 2, 2, name = "layer2")
        """
        let g = try graph(source)
        let names = g.nodes.map(\.name)
        // layer1.0 keeps 4 channels at stride 1: no shortcut conv; layer2.0 needs one.
        #expect(names == [
            "layer1.0.conv", "layer1.0.add", "layer1.0.relu",
            "layer1.1.conv", "layer1.1.add", "layer1.1.relu",
            "layer2.0.conv", "layer2.0.down", "layer2.0.add", "layer2.0.relu",
            "layer2.1.conv", "layer2.1.add", "layer2.1.relu",
        ])
        #expect(g.tensors[g.outputs[0]].shape == [1, 8, 4, 4])
        #expect(g.parameters.map(\.name).contains("layer2.0.down.weight"))
    }

    @Test func automaticNamesCountPerScope() throws {
        let g = try graph("input x: [2, 4]\ny = relu(linear(linear(x, 4), 4))\nz = relu(y)\n")
        #expect(g.nodes.map(\.name) == ["linear", "linear_1", "relu", "relu_1"])
    }

    @Test func forLoopsListsAndArithmetic() throws {
        let source = """
        param widths = 0
        input x: [3, 2]
        sizes = [4, 6] + [10]
        for w in sizes:
            x = linear(x, w)
        n = 7 // 2 + 2 ** 3 - 10 % 4
        y = linear(x, n if sizes[-1] == 10 else 1)
        """
        let g = try graph(source)
        // 7 // 2 = 3; 2 ** 3 = 8; 10 % 4 = 2: 3 + 8 - 2 = 9.
        #expect(g.nodes.map { g.tensors[$0.outputs[0]].shape } == [[3, 4], [3, 6], [3, 10], [3, 9]])
    }

    @Test func shapeQueries() throws {
        let g = try graph("""
        input x: [2, 3, 5, 7]
        a = linear(x, dim(x, -1) * rank(x))
        b = linear(a, shape(x)[2] + channels(x) + numel(x) // 210)
        c = linear(b, x.shape[1] * len(x.shape))
        """)
        #expect(g.tensors[g.nodes[0].outputs[0]].shape.last == 28)  // 7 * 4
        #expect(g.tensors[g.nodes[1].outputs[0]].shape.last == 9)  // 5 + 3 + 210 // 210
        #expect(g.tensors[g.nodes[2].outputs[0]].shape.last == 12)  // 3 * 4
    }

    @Test func divisibleMatchesTorchvision() throws {
        // torchvision _make_divisible(v, 8): 32*0.75=24 -> 24; 16*1.4=22.4 -> 24; 96*0.35=33.6 -> 32.
        let g = try graph("""
        input x: [1, 4]
        a = linear(x, divisible(24.0, 8))
        b = linear(x, divisible(22.4, 8))
        c = linear(x, divisible(33.6, 8))
        d = linear(x, divisible(3, 8))
        """)
        #expect(g.nodes.map { g.tensors[$0.outputs[0]].shape[1] } == [24, 24, 32, 8])
    }

    @Test func sizeSuffixes() throws {
        let g = try graph("param big = 16GiB\nparam n = 7B\nparam k = 1.5K\ninput x: [1, 4]\ny = linear(x, k)\n")
        #expect(g.settings.first { $0.name == "big" }?.value.description == "17179869184")
        #expect(g.settings.first { $0.name == "n" }?.value.description == "7000000000")
        #expect(g.tensors[g.nodes[0].outputs[0]].shape == [1, 1500])
    }

    @Test func tiedParametersCountOnce() throws {
        let g = try graph("""
        input x: [2, 16]
        h = linear(x, 32, bias = false, name = "encode")
        y = linear(h, 16, name = "decode")
        z = linear(x, 32, bias = false, tie = "encode")
        output y, z
        """)
        #expect(g.parameters.count == 3)  // encode.weight, decode.weight, decode.bias
        let analysis = try CostAnalysis(graph: g)
        // 32*16 + (16*32 + 16) = 512 + 528 = 1040.
        #expect(analysis.parameters == 1040)
        // The tied use: weight-gradient MACs 2*16*32 = 1024 (2048 FLOPs) plus 512 adds to
        // accumulate into the shared gradient.
        #expect(analysis.layers[2].cost.weightGradient.flops == Count(2048 + 512))
        #expect(analysis.layers[2].parameters == 0)
    }

    @Test func tieShapeMismatchNamesBothShapes() {
        let error = failure("input x: [2, 16]\nh = linear(x, 32, name = \"a\")\nz = linear(x, 8, tie = \"a\")\n")
        #expect(error?.message.contains("[8, 16]") == true)
        #expect(error?.message.contains("[32, 16]") == true)
        #expect(error?.location?.line == 3)
    }

    @Test func frozenParameters() throws {
        let g = try graph("""
        input x: [4, 8]
        block tower(x):
            return linear(relu(linear(x, 8)), 8)
        a = tower(x, frozen = true, name = "backbone")
        b = linear(a, 3, name = "head")
        c = linear(b, 3, name = "extra")
        freeze "extra"
        """)
        let analysis = try CostAnalysis(graph: g)
        // backbone: 2 * (8*8 + 8) = 144 frozen; head 8*3+3 = 27 trainable; extra 3*3+3 = 12 frozen.
        #expect(analysis.parameters == 183)
        #expect(analysis.trainableParameters == 27)
        // Nothing before the head is trainable: the backbone has no backward at all.
        #expect(analysis.layers[0].cost.backward.flops == 0)
        #expect(analysis.layers[2].cost.backward.flops == 0)
        // head: weight grad 2*4*8*3 = 192 + bias 4*3 = 12; its input needs no gradient.
        #expect(analysis.layers[3].cost.weightGradient.flops == 204)
        #expect(analysis.layers[3].cost.inputGradient.flops == 0)
        // extra is frozen but its input comes from a trainable layer: dX = 2*4*3*3 = 72.
        #expect(analysis.layers[4].cost.inputGradient.flops == 72)
        #expect(analysis.layers[4].cost.weightGradient.flops == 0)
    }

    @Test func budgetsAreKept() throws {
        let g = try graph("input x: [1, 4]\ny = linear(x, 2)\nbudget peak_memory <= 16GiB\nbudget params <= 1M\n")
        #expect(g.budgets.map(\.metric) == [.peakMemory, .params])
        #expect(g.budgets[0].limit == 17179869184)
        #expect(failure("input x: [1, 4]\ny = linear(x, 2)\nbudget peek_memory <= 1\n")?.notes.first == "did you mean 'peak_memory'?")
    }

    @Test func outputsDefaultToLastOperator() throws {
        let g = try graph("input x: [1, 4]\na = linear(x, 2)\nb = linear(x, 3)\n")
        #expect(g.outputs == [g.nodes[1].outputs[0]])
        let h = try graph("input x: [1, 4]\na = linear(x, 2)\nb = linear(x, 3)\noutput a, b\n")
        #expect(h.outputs.count == 2)
    }

    // MARK: - Errors: located, with a caret and suggestions

    @Test func unknownOperatorSuggests() throws {
        let error = try #require(failure("input x: [1, 4]\ny = lineer(x, 2)\n"))
        #expect(error.location == SourceLocation(file: "t.spec", line: 2, column: 5))
        #expect(error.notes.contains("did you mean 'linear'?"))
        #expect(error.description.hasPrefix("t.spec:2:5: error: unknown operator or block 'lineer'\ny = lineer(x, 2)\n    ^"))
    }

    @Test func unknownArgumentSuggests() throws {
        let error = try #require(failure("input x: [1, 3, 8, 8]\ny = conv2d(x, 4, kernel = 3, strid = 2)\n"))
        #expect(error.location?.column == 30)
        #expect(error.notes.contains("did you mean 'stride'?"))
    }

    @Test func misspelledKeywordSuggests() throws {
        let error = try #require(failure("parm batch = 1\n"))
        #expect(error.notes.contains("did you mean 'param'?"))
    }

    @Test func shapeMismatchNamesOperatorAndShapes() throws {
        let error = try #require(failure("input x: [2, 4]\ny = linear(x, 3)\nz = y + linear(x, 5)\n"))
        #expect(error.message.contains("add"))
        #expect(error.message.contains("[2, 3]") && error.message.contains("[2, 5]"))
        #expect(error.location?.line == 3)
    }

    @Test func syntaxErrorsAreLocated() throws {
        let cases: [(String, Int, Int)] = [
            ("input x: [1, 4]\ny = linear(x, 2\n", 2, 11),  // unclosed bracket points at '('
            ("input x: [1, 4]\ny = = 3\n", 2, 5),
            ("input x: [1, 4]\n  y = linear(x, 2)\n", 2, 3),
            ("input x: [1, 4]\ny = linear(x, 2) $\n", 2, 18),
            ("input x: [1, 4]\nif true:\ny = 1\n", 3, 1),
            ("input x: [1, 4]\ny = \"open\n", 2, 5),
        ]
        for (source, line, column) in cases {
            let error = try #require(failure(source), "\(source)")
            #expect(error.location?.line == line, "\(source): \(error)")
            #expect(error.location?.column == column, "\(source): \(error)")
            #expect(error.sourceLine != nil)
        }
    }

    @Test func semanticErrors() throws {
        let cases: [(String, String)] = [
            ("input x: [0, 4]\ny = linear(x, 2)\n", "dimensions must be positive"),
            ("input x: [1, 4]\ny = linear(x, 0)\n", "'out' must be at least 1"),
            ("input x: [1, 4]\ny = linear(z, 2)\n", "unknown name 'z'"),
            ("input x: [1, 4]\ny = linear(x)\n", "needs argument 'out'"),
            ("input x: [1, 4]\ny = linear(x, 2.5)\n", "must be an integer"),
            ("input x: [1, 4]\ny = linear(x, 2, 3, \"none\", 5)\n", "takes at most 4 arguments"),
            ("input x: [1, 4]\nparam p = 1\np = 2\ny = linear(x, 2)\n", "cannot be reassigned"),
            ("input x: [1, 4]\ny = linear(x, 2, name = \"a\")\nz = linear(x, 2, name = \"a\")\n", "already used"),
            ("input x: [1, 4]\ny = linear(x, 9223372036854775807 + 1)\n", "integer overflow"),
            ("input x: [1, 4]\ny = linear(x, 1 // 0)\n", "division by zero"),
            ("input x: [1, 4]\nblock f(x):\n    return f(x)\ny = f(x)\n", "nest deeper"),
            ("input x: [1, 4]\nrepeat 100000000:\n    pass\n", "loop iterations"),
            ("input x: [1, 4]\ny = x[0]\n", "tensors cannot be indexed"),
            ("input x: [1, 4]\n", "defines no operators"),
            ("input x: [1, 4]\ny = linear(x, 2)\nfreeze \"nothing\"\n", "matches no parameter"),
        ]
        for (source, fragment) in cases {
            let error = try #require(failure(source), "\(source)")
            #expect(error.message.contains(fragment), "\(source): got \(error.message)")
        }
    }

    @Test func hugeShapesErrorInsteadOfOverflowing() throws {
        // Each tensor fits, but the FLOP count (2 * 2^31 * 2^31 * 2^31 ...) does not.
        let big = 1 << 25
        let error = try #require(failure("input x: [\(big), \(big)]\ny = linear(x, \(big))\n"))
        #expect(error.message.contains("overflow"))
        let error2 = try #require(failure("input x: [\(1 << 40), \(1 << 40)]\ny = relu(x)\n"))
        #expect(error2.message.contains("overflows 64-bit"))
        // A FLOP total that overflows only when the layers are added up.
        let error3 = try #require(failure("input x: [\(1 << 20), \(1 << 20)]\nrepeat 3000:\n    x = linear(x, \(1 << 20), bias = false)\n"))
        #expect(error3.message.contains("overflow"))
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        let error = try #require(failure("input x: [1, 4]\ny = linear(x, \(deep))\n"))
        #expect(error.message.contains("nested"))
        // A chain of one operator level is flat, not nesting: 3000 ones add up to 3000.
        let chain = (0..<3000).map { _ in "1" }.joined(separator: " + ")
        let graph = try Elaborator.elaborate(source: "input x: [1, 4]\ny = linear(x, \(chain))\n", file: "t.spec")
        #expect(graph.tensors[graph.nodes[0].outputs[0]].shape == [1, 3000])
    }
}

