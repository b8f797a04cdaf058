/// Erf: y = erf(x) (1 per element); keeps the input; dX = 2/sqrt(pi) * exp(-(x * x)) * dY (5 per element).
extension Erf: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 1) { v in T.erf(v) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 5) { g, x in (1.1283791670955126 as T) * T.exp(-(x * x)) * g }
    }
}
