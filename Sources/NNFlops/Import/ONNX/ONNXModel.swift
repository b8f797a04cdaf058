/// The parts of an ONNX model (onnx/onnx.proto, IR version 3 and later) that shape and
/// cost analysis needs, decoded from the protocol buffers wire format. Field numbers are
/// onnx.proto's. Weight data is never read: an initializer records its name, element
/// type and dimensions; the values of small integer and scalar tensors (shape operands,
/// epsilons) are kept because shape folding needs them; external data
/// (`data_location = EXTERNAL`) is never opened. Unknown fields are skipped.
struct ONNXModelProto: Sendable {
    var irVersion: Int = 0
    var opsetImports: [ONNXOperatorSetID] = []
    var producerName = ""
    var producerVersion = ""
    var graph = ONNXGraphProto()
    var hasGraph = false

    /// Tensors with more elements than this keep only their shape (onnx.proto stores
    /// shape operands as small int64 tensors).
    static let maxDecodedElements = 4096

    init(bytes: UnsafeRawBufferPointer) throws(ProtobufError) {
        var reader = ProtobufReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .varint): irVersion = try reader.readInt()
            case (2, .lengthDelimited): producerName = try reader.readString()
            case (3, .lengthDelimited): producerVersion = try reader.readString()
            case (7, .lengthDelimited):
                var message = try reader.readMessage()
                graph = try ONNXGraphProto(&message)
                hasGraph = true
            case (8, .lengthDelimited):
                var message = try reader.readMessage()
                opsetImports.append(try ONNXOperatorSetID(&message))
            default: try reader.skip(wireType)
            }
        }
    }
}

/// OperatorSetIdProto: an operator domain ("" or "ai.onnx" is the default one) and its version.
struct ONNXOperatorSetID: Sendable {
    var domain = ""
    var version = 0

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited): domain = try reader.readString()
            case (2, .varint): version = try reader.readInt()
            default: try reader.skip(wireType)
            }
        }
    }
}

/// GraphProto.
struct ONNXGraphProto: Sendable {
    var name = ""
    var nodes: [ONNXNodeProto] = []
    var initializers: [ONNXTensorProto] = []
    var sparseInitializerCount = 0
    var inputs: [ONNXValueInfoProto] = []
    var outputs: [ONNXValueInfoProto] = []
    var valueInfo: [ONNXValueInfoProto] = []

    init() {}

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited):
                var message = try reader.readMessage()
                nodes.append(try ONNXNodeProto(&message))
            case (2, .lengthDelimited): name = try reader.readString()
            case (5, .lengthDelimited):
                var message = try reader.readMessage()
                initializers.append(try ONNXTensorProto(&message))
            case (11, .lengthDelimited):
                var message = try reader.readMessage()
                inputs.append(try ONNXValueInfoProto(&message))
            case (12, .lengthDelimited):
                var message = try reader.readMessage()
                outputs.append(try ONNXValueInfoProto(&message))
            case (13, .lengthDelimited):
                var message = try reader.readMessage()
                valueInfo.append(try ONNXValueInfoProto(&message))
            case (15, .lengthDelimited):
                _ = try reader.readLengthDelimited()
                sparseInitializerCount += 1
            default: try reader.skip(wireType)
            }
        }
    }
}

/// NodeProto: one operator application.
struct ONNXNodeProto: Sendable {
    var inputs: [String] = []
    var outputs: [String] = []
    var name = ""
    var opType = ""
    var domain = ""
    var attributes: [ONNXAttributeProto] = []

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited): inputs.append(try reader.readString())
            case (2, .lengthDelimited): outputs.append(try reader.readString())
            case (3, .lengthDelimited): name = try reader.readString()
            case (4, .lengthDelimited): opType = try reader.readString()
            case (5, .lengthDelimited):
                var message = try reader.readMessage()
                attributes.append(try ONNXAttributeProto(&message))
            case (7, .lengthDelimited): domain = try reader.readString()
            default: try reader.skip(wireType)
            }
        }
    }

    func attribute(_ name: String) -> ONNXAttributeProto? { attributes.first { $0.name == name } }
}

