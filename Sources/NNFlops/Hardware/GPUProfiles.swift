/// A numeric format a GPU computes in, for looking up its peak throughput.
public enum NumericFormat: String, Sendable, CaseIterable, Codable {
    case fp64, fp32, tf32, fp16, bf16, fp8, int8
}

/// One accelerator: its dense peak throughput per numeric format, memory size and memory
/// bandwidth. Every figure is a datasheet figure, stored in base units (FLOP/s, integer
/// ops/s, bytes, bytes/s) so analyses never scale by hand.
///
/// Dense, not sparse: NVIDIA datasheets print the tensor-core TF32/FP16/BF16/FP8/INT8
/// figures *with 2:4 structured sparsity* (marked with an asterisk); the figures held
/// here are the dense ones, half of those (`reference/gpus.md`). A `nil` figure means the
/// GPU has no such unit (the V100 has no BF16, no TF32 and no FP64 tensor cores; the A100
/// has no FP8) or that the datasheet does not print it (the H100 PCIe non-tensor FP16).
///
/// Memory sizes are the datasheet's "GB" figure read as 10^9 bytes (80 GB = 80e9 bytes).
/// What a program can allocate is another figure: the total the CUDA driver reports
/// (`cudaMemGetInfo`'s total, `cudaDeviceProp.totalGlobalMem`, PyTorch's
/// `torch.cuda.get_device_properties(0).total_memory`, deviceQuery's "Total amount of
/// global memory"), 85,017,493,504 bytes on an H100 80GB HBM3 rather than 80e9. It
/// depends a little on the driver (deviceQuery logs of the same GPU differ by tens of
/// MiB across driver versions). `reportedMemoryBytes` holds it where a published report
/// was found, with its source; `fit` fills `usableMemoryBytes`. `nvidia-smi`'s
/// "memory.total" is larger again (it counts memory the driver keeps for itself).
/// Bandwidth is the datasheet's GB/s, also 10^9 bytes per second.
public struct GPUProfile: Sendable, Hashable, Codable, Identifiable {
    /// Stable identifier used on the command line and in JSON (`h100-sxm`).
    public var id: String
    /// Human name, including the form factor (`NVIDIA H100 SXM5 80GB`).
    public var name: String
    /// Form factor: "SXM2", "SXM4", "SXM5", "PCIe".
    public var formFactor: String
    /// Memory technology ("HBM2", "HBM2e", "HBM3", "HBM3e").
    public var memoryType: String

    /// FP64 on the CUDA cores (vector), FLOP/s.
    public var fp64: Double
    /// FP64 on the tensor cores, FLOP/s (nil: no FP64 tensor cores).
    public var fp64Tensor: Double?
    /// FP32 on the CUDA cores (vector), FLOP/s.
    public var fp32: Double
    /// TF32 on the tensor cores, dense FLOP/s.
    public var tf32Tensor: Double?
    /// FP16 on the tensor cores (FP32 or FP16 accumulate as the datasheet prints it), dense FLOP/s.
    public var fp16Tensor: Double
    /// BF16 on the tensor cores, dense FLOP/s (nil on the V100, which has no BF16).
    public var bf16Tensor: Double?
    /// FP8 on the tensor cores, dense FLOP/s (Hopper onwards).
    public var fp8Tensor: Double?
    /// INT8 on the tensor cores, dense integer ops/s.
    public var int8Tensor: Double?
    /// FP16 on the CUDA cores (non-tensor), FLOP/s.
    public var fp16NonTensor: Double?

    /// Device memory in bytes (datasheet GB x 10^9).
    public var memoryBytes: Double
    /// The total memory the CUDA driver reports for the device (`cudaMemGetInfo`), in
    /// bytes; nil where no published report was found.
    public var reportedMemoryBytes: Double?
    /// Where `reportedMemoryBytes` comes from, or why it is missing.
    public var reportedMemorySource: String
    /// Peak memory bandwidth in bytes per second (datasheet GB/s x 10^9).
    public var memoryBandwidth: Double
    /// Where the figures come from.
    public var source: String
    /// GPU-to-GPU bandwidth inside a node, both directions together (the datasheet's
    /// figure), bytes/s: NVLink on the SXM parts, the PCIe link on the PCIe cards.
    public var intraNodeBandwidth: Double
    /// The link `intraNodeBandwidth` is for ("NVLink 3", "PCIe Gen4 x16").
    public var intraNodeLink: String
    /// Network bandwidth per GPU between nodes, one direction, bytes/s (default: one
    /// 400 Gb/s InfiniBand NDR port per GPU, as DGX H100 and DGX A100 systems have).
    public var networkBandwidth: Double

