// libFuzzer target `cli`: the command line. The input is the words of a command line,
// one per line (or NUL-separated); they go through the same preparation and
// ArgumentParser parse as `nnflops WORDS...`, for every subcommand. A parsed command
// then runs (scripts/fuzz.sh closes its standard output and error: libFuzzer
// -close_fd_mask=3, which keeps libFuzzer's own reports) when it is cheap and
// touches no file: plan, gpus, and analyze, check, roofline and fit on the
// built-in `mlp`, with no word naming a path and no output file (--svg, --emit-spec).
// `validate` and other models are parsed only. A line the program reads without
// ArgumentParser (PlainAnalysis) must be one ArgumentParser reads as the same command.
// Any error but an NNFlopsError, an exit
// code or an ArgumentParser error is a finding, as is a trap. Compiled with the CLI's
// sources (its entry point renamed): scripts/fuzz.sh cli SECONDS (README, "Fuzzing").
import ArgumentParser
import NNFlops

/// The model a parsed command would read (nil: it reads none).
func modelReference(_ command: any ParsableCommand) -> String? {
    switch command {
    case let c as AnalyzeCommand: c.model.model.spec
    case let c as CheckCommand: c.model.model.spec
    case let c as RooflineCommand: c.model.model.spec
    case let c as FitCommand: c.model.spec
    case let c as ValidateCommand: c.model.model.spec
    default: nil
    }
}

func runs(_ command: any ParsableCommand, _ words: [String]) -> Bool {
    guard !words.contains(where: { $0.contains("/") || $0.hasPrefix("--svg") || $0.hasPrefix("--emit-spec") }) else { return false }
    switch command {
    case is PlanCommand, is GPUsCommand: return true
    case is AnalyzeCommand, is CheckCommand, is RooflineCommand, is FitCommand: return modelReference(command) == "mlp"
    default: return false
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommandLine(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let words = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\0" }).map(String.init)
    let line = words.last == "" ? Array(words.dropLast()) : words
    var command: any ParsableCommand
    let prepared: [String]
    do {
        prepared = try CommandLineWords.prepare(line)
    } catch {
        return 0  // A misspelled command: exit 2.
    }
    // The program reads a plain analysis line without ArgumentParser (PlainAnalysis): it
    // must be a line ArgumentParser reads as the same command.
    let plain = PlainAnalysis(words: prepared)
    do {
        command = try NNFlopsCommand.parseAsRoot(prepared)
    } catch {
        if let plain { fatalError("\(line): read as \(plain), but ArgumentParser rejects it: \(error)") }
        return 0  // A usage error (or --help, --version): what ArgumentParser reports, exit 2 or 0.
    }
    if let plain {
        guard let analysis = command as? AnalyzeCommand, let parsed = PlainAnalysis(analysis), parsed == plain else {
            fatalError("\(line): read as \(plain), but ArgumentParser reads \(command)")
        }
    }
    guard runs(command, line) else { return 0 }
    do {
        try command.run()
    } catch is NNFlopsError {
    } catch is ExitCode {
    } catch is ValidationError {
    } catch {
        fatalError("\(line): not an NNFlopsError: \(error)")
    }
    return 0
}
