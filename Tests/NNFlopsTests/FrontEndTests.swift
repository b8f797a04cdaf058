import Foundation
import Testing
@testable import NNFlops

/// Every command loads its model through `ModelRequest`, which picks the front end by the
/// file's extension (README, "Reading ONNX files", "Hugging Face configs").
@Suite("Front ends through ModelRequest")
struct FrontEndTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures").standardized

    @Test("an .onnx path loads the ONNX graph, with --batch")
    func onnxPath() throws {
        let path = Self.fixtures.appendingPathComponent("onnx/torchvision/resnet18_train.onnx").path
        let graph = try ModelRequest(path, batch: 4).graph()
        // torchvision resnet18: 11,689,512 parameters (its published count).
        #expect(graph.parameterCount.value == 11_689_512)
        #expect(graph.inputs.first.map { graph.tensors[$0.tensor].shape } == [4, 3, 224, 224])
    }

    @Test("a .json path loads a Hugging Face config")
    func configPath() throws {
        let path = Self.fixtures.appendingPathComponent("hf/configs/bert-base-uncased.json").path
        // BertModel(BertConfig()) with its pooler: 109,482,240 parameters.
        #expect(try ModelRequest(path).graph().parameterCount.value == 109_482_240)
    }

    @Test("missing files and directories read plainly", arguments: ["/nonexistent/model.onnx", "/nonexistent/config.json"])
    func missingFile(_ path: String) {
        let error = #expect(throws: NNFlopsError.self) { try ModelRequest(path) }
        #expect(error?.description.contains("no such file '\(path)'") == true)
    }

    @Test("a directory named like a model is refused")
    func directory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nnflops-dir-\(getpid()).onnx")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: NNFlopsError.self) { try ModelRequest(directory.path) }
        #expect(error?.description.contains("is a directory") == true)
    }
}