    public init(id: String, name: String, formFactor: String, memoryType: String,
                fp64: Double, fp64Tensor: Double?, fp32: Double, tf32Tensor: Double?,
                fp16Tensor: Double, bf16Tensor: Double?, fp8Tensor: Double?, int8Tensor: Double?,
                fp16NonTensor: Double?, memoryBytes: Double, memoryBandwidth: Double, source: String,
                reportedMemoryBytes: Double? = nil, reportedMemorySource: String = GPUProfile.noReportedMemory,
                intraNodeBandwidth: Double = GPUProfile.pcieGen4, intraNodeLink: String = "PCIe Gen4 x16",
                networkBandwidth: Double = GPUProfile.defaultNetworkBandwidth) {
        self.id = id
        self.name = name
        self.formFactor = formFactor
        self.memoryType = memoryType
        self.fp64 = fp64
        self.fp64Tensor = fp64Tensor
        self.fp32 = fp32
        self.tf32Tensor = tf32Tensor
        self.fp16Tensor = fp16Tensor
        self.bf16Tensor = bf16Tensor
        self.fp8Tensor = fp8Tensor
        self.int8Tensor = int8Tensor
        self.fp16NonTensor = fp16NonTensor
        self.memoryBytes = memoryBytes
        self.memoryBandwidth = memoryBandwidth
        self.source = source
        self.reportedMemoryBytes = reportedMemoryBytes
        self.reportedMemorySource = reportedMemorySource
        self.intraNodeBandwidth = intraNodeBandwidth
        self.intraNodeLink = intraNodeLink
        self.networkBandwidth = networkBandwidth
    }

    /// 400 Gb/s (InfiniBand NDR, one ConnectX-7 port per GPU) = 50e9 bytes/s each way.
    public static let defaultNetworkBandwidth = 400e9 / 8
    /// PCIe x16 links, both directions together, as the datasheets print them.
    public static let pcieGen3 = 32e9, pcieGen4 = 64e9, pcieGen5 = 128e9

    /// `reportedMemorySource` of a profile without a reported figure.
    public static let noReportedMemory = "no published report of the driver's total found: the datasheet figure is used"

    /// The memory a training run can fill: the reported total, else the datasheet figure.
    public var usableMemoryBytes: Double { reportedMemoryBytes ?? memoryBytes }

    /// Dense peak for matrix work in `format`: the tensor-core figure where the GPU has
    /// tensor cores for that format, else the vector (CUDA-core) figure; nil when the GPU
    /// cannot compute in that format at all (BF16/FP8 on a V100, FP8 on an A100).
    public func matrixPeak(_ format: NumericFormat) -> Double? {
        switch format {
        case .fp64: return fp64Tensor ?? fp64
        case .fp32: return fp32
        case .tf32: return tf32Tensor
        case .fp16: return fp16Tensor
        case .bf16: return bf16Tensor
        case .fp8: return fp8Tensor
        case .int8: return int8Tensor
        }
    }

    /// Dense peak for element-wise (non-tensor-core) work in `format`; nil where the
    /// datasheet gives no such figure.
    public func vectorPeak(_ format: NumericFormat) -> Double? {
        switch format {
        case .fp64: return fp64
        case .fp32, .tf32: return fp32
        case .fp16: return fp16NonTensor
        case .bf16, .fp8, .int8: return nil
        }
    }

    /// The half-precision format mixed-precision training uses on this GPU: BF16 where
    /// the tensor cores support it, else FP16 (the V100).
    public var trainingHalfFormat: NumericFormat { bf16Tensor != nil ? .bf16 : .fp16 }

    /// Whether the GPU computes in a precision policy's half type (bf16 policies need bf16
    /// units, which the V100 lacks): the rule `roofline` applies, so `fit` offers the same.
    public func supports(_ precision: PrecisionPolicy) -> Bool { precision.halfType != .bfloat16 || bf16Tensor != nil }

    /// Throws the error `roofline` gives for a precision the GPU cannot compute in.
    public func check(_ precision: PrecisionPolicy) throws {
        guard supports(precision) else {
            throw NNFlopsError("\(name) cannot compute in bf16 (--precision \(precision.rawValue)): it has no bf16 units",
                               notes: ["note: use fp16 (amp-fp16 / fp16) on this GPU; bf16 needs an A100 or newer"])
        }
    }
}

