import Testing
@testable import NNFlops

/// Prose lines broken for an 80-column terminal (`String.wrapped`, used by `plan`'s table).
@Suite struct TextWrapTests {
    @Test func aLabelledLineHangsUnderItsText() {
        let line = "  bound            66.58 days (5.75e6 s): step >= 9.08 s (compute 0.976 s + exposed communication 8.1 s), "
            + "as `roofline --gpus 1024 --fsdp` bounds it"
        #expect(line.hangingIndent.count == 19)
        // By hand: the first line takes every word that ends by column 80, the next ones
        // start in column 20 (under "66.58").
        #expect(line.wrapped(continuation: line.hangingIndent) == [
            "  bound            66.58 days (5.75e6 s): step >= 9.08 s (compute 0.976 s +",
            "                   exposed communication 8.1 s), as `roofline --gpus 1024",
            "                   --fsdp` bounds it",
        ])
    }

    @Test func aLineWithoutALabelIndentsByTwo() {
        #expect("  The Epoch AI refit is the default".hangingIndent == "    ")
        #expect("Loss: nats/token".hangingIndent == "  ")
        #expect("short".wrapped(continuation: "  ") == ["short"])
        // A label of two words: the text still starts after the label's column.
        #expect("  step FLOPs       9.21e14 per GPU".hangingIndent.count == 19)
    }

    @Test func aWordLongerThanTheRoomStaysWhole() {
        let long = String(repeating: "x", count: 90)
        #expect("a \(long) b".wrapped(continuation: "  ") == ["a", "  " + long, "  b"])
    }

    @Test func aContinuationWiderThanTheLineStillEnds() {
        // Not a case `plan` makes (its continuations are at most 40 columns): the room is
        // then one character, and each word goes on its own line.
        // 30 words of 2: the first line takes 27 (3 x 27 - 1 = 80 columns).
        let wide = String(repeating: " ", count: 100)
        let line = Array(repeating: "ab", count: 30).joined(separator: " ")
        #expect(line.wrapped(width: 80, continuation: wide)
                == [Array(repeating: "ab", count: 27).joined(separator: " "), wide + "ab", wide + "ab", wide + "ab"])
        #expect("".wrapped(continuation: "  ") == [""])
    }

    /// On random lines: no line over 80 columns unless it is one word, nothing lost or
    /// reordered, and every line after the first starts with the continuation.
    @Test func wrappingKeepsTheWordsAndTheWidth() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let words = (0..<Int.random(in: 1...40, using: &generator)).map { _ in
                String(repeating: "w", count: Int.random(in: 1...(Bool.random(using: &generator) ? 12 : 85), using: &generator))
            }
            let line = "  label    " + words.joined(separator: " ")
            let lines = line.wrapped(continuation: line.hangingIndent)
            #expect(lines.flatMap { $0.split(separator: " ").map(String.init) } == ["label"] + words)
            for (index, wrapped) in lines.enumerated() {
                #expect(wrapped.count <= 80 || !wrapped.dropFirst(index == 0 ? 11 : 11).contains(" "), "\(wrapped)")
                if index > 0 { #expect(wrapped.hasPrefix(String(repeating: " ", count: 11)) && wrapped.dropFirst(11).first != " ") }
            }
        }
    }

    /// `plan`'s table with a fleet: every line fits 80 columns.
    @Test func thePlanTableFitsEightyColumns() throws {
        for request in [PlanRequest(compute: 5.76e23, fleet: FleetRequest(gpu: "h100-sxm", gpus: 1024)),
                        PlanRequest(compute: 1e21), PlanRequest(params: 7e9)] {
            let table = try Plan(request).renderTable()
            for line in table.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
        }
    }
}
