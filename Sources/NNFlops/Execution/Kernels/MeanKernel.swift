/// Mean: sums from zero (one add per input element), then one divide per output element.
/// Input gradient: dY broadcast back and divided by the count, one divide per input
/// element. Saves nothing.
extension Mean: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(reduction.output.shape)
        var tally = WorkTally()
        tally.flops += reduceToOperand(y.values, BroadcastLayout(operand: reduction.keptShape, output: reduction.input.shape), x.values)
        let count = T(x.count / max(1, y.count))
        let py = y.values
        for i in 0..<y.count { py[i] /= count }
        tally.flops += y.count
        context.count(tally)
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(reduction.input.shape)
        let count = T(dx.count / max(1, dy.count))
        let pd = dx.values, pg = dy.values
        var tally = WorkTally()
        BroadcastLayout(operand: reduction.keptShape, output: reduction.input.shape).forEachRow { o, offset, inner, stride in
            for j in 0..<inner { pd[o + j] = pg[offset + j * stride] / count }
            tally.flops += inner
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
