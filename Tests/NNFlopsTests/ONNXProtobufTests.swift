import Testing
@testable import NNFlops

/// Builds protocol buffers bytes by hand (https://protobuf.dev/programming-guides/encoding/),
/// independently of the reader: varints, tags, and each wire type.
struct ProtobufWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wire: Int) { varint(UInt64(field << 3 | wire)) }
    mutating func int(_ field: Int, _ value: Int64) { tag(field, 0); varint(UInt64(bitPattern: value)) }
    mutating func fixed32(_ field: Int, _ value: UInt32) {
        tag(field, 5)
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt32(i)))) }
    }
    mutating func fixed64(_ field: Int, _ value: UInt64) {
        tag(field, 1)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }
    mutating func bytes(_ field: Int, _ data: [UInt8]) {
        tag(field, 2)
        varint(UInt64(data.count))
        bytes += data
    }
    mutating func string(_ field: Int, _ text: String) { bytes(field, Array(text.utf8)) }
    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        bytes(field, inner.bytes)
    }
    mutating func packed(_ field: Int, _ values: [Int64]) {
        var inner = ProtobufWriter()
        for v in values { inner.varint(UInt64(bitPattern: v)) }
        bytes(field, inner.bytes)
    }
}

/// Decodes `bytes` with a reader borrowed for the call, as the importer does.
func reading<T>(_ bytes: [UInt8], _ body: (inout ProtobufReader) throws -> T) throws -> T {
    try bytes.withUnsafeBytes { raw in
        var reader = ProtobufReader(raw)
        return try body(&reader)
    }
}

extension ONNXModelProto {
    init(testing bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try ONNXModelProto(bytes: $0) }
    }
}

@Suite("ONNX protobuf decoder")
struct ONNXProtobufTests {
    @Test("varints of 1 to 10 bytes, two's-complement negatives, fixed32 and fixed64")
    func scalars() throws {
        var w = ProtobufWriter()
        w.int(1, 0)
        w.int(1, 300)                          // 0xAC 0x02
        w.int(1, Int64.max)
        w.int(1, -1)                           // ten bytes, 0xFF x 9, 0x01
        w.fixed32(2, Float(1.5).bitPattern)
        w.fixed64(3, Double(-2.25).bitPattern)
        #expect(Array(w.bytes[2...5]) == [0x08, 0xAC, 0x02, 0x08])
        var ints: [Int64] = []
        var float: Float?, double: Double?
        try reading(w.bytes) { r in
            while let (number, wire) = try r.nextField() {
                switch (number, wire) {
                case (1, .varint): ints.append(try r.readInt64())
                case (2, .fixed32): float = try r.readFloat()
                case (3, .fixed64): double = try r.readDouble()
                default: Issue.record("unexpected field \(number) \(wire)")
                }
            }
        }
        #expect(ints == [0, 300, Int64.max, -1])
        #expect(float == 1.5)
        #expect(double == -2.25)
    }

    @Test("unknown fields of every wire type are skipped, groups included")
    func skipping() throws {
        var w = ProtobufWriter()
        w.int(90, 12345)
        w.fixed32(91, 7)
        w.fixed64(92, 8)
        w.bytes(93, [1, 2, 3])
        // A group (start 94, a nested group 95, end 95, a varint, end 94).
        w.tag(94, 3); w.tag(95, 3); w.int(1, 5); w.tag(95, 4); w.int(2, 6); w.tag(94, 4)
        w.string(2, "relu")                     // NodeProto.output
        w.string(4, "Relu")                     // NodeProto.op_type
        let node = try reading(w.bytes) { try ONNXNodeProto(&$0) }
        #expect(node.opType == "Relu")
        #expect(node.outputs == ["relu"])
    }

