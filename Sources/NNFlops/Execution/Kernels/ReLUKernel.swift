/// ReLU: y = max(x, 0) (1 compare per element), in place when `inplace` and the input
/// may be overwritten; saves the output; dX = dY * [y > 0] (1 select per element).
extension ReLU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 1) { $0 > 0 ? $0 : 0 }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 1) { g, y in y > 0 ? g : 0 }
    }
}
