/// arange: writes start..<end into an int64 output (no arithmetic counted: the values are
/// the arguments'). No backward.
extension Arange: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let out = context.output([end - start], dtype: .int64)
        for i in 0..<(end - start) { out.indices[i] = Int32(truncatingIfNeeded: start + i) }
        return ForwardResult([out])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        BackwardResult(inputs: [])
    }
}
