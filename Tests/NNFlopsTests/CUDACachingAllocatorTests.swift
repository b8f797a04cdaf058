import Testing
@testable import NNFlops

/// PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp), by hand: every
/// expectation below is worked out from the source's rules (`round_size`,
/// `get_allocation_size`, `should_split`, `get_free_block`, `free_block`) and its
/// constants: 512 B blocks, a 1 MiB small/large boundary, 2 MiB small segments, 20 MiB
/// segments for requests below 10 MiB, larger ones rounded to 2 MiB. No GPU was available
/// to measure it; the static-memory figure is held to the H100 measurement instead.
@Suite("CUDA caching allocator")
struct CUDACachingAllocatorTests {
    static let KiB = 1024
    static let MiB = 1024 * 1024

    @Test func requestsRoundTo512Bytes() {
        #expect(CUDACachingAllocator.roundSize(1) == 512)
        #expect(CUDACachingAllocator.roundSize(512) == 512)
        #expect(CUDACachingAllocator.roundSize(513) == 1024)
        // 1,000,000 / 512 = 1953.125 -> 1954 blocks of 512 = 1,000,448.
        #expect(CUDACachingAllocator.roundSize(1_000_000) == 1_000_448)
    }

    @Test func segmentSizes() {
        let MiB = Self.MiB
        // Up to 1 MiB: a 2 MiB small segment.
        #expect(CUDACachingAllocator.allocationSize(512) == 2 * MiB)
        #expect(CUDACachingAllocator.allocationSize(1 * MiB) == 2 * MiB)
        // Above 1 MiB and below 10 MiB: a 20 MiB segment.
        #expect(CUDACachingAllocator.allocationSize(1 * MiB + 512) == 20 * MiB)
        #expect(CUDACachingAllocator.allocationSize(10 * MiB - 512) == 20 * MiB)
        // 10 MiB and above: the request rounded up to 2 MiB.
        #expect(CUDACachingAllocator.allocationSize(10 * MiB) == 10 * MiB)
        #expect(CUDACachingAllocator.allocationSize(10 * MiB + 512) == 12 * MiB)
    }

    @Test func smallPoolPacksAndReusesBlocks() throws {
        var a = CUDACachingAllocator()
        #expect(a.malloc(0) == nil)
        #expect(a.reservedBytes == 0)
        let x = try a.request(1000)   // 1024 B at address 0 of a new 2 MiB segment
        let y = try a.request(3000)   // 3072 B right after it
        #expect(a.allocatedBytes == 1024 + 3072)
        #expect(a.reservedBytes == 2 * Self.MiB)
        #expect(a.blocks[y].address == 1024)
        a.free(x)
        #expect(a.allocatedBytes == 3072)
        // 600 B rounds to 1024: the best fit is x's freed block (1024 B), not the
        // segment's 2 MiB - 4096 B tail.
        let z = try a.request(600)
        #expect(a.blocks[z].address == 0)
        #expect(a.allocatedBytes == 1024 + 3072)
        #expect(a.reservedBytes == 2 * Self.MiB)
        // 1 MiB exactly is still small: it fits the tail, no new segment.
        _ = a.malloc(1 * Self.MiB)
        #expect(a.reservedBytes == 2 * Self.MiB)
        #expect(a.allocatedBytes == 4096 + Self.MiB)
    }

    @Test func largePoolSplitsOnlyAboveOneMiB() throws {
        let MiB = Self.MiB
        var a = CUDACachingAllocator()
        // 5 MiB: a 20 MiB segment, split: 5 MiB allocated, 15 MiB left free.
        let five = try a.request(5 * MiB)
        #expect(a.reservedBytes == 20 * MiB)
        #expect(a.allocatedBytes == 5 * MiB)
        // 14 MiB fits the free 15 MiB; the 1 MiB rest is not more than 1 MiB, so the whole
        // 15 MiB block is allocated.
        let fourteen = try a.request(14 * MiB)
        #expect(a.size(of: fourteen) == 15 * MiB)
        #expect(a.allocatedBytes == 20 * MiB)
        #expect(a.reservedBytes == 20 * MiB)
        // Both freed: they merge back into one 20 MiB block, which serves 19 MiB + 1 B
        // (19 MiB + 512 after rounding, leaving 512 KiB - 512 B: not split) without cudaMalloc.
        a.free(five)
        a.free(fourteen)
        #expect(a.allocatedBytes == 0)
        let nineteen = try a.request(19 * MiB + 1)
        #expect(a.size(of: nineteen) == 20 * MiB)
        #expect(a.reservedBytes == 20 * MiB)
        // A small request never takes from the large pool: a new 2 MiB segment.
        _ = a.malloc(100)
        #expect(a.reservedBytes == 22 * MiB)
        // 21 MiB fits nothing: a segment of 21 MiB rounded up to 2 MiB = 22 MiB.
        _ = a.malloc(21 * MiB)
        #expect(a.reservedBytes == 44 * MiB)
        #expect(a.peakAllocatedBytes == 20 * MiB + 512 + 22 * MiB)
    }

