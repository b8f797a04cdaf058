import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
          nnflops model.spec --format json      schema nnflops.report/1
          nnflops zoo                           the built-in models
          nnflops plan --compute 1e21           compute-optimal model and data

        A FLOP is one scalar operation; a MAC, a multiply-accumulate, is 2 FLOPs. Backward is counted per phase, input gradient and weight gradient, never guessed as 2x forward.

        Exit codes: 0 success, 1 a budget exceeded or a validation mismatch, 2 a usage error or a bad spec.
        """,
        version: version,
        subcommands: subcommands,
        defaultSubcommand: AnalyzeCommand.self
    )

    static func main() {
        do {
            let words = try CommandLineWords.prepare(Array(CommandLine.arguments.dropFirst()))
            // `--version` and `nnflops MODEL [--format F]...` without ArgumentParser's
            // reflection (PlainAnalysis); every other line through it.
            if words == ["--version"] { return emit(version + "\n") }
            if let plain = PlainAnalysis(words: words) {
                ProcessLifetime.isEnabled = true
                return try plain.run()
            }
            var command = try parseAsRoot(words)
            ProcessLifetime.isEnabled = true
            try command.run()
        } catch let error as NNFlopsError {
            writeStandardError(error.description + "\n")
            exitProcess(ExitCodes.usage)
        } catch let error as ExitCode {
            exitProcess(error.rawValue)
        } catch {
            // Help and --version exit 0 through ArgumentParser; every other parse
            // failure is a usage error: exit 2 (ArgumentParser's default would be 64).
            if exitCode(for: error) == .success { exit(withError: error) }
            writeStandardError(fullMessage(for: error) + "\n")
            exitProcess(ExitCodes.usage)
        }
    }
}

/// What the words of a command line mean before ArgumentParser reads them: a misspelled
/// command is named as one (`nnflops rooflin ...` would otherwise be read as the
/// default command's model and fail on its first option), and a negative number after an
/// option is that option's value (`--batch -1` gets "must be at least 1", not "missing
/// value").
enum CommandLineWords {
    static var commandNames: [String] { subcommands.map { $0.commandName } }

    static func prepare(_ words: [String]) throws -> [String] {
        let names = commandNames
        if words.count >= 2, words[0] == "help", !words[1].hasPrefix("-"), !names.contains(words[1]) {
            throw unknownCommand(words[1], names)
        }
        if let first = words.first, !first.hasPrefix("-"), !names.contains(first), first != "help",
           !FileManager.default.fileExists(atPath: first), Zoo.source(named: first) == nil,
           closestMatch(to: first, in: names) != nil {
            throw unknownCommand(first, names)
        }
        var prepared: [String] = []
        for word in words {
            if let option = prepared.last, option.hasPrefix("--"), !option.contains("="), isNegativeNumber(word),
               !prepared.contains("--") {
                prepared[prepared.count - 1] = option + "=" + word
            } else {
                prepared.append(word)
            }
        }
        return prepared
    }

    /// `-1`, `-0.5`, `-1e3`, `-.5`: never an option (no option is a digit).
    static func isNegativeNumber(_ word: String) -> Bool {
        guard word.hasPrefix("-"), let next = word.dropFirst().first else { return false }
        return next.isNumber || (next == "." && word.dropFirst(2).first?.isNumber == true)
    }

    static func unknownCommand(_ word: String, _ names: [String]) -> NNFlopsError {
        let hint = closestMatch(to: word, in: names).map { "; did you mean '\($0)'?" } ?? ""
        return NNFlopsError("unknown command '\(word)'\(hint)", notes: ["note: commands: " + names.joined(separator: ", ") + "; see 'nnflops --help'"])
    }
}

/// Writes to standard output.
func emit(_ text: String) {
    writeAll(text, to: STDOUT_FILENO)
}

/// Writes to standard error.
func writeStandardError(_ text: String) {
    writeAll(text, to: STDERR_FILENO)
}

/// exit(3), for code inside a type with an `exit` method of its own.
func exitProcess(_ code: Int32) -> Never {
    exit(code)
}

/// What a command has built (the graph, its analyses, the report) lives until the process
/// ends: the operating system takes the memory back at once at exit, whereas releasing
/// them object by object is work the output does not need (freeing a 10,000-operator
/// graph alone took 29M of the run's 677M instructions: README, "Speed"). Only the
/// program's own entry
/// point turns this on: a caller that runs commands again and again in one process (the
/// fuzz target, tests) gets its memory back as usual.
enum ProcessLifetime {
    nonisolated(unsafe) static var isEnabled = false
    nonisolated(unsafe) private static var kept: [Any] = []

    /// Keeps `values` alive until the process exits, when enabled.
    static func keepUntilExit(_ values: Any...) {
        if isEnabled { kept.append(values) }
    }
}

/// write(2), for code inside a type with a `write` method of its own.
func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}

/// Writes all of `text` to a file descriptor, unbuffered (as FileHandle's `write` did):
/// partial writes continue, EINTR and EAGAIN retry, any other error stops (the reader
/// has gone: a closed pipe).
func writeAll(_ text: String, to descriptor: Int32) {
    var text = text
    text.withUTF8 { buffer in
        guard let start = buffer.baseAddress else { return }  // Empty text: nothing to write.
        var written = 0
        while written < buffer.count {
            let n = write(descriptor, start + written, buffer.count - written)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            written += n
        }
    }
}

/// The analysis's warnings (dead code, CostAnalysis.warnings), one `warning:` line each on
/// standard error, where they never mix with a table or a document on standard output.
func warn(_ warnings: [AnalysisWarning]) {
    for warning in warnings { writeStandardError("warning: \(warning.message)\n") }
}

/// Emphasis (bold headings, `AnalysisRenderer`) only on a terminal, and never with
/// NO_COLOR set: pipes and files get plain text.
let useColour: Bool = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    && ProcessInfo.processInfo.environment["TERM"] != "dumb"
