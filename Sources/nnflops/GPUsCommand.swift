import ArgumentParser
import NNFlops

struct GPUsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpus",
        abstract: "List the GPU profiles (dense datasheet peaks, memory, bandwidth, sources) and any --hardware files.")

    static let formats = OutputFormat.allCases

    @OptionGroup var hardware: HardwareOptions

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "gpus"))
    var format: OutputFormat = .table

    func run() throws {
        emit(try RooflineRenderer.gpus(GPUProfile.builtins + hardware.profiles(), format: format))
    }
}
