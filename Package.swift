// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "nnflops",
    products: [
        .library(name: "NNFlops", targets: ["NNFlops"]),
        .executable(name: "nnflops", targets: ["nnflops"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The analytic library: no package dependencies (design.md §2).
        .target(
            name: "NNFlops",
            plugins: ["EmbedZoo"]
        ),
        // The CLI: argument parsing and exit codes only.
        .executableTarget(
            name: "nnflops",
            dependencies: [
                "NNFlops",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Build-time tool that turns specs/*.spec into Swift source, so the zoo is
        // embedded in the binary while specs/ stays the single source.
        .executableTarget(name: "ZooEmbedder"),
        .plugin(
            name: "EmbedZoo",
            capability: .buildTool(),
            dependencies: ["ZooEmbedder"]
        ),
        .testTarget(
            name: "NNFlopsTests",
            dependencies: ["NNFlops"]
        ),
    ]
)
