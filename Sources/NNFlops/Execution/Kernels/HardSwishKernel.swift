/// Hardswish: y = x * min(max(x + 3, 0), 6) / 6 (5 per element); keeps the input;
/// in place, the result is the input and a clone of the original input is kept
/// (`inputReadingOutput`). dX = dY * (x / 3 + 0.5) inside [-3, 3], dY above,
/// 0 below, computed for every element then selected: 5 per element.
extension HardSwish: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, x) = inputReadingOutput(context, inplace: inplace)
        let n = unaryMap(y.values, x.values, x.count) { v in v * min(max(v + 3, 0), 6) / 6 }
        context.count(WorkTally(flops: 5 * n))
        return ForwardResult([y], saved: context.needsBackward && context.inputNeedsGradient[0] ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], x = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, x.values, dy.count) { g, v in
            let inside = g * (v / 3 + T(0.5))
            return v < -3 ? 0 : (v > 3 ? g : inside)
        }
        context.count(WorkTally(flops: 5 * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
