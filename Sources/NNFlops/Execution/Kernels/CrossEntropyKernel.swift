/// Cross-entropy on raw scores, as CrossEntropy.swift documents: log-softmax over the
/// class dimension (5N + R, the log_softmax kernel's loops), then per row
/// -logp[target] (hard), -((1-eps)*logp[target] + (eps/C)*sum logp) (hard, smoothed) or
/// -sum t' * logp with t' = (1-eps)*t + eps/C (soft), summed over rows and divided by R.
/// Backward from h = -dL / R (2): dlogp (a copy of h at the targets; b everywhere plus a
/// at the targets when smoothed; h * t' for soft labels) then the log-softmax backward
/// (4N); the soft target's gradient h * logp (times 1 - eps when smoothed). Keeps the
/// log-probabilities and the target. A class id outside 0..<C is an error.
extension CrossEntropy: ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain {
        index == 1 ? (softLabels ? .distribution : .integers(upperBound: input.shape[classAxis])) : .any
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], target = context.inputs[1]
        let layout = AxisLayout(input.shape, axis: classAxis)
        let classes = layout.length, rows = layout.outer * layout.inner, inner = layout.inner
        let logp = context.allocate(input.shape)
        var tally = logSoftmaxRows(x.values, logp.values, layout)
        let lp = logp.values
        let eps = T(smoothing), keepWeight = T(1 - smoothing), spread = T(smoothing / Double(classes))
        var total: T = 0
        if !softLabels {
            for r in 0..<rows {
                let label = Int(target.indices[r])
                guard label >= 0 && label < classes else { throw NNFlopsError("cross_entropy class id \(label) at position \(r) is outside 0..<\(classes)") }
                let base = (r / inner) * classes * inner + r % inner
                if smoothing > 0 {
                    var sum: T = 0
                    for c in 0..<classes { sum += lp[base + c * inner] }
                    total += -(keepWeight * lp[base + label * inner] + spread * sum)
                    tally.flops += classes + 5
                } else {
                    total += -lp[base + label * inner]
                    tally.flops += 2
                }
            }
        } else {
            let t = target.values
            let smoothed: Tensor<T>? = smoothing > 0 ? context.allocate(input.shape) : nil
            if let smoothed {
                for i in 0..<x.count { smoothed[i] = keepWeight * t[i] + spread }
                tally.flops += 2 * x.count
            }
            let tp = smoothed?.values ?? t
            for r in 0..<rows {
                let base = (r / inner) * classes * inner + r % inner
                var sum: T = 0
                for c in 0..<classes { sum += tp[base + c * inner] * lp[base + c * inner] }
                total += -sum
                tally.flops += 2 * classes + 2
            }
        }
        _ = eps
        let y = context.output([])
        y[0] = total / T(rows)
        tally.flops += 1
        context.count(tally)
        let keep = context.needsBackward && context.inputNeedsGradient.contains(true)
        return ForwardResult([y], saved: keep ? SavedState([logp, target]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.inputNeedsGradient.contains(true) else { return BackwardResult(inputs: [nil, nil]) }
        let logp = context.saved.tensors[0], target = context.saved.tensors[1]
        let layout = AxisLayout(input.shape, axis: classAxis)
        let classes = layout.length, rows = layout.outer * layout.inner, inner = layout.inner
        let h = -context.outputGradients[0][0] / T(rows)
        var tally = WorkTally(flops: 2)
        let keepWeight = T(1 - smoothing), spread = T(smoothing / Double(classes))
        var grads: [Tensor<T>?] = [nil, nil]
        if context.needsGradient(input: 0) {
            let dlogp = context.temporary(input.shape), d = dlogp.values
            if !softLabels {
                if smoothing > 0 {
                    let a = h * keepWeight, b = h * spread
                    tally.flops += 2
                    dlogp.fill(b)
                    for r in 0..<rows {
                        let base = (r / inner) * classes * inner + r % inner
                        d[base + Int(target.indices[r]) * inner] += a
                    }
                    tally.flops += rows
                } else {
                    for r in 0..<rows {
                        let base = (r / inner) * classes * inner + r % inner
                        d[base + Int(target.indices[r]) * inner] = h
                    }
                }
            } else {
                let t = target.values
                if smoothing > 0 {
                    for i in 0..<dlogp.count { d[i] = h * (keepWeight * t[i] + spread) }
                    tally.flops += 3 * dlogp.count
                } else {
                    for i in 0..<dlogp.count { d[i] = h * t[i] }
                    tally.flops += dlogp.count
                }
            }
            let dx = context.inputGradient(input.shape)
            tally += logSoftmaxBackwardRows(d, logp.values, dx.values, layout)
            grads[0] = dx
        }
        if softLabels && context.needsGradient(input: 1) {
            let dt = context.inputGradient(input.shape), o = dt.values, lp = logp.values
            if smoothing > 0 {
                for i in 0..<dt.count { o[i] = h * lp[i] * keepWeight }
                tally.flops += 2 * dt.count
            } else {
                for i in 0..<dt.count { o[i] = h * lp[i] }
                tally.flops += dt.count
            }
            grads[1] = dt
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}
