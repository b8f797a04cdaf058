/// Roll: a copy with every index shifted cyclically (0 FLOPs): along each dimension the
/// output row splits into two contiguous runs of the input. Input gradient: dY rolled back
/// by the opposite shifts, a copy into a new gradient (0 FLOPs). Saves nothing.
extension Roll: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(x.shape, dtype: x.dtype)
        rollCopy(x, into: y, shape: flattened ? [x.count] : x.shape, shifts: shifts)
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(input.shape)
        let shape = flattened ? [dy.count] : input.shape
        rollCopy(dy, into: dx, shape: shape, shifts: zip(shifts, shape).map { Roll.normalised(-$0, size: $1) })
        return BackwardResult(inputs: [dx])
    }
}

/// destination[i] = source[i - shift] per dimension (cyclically), `shape` the row-major
/// shape both are read in and `shifts` in 0..<size. Copies only.
func rollCopy<T>(_ source: Tensor<T>, into destination: Tensor<T>, shape: [Int], shifts: [Int]) {
    let rank = shape.count
    guard rank > 0, source.count > 0 else {
        copyElements(source, from: 0, to: destination, at: 0, count: source.count)
        return
    }
    let strides = TensorType.contiguousStrides(shape)
    let inner = shape[rank - 1], innerShift = shifts[rank - 1]
    let rows = source.count / inner
    var index = [Int](repeating: 0, count: rank)
    for row in 0..<rows {
        // Source offset of the row's first outer coordinates.
        var base = 0
        for axis in 0..<(rank - 1) {
            let n = shape[axis]
            base += ((index[axis] - shifts[axis] + n) % n) * strides[axis]
        }
        // Output columns [shift, inner) come from input columns [0, inner - shift), and
        // columns [0, shift) from [inner - shift, inner).
        let out = row * inner
        copyElements(source, from: base, to: destination, at: out + innerShift, count: inner - innerShift)
        copyElements(source, from: base + inner - innerShift, to: destination, at: out, count: innerShift)
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < shape[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
}
