// libFuzzer target `spec`: the spec language front end and everything downstream of it.
// Bytes -> UTF-8 text -> lexer, parser, elaborator -> cost, memory (three run
// configurations), roofline, budgets -> every renderer (past the cost analysis, a graph of
// over 256 operators on one input in 8: FuzzDownstream). Any outcome but a result or an
// NNFlopsError is a finding: a trap or sanitizer report crashes, another error type
// calls fatalError. Build and run: scripts/fuzz.sh spec SECONDS (README, "Fuzzing").
@testable import NNFlops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, let source = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    do {
        // Under `Limits.fuzzing`: every limit's check, with less work before it.
        let graph = try Elaborator.elaborate(source: source, file: "fuzz.spec", limits: .fuzzing)
        try FuzzDownstream.analyse(graph, input: UnsafeBufferPointer(start: data, count: size))
    } catch is NNFlopsError {
        // A located error: what bad input must produce.
    } catch {
        fatalError("not an NNFlopsError: \(error)")
    }
    return 0
}
