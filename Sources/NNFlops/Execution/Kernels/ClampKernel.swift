/// Clamp: y = min(max(x, lo), hi), one max and/or one min per element (as many as bounds
/// are given); keeps the input, or in place a clone of it. dX = dY where lo <= v <= hi
/// else 0: one compare per bound per element.
extension Clamp: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let lo = lower.map { T($0) }, hi = upper.map { T($0) }
        return elementwiseForward(context, operations: bounds) { v in
            var y = v
            if let lo { y = max(y, lo) }
            if let hi { y = min(y, hi) }
            return y
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let lo = lower.map { T($0) }, hi = upper.map { T($0) }
        return elementwiseBackward(context, operations: bounds) { g, v in
            if let lo, v < lo { return 0 }
            if let hi, v > hi { return 0 }
            return g
        }
    }
}
