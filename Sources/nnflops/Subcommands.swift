import ArgumentParser

/// Subcommands beyond analyze and zoo, each defined in its own file.
let extraSubcommands: [any ParsableCommand.Type] = [
    PlanCommand.self,
    FitCommand.self,
    CheckCommand.self,
    RooflineCommand.self,
    InferCommand.self,
    GPUsCommand.self,
    ValidateCommand.self,
    ImportCommand.self,
]
