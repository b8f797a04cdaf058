/// Global average pooling: per (sample, channel) H*W adds from zero and one divide.
/// Backward: one divide per plane, then one add into each position of the zeroed dX.
extension GlobalAvgPool: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let area = input.shape[2] * input.shape[3], planes = input.shape[0] * input.shape[1]
        let y = context.output(outputs[0].shape)
        var tally = WorkTally()
        for plane in 0..<planes {
            let xs = x.values + plane * area
            var sum = T(0)
            for i in 0..<area { sum += xs[i] }
            y.values[plane] = sum / T(area)
            tally.flops += area + 1
        }
        context.count(tally)
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let area = input.shape[2] * input.shape[3], planes = input.shape[0] * input.shape[1]
        let dx = context.inputGradient(input.shape)
        var tally = WorkTally()
        for plane in 0..<planes {
            let share = dy.values[plane] / T(area)
            let out = dx.values + plane * area
            for i in 0..<area { out[i] += share }
            tally.flops += 1 + area
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
