import ArgumentParser
import Foundation
import NNFlops

/// Exit codes (README "Exit codes"): 0 success, 1 a budget exceeded or a validation
/// mismatch, 2 a usage error or a bad spec.
enum ExitCodes {
    static let usage: Int32 = 2
}

@main
struct NNFlopsCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "nnflops",
        abstract: "Exact FLOPs, MACs and parameters of a neural network, from a small text spec.",
        discussion: """
        Give a spec file or the name of a built-in model:

          nnflops resnet50                      per-layer table and totals
          nnflops gpt2 --batch 8 --set seq=512  override the spec's params
          nnflops resnet50 --depth 1 --format markdown
          nnflops model.spec --format json      machine-readable (schema nnflops.report/1)
          nnflops zoo                           list the built-in models
          nnflops plan --compute 1e21           compute-optimal model and data size

        A FLOP is one scalar operation; a MAC (multiply-accumulate) is 2 FLOPs. Backward is
        counted per phase (input gradient, weight gradient), not guessed as 2x forward.
        Exit codes: 0 success, 1 budget exceeded / validation mismatch, 2 usage error or bad spec.
        """,
        version: version,
        subcommands: [AnalyzeCommand.self, ZooCommand.self] + extraSubcommands,
        defaultSubcommand: AnalyzeCommand.self
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as NNFlopsError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            Foundation.exit(ExitCodes.usage)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            // Help and --version exit 0 through ArgumentParser; every other parse
            // failure is a usage error: exit 2 (ArgumentParser's default would be 64).
            if exitCode(for: error) == .success { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(ExitCodes.usage)
        }
    }
}

/// Writes to standard output.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Emphasis (bold headings, `AnalysisRenderer`) only on a terminal, and never with
/// NO_COLOR set: pipes and files get plain text.
let useColour: Bool = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    && ProcessInfo.processInfo.environment["TERM"] != "dumb"
