#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// User-defined hardware (`--hardware my-gpu.json`, README, "Roofline" "Your own hardware").
///
/// The file is one JSON object; figures are in the units datasheets print them in
/// (TFLOP/s, TOPS, GB, GB/s with 1 GB = 10^9 bytes) and are DENSE figures: halve a
/// datasheet's "with sparsity" tensor figure before writing it here.
///
/// ```json
/// {
///   "id": "rtx-4090",
///   "name": "NVIDIA GeForce RTX 4090 24GB",
///   "source": "NVIDIA Ada GPU architecture whitepaper, appendix table 2",
///   "form_factor": "PCIe",
///   "memory_type": "GDDR6X",
///   "memory_gb": 24,
///   "bandwidth_gb_s": 1008,
///   "tflops": {"fp64": 1.29, "fp32": 82.6, "tf32": 82.6, "fp16": 165.2, "bf16": 165.2,
///              "fp8": 330.3, "int8": 660.6, "fp16_non_tensor": 82.6}
/// }
/// ```
///
/// Required: `id`, `name`, `memory_gb`, `bandwidth_gb_s`, `tflops.fp64`, `tflops.fp32`,
/// `tflops.fp16` (the tensor-core figure, or the plain FP16 rate on a GPU without tensor
/// cores). Optional: `source` (defaults to the file's path), `form_factor`, `memory_type`,
/// `reported_memory_bytes` (the total `cudaMemGetInfo` reports: what `fit` fills),
/// `intra_node_gb_s` (GPU-to-GPU bandwidth in a node, both directions together, as
/// datasheets print NVLink: 900 for an H100 SXM; default 64, a PCIe Gen4 x16 link),
/// `intra_node_link` (its name), `network_gbit_s` (network bandwidth per GPU between nodes,
/// one direction, in Gb/s; default 400, InfiniBand NDR),
/// and in `tflops`: `fp64_tensor`, `tf32`, `bf16`, `fp8`, `int8`, `fp16_non_tensor`;
/// a missing or `null` optional figure means the GPU lacks that format, so asking the
/// roofline for it is an error, exactly as for bf16 on a V100. Unknown keys, wrong types,
/// non-positive or non-finite figures, and an `id` that names a built-in GPU are errors.
extension GPUProfile {
    static let userTopLevelKeys = ["id", "name", "source", "form_factor", "memory_type", "memory_gb", "reported_memory_bytes",
                                   "bandwidth_gb_s", "tflops", "intra_node_gb_s", "intra_node_link", "network_gbit_s"]
    static let userFigureKeys = ["fp64", "fp64_tensor", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "fp16_non_tensor"]

    /// The largest figures a hardware file may give: a thousand times beyond any device
    /// built (an H200 has 141 GB at 4.8 TB/s and 1,979 dense FP8 TFLOP/s). Past them a
    /// figure is a typo, and products of figures could leave the range of Int or Double.
    static let largestMemoryGB = 1e6, largestBandwidthGBs = 1e7, largestTFLOPs = 1e7
    /// The smallest figure a hardware file may give, in its key's unit (1 MB, 1 MB/s,
    /// 1 GFLOP/s): below it a figure is a typo too, and a roofline time (bytes over
    /// bandwidth, FLOPs over peak) can overflow to infinity, which no report can show.
    static let smallestFigure = 1e-3

    /// Reads a user hardware file. Every problem is an `NNFlopsError` naming the file and
    /// the key at fault.
    public static func load(hardwareFile path: String) throws -> GPUProfile {
        guard FileManager.default.fileExists(atPath: path), !FileManager.default.isDirectory(atPath: path),
              let data = FileManager.default.contents(atPath: path) else {
            throw NNFlopsError("cannot read hardware file '\(path)'")
        }
        return try parse(hardwareJSON: data, file: path)
    }

