/// Reciprocal: y = 1 / x (1 per element); keeps the output; dX = -(dY * (y * y)) (3 per element).
extension Reciprocal: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 1) { v in 1 / v }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 3) { g, y in -(g * (y * y)) }
    }
}
