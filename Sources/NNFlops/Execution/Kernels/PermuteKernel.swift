/// Permute: materialised as a copy in the new dimension order (0 FLOPs; PyTorch returns a
/// strided view and copies later, in `contiguous`). The input gradient is dY permuted by
/// the inverse order, a copy (0 FLOPs). Saves nothing.
extension Permute: ExecutableOperator {
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
        permuteCopy(context.outputGradients[0], order: inversePermutation(order), into: dx)
        return BackwardResult(inputs: [dx])
    }
}