    /// Parses the JSON text of a user hardware file (`file` names it in errors).
    public static func parse(hardwareJSON data: Data, file: String) throws -> GPUProfile {
        func fail(_ message: String, _ notes: [String] = []) -> NNFlopsError {
            NNFlopsError("\(file): \(message)", notes: notes + ["note: the hardware file format is described in the README (Roofline, \"Your own hardware\")"])
        }
        let document: JSONValue
        do {
            document = try JSONReader.parse([UInt8](data), file: file)
        } catch let error as NNFlopsError {
            let place = error.location.map { "line \($0.line), column \($0.column): " } ?? ""
            let reason = error.message.hasPrefix("malformed JSON: ") ? String(error.message.dropFirst("malformed JSON: ".count)) : error.message
            throw fail("not valid JSON (\(place)\(reason))")
        }
        guard case .object(let topMembers) = document.kind else { throw fail("expected a JSON object at the top level") }
        let top = members(topMembers)
        try checkKeys(top, allowed: userTopLevelKeys, prefix: "", fail: fail)

        func string(_ key: String, required: Bool) throws -> String? {
            guard let value = top[key], !value.isNull else {
                if required { throw fail("missing required key '\(key)'") }
                return nil
            }
            guard case .string(let text) = value.kind, !text.trimmingWhitespace().isEmpty else {
                throw fail("'\(key)' must be a non-empty string")
            }
            guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw fail("'\(key)' must be one line of text (no newlines, tabs or other control characters)")
            }
            return text
        }
        /// `largest`: the most the key may hold, so that every figure and what is
        /// computed from it (bytes as an integer, times, ratios) stays finite and in range.
        func number(_ dictionary: [String: JSONValue], _ key: String, path: String, unit: String, largest: Double,
                    required: Bool) throws -> Double? {
            guard let value = dictionary[key], !value.isNull else {
                if required { throw fail("missing required key '\(path)' (\(unit))") }
                return nil
            }
            let v: Double
            switch value.kind {
            case .int(let n): v = Double(n)
            case .float(let x): v = x
            default: throw fail("'\(path)' must be a number (\(unit)), got \(describe(value))")
            }
            guard v.isFinite, v > 0 else { throw fail("'\(path)' must be a positive number (\(unit)), got \(describe(value))") }
            guard v >= smallestFigure else {
                throw fail("'\(path)' is \(describe(value)), less than the smallest accepted figure, \(PlanQuantity.scientific(smallestFigure)) (\(unit))")
            }
            guard v <= largest else {
                throw fail("'\(path)' is \(describe(value)), more than the largest accepted figure, \(PlanQuantity.scientific(largest)) (\(unit))")
            }
            return v
        }

