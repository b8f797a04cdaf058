import ArgumentParser
import NNFlops

/// `nnflops import`: writes a model as a spec (README, "Reading ONNX files"). The
/// library does the work (`ModelRequest.specSource`); this reads the flags and writes
/// the text.
struct ImportCommand: NamedCommand {
    static let commandName = "import"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Write a model (an ONNX file, a config.json, a spec) as a spec.",
        usage: """
        nnflops import <model.onnx> [--batch <n>] [--set <k=v>] [-o <file>]
        nnflops import <config.json | spec> [-o <file>]
        """,
        discussion: """
          nnflops import resnet50.onnx -o resnet50.spec
          nnflops import model.onnx --set seq=2048 -o model.spec
          nnflops import config.json -o llama.spec
          nnflops import resnet18

        An ONNX file is written one line per operator, named as the exporter named its layers. Its symbolic dimensions become params (param batch = 1) when every size follows them; --batch and --set give their values. Otherwise the shapes are fixed at those values, and the spec's header says so. The spec analyses to the same figures as the file.

        A config.json is written as the spec the commands read it as; a spec file or a zoo name is printed as it is. Without -o the spec goes to standard output.

        Exit codes: 0 success, 2 a usage error or a model that cannot be read.
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
        // A path that cannot be written is refused before the model is read.
        if let output { try OutputFile(path: output, role: "the spec").checkWritable() }
        let source = try ModelRequest(model, settings: overrides, batch: batch).specSource()
        if let output {
            try OutputFile(path: output, role: "the spec").write(source)
        } else {
            emit(source)
        }
    }
}
