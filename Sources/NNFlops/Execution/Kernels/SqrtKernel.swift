/// Sqrt: y = sqrt(x) (1 per element); keeps the output; dX = dY / (2 * y) (mul, div: 2 per element).
extension Sqrt: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 1) { v in T.sqrt(v) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 2) { g, y in g / (2 * y) }
    }
}