/// AttributeProto. Graph-valued attributes (the bodies of If, Loop, Scan) are only noted.
struct ONNXAttributeProto: Sendable {
    var name = ""
    var type = 0
    var float: Float?
    var int: Int64?
    var string: String?
    var tensor: ONNXTensorProto?
    var floats: [Float] = []
    var ints: [Int64] = []
    var strings: [String] = []
    var hasGraph = false
    var refAttributeName: String?

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited): name = try reader.readString()
            case (2, .fixed32): float = try reader.readFloat()
            case (3, .varint): int = try reader.readInt64()
            case (4, .lengthDelimited): string = try reader.readString()
            case (5, .lengthDelimited):
                var message = try reader.readMessage()
                tensor = try ONNXTensorProto(&message)
            case (6, .lengthDelimited), (11, .lengthDelimited):
                _ = try reader.readLengthDelimited()
                hasGraph = true
            case (7, .fixed32), (7, .lengthDelimited): try reader.readRepeatedFloat(wireType, into: &floats)
            case (8, .varint), (8, .lengthDelimited): try reader.readRepeatedInt64(wireType, into: &ints)
            case (9, .lengthDelimited): strings.append(try reader.readString())
            case (20, .varint): type = try reader.readInt()
            case (21, .lengthDelimited): refAttributeName = try reader.readString()
            default: try reader.skip(wireType)
            }
        }
    }
}

