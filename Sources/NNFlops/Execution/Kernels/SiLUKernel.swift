/// SiLU: y = x / (1 + exp(-x)) (4 per element); keeps the input;
/// in place, the result is the input and a clone of the original input is kept
/// (`inputReadingOutput`). dX = dY * s * (1 + x * (1 - s)) with
/// s = 1 / (1 + exp(-x)): 9 per element.
extension SiLU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, x) = inputReadingOutput(context, inplace: inplace)
        let n = unaryMap(y.values, x.values, x.count) { v in v / (1 + T.exp(-v)) }
        context.count(WorkTally(flops: 4 * n))
        return ForwardResult([y], saved: context.needsBackward && context.inputNeedsGradient[0] ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], x = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, x.values, dy.count) { g, v in
            let s = 1 / (1 + T.exp(-v))
            return g * s * (1 + v * (1 - s))
        }
        context.count(WorkTally(flops: 9 * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
