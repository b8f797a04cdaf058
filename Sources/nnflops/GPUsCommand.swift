import ArgumentParser
import NNFlops

struct GPUsCommand: NamedCommand {
    static let commandName = "gpus"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "The GPU profiles: dense datasheet peaks, memory, bandwidth and sources.",
        discussion: """
          nnflops gpus
          nnflops gpus --hardware my-gpu.json --format json

        Tensor-core figures are dense: NVIDIA prints them with 2:4 sparsity, halved here. The reported column is the memory the GPU's driver reports, what `nnflops fit` fills. A --hardware file adds a profile; the README describes its format under "Your own hardware".
        """)

    static let formats = OutputFormat.allCases

    @OptionGroup var hardware: HardwareOptions

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "gpus"))
    var format: OutputFormat = .table

    func run() throws {
        emit(try RooflineRenderer.gpus(GPUProfile.builtins + hardware.profiles(), format: format))
    }
}
