/// Hardsigmoid: y = min(max(x + 3, 0), 6) / 6 (4 per element); keeps the input;
/// in place, the result is the input and a clone of the original input is kept
/// (`inputReadingOutput`). dX = dY / 6 where -3 < x < 3, else 0: 3 per element.
extension HardSigmoid: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, x) = inputReadingOutput(context, inplace: inplace)
        let n = unaryMap(y.values, x.values, x.count) { v in min(max(v + 3, 0), 6) / 6 }
        context.count(WorkTally(flops: 4 * n))
        return ForwardResult([y], saved: context.needsBackward && context.inputNeedsGradient[0] ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], x = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, x.values, dy.count) { g, v in v > -3 && v < 3 ? g / 6 : 0 }
        context.count(WorkTally(flops: 3 * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
