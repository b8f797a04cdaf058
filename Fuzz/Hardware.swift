// libFuzzer target `hardware`: the user hardware-file reader (`--hardware FILE.json`) and
// what uses a profile: the GPU table and JSON, a roofline of a small model on it at every
// precision it supports, and the fit search's capacity. Build and run:
// scripts/fuzz.sh hardware SECONDS (README, "Fuzzing").
import FoundationEssentials
@testable import NNFlops

/// The model every profile is tried on (the built-in `mlp`) and its costs, made once. That
/// they do not analyse is a broken build, not a finding about an input: stop with the error.
let (fuzzModel, fuzzCosts): (Graph, CostAnalysis) = {
    do {
        let (source, file) = try SpecLoader.load("mlp")
        let graph = try Elaborator.elaborate(source: source, file: file)
        return (graph, try CostAnalysis(graph: graph))
    } catch {
        fatalError("the hardware target's model, mlp, does not analyse: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHardware(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let profile = try GPUProfile.parse(hardwareJSON: Data(bytes), file: "gpu.json")
        _ = try RooflineRenderer.gpus([profile], format: .table)
        _ = try RooflineRenderer.gpus([profile], format: .json)
        _ = profile.usableMemoryBytes
        for precision in PrecisionPolicy.allCases where profile.supports(precision) {
            for tf32 in [TF32Ops.none, .conv, .matmul, .all] {
                let roofline = try RooflineAnalysis(graph: fuzzModel, costs: fuzzCosts, roof: try Roof(gpu: profile, tf32: tf32),
                                                    configuration: RunConfiguration(precision: precision))
                let report = RooflineReport(graph: fuzzModel, analysis: roofline)
                _ = try RooflineRenderer.render(report, format: .table, top: 5)
                _ = try RooflineRenderer.render(report, format: .json, top: nil)
            }
        }
    } catch is NNFlopsError {
    } catch {
        fatalError("not an NNFlopsError: \(error)")
    }
    return 0
}
