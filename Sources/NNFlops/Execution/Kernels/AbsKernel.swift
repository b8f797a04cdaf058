/// Abs: y = |x| (1 per element); keeps the input; dX = dY * sgn(x) (sign, multiply: 2 per element).
extension Abs: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 1) { v in abs(v) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 2) { g, x in g * (x > 0 ? 1 : (x < 0 ? -1 : 0)) }
    }
}