private let tera = 1e12
private let giga = 1e9

extension GPUProfile {
    /// The built-in profiles (design.md §6, `reference/gpus.md`), dense figures only.
    /// Interconnect: each datasheet's "Interconnect" row, both directions together: V100
    /// SXM2 NVLink 300 GB/s, V100 PCIe 32 GB/s (PCIe Gen3), A100 SXM NVLink 600 GB/s,
    /// A100 PCIe 64 GB/s (PCIe Gen4; its optional two-GPU NVLink bridge is not assumed),
    /// H100 SXM and H200 SXM NVLink 900 GB/s, H100 PCIe 128 GB/s (PCIe Gen5; likewise).
    public static let builtins: [GPUProfile] = [
        // NVIDIA Tesla V100 datasheet (July 2017 / 2020 revisions), SXM2 column. The
        // V100 ships with 16 GB or 32 GB; `v100-sxm2` is the 32 GB part, `v100-sxm2-16gb`
        // the 16 GB one. Tensor figure: 125 TFLOP/s FP16 (V100 has no sparsity, no BF16).
        GPUProfile(id: "v100-sxm2", name: "NVIDIA V100 SXM2 32GB", formFactor: "SXM2", memoryType: "HBM2",
                   fp64: 7.8 * tera, fp64Tensor: nil, fp32: 15.7 * tera, tf32Tensor: nil,
                   fp16Tensor: 125 * tera, bf16Tensor: nil, fp8Tensor: nil, int8Tensor: nil,
                   fp16NonTensor: 31.4 * tera, memoryBytes: 32 * giga, memoryBandwidth: 900 * giga,
                   source: "NVIDIA Tesla V100 datasheet, SXM2 column",
                   intraNodeBandwidth: 300 * giga, intraNodeLink: "NVLink 2"),
        // Same datasheet and column, 16 GB memory option.
        GPUProfile(id: "v100-sxm2-16gb", name: "NVIDIA V100 SXM2 16GB", formFactor: "SXM2", memoryType: "HBM2",
                   fp64: 7.8 * tera, fp64Tensor: nil, fp32: 15.7 * tera, tf32Tensor: nil,
                   fp16Tensor: 125 * tera, bf16Tensor: nil, fp8Tensor: nil, int8Tensor: nil,
                   fp16NonTensor: 31.4 * tera, memoryBytes: 16 * giga, memoryBandwidth: 900 * giga,
                   source: "NVIDIA Tesla V100 datasheet, SXM2 column",
                   intraNodeBandwidth: 300 * giga, intraNodeLink: "NVLink 2"),
        // NVIDIA Tesla V100 datasheet, PCIe column; 32 GB part (`v100-pcie-16gb`: 16 GB).
        GPUProfile(id: "v100-pcie", name: "NVIDIA V100 PCIe 32GB", formFactor: "PCIe", memoryType: "HBM2",
                   fp64: 7 * tera, fp64Tensor: nil, fp32: 14 * tera, tf32Tensor: nil,
                   fp16Tensor: 112 * tera, bf16Tensor: nil, fp8Tensor: nil, int8Tensor: nil,
                   fp16NonTensor: 28 * tera, memoryBytes: 32 * giga, memoryBandwidth: 900 * giga,
                   source: "NVIDIA Tesla V100 datasheet, PCIe column",
                   intraNodeBandwidth: GPUProfile.pcieGen3, intraNodeLink: "PCIe Gen3 x16"),
        // Same datasheet and column, 16 GB memory option.
        GPUProfile(id: "v100-pcie-16gb", name: "NVIDIA V100 PCIe 16GB", formFactor: "PCIe", memoryType: "HBM2",
                   fp64: 7 * tera, fp64Tensor: nil, fp32: 14 * tera, tf32Tensor: nil,
                   fp16Tensor: 112 * tera, bf16Tensor: nil, fp8Tensor: nil, int8Tensor: nil,
                   fp16NonTensor: 28 * tera, memoryBytes: 16 * giga, memoryBandwidth: 900 * giga,
                   source: "NVIDIA Tesla V100 datasheet, PCIe column",
                   intraNodeBandwidth: GPUProfile.pcieGen3, intraNodeLink: "PCIe Gen3 x16"),
        // NVIDIA A100 Tensor Core GPU datasheet (r4), "A100 40GB SXM" column; sparse
        // tensor figures (312*/624*/1248*) halved to dense 156/312/624.
        GPUProfile(id: "a100-sxm-40gb", name: "NVIDIA A100 SXM4 40GB", formFactor: "SXM4", memoryType: "HBM2",
                   fp64: 9.7 * tera, fp64Tensor: 19.5 * tera, fp32: 19.5 * tera, tf32Tensor: 156 * tera,
                   fp16Tensor: 312 * tera, bf16Tensor: 312 * tera, fp8Tensor: nil, int8Tensor: 624 * tera,
                   fp16NonTensor: 78 * tera, memoryBytes: 40 * giga, memoryBandwidth: 1_555 * giga,
                   source: "NVIDIA A100 datasheet (r4), A100 40GB SXM column",
                   reportedMemoryBytes: 42_405_855_232,
                   reportedMemorySource: "deviceQuery, NVIDIA A100-SXM4-40GB: 40441 MBytes (42405855232 bytes); Paderborn Center for " +
                       "Parallel Computing, https://upb-pc2.atlassian.net/wiki/spaces/PC2DOK/pages/1900609/NVIDIA+A100+40GB+with+NVLINK",
                   intraNodeBandwidth: 600 * giga, intraNodeLink: "NVLink 3"),
        // NVIDIA A100 datasheet (r4), "A100 80GB SXM" column (HBM2e, 2,039 GB/s).
        GPUProfile(id: "a100-sxm-80gb", name: "NVIDIA A100 SXM4 80GB", formFactor: "SXM4", memoryType: "HBM2e",
                   fp64: 9.7 * tera, fp64Tensor: 19.5 * tera, fp32: 19.5 * tera, tf32Tensor: 156 * tera,
                   fp16Tensor: 312 * tera, bf16Tensor: 312 * tera, fp8Tensor: nil, int8Tensor: 624 * tera,
                   fp16NonTensor: 78 * tera, memoryBytes: 80 * giga, memoryBandwidth: 2_039 * giga,
                   source: "NVIDIA A100 datasheet (r4), A100 80GB SXM column",
                   reportedMemoryBytes: 85_100_068_864,
                   reportedMemorySource: "deviceQuery, NVIDIA A100-SXM4-80GB, CUDA 12.5 driver: 81158 MBytes " +
                       "(85100068864 bytes); github.com/thamada/nvidia-smi, nvsim/A100SXMx4_deviceQuery.py",
                   intraNodeBandwidth: 600 * giga, intraNodeLink: "NVLink 3"),
        // NVIDIA A100 datasheet (r4), "A100 40GB PCIe" column (1,555 GB/s).
        GPUProfile(id: "a100-pcie-40gb", name: "NVIDIA A100 PCIe 40GB", formFactor: "PCIe", memoryType: "HBM2",
                   fp64: 9.7 * tera, fp64Tensor: 19.5 * tera, fp32: 19.5 * tera, tf32Tensor: 156 * tera,
                   fp16Tensor: 312 * tera, bf16Tensor: 312 * tera, fp8Tensor: nil, int8Tensor: 624 * tera,
                   fp16NonTensor: 78 * tera, memoryBytes: 40 * giga, memoryBandwidth: 1_555 * giga,
                   source: "NVIDIA A100 datasheet (r4), A100 40GB PCIe column",
                   intraNodeBandwidth: GPUProfile.pcieGen4, intraNodeLink: "PCIe Gen4 x16"),
        // NVIDIA A100 datasheet (r4), "A100 80GB PCIe" column (HBM2e, 1,935 GB/s).
        GPUProfile(id: "a100-pcie-80gb", name: "NVIDIA A100 PCIe 80GB", formFactor: "PCIe", memoryType: "HBM2e",
                   fp64: 9.7 * tera, fp64Tensor: 19.5 * tera, fp32: 19.5 * tera, tf32Tensor: 156 * tera,
                   fp16Tensor: 312 * tera, bf16Tensor: 312 * tera, fp8Tensor: nil, int8Tensor: 624 * tera,
                   fp16NonTensor: 78 * tera, memoryBytes: 80 * giga, memoryBandwidth: 1_935 * giga,
                   source: "NVIDIA A100 datasheet (r4), A100 80GB PCIe column",
                   intraNodeBandwidth: GPUProfile.pcieGen4, intraNodeLink: "PCIe Gen4 x16"),
        // NVIDIA H100 Tensor Core GPU datasheet, "H100 SXM" column (SXM5, 80 GB HBM3,
        // 3.35 TB/s); sparse tensor figures (989*/1,979*/3,958*) halved to dense.
        GPUProfile(id: "h100-sxm", name: "NVIDIA H100 SXM5 80GB", formFactor: "SXM5", memoryType: "HBM3",
                   fp64: 34 * tera, fp64Tensor: 67 * tera, fp32: 67 * tera, tf32Tensor: 494.7 * tera,
                   fp16Tensor: 989.4 * tera, bf16Tensor: 989.4 * tera, fp8Tensor: 1_978.9 * tera, int8Tensor: 1_978.9 * tera,
                   fp16NonTensor: 133.8 * tera, memoryBytes: 80 * giga, memoryBandwidth: 3_350 * giga,
                   source: "NVIDIA H100 datasheet, H100 SXM column",
                   reportedMemoryBytes: 85_017_493_504,
                   reportedMemorySource: "cudaMemGetInfo total of an NVIDIA H100 80GB HBM3 (PyTorch total_memory 81079 MiB); deviceQuery " +
                       "under CUDA 12.7 prints 85045477376 bytes (github.com/thamada/nvidia-smi, nvsim/H100SXMx8_deviceQuery.py)",
                   intraNodeBandwidth: 900 * giga, intraNodeLink: "NVLink 4"),
        // NVIDIA H100 datasheet, "H100 PCIe" column (80 GB HBM2e, 2 TB/s); the datasheet
        // prints no non-tensor FP16 figure for it.
        GPUProfile(id: "h100-pcie", name: "NVIDIA H100 PCIe 80GB", formFactor: "PCIe", memoryType: "HBM2e",
                   fp64: 26 * tera, fp64Tensor: 51 * tera, fp32: 51 * tera, tf32Tensor: 378 * tera,
                   fp16Tensor: 756 * tera, bf16Tensor: 756 * tera, fp8Tensor: 1_513 * tera, int8Tensor: 1_513 * tera,
                   fp16NonTensor: nil, memoryBytes: 80 * giga, memoryBandwidth: 2_000 * giga,
                   source: "NVIDIA H100 datasheet, H100 PCIe column",
                   intraNodeBandwidth: GPUProfile.pcieGen5, intraNodeLink: "PCIe Gen5 x16"),
        // NVIDIA H200 product page / datasheet, "H200 SXM" column: H100 SXM compute,
        // 141 GB HBM3e at 4.8 TB/s.
        GPUProfile(id: "h200", name: "NVIDIA H200 SXM 141GB", formFactor: "SXM5", memoryType: "HBM3e",
                   fp64: 34 * tera, fp64Tensor: 67 * tera, fp32: 67 * tera, tf32Tensor: 494.7 * tera,
                   fp16Tensor: 989.4 * tera, bf16Tensor: 989.4 * tera, fp8Tensor: 1_978.9 * tera, int8Tensor: 1_978.9 * tera,
                   fp16NonTensor: 133.8 * tera, memoryBytes: 141 * giga, memoryBandwidth: 4_800 * giga,
                   source: "NVIDIA H200 product page, H200 SXM column",
                   intraNodeBandwidth: 900 * giga, intraNodeLink: "NVLink 4"),
    ]

    /// Identifiers of the built-in profiles, in table order.
    public static var builtinIDs: [String] { builtins.map(\.id) }

    /// The built-in profile with this identifier (case-insensitive), or an error that
    /// suggests the nearest identifiers and lists them all.
    public static func named(_ id: String) throws -> GPUProfile { try named(id, extra: []) }

    /// The profile named `id` (case-insensitive) among `extra` (user profiles, `--hardware`)
    /// and the built-ins, or an error that suggests the nearest identifiers by name
    /// (`h100` -> `h100-sxm`, `h100-pcie`) and lists them all.
    public static func named(_ id: String, extra: [GPUProfile]) throws -> GPUProfile {
        let key = id.lowercased()
        if let profile = extra.first(where: { $0.id == key }) ?? builtins.first(where: { $0.id == key }) { return profile }
        var notes: [String] = []
        if let hint = didYouMean(suggestions(for: key, in: extra.map(\.id) + builtinIDs)) { notes.append(hint) }
        notes.append("note: known GPUs: " + builtinIDs.joined(separator: ", "))
        if !extra.isEmpty { notes.append("note: from --hardware: " + extra.map(\.id).joined(separator: ", ")) }
        throw NNFlopsError("unknown GPU '\(id)'", notes: notes)
    }
}
