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
        try FuzzDownstream.analyse(try model.graph(), input: UnsafeBufferPointer(start: data, count: size))
    } catch is NNFlopsError {
    } catch {
        fatalError("not an NNFlopsError: \(error)")
    }
    return 0
}
