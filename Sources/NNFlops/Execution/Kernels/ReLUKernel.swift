/// ReLU: y = max(x, 0) (1 compare per element), in place when `inplace` and the input
/// may be overwritten; saves the output; dX = dY * [y > 0] (1 select per element).
extension ReLU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = inplace && context.canOverwrite[0] ? x : context.output(x.shape)
        let n = unaryMap(y.values, x.values, x.count) { $0 > 0 ? $0 : 0 }
        context.count(WorkTally(flops: n))
        return ForwardResult([y], saved: context.needsBackward ? SavedState([y]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], y = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, y.values, dy.count) { g, v in v > 0 ? g : 0 }
        context.count(WorkTally(flops: n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
