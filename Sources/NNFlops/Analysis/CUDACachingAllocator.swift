/// PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp,
/// DeviceCachingAllocator), simulated over the memory replay's allocations and frees
/// (README, "The CUDA caching allocator"). What `torch.cuda.memory_allocated` reports is the
/// sum of the allocated blocks' sizes, not of the tensors' bytes, and
/// `torch.cuda.memory_reserved` the segments obtained from cudaMalloc; both follow from these
/// rules, with PyTorch's defaults (no `max_split_size_mb`, so no oversize blocks; no
/// `expandable_segments`; no `roundup_power2_divisions`; one stream):
///
/// - a request of n bytes is rounded up to a multiple of 512 (at least 512;
///   `round_size`); a request of 0 bytes allocates nothing;
/// - requests up to 1 MiB (`kSmallSize`) use the small pool, larger ones the large pool;
/// - a request is served by the smallest free block of its pool that is large enough (the
///   lowest address among equal sizes: `BlockComparatorSize`, `get_free_block`);
/// - none: a new segment is cudaMalloc'ed (`get_allocation_size`): 2 MiB for a small
///   request, 20 MiB for a request below 10 MiB, else the request rounded up to 2 MiB;
/// - the block found or made is split, the front allocated and the rest left free, when
///   the rest is at least 512 B (small pool) or more than 1 MiB (large pool)
///   (`should_split`); otherwise the whole block is allocated: up to 1 MiB more than the
///   rounded request counts as allocated;
/// - a freed block merges with free neighbours of its segment (`free_block`,
///   `try_merge_blocks`); segments are never returned (no `empty_cache`).
struct CUDACachingAllocator: Sendable {
    static let minBlockSize = 512
    static let smallSize = 1 << 20
    static let smallBuffer = 2 << 20
    static let minLargeAlloc = 10 << 20
    static let roundLarge = 2 << 20
    static let largeBuffer = 20 << 20

    /// `round_size`: at least 512, a multiple of 512.
    static func roundSize(_ bytes: Int) -> Int {
        bytes < minBlockSize ? minBlockSize : (bytes + minBlockSize - 1) / minBlockSize * minBlockSize
    }

    /// `get_allocation_size`: the segment cudaMalloc'ed for a rounded request.
    static func allocationSize(_ size: Int) -> Int {
        if size <= smallSize { return smallBuffer }
        if size < minLargeAlloc { return largeBuffer }
        return (size + roundLarge - 1) / roundLarge * roundLarge
    }

    struct Block: Sendable {
        var address: Int
        var size: Int
        var small: Bool
        var allocated = false
        var prev: Int? = nil
        var next: Int? = nil
    }

    /// A free block's place in its pool: ordered by size, then address.
    struct Key: Comparable, Sendable {
        var size: Int
        var address: Int
        var block: Int
        static func < (a: Key, b: Key) -> Bool { a.size != b.size ? a.size < b.size : a.address < b.address }
    }

    private(set) var blocks: [Block] = []
    private var smallFree: [Key] = []
    private var largeFree: [Key] = []
    private var nextAddress = 0
    /// `memory_allocated`: the sizes of the allocated blocks.
    private(set) var allocatedBytes = 0
    /// `memory_reserved`: the segments.
    private(set) var reservedBytes = 0
    /// `max_memory_allocated` since the last `resetPeak()`.
    private(set) var peakAllocatedBytes = 0

    /// `torch.cuda.reset_peak_memory_stats`.
    mutating func resetPeak() { peakAllocatedBytes = allocatedBytes }

    /// Allocates `bytes` and returns the block (nil for 0 bytes, which PyTorch serves
    /// without the allocator).
    mutating func malloc(_ bytes: Int) -> Int? {
        guard bytes > 0 else { return nil }
        let size = Self.roundSize(bytes)
        let small = size <= Self.smallSize
        var id: Int
        if let found = Self.lowerBound(small ? smallFree : largeFree, size) {
            id = small ? smallFree.remove(at: found).block : largeFree.remove(at: found).block
        } else {
            let segment = Self.allocationSize(size)
            blocks.append(Block(address: nextAddress, size: segment, small: small))
            nextAddress += segment
            reservedBytes += segment
            id = blocks.count - 1
        }
        let remaining = blocks[id].size - size
        if small ? remaining >= Self.minBlockSize : remaining > Self.smallSize {
            // Split: the front is allocated, the rest stays free.
            let rest = Block(address: blocks[id].address + size, size: remaining, small: small, prev: id, next: blocks[id].next)
            blocks.append(rest)
            let restID = blocks.count - 1
            if let next = blocks[id].next { blocks[next].prev = restID }
            blocks[id].next = restID
            blocks[id].size = size
            insertFree(restID)
        }
        blocks[id].allocated = true
        allocatedBytes += blocks[id].size
        peakAllocatedBytes = max(peakAllocatedBytes, allocatedBytes)
        return id
    }

    /// Frees a block, merging it with its free neighbours.
    mutating func free(_ id: Int?) {
        guard let id, blocks[id].allocated else { return }
        blocks[id].allocated = false
        allocatedBytes -= blocks[id].size
        if let prev = blocks[id].prev, !blocks[prev].allocated {
            removeFree(prev)
            blocks[id].address = blocks[prev].address
            blocks[id].size += blocks[prev].size
            blocks[id].prev = blocks[prev].prev
            if let before = blocks[id].prev { blocks[before].next = id }
        }
        if let next = blocks[id].next, !blocks[next].allocated {
            removeFree(next)
            blocks[id].size += blocks[next].size
            blocks[id].next = blocks[next].next
            if let after = blocks[id].next { blocks[after].prev = id }
        }
        insertFree(id)
    }