    @Test("packed and unpacked repeated integers both decode")
    func repeatedIntegers() throws {
        var w = ProtobufWriter()
        w.string(1, "axes")
        w.int(20, 7)                            // type INTS
        w.packed(8, [1, -2, 300])
        w.int(8, 4)                             // one more, unpacked
        let attribute = try reading(w.bytes) { try ONNXAttributeProto(&$0) }
        #expect(attribute.name == "axes")
        #expect(attribute.ints == [1, -2, 300, 4])
    }

    /// TensorProto: dims [2, 3], INT64, raw_data little-endian; written after dims and type
    /// here, but field order must not matter.
    @Test("small integer tensors are decoded from raw_data, int64_data and int32_data")
    func smallTensors() throws {
        let values: [Int64] = [1, -1, 7, 0, Int64.max, 65536]
        var raw: [UInt8] = []
        for v in values { for i in 0..<8 { raw.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * UInt64(i)))) } }
        var w = ProtobufWriter()
        w.bytes(9, raw)
        w.packed(1, [2, 3])
        w.int(2, 7)
        w.string(8, "shape")
        let tensor = try reading(w.bytes) { try ONNXTensorProto(&$0) }
        #expect(tensor.dims == [2, 3])
        #expect(tensor.values == .ints(values.map { Int($0) }))

        var w32 = ProtobufWriter()
        w32.packed(1, [3])
        w32.int(2, 6)                           // INT32
        w32.packed(5, [4, -5, 6])
        #expect(try reading(w32.bytes) { try ONNXTensorProto(&$0) }.values == .ints([4, -5, 6]))

        var wf = ProtobufWriter()
        wf.packed(1, [2])
        wf.int(2, 1)                            // FLOAT
        var floats: [UInt8] = []
        for f: Float in [0.5, -3] { for i in 0..<4 { floats.append(UInt8(truncatingIfNeeded: f.bitPattern >> (8 * UInt32(i)))) } }
        wf.bytes(4, floats)                     // packed float_data
        #expect(try reading(wf.bytes) { try ONNXTensorProto(&$0) }.values == .floats([0.5, -3]))
    }

    @Test("large tensors keep only their shape; external data is recorded, never read")
    func weightsAreNotRead() throws {
        var w = ProtobufWriter()
        w.packed(1, [64, 64, 3, 3])
        w.int(2, 1)
        w.bytes(9, [UInt8](repeating: 0x3f, count: 64 * 64 * 9 * 4))
        let inline = try reading(w.bytes) { try ONNXTensorProto(&$0) }
        #expect(inline.dims == [64, 64, 3, 3])
        #expect(inline.values == nil)

        var e = ProtobufWriter()
        e.packed(1, [4])
        e.int(2, 7)
        e.message(13) { $0.string(1, "location"); $0.string(2, "missing.weights") }
        e.message(13) { $0.string(1, "offset"); $0.string(2, "0") }
        e.int(14, 1)                            // EXTERNAL
        let external = try reading(e.bytes) { try ONNXTensorProto(&$0) }
        #expect(external.isExternal)
        #expect(external.externalLocation == "missing.weights")
        #expect(external.values == nil)
    }

    @Test("a type's shape: sizes, symbols and unknown dimensions")
    func valueInfo() throws {
        var w = ProtobufWriter()
        w.string(1, "input")
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, 1)
                tensor.message(2) { shape in
                    shape.message(1) { $0.string(2, "batch") }
                    shape.message(1) { $0.int(1, 3) }
                    shape.message(1) { _ in }
                }
            }
        }
        let info = try reading(w.bytes) { try ONNXValueInfoProto(&$0) }
        #expect(info.name == "input")
        #expect(info.type?.elementType == 1)
        #expect(info.type?.shape == [.symbol("batch"), .value(3), .unknown])
    }

    /// Every proper prefix of a valid message either decodes (it ends between fields) or
    /// throws; none traps.
    @Test("every truncation of a model is an error or a shorter valid message")
    func truncation() throws {
        let model = Self.sampleModel()
        _ = try ONNXModelProto(testing: model)
        var errors = 0
        for length in 0..<model.count {
            do { _ = try ONNXModelProto(testing: Array(model[..<length])) } catch { errors += 1 }
        }
        #expect(errors > model.count / 2)
    }

    @Test("malformed bytes are errors with the offset", arguments: [
        ([0x08], "truncated varint"),
        ([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], "varint overflows"),
        ([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], "varint"),
        ([0x3A, 0x05, 0x01], "runs past the end"),                  // graph of 5 bytes, 1 present
        ([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], "runs past the end"), // a 4 GiB length
        ([0x0E, 0x00], "invalid wire type 6"),
        ([0x0F, 0x00], "invalid wire type 7"),
        ([0x00, 0x00], "invalid field number 0"),
        ([0x0C], "end of a group that was not started"),
        ([0x0B, 0x08, 0x01], "truncated group"),
        ([0x0D, 0x00, 0x00], "truncated"),                          // fixed32 with 2 bytes
    ] as [([UInt8], String)])
    func malformed(bytes: [UInt8], expected: String) {
        do {
            _ = try ONNXModelProto(testing: bytes)
            Issue.record("\(bytes) decoded")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
            #expect("\(error)".contains("at byte"))
        }
    }

    @Test("deeply nested groups stop at the depth limit instead of exhausting the stack")
    func nestingLimit() {
        var w = ProtobufWriter()
        for _ in 0..<100_000 { w.tag(5, 3) }
        for _ in 0..<100_000 { w.tag(5, 4) }
        do {
            _ = try ONNXModelProto(testing: w.bytes)
            Issue.record("decoded")
        } catch {
            #expect("\(error)".contains("deeper than"))
        }
    }

    @Test("bytes that are not protobuf at all are a clear error from the importer")
    func notONNX() {
        let text = Array("model resnet\ninput x: [1, 3, 224, 224]\n".utf8)
        #expect(throws: NNFlopsError.self) { try ONNXImporter.graph(data: text, file: "model.onnx") }
        do {
            _ = try ONNXImporter.graph(data: text, file: "model.onnx")
        } catch let error as NNFlopsError {
            #expect(error.message.contains("model.onnx"))
        } catch {
            Issue.record("\(error)")
        }
        // Valid protobuf with no graph in it.
        var w = ProtobufWriter()
        w.int(1, 8)
        #expect(throws: NNFlopsError.self) { try ONNXImporter.graph(data: w.bytes, file: "empty.onnx") }
    }

    /// A tiny model written with the writer: opset 13, input x [2, 3], Relu.
    static func sampleModel() -> [UInt8] {
        var w = ProtobufWriter()
        w.int(1, 8)
        w.string(2, "handwritten")
        w.message(8) { $0.string(1, ""); $0.int(2, 13) }
        w.message(7) { graph in
            graph.message(1) { node in
                node.string(1, "x")
                node.string(2, "y")
                node.string(3, "relu")
                node.string(4, "Relu")
            }
            graph.string(2, "g")
            graph.message(11) { input in
                input.string(1, "x")
                input.message(2) { type in
                    type.message(1) { tensor in
                        tensor.int(1, 1)
                        tensor.message(2) { shape in
                            shape.message(1) { $0.int(1, 2) }
                            shape.message(1) { $0.int(1, 3) }
                        }
                    }
                }
            }
            graph.message(12) { $0.string(1, "y") }
        }
        return w.bytes
    }

    @Test("a model written byte by byte imports")
    func handwrittenModel() throws {
        let graph = try ONNXImporter.graph(data: Self.sampleModel(), file: "handwritten.onnx")
        #expect(graph.model == "handwritten")
        #expect(graph.nodes.map(\.kind) == ["relu"])
        #expect(graph.nodes.map(\.name) == ["relu"])
        #expect(graph.tensors[graph.outputs[0]].shape == [2, 3])
    }
}
