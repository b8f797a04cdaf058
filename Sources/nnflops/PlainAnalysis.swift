import ArgumentParser
import NNFlops

/// The command line most runs are, `nnflops MODEL [--format F] [--batch N] [--depth N]
/// [--set NAME=VALUE]...`, read without ArgumentParser. ArgumentParser builds its argument
/// sets by reflection (Mirror, a dynamic cast per property wrapper, each first cast a scan
/// of every protocol conformance record in the binary): 21.8M of the 39.4M instructions
/// of `nnflops resnet50 --format json` (README, "Speed"). This reader accepts only lines
/// whose every word it understands and whose every value the option's own parser
/// (`ArgumentValue`) takes; anything else, a help request, an error, another command or
/// option, goes to ArgumentParser, which parses or rejects it as before. The fuzz target
/// `cli` holds the two to the same command for every line this reader accepts, and
/// CLITests to the same output.
struct PlainAnalysis: Equatable {
    var spec: String
    var overrides: [String] = []
    var batch: Int?
    var depth: Int?
    var format = AnalyzeCommand.defaultFormat

    /// The line's words after `CommandLineWords.prepare`, or nil for any line this reader
    /// leaves to ArgumentParser. The model comes first: a first word that is an option, a
    /// command's name or `help` is ArgumentParser's to read.
    init?(words: [String]) {
        guard let first = words.first, !first.isEmpty, !first.hasPrefix("-"), first != "help",
              !CommandLineWords.commandNames.contains(first) else { return nil }
        spec = first
        var seen: Set<String> = []
        var index = 1
        while index < words.count {
            // `--name value` or `--name=value`; a value that looks like an option is
            // ArgumentParser's to reject.
            let word = words[index]
            let name: Substring, value: String
            if let equals = word.firstIndex(of: "=") {
                name = word[..<equals]
                value = String(word[word.index(after: equals)...])
                index += 1
            } else {
                guard index + 1 < words.count, !words[index + 1].hasPrefix("-") else { return nil }
                name = word[...]
                value = words[index + 1]
                index += 2
            }
            // A repeated option other than --set: which one counts is ArgumentParser's rule.
            guard name == "--set" || seen.insert(String(name)).inserted else { return nil }
            do {
                switch name {
                case "--format": format = try ArgumentValue.format(AnalyzeCommand.formats, command: "analyze")(value)
                case "--batch": batch = try ArgumentValue.integer(atLeast: 1)(value)
                case "--depth": depth = try ArgumentValue.integer(atLeast: 1)(value)
                case "--set": overrides.append(try ArgumentValue.setting(value))
                default: return nil
                }
            } catch {
                return nil
            }
        }
    }

    /// What ArgumentParser parsed, when it is a line this reader could have read: no
    /// option but these four set (the fuzz target compares the two readings).
    init?(_ command: AnalyzeCommand) {
        guard !command.memory, !command.runOptions.isActive,
              command.counting.attention == CountOptions().attention else { return nil }
        spec = command.model.model.spec
        overrides = command.model.model.overrides
        batch = command.model.batch
        depth = command.depth
        format = command.format
    }

    func run() throws {
        try AnalyzeCommand.writeCounts(of: try ModelRequest(spec, settings: overrides, batch: batch), options: CountOptions(),
                                       depth: depth, format: format)
    }
}
