/// A dense, row-major tensor owned by a `TrackingAllocator`.
///
/// Floating-point tensors store `T` values in `values`; integer and boolean tensors
/// (token ids, class indices, argmax indices, dropout masks) store `Int32` in `indices`
/// (a compact storage) but are accounted at their declared dtype's byte size
/// (`shape.product * dtype.bytes`), so an int64 index tensor costs 8 bytes per element
/// in the memory figures, as in PyTorch.
///
/// A tensor releases its bytes from the allocator when its last reference goes away
/// (`deinit`), so "live bytes" follow Swift's reference counting: a tensor held only by
/// a node's saved state stays live until the executor drops that saved state, exactly
/// as autograd keeps saved tensors alive until the node's backward has run.
final class Tensor<T: KernelScalar>: @unchecked Sendable {
    public let shape: [Int]
    public let dtype: DType
    /// Number of elements.
    public let count: Int
    /// Bytes accounted for this tensor: `count * dtype.bytes`.
    public let bytes: Int
    /// The allocator category it was allocated under.
    public let category: MemoryCategory
    let raw: UnsafeMutableRawPointer
    let allocator: TrackingAllocator
    /// Set when a kernel keeps this tensor for backward: it must not be overwritten in place.
    /// Also set on views and on the tensors they view (shared storage: never in place).
    public internal(set) var keptForBackward = false
    /// The tensor whose storage this one views (nil when it owns its storage). A view is
    /// not accounted by the allocator: its base's bytes stay live while the view is.
    public let base: Tensor<T>?
    /// Whether the allocator accounts this tensor's bytes. False for views, and for the
    /// physical copies a CPU kernel makes where PyTorch would return a view or modify
    /// its input in place (`aliasOf` then names the tensor it stands for).
    public let accounted: Bool
    /// The tensor whose storage this one stands for in the memory accounting when it is a
    /// physical copy that PyTorch would not allocate (a permuted view, an in-place output
    /// that could not overwrite its input). Holds it alive, as a view holds its base.
    public internal(set) var aliasOf: Tensor<T>?

    init(shape: [Int], dtype: DType, category: MemoryCategory, allocator: TrackingAllocator) {
        self.shape = shape
        self.dtype = dtype
        var n = 1
        for d in shape { n *= d }
        count = n
        bytes = n * dtype.bytes
        self.category = category
        self.allocator = allocator
        let stride = dtype.isFloatingPoint ? MemoryLayout<T>.stride : MemoryLayout<Int32>.stride
        raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, n * stride), alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, n * stride))
        if dtype.isFloatingPoint {
            raw.bindMemory(to: T.self, capacity: n)
        } else {
            raw.bindMemory(to: Int32.self, capacity: n)
        }
        base = nil
        accounted = !allocator.suspended
        if accounted { allocator.didAllocate(bytes, category) }
    }

    /// A view of `base`'s storage from element `offset` with a new shape (reshape,
    /// flatten, a contiguous split piece). Both are marked never to be overwritten in place.
    init(viewing base: Tensor<T>, shape: [Int], offset: Int) {
        let root = base.base ?? base
        let start = offset + (base.base == nil ? 0 : base.viewOffset)
        accounted = false
        self.shape = shape
        dtype = base.dtype
        var n = 1
        for d in shape { n *= d }
        count = n
        bytes = n * base.dtype.bytes
        category = base.category
        allocator = base.allocator
        let stride = base.dtype.isFloatingPoint ? MemoryLayout<T>.stride : MemoryLayout<Int32>.stride
        raw = root.raw + start * stride
        viewOffset = start
        self.base = root
        keptForBackward = true
        root.keptForBackward = true
    }

    /// Element offset of a view into its base's storage (0 for an owner).
    private(set) var viewOffset = 0

    /// A view with a new shape (same element count) or a contiguous part of this tensor.
    public func view(_ shape: [Int], offset: Int = 0) -> Tensor<T> { Tensor(viewing: self, shape: shape, offset: offset) }

    deinit {
        guard base == nil else { return }
        raw.deallocate()
        if accounted { allocator.didFree(bytes, category) }
    }

    /// The accounted tensor whose storage this one is, in PyTorch's terms: itself, the
    /// base of a view, or what an unaccounted copy stands for. Saved-for-backward bytes
    /// are counted per storage root, once.
    public var storageRoot: Tensor<T> {
        var t = self
        while true {
            if let a = t.aliasOf { t = a } else if let b = t.base { t = b } else { return t }
        }
    }

    /// Makes this (unaccounted) tensor stand for `other`'s storage.
    func markAlias(of other: Tensor<T>) {
        guard storageRoot !== other.storageRoot else { return }
        aliasOf = other
        keptForBackward = true
        other.keptForBackward = true
    }

    /// The float values (floating-point dtypes only).
    public var values: UnsafeMutablePointer<T> { raw.assumingMemoryBound(to: T.self) }
    /// The integer values (integer and boolean dtypes only).
    public var indices: UnsafeMutablePointer<Int32> { raw.assumingMemoryBound(to: Int32.self) }
    public var buffer: UnsafeMutableBufferPointer<T> { UnsafeMutableBufferPointer(start: values, count: count) }

    public var rank: Int { shape.count }
    public subscript(i: Int) -> T {
        get { values[i] }
        set { values[i] = newValue }
    }

    /// Copies the float values out (tests and reports).
    public func toArray() -> [T] { Array(buffer) }
    public func fill(_ value: T) { values.update(repeating: value, count: count) }
}

/// What a tracked allocation is for; the memory report breaks the peak down by these.
public enum MemoryCategory: String, Sendable, CaseIterable, Codable {
    /// Learnable parameters.
    case parameter
    /// Non-learned state (batchnorm running statistics).
    case buffer
    /// Graph inputs (data, token ids, targets).
    case input
    /// Forward outputs and anything a kernel allocates in forward (including what it
    /// keeps for backward: masks, statistics, indices).
    case activation
    /// Gradients of activations (dL/dx), allocated during backward.
    case activationGradient
    /// Gradients of parameters.
    case parameterGradient
    /// Optimizer state (none for plain SGD).
    case optimizerState
    /// Parameter-sized temporaries of the optimizer step (torch.optim's foreach lists).
    case optimizerTemporary
}
