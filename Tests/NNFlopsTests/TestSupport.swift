import Foundation
import Testing
@testable import NNFlops

/// What the suites share: elaborating and analysing a spec, one tolerance policy for
/// floating-point figures, and one seeded random generator. A suite's own helper that
/// adds a preamble (`model t`, an input line) calls these.
enum TestModel {
    /// The graph of `source`, as `nnflops` elaborates a spec file named `file`.
    static func graph(_ source: String, file: String = "t.spec", overrides: [String: Value] = [:]) throws -> Graph {
        try Elaborator.elaborate(source: source, file: file, overrides: overrides)
    }

    /// The graph and its per-phase costs.
    static func costs(_ source: String, file: String = "t.spec", overrides: [String: Value] = [:],
                      options: CountOptions = CountOptions()) throws -> (graph: Graph, cost: CostAnalysis) {
        let graph = try graph(source, file: file, overrides: overrides)
        return (graph, try CostAnalysis(graph: graph, options: options))
    }

    /// The graph, its costs (counted under the run's precision and cache) and its training memory.
    static func memory(_ source: String, _ configuration: RunConfiguration, file: String = "t.spec",
                       overrides: [String: Value] = [:]) throws -> (Graph, CostAnalysis, MemoryAnalysis) {
        let graph = try graph(source, file: file, overrides: overrides)
        let costs = try CostAnalysis(graph: graph)
        return (graph, costs, try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration))
    }

    /// A zoo model's graph, at its own batch or at `batch`.
    static func zoo(_ name: String, batch: Int? = nil) throws -> Graph {
        let source = try #require(Zoo.source(named: name), "\(name) is not in the zoo")
        return try graph(source, file: name + ".spec", overrides: batch.map { ["batch": .int($0)] } ?? [:])
    }
}

/// One tolerance policy for figures that are floating-point results rather than counts
/// (counts are compared exactly): `a` is within `absolute + relative * |b|` of the
/// reference `b`. The defaults suit float32 kernels against a float64 reference.
enum Tolerance {
    static func close(_ a: Double, _ b: Double, relative: Double = 1e-4, absolute: Double = 1e-5) -> Bool {
        abs(a - b) <= absolute + relative * abs(b)
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014, "Fast splittable pseudorandom number
/// generators"): a deterministic generator, so a randomised test that fails reproduces.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
