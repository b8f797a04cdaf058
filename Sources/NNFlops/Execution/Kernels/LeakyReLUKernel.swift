/// Leaky ReLU: m = x * slope and the compare x > 0 run for every element (2), then
/// select. Keeps the input, or in place with slope >= 0 the output (it has the input's
/// sign); with a negative slope the result flips signs, so the input is kept and the
/// result is not written over it. dX: compare and dY * slope (2).
extension LeakyReLU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let s = T(slope)
        return elementwiseForward(context, operations: 2, resultGivesDerivative: slope >= 0) { v in
            let m = v * s
            return v > 0 ? v : m
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let s = T(slope)
        return elementwiseBackward(context, operations: 2) { g, v in
            let m = g * s
            return v > 0 ? g : m
        }
    }
}
