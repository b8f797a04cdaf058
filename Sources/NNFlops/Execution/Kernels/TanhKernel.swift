/// Tanh: y = tanh(x) (1 per element); keeps the output; dX = dY * (1 - y * y) (3).
extension Tanh: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 1) { v in T.tanh(v) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 3) { g, y in g * (1 - y * y) }
    }
}
