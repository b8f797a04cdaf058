import ArgumentParser

/// A subcommand whose name can be read without building its configuration: the help
/// texts of every configuration are built on first use (string interpolation, lists of
/// GPUs and metrics joined, 360k instructions for all of them), which a line read
/// without ArgumentParser (PlainAnalysis) never shows but must tell from a model.
protocol NamedCommand: ParsableCommand {
    static var commandName: String { get }
}

/// Subcommands beyond analyze and zoo, each defined in its own file.
let extraSubcommands: [any NamedCommand.Type] = [
    PlanCommand.self,
    FitCommand.self,
    CheckCommand.self,
    RooflineCommand.self,
    InferCommand.self,
    GPUsCommand.self,
    ValidateCommand.self,
    ImportCommand.self,
]

/// Every subcommand, the default first.
let subcommands: [any NamedCommand.Type] = [AnalyzeCommand.self, ZooCommand.self] + extraSubcommands
