import Foundation
import Testing
@testable import NNFlops

/// What PyTorch's autograd keeps, per module, measured by `scripts/measure_saved.py`
/// (torch 2.11, `saved_tensors_hooks` deduplicated by storage, CUDA's rules reproduced with
/// FakeTensorMode; the script's header documents the format), held against nnflops's
/// per-node `savedBytes`. The name mapping is `scripts/compare_saved.py`'s.
enum SavedTensorFixture {
    struct Tensor: Decodable {
        var node: String
        var attr: String
        var shape: [Int]
        var dtype: String
        var bytes: Int
    }

    struct Module: Decodable {
        var module: String
        var bytes: Int
        var tensors: [Tensor]
    }

    struct Totals: Decodable {
        var saved_bytes: Int
        var live_after_forward_bytes: Int
        var output_bytes: Int
    }

    /// One scaled_dot_product_attention call and the backend torch 2.11 picks on an H100.
    struct SDPACall: Decodable {
        var module: String
        var backend: String
        var dtype: String
    }

    /// One measured run: a zoo model's fixture, or one attention variant of a Hugging Face one.
    struct Run: Decodable {
        var nnflops_args: [String]?
        var modules_called: [String]
        var modules: [Module]
        var totals: Totals
        var sdpa: [SDPACall]?
    }

    struct File: Decodable {
        var model: String
        var nnflops_args: [String]
        var config_file: String?
        var modules_called: [String]?
        var modules: [Module]?
        var totals: Totals?
        var variants: [String: Run]?
        var sdpa: [SDPACall]?
    }

    /// A module whose bytes differ: nnflops's, PyTorch's, and the tensors PyTorch keeps there.
    struct Difference: CustomStringConvertible {
        var module: String
        var nnflops: Int
        var pytorch: Int
        var tensors: [Tensor]
        var description: String {
            let kept = tensors.map { "\($0.node).\($0.attr) \($0.shape) \($0.dtype) \($0.bytes)" }.joined(separator: "; ")
            return "\(module.isEmpty ? "(root)" : module): nnflops \(nnflops), PyTorch \(pytorch) [\(kept)]"
        }
    }

    struct Comparison {
        var differences: [Difference]
        var nnflopsSaved: Int
        var pytorchSaved: Int
        /// nnflops's tensors live at the end of forward (outputs included, inputs excluded).
        var nnflopsLive: Int
        var pytorchLive: Int
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/saved").standardized
    static let root = directory.appendingPathComponent("../../..").standardized

    static func file(_ name: String) throws -> File {
        let data = try Data(contentsOf: directory.appendingPathComponent(name + ".json"))
        return try JSONDecoder().decode(File.self, from: data)
    }

    /// Compares fixture `name` (a file in Tests/Fixtures/saved without `.json`); for a
    /// Hugging Face fixture, `variant` picks the attention implementation (`sdpa`, ...).
    /// `model` replaces the fixture's model (a spec path) to hold another spec to it.
    static func compare(_ name: String, variant: String? = nil, model: String? = nil) throws -> Comparison {
        let fixture = try file(name)
        let run: Run
        if let variant {
            run = try #require(fixture.variants?[variant], "\(name) has no variant \(variant)")
        } else {
            run = Run(nnflops_args: fixture.nnflops_args, modules_called: fixture.modules_called ?? [],
                      modules: fixture.modules ?? [], totals: try #require(fixture.totals))
        }
        let reference = model ?? fixture.config_file.map { root.appendingPathComponent($0).path } ?? fixture.model
        let (graph, configuration) = try arguments(run.nnflops_args ?? fixture.nnflops_args, reference: reference)
        let costs = try CostAnalysis(graph: graph)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)

        let called = Set(run.modules_called)
        var ours: [String: Int] = [:]
        for layer in memory.layers { ours[module(of: layer.name, called: called), default: 0] += layer.savedBytes }
        let theirs = Dictionary(run.modules.map { ($0.module, $0) }, uniquingKeysWith: { a, _ in a })
        var differences: [Difference] = []
        for name in Set(ours.keys).union(theirs.keys).sorted() {
            let a = ours[name, default: 0]
            let b = theirs[name]?.bytes ?? 0
            if a != b { differences.append(Difference(module: name, nnflops: a, pytorch: b, tensors: theirs[name]?.tensors ?? [])) }
        }
        return Comparison(differences: differences, nnflopsSaved: ours.values.reduce(0, +), pytorchSaved: run.totals.saved_bytes,
                          nnflopsLive: memory.savedActivationsBytes, pytorchLive: run.totals.live_after_forward_bytes)
    }

    /// The fixture's nnflops arguments (`--batch`, `--set`, `--precision`), with SGD, which
    /// keeps no optimizer state (nothing here depends on it).
    static func arguments(_ args: [String], reference: String) throws -> (Graph, RunConfiguration) {
        var batch: Int?
        var settings: [String] = []
        var precision = PrecisionPolicy.fp32
        var index = 0
        while index + 1 < args.count {
            let value = args[index + 1]
            switch args[index] {
            case "--batch": batch = Int(value)
            case "--set": settings.append(value)
            case "--precision": precision = try #require(PrecisionPolicy(rawValue: value))
            default: Issue.record("unexpected fixture argument \(args[index])")
            }
            index += 2
        }
        let request = try ModelRequest(reference, settings: settings, batch: batch)
        return (try request.graph(), RunConfiguration(optimizer: .sgd, precision: precision))
    }