    @Test func freedBlocksMergeWithBothNeighbours() throws {
        let MiB = Self.MiB
        var a = CUDACachingAllocator()
        // Three 4 MiB blocks from one 20 MiB segment (8 MiB left free after them).
        let first = try a.request(4 * MiB)
        let second = try a.request(4 * MiB)
        let third = try a.request(4 * MiB)
        #expect(a.reservedBytes == 20 * MiB)
        a.free(first)
        a.free(third)   // merges with the 8 MiB tail: a 12 MiB free block
        // 11 MiB: best fit is the 12 MiB block (4 MiB is too small); 1 MiB rest, not split.
        let eleven = try a.request(11 * MiB)
        #expect(a.size(of: eleven) == 12 * MiB)
        a.free(eleven)
        a.free(second)  // merges left (first) and right (the 12 MiB): the whole segment
        let whole = try a.request(20 * MiB)
        #expect(a.blocks[whole].address == 0)
        #expect(a.reservedBytes == 20 * MiB)
    }

    /// The H100 measurement of resnet50 at batch 32 with SGD: `memory_allocated` after a
    /// full step and `zero_grad(set_to_none=True)`, relative to before the model was built,
    /// was 121,742,848 B (PyTorch 2.11, mem_model_and_opt_state). The tensors themselves
    /// are 102,228,128 B of parameters, 212,904 B of buffers and a 19,267,584 B batch
    /// (121,708,616 B); one 512-byte-rounded block each is exactly the measurement.
    @Test func staticBlocksAreTheMeasuredResnet50Memory() throws {
        let graph = try ModelRequest("resnet50", batch: 32).graph()
        let costs = try CostAnalysis(graph: graph)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(optimizer: .sgd))
        #expect(memory.staticBytes == 121_708_616)
        #expect(memory.cudaAllocator.staticAllocatedBytes == 121_742_848)
    }

    @Test func reservedHoldsTheAllocatedBlocksWhichHoldTheTensors() throws {
        for (model, optimizer) in [("mlp", Optimizer.adam), ("resnet18", .sgd), ("gpt2", .adamw)] {
            let graph = try ModelRequest(model, batch: 2).graph()
            let costs = try CostAnalysis(graph: graph)
            let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(optimizer: optimizer))
            let cuda = memory.cudaAllocator
            #expect(cuda.allocatedPeakBytes >= memory.peakBytes, "\(model)")
            #expect(cuda.reservedBytes >= cuda.allocatedPeakBytes, "\(model)")
            #expect(cuda.staticAllocatedBytes >= memory.staticBytes, "\(model)")
            // Segments come in 2 MiB units (small ones are 2 MiB, large ones 20 MiB or
            // rounded to 2 MiB).
            #expect(cuda.reservedBytes % (2 * Self.MiB) == 0, "\(model)")
        }
    }

    /// A cuBLAS handle per thread that runs cuBLAS (aten/src/ATen/cuda/CublasHandlePool.cpp):
    /// forward on the caller's, backward on autograd's device thread; each with a workspace
    /// of 4096 KiB x 8 = 32 MiB on Hopper, 4096 KiB x 2 + 16 KiB x 8 elsewhere.
    @Test func cuBLASWorkspaces() throws {
        #expect(CUDAAllocatorEstimate.cuBLASWorkspaceSize(hopper: true) == 33_554_432)
        #expect(CUDAAllocatorEstimate.cuBLASWorkspaceSize(hopper: false) == 8_519_680)
        func workspaces(_ source: String, inference: Bool = false) throws -> CUDAAllocatorEstimate {
            let graph = try Elaborator.elaborate(source: source, file: "t.spec")
            let costs = try CostAnalysis(graph: graph)
            return try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration(inference: inference)).cudaAllocator
        }
        let linear = "input x: [4, 16]\ny = linear(x, 8)\n"
        #expect(try workspaces(linear).cuBLASWorkspaces == 2)
        #expect(try workspaces(linear).hopperCuBLASWorkspaceBytes == 2 * 33_554_432)
        #expect(try workspaces(linear, inference: true).cuBLASWorkspaces == 1)
        // Convolutions run in cuDNN, element-wise code in PyTorch's own kernels.
        #expect(try workspaces("input x: [2, 3, 8, 8]\ny = relu(conv2d(x, 4, 3))\n").cuBLASWorkspaces == 0)
    }

    @Test func reportCarriesTheAllocatorFigures() throws {
        let graph = try ModelRequest("mlp").graph()
        let costs = try CostAnalysis(graph: graph)
        let memory = try MemoryAnalysis(graph: graph, costs: costs, configuration: RunConfiguration())
        let report = AnalysisReport(graph: graph, analysis: costs, options: CountOptions(), memory: memory)
        let cuda = try #require(report.totals.memory?.cudaAllocator)
        #expect(cuda.reservedBytes == memory.cudaAllocator.reservedBytes)
        #expect(cuda.allocatedPeakBytes == memory.cudaAllocator.allocatedPeakBytes)
        #expect(cuda.cublasWorkspaceBytes == 2 * 33_554_432)
        // The calibrated figures are the tensors' bytes, unchanged by the allocator.
        #expect(report.totals.memory?.peakBytes == memory.peakBytes)
    }
}

