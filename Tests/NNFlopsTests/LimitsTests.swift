import Foundation
import Testing
@testable import NNFlops

/// The fuzzers' reproducers at library level (README, "Limits"): every one ends with a
/// located error that names the limit it ran into, or with the right graph, within a few
/// seconds and bounded memory. Each would hang, exhaust memory or crash without its limit.
@Suite struct LimitsTests {
    func failure(_ source: String, limits: Limits = .standard) -> NNFlopsError? {
        do {
            _ = try CostAnalysis(graph: Elaborator.elaborate(source: source, file: "t.spec", limits: limits))
            return nil
        } catch let error as NNFlopsError {
            return error
        } catch {
            Issue.record("unexpected error type \(error)")
            return nil
        }
    }

    func expectFailure(_ source: String, _ fragment: String, line: Int? = nil, limits: Limits = .standard,
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        guard let error = failure(source, limits: limits) else {
            Issue.record("no error for:\n\(source)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.message.contains(fragment), "got: \(error)", sourceLocation: sourceLocation)
        if let line { #expect(error.location?.line == line, "got: \(error)", sourceLocation: sourceLocation) }
    }

    // MARK: Recursion

    @Test func aDefaultThatCallsItsBlockHitsTheCallDepth() {
        // The default is evaluated inside the call, so each nested evaluation counts: the
        // call-depth error, not a stack overflow.
        expectFailure("input x: [1, 4]\nblock f(a = f()):\n    return a\nq = f()\ny = relu(x)\n", "the call-depth limit", line: 2)
    }

    @Test func exponentialRecursionHitsTheBlockCallLimit() {
        // f(40) makes 2^41 - 1 calls; the limit stops it at the 100,001st.
        let spec = "input x: [1, 4]\nblock f(n):\n    if n == 0:\n        return 1\n    return f(n - 1) + f(n - 1)\nq = f(40)\ny = relu(x)\n"
        expectFailure(spec, "more than 100,000 block calls (the block-call limit)", line: 5)
        // The same limit, lowered: f(3) makes 15 calls.
        var limits = Limits()
        limits.blockCalls = 14
        expectFailure(spec.replacingOccurrences(of: "f(40)", with: "f(3)"), "more than 14 block calls", limits: limits)
        limits.blockCalls = 15
        #expect(failure(spec.replacingOccurrences(of: "f(40)", with: "f(3)"), limits: limits) == nil)
    }

    @Test func expressionsInsideDeepRecursionFailInsteadOfExhaustingTheStack() {
        // 95 nested unary minuses inside 64 recursive calls: about 6,000 levels of the
        // elaborator's recursion, which overflowed an 8 MiB stack in a debug build.
        let deep = "input x: [1, 4]\nblock f(n):\n    return " + String(repeating: "-", count: 95) + "f(n + 1)\nq = f(0)\ny = relu(x)\n"
        expectFailure(deep, "the call-depth limit")
    }

    // MARK: Loops and operators, checked before the work

    @Test func aLoopPastTheIterationLimitFailsBeforeItsFirstIteration() {
        expectFailure("input x: [1, 4]\nrepeat 10**12:\n    x = relu(x)\n",
                      "a loop of 1,000,000,000,000 iterations would take the spec past 1,000,000 loop iterations (the iteration limit)", line: 2)
        expectFailure("input x: [1, 4]\nrepeat 4999999:\n    x = relu(x)\n", "a loop of 4,999,999 iterations", line: 2)
        // Loops count together: the second is refused from its count, with what ran.
        var limits = Limits()
        limits.loopIterations = 1000
        expectFailure("input x: [1, 4]\nrepeat 600:\n    pass\nfor i in range(500):\n    pass\ny = relu(x)\n",
                      "a loop of 500 iterations would take the spec past 1,000 loop iterations (the iteration limit); 600 have run",
                      line: 4, limits: limits)
        // A loop left by `return` gives back the iterations it did not run.
        #expect(failure("input x: [1, 4]\nblock f():\n    repeat 900000:\n        return 1\nq = f()\nr = f()\ny = relu(x)\n") == nil)
    }

    @Test func theOperatorLimitStopsTheGraph() {
        var limits = Limits()
        limits.operators = 100
        expectFailure("input x: [1, 4]\nrepeat 200:\n    x = relu(x)\n", "the model has more than 100 operators (the operator limit)", line: 3, limits: limits)
        #expect(failure("input x: [1, 4]\nrepeat 100:\n    x = relu(x)\n", limits: limits) == nil)
    }

    @Test func statementsCountAsElaborationSteps() {
        var limits = Limits()
        limits.steps = 1000
        // Three statements outside the loop and one per iteration: 3 + 999 > 1000.
        expectFailure("input x: [1, 4]\nrepeat 999:\n    a = 1\ny = relu(x)\n", "more than 1,000 elaboration steps (the step limit)", line: 3, limits: limits)
        #expect(failure("input x: [1, 4]\nrepeat 990:\n    a = 1\ny = relu(x)\n", limits: limits) == nil)
    }

    // MARK: Values

    @Test func listsAndStringsThatDoubleAreTooLarge() {
        // Twenty doublings reach 1,048,576 items: refused before the list is made.
        expectFailure("input x: [1, 4]\nxs = [1]\nrepeat 40:\n    xs = xs + xs\ny = relu(x)\n",
                      "list too large: 1,048,576 items, more than the limit of 1,000,000", line: 4)
        expectFailure("input x: [1, 4]\ns = \"a\"\nrepeat 40:\n    s = s + s\ny = relu(x)\n",
                      "string too large: 1,048,576 bytes, more than the limit of 1,000,000", line: 4)
        // Shape lists are lists: [1, 4] doubles from 2 items to 2^20 in 19 steps.
        expectFailure("input x: [1, 4]\ns = x.shape\nrepeat 40:\n    s = s + s\ny = relu(x)\n", "list too large: 1,048,576 items", line: 4)
        expectFailure("input x: [1, 4]\nxs = range(10**12)\ny = relu(x)\n", "list too large: 1,000,000,000,000 items")
    }

    @Test func listsThatShareTheirItemsCannotBlowUp() {
        // `xs = [xs, xs]` repeated is k levels sharing 2^k leaves. Making a list literal
        // walks its items (to bound their depth), so building 2^40 of them stops at the
        // step limit; so does every other walk (comparing, collecting outputs), and
        // printing stops at the string limit.
        var limits = Limits()
        limits.steps = 30_000
        limits.stringBytes = 10_000
        expectFailure("input x: [1, 4]\nxs = [x]\nrepeat 40:\n    xs = [xs, xs]\n", "elaboration steps (the step limit)", line: 4, limits: limits)
        // 2^12 leaves: 24,570 items walked to build them (3 * 2^k - 4 for the k-th), 12,286 more
        // by each later walk (3 * 2^12 - 2).
        let shared = "input x: [1, 4]\nxs = [x]\nrepeat 12:\n    xs = [xs, xs]\n"
        #expect(failure(shared + "y = relu(x)\n", limits: limits) == nil)
        expectFailure(shared + "s = str(xs)\n", "string too large: more than the limit of 10,000 bytes", line: 5, limits: limits)
        expectFailure(shared + "same = xs == xs\n", "more than 30,000 elaboration steps (the step limit)", line: 5, limits: limits)
        expectFailure(shared + "output xs\n", "more than 30,000 elaboration steps (the step limit)", line: 5, limits: limits)
        // A message quoting the value stays short: 2^12 times "tensor[1, 4]" is cut.
        let error = failure(shared + "y = relu(xs)\n", limits: limits)
        #expect(error?.message.contains("must be a tensor") == true, "\(String(describing: error))")
        #expect((error?.message.utf8.count ?? .max) < Value.describedBytes + 200)
        // Deeper than the nesting limit, a list literal is refused where it is made.
        expectFailure("input x: [1, 4]\nxs = [1]\nrepeat 200:\n    xs = [xs]\ny = relu(x)\n", "lists nested more than 100 levels deep", line: 4)
    }

    @Test func listEqualityComparesItems() throws {
        // Item by item: an int equals the same float, two tensors are equal only when the same.
        let graph = try Elaborator.elaborate(source: """
            input x: [1, 4]
            a = [1, [2, 3]] == [1.0, [2, 3]]
            b = [x] == [relu(x)]
            c = [x] != [x]
            y = linear(x, 1 if a and not b and not c else 2)
            """, file: "t.spec")
        #expect(graph.tensors[graph.nodes.last!.outputs[0]].shape == [1, 1])
    }

    @Test func floatArithmeticStaysFinite() {
        expectFailure("input x: [1, 4]\np = 1e308 * 10\ny = relu(x)\n", "float overflow in '*'", line: 2)
        expectFailure("input x: [1, 4]\np = (-8.0) ** 0.5\ny = relu(x)\n", "no real result (NaN)", line: 2)
        expectFailure("input x: [1, 4]\np = 2 ** -2000\ny = dropout(x, p = 1e300 / 1e-300)\n", "float overflow in '/'", line: 3)
    }

    // MARK: Chains are flat

    @Test func aLongChainIsNotNesting() throws {
        // 101 terms: the fuzzer's reproducer ("nested more than 100 levels deep" before).
        let sum = "input x: [1, 4]\ny = " + Array(repeating: "x", count: 101).joined(separator: " + ") + "\n"
        let graph = try Elaborator.elaborate(source: sum, file: "t.spec")
        #expect(graph.nodes.count == 100 && graph.nodes.allSatisfy { $0.kind == "add" })
        // Left-associative, as written: 20 - 3 - 2 = 15 (not 20 - (3 - 2) = 19),
        // 2 * 6 // 4 * 3 = 9, and a 100,000-term chain needs no recursion.
        let arithmetic = try Elaborator.elaborate(source: "input x: [1, 4]\ny = linear(x, 20 - 3 - 2)\nz = linear(x, 2 * 6 // 4 * 3)\n"
                                                  + "w = linear(x, " + Array(repeating: "1", count: 100_000).joined(separator: " + ") + ")\n",
                                                  file: "t.spec")
        #expect(arithmetic.nodes.map { arithmetic.tensors[$0.outputs[0]].shape } == [[1, 15], [1, 9], [1, 100_000]])
        // `and` / `or` chains short-circuit: the unknown name after the decisive operand is never read.
        #expect(failure("input x: [1, 4]\ny = linear(x, 2 if true or true or nothing else 3)\n") == nil)
        #expect(failure("input x: [1, 4]\ny = linear(x, 2 if false and true and nothing else 3)\n") == nil)
        expectFailure("input x: [1, 4]\ny = linear(x, 2 if true and true and nothing else 3)\n", "unknown name 'nothing'")
        // True nesting is still bounded.
        expectFailure("input x: [1, 4]\ny = linear(x, " + String(repeating: "-", count: 150) + "1)\n", "nested more than 100 levels deep")
    }

    // MARK: Linear in the size of the spec

    @Test func manyParamsElaborateInLinearTime() throws {
        // 100,000 params (quadratic before: every param and assignment scanned every param
        // declared before it). No timing: the run simply has to finish with all of them.
        let source = "input x: [1, 4]\n" + (0..<100_000).map { "param p\($0) = \($0)\n" }.joined() + "y = linear(x, p99999 - 99997)\n"
        let graph = try Elaborator.elaborate(source: source, file: "t.spec")
        #expect(graph.settings.count == 100_000)
        #expect(graph.tensors[graph.nodes[0].outputs[0]].shape == [1, 2])
    }

    @Test func aMegabyteLineLexesAndParses() throws {
        // One line of 1 MB, a string literal and a comment: the lexer is linear in it.
        let long = String(repeating: "x", count: 1_000_000)
        let graph = try Elaborator.elaborate(source: "input x: [1, 4]\nnote = \"\(long)\"  # \(long)\ny = relu(x)\n", file: "t.spec")
        #expect(graph.nodes.count == 1)
        // A string literal above the string limit is refused as a value.
        expectFailure("input x: [1, 4]\nnote = \"\(long)x\" + \"\"\ny = relu(x)\n", "string too large")
    }

    // MARK: Source text

    @Test func invalidUTF8IsLocated() throws {
        let bytes = Array("model t\ninput x: [1, 4]\ny = relu(x) # caf".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        #expect(throws: NNFlopsError.self) { try SourceLines.decode(bytes, file: "t.spec") }
        do {
            _ = try SourceLines.decode(bytes, file: "t.spec")
        } catch let error as NNFlopsError {
            // Line 3, after "y = relu(x) # caf" (17 characters); byte offset 8 + 16 + 17 = 41.
            #expect(error.location == SourceLocation(file: "t.spec", line: 3, column: 18))
            #expect(error.message == "invalid UTF-8 at byte offset 41 (byte 0xC3): a spec is UTF-8 text")
        }
        // Overlong forms, surrogates and code points past U+10FFFF are invalid; what is
        // well formed passes, and a byte-order mark is dropped.
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xFF]] {
            #expect(SourceLines.firstInvalidUTF8(bad[...]) == 0, "\(bad)")
        }
        #expect(SourceLines.firstInvalidUTF8(Array("é€𝄞 ok".utf8)[...]) == nil)
        #expect(try SourceLines.decode([0xEF, 0xBB, 0xBF] + Array("model t".utf8), file: "t.spec") == "model t")
    }

    @Test func carriageReturnLineEndingsAreNamed() throws {
        let error = try #require(failure("model t\rinput x: [1, 4]\ry = relu(x)\r"))
        #expect(error.message.hasPrefix("carriage return inside a line: the file has CR line endings"))
        #expect(error.location?.line == 1 && error.location?.column == 8)
        // The quoted line stops at the carriage return.
        #expect(error.sourceLine == "model t")
        // CRLF is fine.
        #expect(failure("model t\r\ninput x: [1, 4]\r\ny = relu(x)\r\n") == nil)
    }

    // MARK: Totals that overflow

    @Test func anOverflowingTotalNamesItsLayer() throws {
        // Each linear on [2^20, 2^20] with 2^20 outputs is 2 * 2^60 = 2^61 FLOPs forward,
        // as much for the weight gradient and (after the first, whose input needs none)
        // for the input gradient. linear: 2^62; linear_1: 2^62 + 3 * 2^61 > 2^63.
        let error = try #require(failure("input x: [\(1 << 20), \(1 << 20)]\nrepeat 3:\n    x = linear(x, \(1 << 20), bias = false)\n"))
        #expect(error.message.hasPrefix("the model's total FLOP count overflows 64 bits at 'linear_1' (linear)"), "\(error)")
        #expect(error.location?.line == 3)
    }

    // MARK: The flag the user typed

    @Test func batchErrorsNameBatch() throws {
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-limits-\(UUID().uuidString).spec")
        try "model t\ninput x: [1, 4]\ny = relu(x)\n".write(to: spec, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: spec) }
        #expect(throws: NNFlopsError("--batch 8: the spec has no param 'batch'; the spec declares no params")) {
            try ModelRequest(spec.path, batch: 8).graph()
        }
        #expect(throws: NNFlopsError("--set batch: the spec has no param 'batch'; the spec declares no params")) {
            try ModelRequest(spec.path, overrides: ["batch": .int(8)]).graph()
        }
    }

    // MARK: The executor refuses absurd work

    @Test func theExecutorRefusesWhatTheMachineCannotHold() throws {
        let graph = try Elaborator.elaborate(source: "input x: [2, 4]\ny = linear(x, 3)\n", file: "t.spec")
        var options = ExecutionOptions()
        let needs = try ExecutionNeeds(graph: graph, options: options)
        // What the run needs is what it executes, every phase and the step together.
        let report = try ReferenceExecutor.run(graph, options: options)
        #expect(report.ok)
        #expect(needs.flops == report.rows.map(\.executedFLOPs).reduce(0, +))
        #expect(needs.peakBytes == report.memory.peakBytes)
        // One byte less memory, or one FLOP less, and the run is refused before it starts.
        options.memoryBytes = needs.peakBytes - 1
        #expect(throws: NNFlopsError.self) { try ReferenceExecutor.run(graph, options: options) }
        #expect(needs.refusal(options)?.message
            .hasPrefix("validate needs \(Units.bytes(needs.peakBytes)) (the run's fp32 peak), more than this machine has") == true)
        options.memoryBytes = needs.peakBytes
        options.maxFLOPs = Double(needs.flops - 1)
        #expect(throws: NNFlopsError.self) { try ReferenceExecutor.run(graph, options: options) }
        #expect(needs.refusal(options)?.message.hasPrefix("validate would execute \(PlanQuantity.scientific(Double(needs.flops))) FLOPs, more than the limit") == true)
        options.maxFLOPs = Double(needs.flops)
        #expect(try ReferenceExecutor.run(graph, options: options).ok)
        // This machine's memory is known, and positive.
        #expect((MachineMemory.available?.bytes ?? 0) > 0)
    }

    // MARK: fit's search is bounded

    /// The largest batch in 1...limit whose peak fits, by looking at every batch.
    static func bruteForce(_ peak: (Int) -> Int, capacity: Int, limit: Int) -> Int {
        var best = 0
        for b in 1...limit where peak(b) <= capacity { best = b }
        return best
    }

    @Test func theBatchSearchFindsTheLargestBatchInAFewProbes() throws {
        // Peaks that grow with the batch: affine (the usual case), affine with a step
        // (a peak that moves to another moment), quadratic, concave, rounded up to blocks.
        let curves: [(String, (Int) -> Int)] = [
            ("affine", { 1000 + 37 * $0 }),
            ("stepped", { $0 < 300 ? 500 + 10 * $0 : 4000 + 25 * $0 }),
            ("quadratic", { 100 + $0 * $0 }),
            ("concave", { 100 + Int(2000 * Double($0).squareRoot()) }),
            ("blocks", { 512 * ((64 * $0 + 511) / 512) + 4096 }),
        ]
        let limit = 5000
        for (name, curve) in curves {
            for capacity in [900, 1037, 1100, 5000, 20_000, 100_000, 200_000, 1_000_000, 30_000_000] {
                var probes = 0
                let row = try BatchFit.search(capacity: capacity, limit: limit, precision: "fp32", checkpoint: "none") { b in
                    probes += 1
                    return curve(b)
                }
                let expected = Self.bruteForce(curve, capacity: capacity, limit: limit)
                #expect(row.maxBatch == expected, "\(name) at \(capacity): \(row.maxBatch), not \(expected)")
                #expect(row.peakBytes == curve(max(1, expected)))
                // log2(5000) is about 12: doubling and bisection took up to 26 probes.
                #expect(probes <= 3 * 13 + 4, "\(name) at \(capacity): \(probes) probes")
                if name == "affine" { #expect(probes <= 5, "affine at \(capacity): \(probes) probes") }
            }
        }
    }

    @Test func aBatchIndependentModelIsSaidToBeOne() throws {
        var probes = 0
        let flat = try BatchFit.search(capacity: 1000, limit: 1 << 24, precision: "fp32", checkpoint: "none") { _ in probes += 1; return 640 }
        #expect(flat == BatchFit.Row(precision: "fp32", checkpoint: "none", maxBatch: 1 << 24, peakBytes: 640, memoryDependsOnBatch: false))
        #expect(probes == 3)  // batches 1, 2 and the limit
        // Flat at first but growing: it fits the limit, and depends on batch.
        let late = try BatchFit.search(capacity: 1000, limit: 1 << 24, precision: "fp32", checkpoint: "none") { $0 < 100 ? 640 : 641 }
        #expect(late.maxBatch == 1 << 24 && late.memoryDependsOnBatch)
    }

    @Test func aProbeThatFailsNamesItsBatch() throws {
        let spec = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-limits-\(UUID().uuidString).spec")
        try "model t\nparam batch = 1\ninput x: [1, 4]\nrepeat batch:\n    x = relu(x)\n".write(to: spec, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: spec) }
        // Each relu saves 16 bytes: 80 GB predicts billions of them, past the search limit;
        // the search probes the limit, whose loop is refused from its count at once.
        do {
            _ = try BatchFit.search(model: try ModelRequest(spec.path), capacity: 80_000_000_000, base: RunConfiguration(),
                                    precisions: [.fp32], checkpoints: [.none])
            Issue.record("no error")
        } catch let error as NNFlopsError {
            #expect(error.message == "fit tried batch 16,777,216 (fp32, checkpoint none): a loop of 16,777,216 iterations would take "
                    + "the spec past 1,000,000 loop iterations (the iteration limit)")
            #expect(error.location?.line == 4)
        }
    }

    @Test func everyRowIsTheLargestBatchThatFits() throws {
        // For each row of a real model: its batch fits and the next does not, checked by
        // elaborating the next batch afresh.
        let request = try ModelRequest("resnet18")
        let capacity = 3 << 30
        let rows = try BatchFit.search(model: request, capacity: capacity, base: RunConfiguration(optimizer: .adamw),
                                       precisions: PrecisionPolicy.allCases, checkpoints: [.none, .sqrt])
        #expect(rows.count == 10)
        for row in rows {
            var configuration = RunConfiguration(optimizer: .adamw)
            configuration.precision = PrecisionPolicy(rawValue: row.precision)!
            configuration.checkpoint = row.checkpoint == "none" ? .none : .sqrt
            func peak(_ batch: Int) throws -> Int {
                let graph = try request.graph(batch: batch)
                return try MemoryAnalysis(graph: graph, costs: CostAnalysis(graph: graph), configuration: configuration).peakBytes
            }
            #expect(row.maxBatch > 1 && row.memoryDependsOnBatch)
            #expect(try peak(row.maxBatch) == row.peakBytes && row.peakBytes <= capacity, "\(row)")
            #expect(try peak(row.maxBatch + 1) > capacity, "\(row)")
        }
    }
}
