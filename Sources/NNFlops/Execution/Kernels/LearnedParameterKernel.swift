/// Parameter: the output is the parameter tensor itself (no allocation, 0 FLOPs); the
/// weight gradient is the output's gradient, copied (0 FLOPs). Saves nothing.
extension LearnedParameter: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        ForwardResult([context.parameters[0]])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.trainable(parameter: 0) else { return BackwardResult(inputs: [], parameters: [nil]) }
        let dy = context.outputGradients[0]
        let dw = context.parameterGradient(shape)
        dw.values.update(from: dy.values, count: dy.count)
        return BackwardResult(inputs: [], parameters: [dw])
    }
}
