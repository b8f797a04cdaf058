import Foundation
import Testing

/// ONNX files through the built `nnflops` binary, as a user runs it: `nnflops import`
/// (the spec it writes analyses to the same table as the file), and bad files (exit 2
/// with a message that says what is wrong, never a crash).
@Suite("ONNX through the command line")
struct ONNXCLITests {
    let cli = CLITests()
    static let fixtures = CLITests.packageRoot.appendingPathComponent("Tests/Fixtures")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    static func temporary(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-onnx-cli-\(UUID().uuidString)-\(name)")
    }

    /// The imported spec gives the file's per-layer table (and memory) to the character.
    @Test("import -o writes a spec whose table is the ONNX file's", arguments: ["resnet18_train", "vit_b_32_eval"])
    func importedTableMatches(_ model: String) throws {
        let onnx = Self.fixture("onnx/torchvision/\(model).onnx")
        let spec = Self.temporary(model + ".spec")
        defer { try? FileManager.default.removeItem(at: spec) }
        let written = try cli.run(["import", onnx, "-o", spec.path])
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stdout.isEmpty)
        #expect(written.stderr.contains("wrote the spec to \(spec.path)"))
        for flags in [["--batch", "3"], ["--batch", "2", "--memory", "--depth", "2"]] {
            let direct = try cli.run([onnx] + flags), imported = try cli.run([spec.path] + flags)
            #expect(direct.status == 0 && imported.status == 0, "\(direct.stderr) \(imported.stderr)")
            #expect(imported.stdout == direct.stdout)
        }
    }

    @Test("import writes to standard output; an existing file is rewritten in place")
    func standardOutputAndOverwrite() throws {
        let onnx = Self.fixture("onnx/hand/conv_group_dilation_stride.onnx")
        let printed = try cli.run(["import", onnx])
        #expect(printed.status == 0)
        #expect(printed.stdout.contains("name = \"stem.conv\")"), "\(printed.stdout)")
        let spec = Self.temporary("old.spec")
        try String(repeating: "old text\n", count: 500).write(to: spec, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: spec) }
        #expect(try cli.run(["import", onnx, "-o", spec.path]).status == 0)
        #expect(try String(contentsOf: spec, encoding: .utf8) == printed.stdout)
    }

    @Test("import of a zoo name or a spec prints its source; of a config.json the spec it is read as")
    func otherFrontEnds() throws {
        let zoo = try cli.run(["import", "resnet18"])
        #expect(zoo.status == 0)
        #expect(zoo.stdout == (try String(contentsOf: CLITests.packageRoot.appendingPathComponent("specs/resnet18.spec"), encoding: .utf8)))
        let config = try cli.run(["import", Self.fixture("hf/configs/bert-base-uncased.json")])
        #expect(config.status == 0)
        #expect(config.stdout.contains("param batch"), "\(config.stdout.prefix(400))")
        // A spec is written as it is: --batch belongs to analysing it.
        let batched = try cli.run(["import", "resnet18", "--batch", "4"])
        #expect(batched.status == 2)
        #expect(batched.stderr.contains("--batch applies to importing an ONNX file"))
    }

    @Test("import -o refuses a directory, exit 2")
    func outputDirectory() throws {
        let result = try cli.run(["import", Self.fixture("onnx/hand/activations.onnx"), "-o", FileManager.default.temporaryDirectory.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("is a directory"))
    }

    /// Written to a temporary `.onnx` file: the bytes of a fixture cut, corrupted, or not
    /// ONNX at all.
    static func badFiles() throws -> [(name: String, bytes: [UInt8], says: String)] {
        let resnet = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("onnx/torchvision/resnet18_train.onnx")))
        var corrupted = resnet
        for i in stride(from: 1000, to: min(corrupted.count, 1400), by: 7) { corrupted[i] = 0xFF }
        return [
            ("truncated", Array(resnet[..<(resnet.count / 3)]), "is not a readable ONNX model"),
            ("corrupted", corrupted, "error:"),
            ("text", Array("model x\ninput x: [1]\n".utf8), "is not a readable ONNX model"),
            ("empty", [], "holds no graph"),
        ]
    }

    @Test("bad ONNX files exit 2 with a message, for analyze and import")
    func badFilesExitTwo() throws {
        for bad in try Self.badFiles() {
            let url = Self.temporary(bad.name + ".onnx")
            try Data(bad.bytes).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            for arguments in [[url.path], ["import", url.path], ["fit", url.path, "--gpu", "h100-sxm"]] {
                let result = try cli.run(arguments)
                #expect(result.status == 2, "\(bad.name) \(arguments.first!): \(result.status) \(result.stderr)")
                #expect(result.stderr.contains(bad.says), "\(bad.name): \(result.stderr)")
                #expect(result.stdout.isEmpty)
            }
        }
    }

    @Test("the bad-input fixtures exit 2 with the node or input at fault", arguments: [
        ("bad_opset_too_new", "opsets 11 to 21"),
        ("bad_cycle", "cycle"),
        ("bad_missing_input_shape", "input 'x' has no shape"),
        ("bad_absurd_dimension", "overflows 64-bit counts"),
        ("bad_unknown_op", "not a standard ONNX operator"),
    ])
    func badFixtures(_ fixture: String, _ says: String) throws {
        for arguments in [[Self.fixture("onnx/hand/\(fixture).onnx")], ["import", Self.fixture("onnx/hand/\(fixture).onnx")]] {
            let result = try cli.run(arguments)
            #expect(result.status == 2)
            #expect(result.stderr.contains(says), "\(fixture): \(result.stderr)")
        }
    }

    @Test("a symbolic dimension with no value, or a --set the file does not have, exit 2 and list the dimensions")
    func symbols() throws {
        let file = Self.fixture("onnx/hand/symbolic_dims.onnx")
        let missing = try cli.run(["import", file])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("symbolic dimensions with no value: sequence"), "\(missing.stderr)")
        #expect(missing.stderr.contains("--set sequence=N"))
        let unknown = try cli.run(["import", file, "--set", "sequence=4", "--set", "seq=4"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no symbolic dimension 'seq'; its symbolic dimensions: batch, sequence"), "\(unknown.stderr)")
        let given = try cli.run(["import", file, "--set", "sequence=5"])
        #expect(given.status == 0)
        #expect(given.stdout.contains("param sequence = 5"), "\(given.stdout)")
    }
}
