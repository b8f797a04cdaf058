// swift-tools-version: 6.0
import PackageDescription

// Release builds of the library compile the executor's kernels for the CPU that builds
// them (`-target-cpu native`: AVX2/AVX-512 and FMA on x86-64), so the GEMM micro-kernel's
// `addingProduct` becomes vfmadd instead of a library call. Such a binary runs on the
// build machine (and CPUs with the same features) only; set NNFLOPS_PORTABLE=1 to build
// for the architecture's baseline instead. Debug builds and tests are unaffected.
let nativeKernels: [SwiftSetting] = {
    if Context.environment["NNFLOPS_PORTABLE"] == "1" { return [] }
    #if arch(x86_64) || arch(arm64)
    return [
        .unsafeFlags(["-target-cpu", "native"], .when(configuration: .release)),
        .define("NNFLOPS_NATIVE_KERNELS", .when(configuration: .release)),
    ]
    #else
    return []
    #endif
}()

// CI (.ci/run) sets NNFLOPS_WARNINGS_AS_ERRORS=1: then a compiler warning in any of this
// package's targets fails the build. Only ours: `-Xswiftc -warnings-as-errors` would apply
// to swift-argument-parser too, whose next release must not break this build.
// Release builds drop the run-time exclusivity checks (swift_beginAccess on every access
// to a class's or a global's stored property): a sixth of the instructions of an analysis
// (README, "Speed"). Debug builds and the tests keep them, so an overlapping access is
// still caught there.
// They also fetch the metadata of a concrete generic type (KeyedEncodingContainer<CodingKeys>,
// Set<String>) through a direct accessor call instead of by mangled name: by name, the
// runtime demangles it and checks its generic requirements by scanning the conformance
// records, 100k+ instructions for each first (type, protocol) pair; resnet50 to JSON goes
// from 13.1M to 11.4M instructions (README, "Speed").
let releaseSpeed: [SwiftSetting] = [
    .unsafeFlags([
        "-enforce-exclusivity=unchecked",
        "-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors",
    ], .when(configuration: .release)),
]

// Release builds of the executable on Linux are linked fully statically
// (`-static-executable`, on top of `--static-swift-stdlib`): without it the dynamic loader
// loads libstdc++, libm and libc and binds their symbols at every start, 2.1M
// instructions of `nnflops resnet50 --format json` (README, "Speed"). The program calls
// nothing that needs glibc's shared NSS or iconv modules at run time.
let fullyStatic: [LinkerSetting] = [
    .unsafeFlags(["-static-executable"], .when(platforms: [.linux], configuration: .release)),
]

let warningsAsErrors: [SwiftSetting] = Context.environment["NNFLOPS_WARNINGS_AS_ERRORS"] == "1"
    ? [.unsafeFlags(["-warnings-as-errors"])] : []

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
        // The analytic library: no package dependencies (README, "Architecture").
        .target(
            name: "NNFlops",
            swiftSettings: nativeKernels + releaseSpeed + warningsAsErrors,
            plugins: ["EmbedZoo"]
        ),
        // The CLI: argument parsing and exit codes only.
        .executableTarget(
            name: "nnflops",
            dependencies: [
                "NNFlops",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: releaseSpeed + warningsAsErrors,
            linkerSettings: fullyStatic
        ),
        // Build-time tool that turns specs/*.spec into Swift source, so the zoo is
        // embedded in the binary while specs/ stays the single source.
        .executableTarget(name: "ZooEmbedder", swiftSettings: warningsAsErrors),
        .plugin(
            name: "EmbedZoo",
            capability: .buildTool(),
            dependencies: ["ZooEmbedder"]
        ),
        .testTarget(
            name: "NNFlopsTests",
            dependencies: ["NNFlops"],
            swiftSettings: warningsAsErrors
        ),
    ]
)
