/// Transpose: the kernels downstream read contiguous memory, so the swap is materialised
/// as a copy (0 FLOPs; PyTorch returns a strided view and copies later, in `contiguous`).
/// The input gradient is dY transposed back, also a copy (0 FLOPs). Saves nothing.
extension Transpose: ExecutableOperator {
    var order: [Int] {
        var order = Array(0..<input.rank)
        order.swapAt(dims.0, dims.1)
        return order
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(outputs[0].shape, dtype: x.dtype)
        permuteCopy(x, order: order, into: y)
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dx = context.inputGradient(input.shape)
        permuteCopy(context.outputGradients[0], order: order, into: dx)  // a swap is its own inverse
        return BackwardResult(inputs: [dx])
    }
}
