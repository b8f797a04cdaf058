/// Hardsigmoid: y = min(max(x + 3, 0), 6) / 6 (add, max, min, div: 4 per element);
/// keeps the input (in place, a clone of it). dX = dY / 6 where -3 < x < 3, else 0:
/// two compares and a div, 3 per element.
extension HardSigmoid: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 4) { v in min(max(v + 3, 0), 6) / 6 }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 3) { g, v in v > -3 && v < 3 ? g / 6 : 0 }
    }
}
