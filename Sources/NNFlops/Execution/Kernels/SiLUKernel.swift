/// SiLU: y = x / (1 + exp(-x)) (negate, exp, add, div: 4 per element); keeps the
/// input (in place, a clone of it). dX = dY * s * (1 + x * (1 - s)) with
/// s = 1 / (1 + exp(-x)): 4 + 5 = 9 per element.
extension SiLU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 4) { v in v / (1 + T.exp(-v)) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 9) { g, v in
            let s = 1 / (1 + T.exp(-v))
            return g * s * (1 + v * (1 - s))
        }
    }
}
