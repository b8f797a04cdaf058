/// zeros: a zero-filled output of the declared dtype (allocations are zero-filled). No
/// backward.
extension Zeros: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        ForwardResult([context.output(shape, dtype: dtype)])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        BackwardResult(inputs: [])
    }
}