/// TensorProto: an initializer or a constant. The data fields are located, not copied;
/// `values` holds the elements of a tensor of at most `maxDecodedElements` stored inline.
struct ONNXTensorProto: Sendable {
    var name = ""
    var dims: [Int64] = []
    var dataType = 0
    var isExternal = false
    var externalLocation: String?
    var values: ONNXTensorValues?

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        var raw: Range<Int>?
        var floatData: [Range<Int>] = []
        var int32Data: [Range<Int>] = []
        var int64Data: [Range<Int>] = []
        var doubleData: [Range<Int>] = []
        var unpackedFloats: [Float] = []
        var unpackedInts: [Int64] = []
        var unpackedDoubles: [Double] = []
        var sawData = false
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .varint), (1, .lengthDelimited): try reader.readRepeatedInt64(wireType, into: &dims)
            case (2, .varint): dataType = try reader.readInt()
            // Data: remembered where it lies, decoded below only when small.
            case (4, .lengthDelimited): floatData.append(try reader.readLengthDelimited()); sawData = true
            case (4, .fixed32): unpackedFloats.append(try reader.readFloat()); sawData = true
            case (5, .lengthDelimited): int32Data.append(try reader.readLengthDelimited()); sawData = true
            case (7, .lengthDelimited): int64Data.append(try reader.readLengthDelimited()); sawData = true
            case (5, .varint), (7, .varint): unpackedInts.append(try reader.readInt64()); sawData = true
            case (10, .lengthDelimited): doubleData.append(try reader.readLengthDelimited()); sawData = true
            case (10, .fixed64): unpackedDoubles.append(try reader.readDouble()); sawData = true
            case (9, .lengthDelimited): raw = try reader.readLengthDelimited(); sawData = true
            case (8, .lengthDelimited): name = try reader.readString()
            case (13, .lengthDelimited):
                var message = try reader.readMessage()
                let entry = try ONNXStringStringEntry(&message)
                if entry.key == "location" { externalLocation = entry.value }
            case (14, .varint): isExternal = try reader.readInt() == 1
            default: try reader.skip(wireType)
            }
        }
        guard sawData, !isExternal, let count = Self.elementCount(dims), count <= ONNXModelProto.maxDecodedElements else { return }
        let element = ONNXElementType(rawValue: dataType)
        if let raw {
            values = try Self.decodeRaw(reader.reader(over: raw), count: count, element: element)
        } else if !floatData.isEmpty || !unpackedFloats.isEmpty {
            var floats = unpackedFloats
            for range in floatData {
                guard range.count % 4 == 0 else { return }
                var packed = reader.reader(over: range)
                while !packed.isAtEnd { floats.append(try packed.readFloat()) }
            }
            if floats.count == count { values = .floats(floats.map { Double(decimal: $0) }) }
        } else if !doubleData.isEmpty || !unpackedDoubles.isEmpty {
            var doubles = unpackedDoubles
            for range in doubleData {
                guard range.count % 8 == 0 else { return }
                var packed = reader.reader(over: range)
                while !packed.isAtEnd { doubles.append(try packed.readDouble()) }
            }
            if doubles.count == count { values = .floats(doubles) }
        } else {
            var ints = unpackedInts
            for range in int32Data + int64Data {
                var packed = reader.reader(over: range)
                while !packed.isAtEnd { ints.append(try packed.readInt64()) }
            }
            guard ints.count == count else { return }
            switch element {
            case .float16?, .bfloat16?:
                values = .floats(ints.map { Self.halfToDouble(UInt16(truncatingIfNeeded: $0), bfloat: element == .bfloat16) })
            case .bool?: values = .ints(ints.map { $0 != 0 ? 1 : 0 })
            default: values = .ints(ints.map { Int(truncatingIfNeeded: $0) })
            }
        }
    }

    /// The number of elements, or nil for a negative dimension or an overflowing product.
    static func elementCount(_ dims: [Int64]) -> Int? {
        var count = 1
        for d in dims {
            guard d >= 0, d <= Int64(Int.max) else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Little-endian raw_data of the element types shape folding uses.
    static func decodeRaw(_ reader: ProtobufReader, count: Int, element: ONNXElementType?) throws(ProtobufError) -> ONNXTensorValues? {
        guard let element, let size = element.rawByteWidth else { return nil }
        let range = reader.position..<reader.end
        guard range.count == count * size else { return nil }
        let bytes = reader.bytes
        func little(_ offset: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<width { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            return value
        }
        let offsets = stride(from: range.lowerBound, to: range.upperBound, by: size)
        switch element {
        case .float: return .floats(offsets.map { Double(decimal: Float(bitPattern: UInt32(little($0, 4)))) })
        case .double: return .floats(offsets.map { Double(bitPattern: little($0, 8)) })
        case .float16, .bfloat16: return .floats(offsets.map { halfToDouble(UInt16(little($0, 2)), bfloat: element == .bfloat16) })
        case .int64: return .ints(offsets.map { Int(Int64(bitPattern: little($0, 8))) })
        case .int32: return .ints(offsets.map { Int(Int32(bitPattern: UInt32(little($0, 4)))) })
        case .int16: return .ints(offsets.map { Int(Int16(bitPattern: UInt16(little($0, 2)))) })
        case .int8: return .ints(offsets.map { Int(Int8(bitPattern: UInt8(little($0, 1)))) })
        case .uint8, .uint16, .uint32, .uint64: return .ints(offsets.map { Int(truncatingIfNeeded: little($0, size)) })
        case .bool: return .ints(offsets.map { little($0, 1) != 0 ? 1 : 0 })
        default: return nil
        }
    }

    static func halfToDouble(_ bits: UInt16, bfloat: Bool) -> Double {
        if bfloat { return Double(Float(bitPattern: UInt32(bits) << 16)) }
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int((bits >> 10) & 0x1f)
        let mantissa = Double(bits & 0x3ff)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }
}

/// The decoded elements of a small tensor, row-major.
enum ONNXTensorValues: Sendable, Equatable {
    case ints([Int])
    case floats([Double])
}

/// StringStringEntryProto (external data entries, metadata).
struct ONNXStringStringEntry: Sendable {
    var key = ""
    var value = ""

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited): key = try reader.readString()
            case (2, .lengthDelimited): value = try reader.readString()
            default: try reader.skip(wireType)
            }
        }
    }
}

