/// Chunk: the pieces of a split (see SplitKernel): views when contiguous, else copies;
/// backward joins the pieces' gradients. 0 FLOPs in every phase; saves nothing.
extension Chunk: ExecutableOperator {
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
