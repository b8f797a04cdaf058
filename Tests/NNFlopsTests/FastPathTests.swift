import Foundation
import Testing
@testable import NNFlops

/// The byte-level fast paths taken for speed (README, "Speed") against the plain
/// definitions they replace, on random and edge-case inputs: each must give exactly what
/// the definition gives.
@Suite struct FastPathTests {
    /// Random names over an alphabet rich in dots (empty components, leading and trailing
    /// dots) and a non-ASCII letter, whose grapheme handling the byte search skips.
    static func randomNames(count: Int) -> [String] {
        var generator = SeededGenerator(seed: 15)
        let alphabet: [Character] = ["a", "b", ".", ".", "1", "é", "_"]
        return (0..<count).map { _ in
            let length = Int(generator.next() % 9)
            return String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        } + ["", ".", "..", "a.", ".a", "a..b", "layer1.0.conv1", "encoder.layer.11.attention.self.query"]
    }

    @Test func groupNameIsTheFirstComponentsOfTheSplitName() {
        for name in Self.randomNames(count: 3_000) {
            for depth in 0...4 {
                let expected = name.split(separator: ".").prefix(max(1, depth)).joined(separator: ".")
                #expect(AnalysisReport.groupName(name, depth: depth) == expected, "'\(name)' at depth \(depth)")
            }
        }
    }

    /// A name keeps its own row at full depth exactly when `groupName` leaves it as it is.
    @Test func emptyComponentsAreWhatFullDepthGroupingChanges() {
        for name in Self.randomNames(count: 3_000) {
            #expect(AnalysisReport.hasEmptyComponent(name) == (AnalysisReport.groupName(name, depth: .max) != name), "'\(name)'")
        }
    }

    /// Without `--depth`, a graph whose builder saw no module called again takes its rows as
    /// they are: the same report as grouping every row by name, on the zoo and on specs with
    /// a module called again and with names that grouping rewrites.
    @Test func rowsWithoutDepthAreTheRowsGroupedByName() throws {
        let specs = try Zoo.models.map { name, _ in (name, try SpecLoader.load(name)) } + [
            ("called again", ("model t\ninput x: [2, 8]\ny = relu(x, name=\"act\")\nz = relu(y, name=\"act\")\n", "t.spec")),
            ("empty components", ("model t\ninput x: [2, 8]\ny = relu(x, name=\"a..b\")\nz = relu(y, name=\"a.b\")\nw = relu(z, name=\"c.\")\n", "t.spec")),
        ]
        var unique = 0
        for (what, (source, file)) in specs {
            var graph = try Elaborator.elaborate(source: source, file: file)
            let costs = try CostAnalysis(graph: graph)
            let taken = try JSONOutput.encode(AnalysisReport(graph: graph, analysis: costs, options: CountOptions()))
            if graph.nodeNamesAreUnique { unique += 1 }
            graph.nodeNamesAreUnique = false
            let grouped = try JSONOutput.encode(AnalysisReport(graph: graph, analysis: costs, options: CountOptions()))
            #expect(taken == grouped, "\(what)")
        }
        // Both paths ran: most zoo models call no module twice; resnet50 calls its relu three times.
        #expect(unique > 5)
        #expect(try !TestModel.zoo("resnet50").nodeNamesAreUnique)
        #expect(try !TestModel.graph("model t\ninput x: [2, 8]\ny = relu(x, name=\"act\")\nz = relu(y, name=\"act\")\n").nodeNamesAreUnique)
        #expect(try TestModel.graph("model t\ninput x: [2, 8]\ny = relu(x)\nz = relu(y)\n").nodeNamesAreUnique)
    }

    @Test func automaticNamesAreTheBaseAndTheCounter() {
        for base in Self.randomNames(count: 300) {
            for counter in [0, 1, 9, 10, 99, 100, 12_345, Int.max, -1, Int.min] {
                #expect(Elaborator.suffixed(base, counter) == base + "_" + String(counter), "'\(base)' \(counter)")
            }
        }
    }

    @Test func dottedPrefixesAreEveryPrefixBeforeADot() {
        for name in Self.randomNames(count: 3_000) {
            var expected: [String] = []
            var prefix = name[...]
            while let dot = prefix.lastIndex(of: ".") {
                prefix = prefix[..<dot]
                expected.append(String(prefix))
            }
            #expect(GraphBuilder.dottedPrefixes(of: name) == expected, "'\(name)'")
        }
    }

