import Foundation
import Testing
@testable import NNFlops

/// The library imports FoundationEssentials only (README, "Speed": no ICU data, no
/// Foundation at start-up). The few things it used from Foundation have replacements in
/// Report/Text.swift; each must give exactly what Foundation gives, and Foundation itself
/// (linked into this test bundle) is the oracle.
@Suite struct FoundationFreeTextTests {
    static let numbers: [Double] = [0, -0.0, 1, -1, 0.5, 0.05, 0.0049999, 0.9995, 0.99949, 1.5, 2.5, 3.14159265, 12.345, 99.95,
                                    999.5, 1000, 1234.5678, 1e-9, 3.3e-7, 6.02e23, 1.28e6, 123456789.125, 1e21, 9.99e99,
                                    -42.125, 1e308, .leastNonzeroMagnitude, .infinity, -.infinity]

    @Test func cFormatMatchesStringFormat() {
        for format in ["%.0f", "%.1f", "%.2f", "%.3f", "%.4f", "%+.2f", "%+.4f", "%.3g", "%g", "%.2e", "%.1f GiB", "%.3fx"] {
            for value in Self.numbers {
                #expect(String(cFormat: format, value) == String(format: format, value), "\(format) of \(value)")
            }
        }
        // Longer than the first buffer.
        let long = String(cFormat: "%.200f", 1.0 / 3.0)
        #expect(long == String(format: "%.200f", 1.0 / 3.0) && long.count == 202)
    }

    @Test func groupedDigitsMatchFormatted() {
        for n in [0, 7, -7, 999, 1000, -1000, 203_530, 1_234_567, -98_765_432, Int.max, Int.min + 1, Int.min] {
            #expect(n.groupedDigits == n.formatted(.number.grouping(.automatic)), "\(n)")
        }
    }

    @Test func trimmingMatchesFoundation() {
        for text in ["", " ", "\t", "  a b  ", "\t16 GiB\t", "x", " \u{00A0}nbsp\u{2003} ", "\n keep newlines \n", " é ", " \u{301}"] {
            #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "\(text.debugDescription)")
            #expect(text[...].trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func replacingAllMatchesFoundation() {
        let cases: [(String, String, String)] = [("1_000_000", "_", ""), ("a|b||c", "|", "\\|"), ("say \"hi\"", "\"", "\"\""),
                                                 ("1.00e+21", "e+", "e"), ("2.5e05", "e0", "e"), ("<a & b>", "&", "&amp;"),
                                                 ("", "x", "y"), ("xxx", "xx", "y"), ("inference-amp-bf16", "inference-", "")]
        for (text, target, replacement) in cases {
            #expect(text.replacingAll(target, with: replacement) == text.replacingOccurrences(of: target, with: replacement), "\(text)")
        }
    }

    @Test func pathPartsMatchNSString() {
        // Not "a" or "a/": NSString traps on them (`deletingLastPathComponent` of a
        // one-character path, a precondition in Foundation; `roofline --svg a` crashed).
        for path in ["", "/", "ab", "ab/", "a//b", "///a", "/a/b.spec", "dir/model.onnx", "dir/model.ONNX", "x/.hidden", "x/..", "x/.",
                     "a.b.c", "a.", "/tmp//out/", "config.json", "./m.spec", "../up/m.spec"] {
            let ns = path as NSString
            #expect(PathText.lastComponent(of: path) == ns.lastPathComponent, "\(path)")
            #expect(PathText.pathExtension(of: path) == ns.pathExtension, "\(path)")
            #expect(PathText.deletingLastComponent(of: path) == ns.deletingLastPathComponent, "\(path)")
        }
        #expect(PathText.deletingLastComponent(of: "a") == "" && PathText.deletingLastComponent(of: "a/") == "")
        #expect(PathText.lastComponent(of: "a") == "a" && PathText.pathExtension(of: "a") == "")
    }

    /// `--svg a`: a new output file with a one-character name trapped (SIGILL) in
    /// NSString's `deletingLastPathComponent` when the directory was checked.
    @Test func oneCharacterOutputFileName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-one-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try CLITests().run(["roofline", "mlp", "--gpu", "h100-sxm", "--svg", "a"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let svg = try String(contentsOf: directory.appendingPathComponent("a"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
    }
}
