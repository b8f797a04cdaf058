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
public final class Tensor<T: KernelScalar>: @unchecked Sendable {
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
    public internal(set) var keptForBackward = false

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
        allocator.didAllocate(bytes, category)
    }

    deinit {
        raw.deallocate()
        allocator.didFree(bytes, category)
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
}
