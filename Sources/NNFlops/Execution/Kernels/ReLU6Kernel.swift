/// ReLU6: y = min(max(x, 0), 6) (2 per element); keeps the input, or in place a clone of
/// the input (`hardtanh_`'s `original_self`; the result is the input's storage). dX = dY
/// where 0 < v < 6 else 0: two compares per element.
extension ReLU6: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 2) { min(max($0, 0), 6) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 2) { g, v in v > 0 && v < 6 ? g : 0 }
    }
}
