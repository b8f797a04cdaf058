/// Reshape: a view of the (contiguous) input with the new shape (no copy, 0 FLOPs); the
/// input gradient is a view of dY with the input's shape (0 FLOPs). Saves nothing.
extension Reshape: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        ForwardResult([context.inputs[0].view(output.shape)])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        return BackwardResult(inputs: [context.outputGradients[0].view(input.shape)])
    }
}
