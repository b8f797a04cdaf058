// libFuzzer target `onnx`: the ONNX reader (protobuf decoder, model, importer, constant
// folding) and everything downstream of the graph it builds. Build and run:
// scripts/fuzz.sh onnx SECONDS (README, "Fuzzing").
@testable import NNFlops

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let model = try ONNXModel(data: bytes, file: "fuzz.onnx")
        try FuzzDownstream.analyse(try model.graph(), input: UnsafeBufferPointer(start: data, count: size))
    } catch is NNFlopsError {
    } catch {
        fatalError("not an NNFlopsError: \(error)")
    }
    return 0
}
