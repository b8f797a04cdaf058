/// Split: each piece is a view of the input when it is contiguous (nothing before the
/// axis but size-1 dimensions), else a copy of its block (0 FLOPs either way). The input
/// gradient concatenates the pieces' gradients (zeros for pieces no gradient reached), a
/// copy (0 FLOPs). Saves nothing.
extension Split: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        ForwardResult(splitPieces(context.inputs[0], axis: axis, sizes: sizes, context))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        return BackwardResult(inputs: [joinPieceGradients(context.outputGradients, shape: input.shape, axis: axis, sizes: sizes, context)])
    }
}

/// The pieces of `x` along `axis`: views when contiguous, copies otherwise.
func splitPieces<T: KernelScalar>(_ x: Tensor<T>, axis: Int, sizes: [Int], _ context: ForwardContext<T>) -> [Tensor<T>] {
    let layout = AxisLayout(x.shape, axis: axis)
    var pieces: [Tensor<T>] = []
    var start = 0
    for size in sizes {
        var shape = x.shape
        shape[axis] = size
        if layout.outer == 1 {
            pieces.append(x.view(shape, offset: start * layout.inner))
        } else {
            let piece = context.output(shape, dtype: x.dtype)
            copyAxisBlock(x, layout, start: start, part: size, into: piece, destinationStart: 0, destinationLength: size)
            pieces.append(piece)
        }
        start += size
    }
    return pieces
}

/// dX of a split or chunk: the pieces' gradients copied into place.
func joinPieceGradients<T: KernelScalar>(_ grads: [Tensor<T>], shape: [Int], axis: Int, sizes: [Int], _ context: BackwardContext<T>) -> Tensor<T> {
    let dx = context.inputGradient(shape)
    var start = 0
    for (g, size) in zip(grads, sizes) {
        copyAxisBlock(g, AxisLayout(g.shape, axis: axis), start: 0, part: size, into: dx, destinationStart: start, destinationLength: shape[axis])
        start += size
    }
    return dx
}
