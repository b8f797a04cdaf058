/// Huber loss: per element z = x - t, |z|, compare with delta, then 0.5*z*z or
/// delta*(|z| - 0.5*delta) (2 either way), add to the sum: 6 per element, one divide.
/// Backward: s = dL / N (1) when any input needs a gradient; dX = clamp(x - t, -delta,
/// delta) * s and dT = clamp(t - x, -delta, delta) * s: 4 per element each. Keeps input
/// and target.
extension HuberLoss: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], t = context.inputs[1]
        let y = context.output([])
        let px = x.values, pt = t.values, n = x.count
        let delta = T(self.delta), halfDelta = T(0.5 * self.delta)
        var sum: T = 0
        for i in 0..<n {
            let z = px[i] - pt[i]
            let a = Swift.abs(z)
            sum += a < delta ? z * z * 0.5 : (a - halfDelta) * delta
        }
        y[0] = sum / T(n)
        context.count(WorkTally(flops: 6 * n + 1))
        return ForwardResult([y], saved: keepOperands(context, x, t))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.inputNeedsGradient.contains(true) else { return BackwardResult(inputs: [nil, nil]) }
        let x = context.saved.tensors[0], t = context.saved.tensors[1], n = x.count
        var tally = WorkTally(flops: 1)
        let s = context.outputGradients[0][0] / T(n)
        let delta = T(self.delta)
        var grads: [Tensor<T>?] = [nil, nil]
        for slot in 0..<2 where context.needsGradient(input: slot) {
            let g = context.inputGradient(x.shape)
            let a = slot == 0 ? x.values : t.values, b = slot == 0 ? t.values : x.values, out = g.values
            for i in 0..<n { out[i] = Swift.max(Swift.min(a[i] - b[i], delta), -delta) * s }
            tally.flops += 4 * n
            grads[slot] = g
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}