/// ValueInfoProto: a named value and its type.
struct ONNXValueInfoProto: Sendable {
    var name = ""
    var type: ONNXTypeProto?

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited): name = try reader.readString()
            case (2, .lengthDelimited):
                var message = try reader.readMessage()
                type = try ONNXTypeProto(&message)
            default: try reader.skip(wireType)
            }
        }
    }
}

/// TypeProto, of which only tensor types (TypeProto.Tensor) are read; `isTensor` is false
/// for sequences, maps, optionals and sparse tensors.
struct ONNXTypeProto: Sendable {
    var isTensor = false
    var elementType = 0
    /// nil when the tensor type states no shape (unknown rank).
    var shape: [ONNXDimension]?

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .lengthDelimited):
                isTensor = true
                var tensor = try reader.readMessage()
                while let (field, wire) = try tensor.nextField() {
                    switch (field, wire) {
                    case (1, .varint): elementType = try tensor.readInt()
                    case (2, .lengthDelimited):
                        var shapeReader = try tensor.readMessage()
                        var dims: [ONNXDimension] = []
                        while let (dimField, dimWire) = try shapeReader.nextField() {
                            if dimField == 1, dimWire == .lengthDelimited {
                                var dimension = try shapeReader.readMessage()
                                dims.append(try ONNXDimension(&dimension))
                            } else {
                                try shapeReader.skip(dimWire)
                            }
                        }
                        shape = dims
                    default: try tensor.skip(wire)
                    }
                }
            default: try reader.skip(wireType)
            }
        }
    }
}

/// TensorShapeProto.Dimension: a size, a symbol (`dim_param`), or nothing (unknown).
enum ONNXDimension: Sendable, Equatable {
    case value(Int64)
    case symbol(String)
    case unknown

    init(_ reader: inout ProtobufReader) throws(ProtobufError) {
        var result = ONNXDimension.unknown
        while let (number, wireType) = try reader.nextField() {
            switch (number, wireType) {
            case (1, .varint): result = .value(try reader.readInt64())
            case (2, .lengthDelimited): result = .symbol(try reader.readString())
            default: try reader.skip(wireType)
            }
        }
        self = result
    }
}

/// TensorProto.DataType.
enum ONNXElementType: Int, Sendable, CaseIterable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8, bool = 9
    case float16 = 10, double = 11, uint32 = 12, uint64 = 13, complex64 = 14, complex128 = 15, bfloat16 = 16

    /// Bytes per element in raw_data (nil for strings and complex numbers).
    var rawByteWidth: Int? {
        switch self {
        case .float, .int32, .uint32: 4
        case .double, .int64, .uint64: 8
        case .float16, .bfloat16, .int16, .uint16: 2
        case .uint8, .int8, .bool: 1
        case .string, .complex64, .complex128: nil
        }
    }

    var isFloatingPoint: Bool {
        switch self {
        case .float, .double, .float16, .bfloat16: true
        default: false
        }
    }

    /// The graph's element type for a tensor of this type; nil when nnflops has none.
    var dtype: DType? {
        switch self {
        case .float: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .int64: .int64
        case .int32: .int32
        case .uint8: .uint8
        case .bool: .bool
        default: nil
        }
    }

    var name: String {
        switch self {
        case .float: "float"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .string: "string"
        case .bool: "bool"
        case .float16: "float16"
        case .double: "double"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .complex64: "complex64"
        case .complex128: "complex128"
        case .bfloat16: "bfloat16"
        }
    }

    static func name(of rawValue: Int) -> String { ONNXElementType(rawValue: rawValue)?.name ?? "element type \(rawValue)" }
}