    /// The PyTorch module an nnflops layer belongs to (scripts/compare_saved.py): a
    /// component `X_k` whose sibling `X` ran as a module is `X` (one module called several
    /// times, torchvision's `relu`); then the longest dotted prefix that ran as a module
    /// (functional code in a module's forward: Bottleneck's `layer1.0.add` -> `layer1.0`);
    /// a prefix the spec drops (`transformer.`, `model.`) is tried too.
    static func module(of name: String, called: Set<String>) -> String {
        func longest(_ name: String) -> (String, Int) {
            var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            for index in parts.indices {
                let part = parts[index]
                guard let underscore = part.lastIndex(of: "_"), underscore != part.startIndex,
                      !part[part.index(after: underscore)...].isEmpty,
                      part[part.index(after: underscore)...].allSatisfy(\.isNumber) else { continue }
                let parent = parts[..<index].joined(separator: ".")
                let prefix = parent.isEmpty ? "" : parent + "."
                let base = prefix + String(part[..<underscore])
                if !called.contains(prefix + part) && called.contains(base) { parts[index] = String(part[..<underscore]) }
            }
            for count in stride(from: parts.count, to: 0, by: -1) {
                let candidate = parts[..<count].joined(separator: ".")
                if called.contains(candidate) { return (candidate, count) }
            }
            return ("", 0)
        }
        var (best, depth) = longest(name)
        for prefix in ["transformer.", "model."] {
            let (mapped, d) = longest(prefix + name)
            if d > depth + 1 || (depth == 0 && d > 0) { (best, depth) = (mapped, d) }
        }
        return best
    }
}

/// The bytes autograd keeps, module by module, equal PyTorch's exactly. A model joins
/// `exact` once every rule it needs is modelled (README, "The rules").
@Suite("Saved tensors against PyTorch")
struct SavedTensorFixtureTests {
    static let exact = [
        "mlp-fp32", "mlp-amp-bf16", "alexnet-fp32", "vgg16-fp32",
        "resnet18-fp32", "resnet34-fp32", "resnet50-fp32", "resnet101-fp32", "resnet152-fp32",
        "bert-base-fp32", "bert-base-amp-bf16",
        // ReLU6(inplace=True) keeps a clone of its input (hardtanh_ has no formula of its own).
        "mobilenet_v2-fp32", "mobilenet_v2-amp-bf16",
        // StochasticDepth keeps its per-sample noise (drop_path).
        "efficientnet_b0-fp32", "efficientnet_b0-amp-bf16",
        // The first convolution keeps its bf16 weight copy (convolution's one formula).
        "alexnet-amp-bf16", "vgg16-amp-bf16",
        "resnet18-amp-bf16", "resnet34-amp-bf16", "resnet50-amp-bf16", "resnet101-amp-bf16", "resnet152-amp-bf16",
        // The KV cache's copies, gelu_new's fp32 pow, MHA's merged-heads copy, the padded lse.
        "gpt2-fp32", "gpt2-amp-bf16", "vit_b_16-fp32", "vit_b_16-amp-bf16",
    ]

    /// Hugging Face fixtures by `family/variant`: each family's sdpa (fp32), eager (fp32) and
    /// sdpa amp-bf16 runs (mixtral needs the moe operator).
    static let exactHuggingFace = ["bert", "gemma", "gpt2", "gpt_neox", "llama", "mistral", "phi3", "qwen2"]
        .flatMap { family in ["sdpa", "eager", "sdpa-amp-bf16"].map { "hf-\(family)/\($0)" } }

    @Test("per-module saved bytes equal PyTorch's", arguments: exact + exactHuggingFace)
    func perModule(_ name: String) throws {
        let parts = name.split(separator: "/").map(String.init)
        let comparison = try SavedTensorFixture.compare(parts[0], variant: parts.count > 1 ? parts[1] : nil)
        #expect(comparison.differences.isEmpty, "\(name): \(comparison.differences.map(\.description).joined(separator: "\n"))")
        #expect(comparison.nnflopsSaved == comparison.pytorchSaved)
        // PyTorch's live set after forward also holds the loss, `output.float().sum()`: one
        // fp32 scalar the specs do not compute.
        #expect(comparison.nnflopsLive == comparison.pytorchLive - 4)
    }

    /// The mapping can fail: a spec that kept one tensor fewer shows up here. mobilenet_v2
    /// with in-place relu where torchvision runs ReLU6(inplace=True): relu_ keeps its
    /// result, the storage the next conv keeps too, where hardtanh_ keeps a clone of its
    /// input and the conv the result (two storages).
    @Test("the comparison sees a difference")
    func comparisonCanFail() throws {
        let text = try String(contentsOf: SavedTensorFixture.directory.appendingPathComponent("../../../specs/mobilenet_v2.spec").standardized, encoding: .utf8)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("mobilenet_v2-relu-\(ProcessInfo.processInfo.processIdentifier).spec")
        try text.replacingOccurrences(of: "relu6(", with: "relu(").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let comparison = try SavedTensorFixture.compare("mobilenet_v2-fp32", model: file.path)
        #expect(comparison.differences.contains { $0.module == "features.1.conv.0.0" && $0.nnflops == 0 && $0.pytorch == 3_211_264 })
        #expect(comparison.nnflopsSaved < comparison.pytorchSaved)
    }

    @Test("layer names map onto the modules that ran")
    func nameMapping() {
        let called: Set<String> = ["", "layer1", "layer1.0", "layer1.0.relu", "layer1.0.conv1", "transformer.h.0.attn"]
        #expect(SavedTensorFixture.module(of: "layer1.0.relu_2", called: called) == "layer1.0.relu")
        #expect(SavedTensorFixture.module(of: "layer1.0.add", called: called) == "layer1.0")
        #expect(SavedTensorFixture.module(of: "h.0.attn.attention", called: called) == "transformer.h.0.attn")
        #expect(SavedTensorFixture.module(of: "fc", called: called) == "")
    }
}