        // `required: true` throws on a missing key, so these guards only restate it.
        guard let id = try string("id", required: true) else { throw fail("missing required key 'id'") }
        guard id.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw fail("'id' must use lowercase letters, digits, '-', '_' or '.', got '\(id)'")
        }
        if builtinIDs.contains(id) {
            throw fail("'id' \"\(id)\" is a built-in GPU; choose another id for your profile")
        }
        guard let name = try string("name", required: true) else { throw fail("missing required key 'name'") }
        let source = try string("source", required: false) ?? "user hardware file \(file)"
        let formFactor = try string("form_factor", required: false) ?? "unspecified"
        let memoryType = try string("memory_type", required: false) ?? "unspecified"
        guard let memoryGB = try number(top, "memory_gb", path: "memory_gb", unit: "GB, 10^9 bytes", largest: largestMemoryGB, required: true) else {
            throw fail("missing required key 'memory_gb' (GB, 10^9 bytes)")
        }
        let reported = try number(top, "reported_memory_bytes", path: "reported_memory_bytes", unit: "bytes, as cudaMemGetInfo reports",
                                  largest: largestMemoryGB * 1e9, required: false)
        guard let bandwidth = try number(top, "bandwidth_gb_s", path: "bandwidth_gb_s", unit: "GB/s, 10^9 bytes/s",
                                         largest: largestBandwidthGBs, required: true) else {
            throw fail("missing required key 'bandwidth_gb_s' (GB/s, 10^9 bytes/s)")
        }
        let intraNode = try number(top, "intra_node_gb_s", path: "intra_node_gb_s", unit: "GB/s both directions, 10^9 bytes/s",
                                   largest: largestBandwidthGBs, required: false)
        let intraNodeLink = try string("intra_node_link", required: false)
        let network = try number(top, "network_gbit_s", path: "network_gbit_s", unit: "Gb/s per GPU, one direction",
                                 largest: largestBandwidthGBs * 8, required: false)

        guard let rawFigures = top["tflops"] else { throw fail("missing required key 'tflops' (an object of dense TFLOP/s per format)") }
        guard case .object(let figureMembers) = rawFigures.kind else {
            throw fail("'tflops' must be an object such as {\"fp32\": 19.5, \"fp16\": 312}, got \(describe(rawFigures))")
        }
        let figures = members(figureMembers)
        try checkKeys(figures, allowed: userFigureKeys, prefix: "tflops.", fail: fail)
        func figure(_ key: String, required: Bool = false) throws -> Double? {
            let unit = key == "int8" ? "dense TOPS" : "dense TFLOP/s"
            return try number(figures, key, path: "tflops." + key, unit: unit, largest: largestTFLOPs, required: required).map { $0 * 1e12 }
        }
        guard let fp64 = try figure("fp64", required: true), let fp32 = try figure("fp32", required: true),
              let fp16 = try figure("fp16", required: true) else {
            throw fail("missing one of the required keys 'tflops.fp64', 'tflops.fp32', 'tflops.fp16' (dense TFLOP/s)")
        }
        return GPUProfile(id: id, name: name, formFactor: formFactor, memoryType: memoryType,
                          fp64: fp64, fp64Tensor: try figure("fp64_tensor"), fp32: fp32, tf32Tensor: try figure("tf32"),
                          fp16Tensor: fp16, bf16Tensor: try figure("bf16"), fp8Tensor: try figure("fp8"),
                          int8Tensor: try figure("int8"), fp16NonTensor: try figure("fp16_non_tensor"),
                          memoryBytes: memoryGB * 1e9, memoryBandwidth: bandwidth * 1e9, source: source,
                          reportedMemoryBytes: reported.map { $0.rounded(.down) },
                          reportedMemorySource: reported == nil ? noReportedMemory : "reported_memory_bytes in \(file)",
                          intraNodeBandwidth: intraNode.map { $0 * 1e9 } ?? GPUProfile.pcieGen4,
                          intraNodeLink: intraNodeLink ?? (intraNode == nil ? "PCIe Gen4 x16 (default)" : "intra_node_gb_s in \(file)"),
                          networkBandwidth: network.map { $0 * 1e9 / 8 } ?? GPUProfile.defaultNetworkBandwidth)
    }

    /// An object's members by key; a repeated key keeps its last value, as JSON readers
    /// (Python's, Foundation's) do.
    private static func members(_ list: [JSONMember]) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for member in list { result[member.key] = member.value }
        return result
    }

    private static func checkKeys(_ dictionary: [String: JSONValue], allowed: [String], prefix: String,
                                  fail: (String, [String]) -> NNFlopsError) throws {
        for key in dictionary.keys.sorted() where !allowed.contains(key) {
            var notes: [String] = []
            if let guess = closestMatch(to: key, in: allowed) { notes.append("did you mean '\(prefix)\(guess)'?") }
            notes.append("note: allowed keys\(prefix.isEmpty ? "" : " in '\(prefix.dropLast())'"): " + allowed.joined(separator: ", "))
            throw fail("unknown key '\(prefix)\(abbreviatedForMessage(key))'", notes)
        }
    }

    /// How a value is named in messages: `"fast"`, `true`, `1e+308`, `an array`.
    private static func describe(_ value: JSONValue) -> String {
        switch value.kind {
        case .string(let s): return "\"\(s)\""
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let n): return String(n)
        case .float(let x): return String(x)
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

private extension JSONValue {
    var isNull: Bool { if case .null = kind { true } else { false } }
}
