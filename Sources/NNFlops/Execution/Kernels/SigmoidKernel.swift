/// Sigmoid: y = 1 / (1 + exp(-x)) (negate, exp, add, div: 4 per element); keeps the
/// output; dX = dY * (1 - y) * y (3 per element).
extension Sigmoid: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 4) { v in 1 / (1 + T.exp(-v)) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 3) { g, y in g * (1 - y) * y }
    }
}
