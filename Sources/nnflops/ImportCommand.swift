import ArgumentParser
import Foundation
import NNFlops

/// `nnflops import`: writes a model as a spec (README, "Reading ONNX files"). The
/// library does the work (`ModelRequest.specSource`); this reads the flags and writes
/// the text.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Write a model (an ONNX file, a config.json, a spec) as a spec.",
        discussion: """
          nnflops import resnet50.onnx -o resnet50.spec
          nnflops import model.onnx --set seq=2048 -o model.spec
          nnflops import config.json -o llama.spec
          nnflops import resnet18

        An ONNX file is written one line per operator, with the exporter's layer names;
        its symbolic dimensions become params (param batch = 1) when every size follows
        them, and --batch / --set give their values. Otherwise the shapes are fixed at
        those values and the spec's header says so. The spec analyses to the same
        figures as the file. A config.json is written as the spec the commands read it
        as; a spec file or zoo name is printed as it is.
        Without -o the spec goes to standard output.
        Exit codes: 0 success, 2 usage error or a model that cannot be read.
        """)

    @Argument(help: "An .onnx file, a Hugging Face config.json, a .spec file or a zoo name.")
    var model: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the spec to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("ONNX: the batch the spec is written at (default 1).", valueName: "n"),
            transform: ArgumentValue.integer(atLeast: 1))
    var batch: Int?

    @Option(name: .customLong("set"),
            help: ArgumentHelp("ONNX: the value of a symbolic dimension, e.g. --set seq=2048 (repeatable).", valueName: "name=value"),
            transform: ArgumentValue.setting)
    var overrides: [String] = []

    func run() throws {
        let source = try ModelRequest(model, settings: overrides, batch: batch).specSource()
        guard let output else {
            emit(source)
            return
        }
        // Written through the path: an existing file is truncated, never replaced.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue {
            throw NNFlopsError("cannot write '\(output)': it is a directory")
        }
        guard let handle = FileHandle(forWritingAtPath: output) ?? {
            FileManager.default.createFile(atPath: output, contents: nil) ? FileHandle(forWritingAtPath: output) : nil
        }() else {
            throw NNFlopsError("cannot write '\(output)'")
        }
        defer { try? handle.close() }
        do {
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(source.utf8))
        } catch {
            throw NNFlopsError("cannot write '\(output)': \(error.localizedDescription)")
        }
        FileHandle.standardError.write(Data("wrote the spec to \(output) (\(source.utf8.count) bytes)\n".utf8))
    }
}
