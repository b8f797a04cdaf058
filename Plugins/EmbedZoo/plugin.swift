import Foundation
import PackagePlugin

/// Embeds the model zoo (`specs/*.spec` at the package root) into the NNFlops library.
@main
struct EmbedZoo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let specsDirectory = context.package.directoryURL.appending(path: "specs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: specsDirectory.path)) ?? []
        let specs = names.filter { $0.hasSuffix(".spec") }.sorted().map { specsDirectory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedZoo.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(specs.count) zoo specs",
                executable: try context.tool(named: "ZooEmbedder").url,
                arguments: [output.path] + specs.map(\.path),
                inputFiles: specs,
                outputFiles: [output]
            )
        ]
    }
}
