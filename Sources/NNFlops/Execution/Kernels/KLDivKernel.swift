/// KL divergence on log-probabilities, mean over N elements, as KLDiv.swift documents:
/// log_target=false: xlogy(t, t) - t*x (compare, log, multiply, multiply, subtract: 5)
/// plus the add to the sum; log_target=true: exp(t) * (t - x) (3) plus the add; one
/// divide. Backward: s = dL / N (1) when any input needs a gradient; dX = -t * s (2) or
/// -exp(t) * s (3); dT = (log t + 1 - x) * s (4) or exp(t) * (t - x + 1) * s (5). Keeps
/// input and target.
extension KLDiv: ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain { index == 1 && !logTarget ? .unitInterval : .any }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], t = context.inputs[1]
        let y = context.output([])
        let px = x.values, pt = t.values, n = x.count
        var sum: T = 0
        if logTarget {
            for i in 0..<n { sum += T.exp(pt[i]) * (pt[i] - px[i]) }
            context.count(WorkTally(flops: 4 * n + 1))
        } else {
            for i in 0..<n {
                let v = pt[i]
                let xlogy = v == 0 ? 0 : v * T.log(v)
                sum += xlogy - v * px[i]
            }
            context.count(WorkTally(flops: 6 * n + 1))
        }
        y[0] = sum / T(n)
        return ForwardResult([y], saved: keepOperands(context, x, t))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.inputNeedsGradient.contains(true) else { return BackwardResult(inputs: [nil, nil]) }
        let x = context.saved.tensors[0], t = context.saved.tensors[1], n = x.count
        let px = x.values, pt = t.values
        var tally = WorkTally(flops: 1)
        let s = context.outputGradients[0][0] / T(n)
        var grads: [Tensor<T>?] = [nil, nil]
        if context.needsGradient(input: 0) {
            let g = context.inputGradient(x.shape), out = g.values
            if logTarget {
                for i in 0..<n { out[i] = -T.exp(pt[i]) * s }
                tally.flops += 3 * n
            } else {
                for i in 0..<n { out[i] = -pt[i] * s }
                tally.flops += 2 * n
            }
            grads[0] = g
        }
        if context.needsGradient(input: 1) {
            let g = context.inputGradient(x.shape), out = g.values
            if logTarget {
                for i in 0..<n { out[i] = T.exp(pt[i]) * (pt[i] - px[i] + 1) * s }
                tally.flops += 5 * n
            } else {
                for i in 0..<n { out[i] = (T.log(pt[i]) + 1 - px[i]) * s }
                tally.flops += 4 * n
            }
            grads[1] = g
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}
