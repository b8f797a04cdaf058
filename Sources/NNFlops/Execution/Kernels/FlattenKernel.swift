/// Flatten: a view of the input with the merged shape, or a new tensor when the operator
/// copies (as reshape; 0 FLOPs); the input gradient is dY with the input's shape, a view
/// or a copy likewise (0 FLOPs). Saves nothing.
extension Flatten: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        ForwardResult([copyOrView(context.inputs[0], shape: output.shape, copies: copies, context)])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        return BackwardResult(inputs: [gradientCopyOrView(context.outputGradients[0], shape: input.shape, copies: copies, context)])
    }
}
