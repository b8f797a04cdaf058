// libFuzzer target `hardware`: the user hardware-file reader (`--hardware FILE.json`) and
// what uses a profile: the GPU table and JSON, a roofline of a small model on it at every
// precision it supports, and the fit search's capacity. Build and run:
// scripts/fuzz.sh hardware SECONDS (README, "Fuzzing").
import FoundationEssentials
@testable import NNFlops

let fuzzModel: Graph = {
    let (source, file) = try! SpecLoader.load("mlp")
    return try! Elaborator.elaborate(source: source, file: file)
}()
let fuzzCosts = try! CostAnalysis(graph: fuzzModel)

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