    struct Integers: Encodable {
        var int: [Int] = [0, 1, -1, 9, 10, -10, 99, 100, 1_234_567_890, Int.max, Int.min]
        var int8: [Int8] = [Int8.min, -1, 0, Int8.max]
        var int64: Int64 = .min
        var uint64: [UInt64] = [0, 9, 10, UInt64.max]
        var uint8: UInt8 = 255
        var single: Int = -9_223_372_036_854_775_807
    }

    @Test func integersAreWrittenAsJSONEncoderWritesThem() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let theirs = String(decoding: try encoder.encode(Integers()), as: UTF8.self)
        #expect(try JSONOutput.encode(Integers()) == theirs)
    }

    /// Member order by the keys' first 16 bytes, then the whole keys: keys that share long
    /// prefixes, are prefixes of each other, hold U+0000, quotes or backslashes (escaped, so
    /// not compared in the output buffer), or non-ASCII; in objects of 3 (insertion sort)
    /// and 200 members (the library's sort).
    @Test func keysAreOrderedAsJSONEncoderOrdersThem() throws {
        var generator = SeededGenerator(seed: 16)
        let pieces = ["backward_flops_", "backward_", "a", "b", "\u{0}", "\"", "\\", "é", "\n", "z", "0123456789abcdef"]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        for size in [3, 200] {
            for _ in 0..<20 {
                var object: [String: Int] = [:]
                while object.count < size {
                    let key = (0..<(1 + Int(generator.next() % 4))).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined()
                    object[key] = object.count
                }
                let theirs = String(decoding: try encoder.encode(["object": object]), as: UTF8.self)
                #expect(try JSONOutput.encode(["object": object]) == theirs)
            }
        }
    }

    /// Every `import Foundation` in the sources is the fallback of a
    /// `#if canImport(FoundationEssentials)`: one unconditional import links Foundation and
    /// its ICU data into the binary (50 MB more, and every dynamic cast scans its
    /// conformance records at start-up).
    @Test func sourcesImportFoundationOnlyWhereFoundationEssentialsIsMissing() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" && !$0.path.contains("ZooEmbedder") } ?? []
        #expect(files.count > 100)
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() where line.trimmingCharacters(in: .whitespaces).hasSuffix("import Foundation") {
                let guarded = number >= 3 && lines[number - 1].trimmingCharacters(in: .whitespaces) == "#else"
                    && lines[number - 3].trimmingCharacters(in: .whitespaces) == "#if canImport(FoundationEssentials)"
                #expect(guarded, "\(file.lastPathComponent):\(number + 1) imports Foundation without the FoundationEssentials guard")
            }
        }
    }
}

/// The plain-text table against the String-based rendering it replaced (kept here as the
/// definition), on random tables with non-ASCII, combining, prepended, CR LF and blank cells.
@Suite struct TextTableFastPathTests {
    static func reference(_ table: TextTable) -> String {
        var widths = table.headers.map(\.count)
        for row in table.rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                if i == cells.count - 1 && table.alignments[i] == .left { parts.append(cell); continue }
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                parts.append(table.alignments[i] == .left ? cell + pad : pad + cell)
            }
            var text = parts.joined(separator: "  ")
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        var out = [line(table.headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += table.rows.map(line)
        return out.joined(separator: "\n") + "\n"
    }

    @Test func renderMatchesTheStringDefinition() {
        var generator = SeededGenerator(seed: 42)
        let pieces = ["a", "layer1.0", "12,345", " ", "", "é", "e\u{301}", "\u{0600} ", "\r\n", "日本", "🧠", "x ", "  "]
        for _ in 0..<400 {
            let columns = 1 + Int(generator.next() % 4)
            let alignments: [TextTable.Alignment] = (0..<columns).map { _ in generator.next() % 2 == 0 ? .left : .right }
            func cell() -> String { (0..<Int(generator.next() % 3)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }.joined() }
            var table = TextTable(headers: (0..<columns).map { _ in cell() }, alignments: alignments)
            for _ in 0..<Int(generator.next() % 5) { table.add((0..<columns).map { _ in cell() }) }
            #expect(table.render() == Self.reference(table), "\(table.headers) \(table.rows)")
        }
    }
}
