/// Hinge loss, as HingeLoss.swift documents. Binary: max(0, 1 - t*x) (3 per element) plus
/// the add to the sum, one divide; backward s = dL / N and -s (2) when any input needs a
/// gradient, dX = (t * -s) * [1 - t*x > 0] and dT = (x * -s) * [1 - t*x > 0] (5 per
/// element each). Multi-class (margin 1, p = 1), per row: 1 - x_y (1), for each other
/// class + x_c, max with 0 and add to the row sum (3), divide by C (1); R adds and one
/// divide for the mean. Input gradient: g = dL / (R*C) (1); per row 1 - x_y (1), for each
/// other class + x_c, compare with 0, multiply by g (3), and dX_y = -(their sum) (C-1
/// adds, 1 negate). Class ids outside 0..<C are an error. Keeps input and target.
extension HingeLoss: ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain {
        index == 1 && multiClass ? .integers(upperBound: input.shape[input.rank - 1]) : .any
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], t = context.inputs[1]
        let y = context.output([])
        let px = x.values
        var tally = WorkTally()
        if multiClass {
            let classes = input.shape[input.rank - 1], rows = x.count / classes
            var total: T = 0
            for r in 0..<rows {
                let label = Int(t.indices[r])
                guard label >= 0 && label < classes else { throw NNFlopsError("hinge_loss class id \(label) at row \(r) is outside 0..<\(classes)") }
                let row = px + r * classes
                let base = 1 - row[label]
                var sum: T = 0
                for c in 0..<classes where c != label { sum += Swift.max(base + row[c], 0) }
                total += sum / T(classes)
                tally.flops += 3 * (classes - 1) + 2
            }
            y[0] = total / T(rows)
            tally.flops += rows + 1
        } else {
            let pt = t.values, n = x.count
            var sum: T = 0
            for i in 0..<n { sum += Swift.max(1 - pt[i] * px[i], 0) }
            y[0] = sum / T(n)
            tally.flops += 4 * n + 1
        }
        context.count(tally)
        return ForwardResult([y], saved: keepOperands(context, x, t))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.inputNeedsGradient.contains(true) else { return BackwardResult(inputs: [nil, nil]) }
        let x = context.saved.tensors[0], t = context.saved.tensors[1]
        let px = x.values, dl = context.outputGradients[0][0]
        var tally = WorkTally()
        var grads: [Tensor<T>?] = [nil, nil]
        if multiClass {
            guard context.needsGradient(input: 0) else { return BackwardResult(inputs: grads) }
            let classes = input.shape[input.rank - 1], rows = x.count / classes
            let g = dl / T(rows * classes)
            tally.flops += 1
            let dx = context.inputGradient(x.shape)
            for r in 0..<rows {
                let label = Int(t.indices[r])
                let row = px + r * classes, out = dx.values + r * classes
                let base = 1 - row[label]
                var sum: T = 0
                for c in 0..<classes where c != label {
                    let active: T = base + row[c] > 0 ? 1 : 0
                    out[c] = active * g
                    sum += out[c]
                }
                out[label] = -sum
                tally.flops += 4 * (classes - 1) + 2
            }
            grads[0] = dx
        } else {
            let pt = t.values, n = x.count
            let s = dl / T(n), ns = -s
            tally.flops += 2
            for slot in 0..<2 where context.needsGradient(input: slot) {
                let g = context.inputGradient(x.shape), out = g.values
                let other = slot == 0 ? pt : px
                for i in 0..<n {
                    let active: T = 1 - pt[i] * px[i] > 0 ? 1 : 0
                    out[i] = other[i] * ns * active
                }
                tally.flops += 5 * n
                grads[slot] = g
            }
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}
