/// cast: the executor computes in one scalar type, so the values are copied (a copy the
/// accounting counts when the run's types differ, and stands for the input itself when
/// they agree, as `.to` returns self); the gradient is the output's gradient, copied.
/// 0 FLOPs both ways.
extension Cast: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(input.shape, dtype: dtype)
        y.values.update(from: x.values, count: x.count)
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(input.shape)
        dx.values.update(from: dy.values, count: dy.count)
        return BackwardResult(inputs: [dx])
    }
}
