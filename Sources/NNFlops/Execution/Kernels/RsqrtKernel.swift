/// Rsqrt: y = 1 / sqrt(x) (sqrt, div: 2 per element); keeps the output; dX = -0.5 * dY * y * y * y (4 per element).
extension Rsqrt: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 2) { v in 1 / T.sqrt(v) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 4) { g, y in (-0.5 as T) * g * (y * y * y) }
    }
}
