/// Binary cross-entropy, mean over N elements, step by step as BCELoss.swift documents:
/// logits: max(x,0) - x*t + log(1 + exp(-|x|)) (9 per element); probabilities:
/// -(t*max(log x, -100) + (1-t)*max(log(1-x), -100)) (10 per element); plus one add per
/// element and one divide. Backward: s = dL / N (1) when any input needs a gradient;
/// logits dX = (sigmoid(x) - t) * s (6), dT = -x * s (2); probabilities
/// dX = (x - t) / max((1-x)*x, 1e-12) * s (6), dT = (clamped log(1-x) - clamped log x) * s
/// (7). Keeps input and target.
extension BCELoss: ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain { index == 1 || !logits ? .unitInterval : .any }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], t = context.inputs[1]
        let y = context.output([])
        let px = x.values, pt = t.values, n = x.count
        var sum: T = 0
        var tally = WorkTally()
        if logits {
            for i in 0..<n {
                let v = px[i]
                let l = Swift.max(v, 0) - v * pt[i] + T.log(1 + T.exp(-Swift.abs(v)))
                sum += l
            }
            tally.flops += 10 * n
        } else {
            let floor = T(-100)
            for i in 0..<n {
                let v = px[i], target = pt[i]
                let a = Swift.max(T.log(v), floor), b = Swift.max(T.log(1 - v), floor)
                sum += -(target * a + (1 - target) * b)
            }
            tally.flops += 11 * n
        }
        y[0] = sum / T(n)
        tally.flops += 1
        context.count(tally)
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
            if logits {
                for i in 0..<n { out[i] = (1 / (1 + T.exp(-px[i])) - pt[i]) * s }
            } else {
                let eps = T(1e-12)
                for i in 0..<n { out[i] = (px[i] - pt[i]) / Swift.max((1 - px[i]) * px[i], eps) * s }
            }
            tally.flops += 6 * n
            grads[0] = g
        }
        if context.needsGradient(input: 1) {
            let g = context.inputGradient(x.shape), out = g.values
            if logits {
                for i in 0..<n { out[i] = -px[i] * s }
                tally.flops += 2 * n
            } else {
                let floor = T(-100)
                for i in 0..<n { out[i] = (Swift.max(T.log(1 - px[i]), floor) - Swift.max(T.log(px[i]), floor)) * s }
                tally.flops += 7 * n
            }
            grads[1] = g
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}