    /// The size of the block `id` (its allocated bytes while allocated).
    func size(of id: Int?) -> Int { id.map { blocks[$0].size } ?? 0 }

    private mutating func insertFree(_ id: Int) {
        let key = Key(size: blocks[id].size, address: blocks[id].address, block: id)
        if blocks[id].small { Self.insert(key, into: &smallFree) } else { Self.insert(key, into: &largeFree) }
    }

    private mutating func removeFree(_ id: Int) {
        let key = Key(size: blocks[id].size, address: blocks[id].address, block: id)
        if blocks[id].small { Self.remove(key, from: &smallFree) } else { Self.remove(key, from: &largeFree) }
    }

    /// The first free block of at least `size` bytes.
    static func lowerBound(_ list: [Key], _ size: Int) -> Int? {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid].size < size { low = mid + 1 } else { high = mid }
        }
        return low < list.count ? low : nil
    }

    static func position(_ key: Key, in list: [Key]) -> Int {
        var low = 0, high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func insert(_ key: Key, into list: inout [Key]) { list.insert(key, at: position(key, in: list)) }

    static func remove(_ key: Key, from list: inout [Key]) {
        let at = position(key, in: list)
        if at < list.count, list[at].block == key.block { list.remove(at: at) }
    }
}

/// What PyTorch's CUDA caching allocator holds for a training (or inference) step in
/// steady state (README, "The CUDA caching allocator"): the static tensors allocated
/// first, one block each, then the memory replay's allocations and frees run through
/// `CUDACachingAllocator` twice, the second step finding the first's cached segments
/// (everything the first left allocated freed in between, as `zero_grad(set_to_none=True)`
/// frees the gradients). The allocated figures of `MemoryAnalysis` stay the tensors'
/// bytes; these are the allocator's view of the same run.
public struct CUDAAllocatorEstimate: Sendable, Equatable {
    /// `torch.cuda.max_memory_reserved()`: the segments cudaMalloc'ed by the end of the
    /// second step (the allocator never returns them), library workspaces excluded.
    public var reservedBytes: Int
    /// `torch.cuda.max_memory_allocated()` over the second step: the allocated blocks'
    /// sizes (requests rounded up to 512 B, blocks too small to split counted whole),
    /// static memory included, library workspaces excluded.
    public var allocatedPeakBytes: Int
    /// The static tensors' blocks (parameters, master weights, buffers, inputs, optimizer
    /// state): what `memory_allocated()` shows between steps after
    /// `zero_grad(set_to_none=True)`.
    public var staticAllocatedBytes: Int
    /// cuBLAS workspaces PyTorch allocates through the same allocator: one per cuBLAS
    /// handle, and a handle per thread that runs cuBLAS (forward on the calling thread,
    /// backward on autograd's device thread; aten/src/ATen/cuda/CublasHandlePool.cpp,
    /// `getCurrentCUDABlasHandle`, `setWorkspaceForHandle`).
    public var cuBLASWorkspaces: Int

    /// `parseChosenWorkspaceSize` without CUBLAS_WORKSPACE_CONFIG: 32 MiB on Hopper
    /// (sm90: H100, H200), `:4096:2:16:8` = 8 MiB + 128 KiB on other GPUs.
    public static func cuBLASWorkspaceSize(hopper: Bool) -> Int { hopper ? 4096 * 8 * 1024 : 4096 * 1024 * 2 + 16 * 1024 * 8 }

    /// The cuBLAS workspaces' bytes on Hopper, where each is a 32 MiB request and so a
    /// segment of its own, fully allocated: reserved and allocated each grow by exactly
    /// this much.
    public var hopperCuBLASWorkspaceBytes: Int { cuBLASWorkspaces * Self.cuBLASWorkspaceSize(hopper: true) }
}

extension CUDAAllocatorEstimate {
    /// Two steps of two replays of their own.
    init(plan: MemoryPlan, cuBLASWorkspaces: Int) {
        var steps = AllocatorSteps(plan: plan)
        for _ in 0..<2 {
            var replay = MemoryReplay(plan: plan, capture: nil)
            steps.run(&replay)
        }
        self = steps.estimate(cuBLASWorkspaces: cuBLASWorkspaces)
    }
}

/// The two training steps of `CUDAAllocatorEstimate`, one replay each: the replays may be
/// the memory analysis's own (`MemoryAnalysis.init(...estimatingAllocator:)`), which the
/// allocator rides along on instead of two more.
struct AllocatorSteps {
    var allocator = CUDACachingAllocator()
    let staticAllocatedBytes: Int
    var stepsRun = 0

    /// The static tensors allocated first, one block each.
    init(plan: MemoryPlan) {
        for bytes in plan.staticTensorBytes { _ = allocator.malloc(bytes) }
        staticAllocatedBytes = allocator.allocatedBytes
    }

    /// Runs `replay` as the next step with the allocator attached; then frees what the
    /// step left allocated (`zero_grad(set_to_none=True)`). The second step's peak is the
    /// one reported.
    mutating func run(_ replay: inout MemoryReplay) {
        if stepsRun == 1 { allocator.resetPeak() }
        stepsRun += 1
        replay.allocator = allocator
        replay.run()
        for storage in replay.storages where storage.live {
            for block in storage.blocks { replay.allocator?.free(block) }
        }
        allocator = replay.allocator ?? allocator
    }

    func estimate(cuBLASWorkspaces: Int) -> CUDAAllocatorEstimate {
        CUDAAllocatorEstimate(reservedBytes: allocator.reservedBytes, allocatedPeakBytes: allocator.peakAllocatedBytes,
                              staticAllocatedBytes: staticAllocatedBytes, cuBLASWorkspaces: cuBLASWorkspaces)
    }
}
