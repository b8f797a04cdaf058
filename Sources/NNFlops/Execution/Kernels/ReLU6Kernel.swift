/// ReLU6: y = min(max(x, 0), 6) (2 per element); in place when allowed (then the
/// output is kept: 0 < y < 6 exactly where 0 < x < 6), else the input is kept.
/// dX = dY where 0 < v < 6 else 0: two compares per element.
extension ReLU6: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let inPlace = inplace && context.canOverwrite[0]
        let y = inPlace ? x : context.output(x.shape)
        let n = unaryMap(y.values, x.values, x.count) { min(max($0, 0), 6) }
        context.count(WorkTally(flops: 2 * n))
        return ForwardResult([y], saved: context.needsBackward ? SavedState([y]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], v = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, v.values, dy.count) { g, v in v > 0 && v < 6 ? g : 0 }
        context.count(WorkTally(flops: 2 * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
