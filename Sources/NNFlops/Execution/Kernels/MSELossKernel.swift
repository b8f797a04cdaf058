/// MSE loss: per element subtract, square, add to the sum from zero (3), then one divide
/// by N. Backward: s = dL * (2/N) (1) when any input needs a gradient, dX = (x - t) * s
/// (2 per element), dT = (t - x) * s (2 per element). Keeps input and target.
extension MSELoss: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], t = context.inputs[1]
        let y = context.output([])
        let px = x.values, pt = t.values, n = x.count
        var sum: T = 0
        for i in 0..<n {
            let z = px[i] - pt[i]
            sum += z * z
        }
        y[0] = sum / T(n)
        context.count(WorkTally(flops: 3 * n + 1))
        return ForwardResult([y], saved: keepOperands(context, x, t))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.inputNeedsGradient.contains(true) else { return BackwardResult(inputs: [nil, nil]) }
        let x = context.saved.tensors[0], t = context.saved.tensors[1], n = x.count
        var tally = WorkTally(flops: 1)
        let s = context.outputGradients[0][0] * T(2.0 / Double(n))
        var grads: [Tensor<T>?] = [nil, nil]
        for slot in 0..<2 where context.needsGradient(input: slot) {
            let g = context.inputGradient(x.shape)
            let a = slot == 0 ? x.values : t.values, b = slot == 0 ? t.values : x.values, out = g.values
            for i in 0..<n { out[i] = (a[i] - b[i]) * s }
            tally.flops += 2 * n
            grads[slot] = g
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}

/// Input and target kept for backward when any input needs a gradient (element-wise losses).
func keepOperands<T: KernelScalar>(_ context: ForwardContext<T>, _ x: Tensor<T>, _ t: Tensor<T>) -> SavedState<T> {
    context.needsBackward && context.inputNeedsGradient.contains(true) ? SavedState([x, t]) : .none
}
