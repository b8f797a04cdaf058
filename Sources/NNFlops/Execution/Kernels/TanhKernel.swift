/// Tanh: y = tanh(x) (1 per element); keeps the output; dX = dY * (1 - y * y) (3).
extension Tanh: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(x.shape)
        let n = unaryMap(y.values, x.values, x.count) { v in T.tanh(v) }
        context.count(WorkTally(flops: n))
        return ForwardResult([y], saved: context.needsBackward ? SavedState([y]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], y = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, y.values, dy.count) { g, v in g * (1 - v * v) }
        context.count(WorkTally(flops: 3 * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
