/// Hardswish: y = x * min(max(x + 3, 0), 6) / 6 (add, max, min, mul, div: 5 per
/// element); keeps the input (in place, a clone of it). dX = dY * (x / 3 + 0.5) inside
/// [-3, 3], dY above, 0 below, computed for every element then selected: 5 per element.
extension HardSwish: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        elementwiseForward(context, operations: 5) { v in v * min(max(v + 3, 0), 6) / 6 }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        elementwiseBackward(context, operations: 5) { g, v in
            let inside = g * (v / 3 + T(0.5))
            return v < -3 ? 0 : (v > 3 ? g : inside)
        }
    }
}
