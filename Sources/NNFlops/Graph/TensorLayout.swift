/// Memory layout of tensors: which tensors are contiguous, the strides of a view, and
/// whether a reshape can stay a view. The rules are PyTorch's:
/// - contiguity: c10's `TensorImpl::compute_contiguous` (dimensions of size 1 are ignored);
/// - dense layouts: `compute_non_overlapping_and_dense` (some order of the dimensions is
///   contiguous);
/// - when a view of a new shape exists: `computeStride` in aten/src/ATen/TensorUtils.cpp
///   (`view` fails and `reshape` copies exactly when it returns nothing);
/// - the layout of an element-wise result: TensorIterator (aten/src/ATen/TensorIterator.cpp,
///   `compute_fast_setup_type`, `reorder_dimensions`, `compatible_stride`): same-shape
///   contiguous operands give a contiguous result, same-strided dense ones their strides,
///   anything else a dense result whose dimensions are ordered like the operands' strides.
///
/// Operators declare their outputs' layouts with these helpers: views compute their strides
/// from their input's (`permuted`, `sliced`, `selecting`, `expanded`, `viewed`), element-wise
/// operators use `elementwiseResult`, and every other operator produces contiguous tensors
/// (`TensorType(shape, dtype)`), as torch's kernels allocate them. Analyses never look at
/// layouts: an operator that must copy (a `reshape` of a tensor that cannot be viewed, a
/// `contiguous` of a strided one) says so through its `alias(ofOutput:)`.
extension TensorType {
    /// A tensor of `shape` with these element strides; stored as contiguous (`strides`
    /// nil) when torch would call it contiguous.
    public init(_ shape: [Int], _ dtype: DType = .float32, strides: [Int]) {
        self.init(shape, dtype)
        precondition(strides.count == shape.count, "one stride per dimension")
        self.strides = Self.isContiguous(shape, strides) ? nil : strides
    }