extension CUDACachingAllocatorTests {
    /// `analyze` estimates the allocator on the memory analysis's own two replays
    /// (`estimatingAllocator`), the second of which also captures the peak's tensors; the
    /// estimate must be the one two replays of its own give, and the analysis's figures
    /// those it gives without the allocator riding along. Every zoo model at the default
    /// run, and checkpointing, mixed precision, micro-batches and inference on three.
    @Test func theAnalysisReplaysGiveTheSameAllocatorEstimate() throws {
        var runs: [(String, RunConfiguration)] = Zoo.models.map { ($0.name, RunConfiguration()) }
        for model in ["resnet18", "gpt2", "mlp"] {
            runs += [(model, RunConfiguration(optimizer: .adamw, precision: .ampBF16, checkpoint: .sqrt)),
                     (model, RunConfiguration(optimizer: .sgd, accumulationSteps: 3)),
                     (model, RunConfiguration(precision: .ampFP16, inference: true))]
        }
        for (model, configuration) in runs {
            let graph = try ModelRequest(model, batch: 2).graph()
            let costs = try CostAnalysis(graph: graph)
            let alone = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration)
            let riding = try MemoryAnalysis(graph: graph, costs: costs, configuration: configuration, estimatingAllocator: true)
            #expect(riding.allocatorEstimate != nil && alone.allocatorEstimate == nil, "\(model)")
            #expect(riding.cudaAllocator == alone.cudaAllocator, "\(model) \(configuration.checkpointDescription)")
            #expect(riding.peakBytes == alone.peakBytes && riding.peakLayer == alone.peakLayer, "\(model)")
            #expect(riding.savedActivationsBytes == alone.savedActivationsBytes, "\(model)")
            #expect(riding.peakLive.map(\.name) == alone.peakLive.map(\.name) && riding.peakLive.map(\.bytes) == alone.peakLive.map(\.bytes), "\(model)")
            #expect(riding.layers.map(\.savedBytes) == alone.layers.map(\.savedBytes), "\(model)")
        }
    }
}

extension CUDACachingAllocator {
    /// `malloc` for a request the test knows is served (a failed test, not a crash, if not).
    mutating func request(_ bytes: Int) throws -> Int {
        guard let block = malloc(bytes) else { throw NNFlopsError("no block for \(bytes) bytes") }
        return block
    }
}
