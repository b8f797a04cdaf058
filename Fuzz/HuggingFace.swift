// libFuzzer target `hf`: the Hugging Face config.json reader (JSON reader, families,
// the spec it writes) and everything downstream of the graph. Build and run:
// scripts/fuzz.sh hf SECONDS (README, "Fuzzing").
@testable import NNFlops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHuggingFace(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let model = try HuggingFaceModel(json: bytes, file: "config.json")
        // Under `Limits.fuzzing`, as the spec target: a mutated num_hidden_layers of
        // thousands elaborated up to the standard million operators, seconds a run under
        // AddressSanitizer, where the fuzzing limits stop it at 10,000.
        try FuzzDownstream.analyse(try model.graph(limits: .fuzzing), input: UnsafeBufferPointer(start: data, count: size))
    } catch is NNFlopsError {
    } catch {
        fatalError("not an NNFlopsError: \(error)")
    }
    return 0
}