    /// Row-major strides of `shape` (the last dimension moves fastest).
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step = step &* shape[axis]
        }
        return strides
    }

    /// torch's `is_contiguous()`: strides are row-major for every dimension of size > 1.
    public static func isContiguous(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            guard strides[axis] == expected else { return false }
            expected = expected &* shape[axis]
        }
        return true
    }

    /// The element strides per dimension (torch's `stride()`).
    public var elementStrides: [Int] { strides ?? Self.contiguousStrides(shape) }
    /// True for a contiguous (row-major) tensor, as torch's `is_contiguous()`.
    public var isContiguous: Bool { strides == nil }
    /// This tensor's shape and dtype, laid out contiguously (what a copy produces).
    public var contiguousCopy: TensorType { TensorType(shape, dtype) }

    /// torch's `is_non_overlapping_and_dense()`: some order of the dimensions is contiguous
    /// (a permuted contiguous tensor), so an element-wise result can keep its strides.
    public var isNonOverlappingAndDense: Bool {
        guard let strides else { return true }
        // Dimensions of size > 1 by increasing stride (size-1 dimensions do not matter).
        let order = shape.indices.filter { shape[$0] > 1 }.sorted { strides[$0] < strides[$1] }
        var required = 1
        for axis in order {
            guard strides[axis] == required else { return false }
            required = required &* shape[axis]
        }
        return true
    }

    // MARK: views

    /// The view with dimensions reordered: output dimension k is dimension `order[k]`
    /// (permute; transpose swaps two).
    public func permuted(_ order: [Int]) -> TensorType {
        let strides = elementStrides
        return TensorType(order.map { shape[$0] }, dtype, strides: order.map { strides[$0] })
    }

    /// The view keeping `length` entries, `step` apart, along `axis` (slice; a split or
    /// chunk piece with step 1). The start offset does not change the layout.
    public func sliced(axis: Int, length: Int, step: Int = 1) -> TensorType {
        var shape = self.shape, strides = elementStrides
        shape[axis] = length
        strides[axis] = strides[axis] &* step
        return TensorType(shape, dtype, strides: strides)
    }

    /// The view with `axis` dropped (select one index along it).
    public func selecting(axis: Int) -> TensorType {
        var shape = self.shape, strides = elementStrides
        shape.remove(at: axis)
        strides.remove(at: axis)
        return TensorType(shape, dtype, strides: strides)
    }

    /// The broadcast view of `shape` (expand): new leading dimensions and grown size-1
    /// dimensions have stride 0.
    public func expanded(to shape: [Int]) -> TensorType {
        let lead = shape.count - rank
        let old = elementStrides
        let strides = shape.indices.map { axis -> Int in
            guard axis >= lead else { return 0 }
            return self.shape[axis - lead] == 1 && shape[axis] != 1 ? 0 : old[axis - lead]
        }
        return TensorType(shape, dtype, strides: strides)
    }

    /// The view of the same elements as `shape`, or nil when no strides can describe it
    /// (torch's `computeStride`: `view` then fails and `reshape` copies). A contiguous
    /// tensor can always be viewed.
    public func viewed(as newShape: [Int]) -> TensorType? {
        guard let oldStrides = strides else { return TensorType(newShape, dtype) }
        guard !shape.isEmpty else { return TensorType(newShape, dtype) }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var viewAxis = newShape.count - 1
        // Walk the old dimensions from the innermost, in chunks that are contiguous among
        // themselves; each chunk must be covered by whole new dimensions.
        var chunkBaseStride = oldStrides[shape.count - 1]
        var tensorElements = 1
        var viewElements = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            tensorElements = tensorElements &* shape[axis]
            let chunkEnds = axis == 0 || (shape[axis - 1] != 1 && oldStrides[axis - 1] != tensorElements &* chunkBaseStride)
            guard chunkEnds else { continue }
            while viewAxis >= 0 && (viewElements < tensorElements || newShape[viewAxis] == 1) {
                newStrides[viewAxis] = viewElements &* chunkBaseStride
                viewElements = viewElements &* newShape[viewAxis]
                viewAxis -= 1
            }
            guard viewElements == tensorElements else { return nil }
            if axis > 0 {
                chunkBaseStride = oldStrides[axis - 1]
                tensorElements = 1
                viewElements = 1
            }
        }
        guard viewAxis == -1 else { return nil }
        return TensorType(newShape, dtype, strides: newStrides)
    }

    // MARK: element-wise results

    /// The result of an element-wise operation over `operands` broadcast to `shape`, laid
    /// out as TensorIterator allocates it: contiguous when the operands all have `shape`
    /// and are contiguous; their strides when they all have `shape` and share one dense
    /// layout; otherwise dense, its dimensions ordered as the operands' strides order
    /// them (broadcast dimensions, of stride 0, give no order). A single contiguous
    /// operand, the common case, gives a contiguous result.
    public static func elementwiseResult(_ shape: [Int], _ dtype: DType, operands: [TensorType]) -> TensorType {
        if operands.allSatisfy({ $0.shape == shape }) {
            if operands.allSatisfy(\.isContiguous) { return TensorType(shape, dtype) }
            if let first = operands.first, first.isNonOverlappingAndDense,
               operands.allSatisfy({ $0.isNonOverlappingAndDense && $0.elementStrides == first.elementStrides }) {
                return TensorType(shape, dtype, strides: first.elementStrides)
            }
        }
        let rank = shape.count
        // Each operand's strides in the output's index space (0 where broadcast).
        let operandStrides: [[Int]] = operands.map { operand in
            let lead = rank - operand.rank, own = operand.elementStrides
            return (0..<rank).map { axis in
                guard axis >= lead else { return 0 }
                return operand.shape[axis - lead] == 1 && shape[axis] != 1 ? 0 : own[axis - lead]
            }
        }
        // reorder_dimensions: perm[0] is the fastest-moving dimension; start from the
        // row-major order and insertion-sort with torch's ambiguous comparison.
        func shouldSwap(_ dim0: Int, _ dim1: Int) -> Int {
            for strides in operandStrides {
                let s0 = strides[dim0], s1 = strides[dim1]
                if s0 == 0 || s1 == 0 { continue }
                if s0 < s1 { return -1 }
                if s0 > s1 { return 1 }
                if shape[dim0] > shape[dim1] { return 1 }
            }
            return 0
        }
        var perm = Array((0..<rank).reversed())
        for i in 1..<max(rank, 1) {
            var dim1 = i
            for dim0 in stride(from: i - 1, through: 0, by: -1) {
                let comparison = shouldSwap(perm[dim0], perm[dim1])
                if comparison > 0 {
                    perm.swapAt(dim0, dim1)
                    dim1 = dim0
                } else if comparison < 0 {
                    break
                }
            }
        }
        // compatible_stride: dense in perm's order.
        var strides = [Int](repeating: 0, count: rank)
        var next = 1
        for axis in perm {
            strides[axis] = next
            next = next &* shape[axis]
        }
        return TensorType(shape, dtype, strides: strides)
    }
}
