/// Log-softmax along an axis, per row of n entries: max from -inf (n compares), shifted =
/// x - max (n subtracts), exp and sum from zero (n exps, n adds), one log, y = shifted -
/// log sum (n subtracts): 5n + 1. Input gradient dX = dY - exp(Y) * sum(dY): n adds, n
/// exps, n multiplies, n subtracts: 4n. Keeps the output.
extension LogSoftmax: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(input.shape)
        let layout = AxisLayout(input.shape, axis: axis)
        let tally = logSoftmaxRows(x.values, y.values, layout)
        context.count(tally)
        let keep = context.needsBackward && context.inputNeedsGradient[0]
        return ForwardResult([y], saved: keep ? SavedState([y]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], y = context.saved.tensors[0]
        let dx = context.inputGradient(input.shape)
        let tally = logSoftmaxBackwardRows(dy.values, y.values, dx.values, AxisLayout(input.shape, axis: axis))
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}

/// y = log_softmax(x) along the layout's axis (5n + 1 per row, counted per row).
func logSoftmaxRows<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ layout: AxisLayout) -> WorkTally {
    let n = layout.length, s = layout.inner
    let px = SendablePointer(x), py = SendablePointer(y)
    let box = TallyBox()
    parallelFor(layout.outer * layout.inner, cost: 5 * n) { range in
        var tally = WorkTally()
        for row in range {
            let start = (row / s) * n * s + row % s
            let xr = px.pointer + start, yr = py.pointer + start
            var m = -T.infinity
            for j in 0..<n { m = Swift.max(m, xr[j * s]) }
            var sum: T = 0
            for j in 0..<n {
                let shifted = xr[j * s] - m
                yr[j * s] = shifted
                sum += T.exp(shifted)
            }
            let logSum = T.log(sum)
            for j in 0..<n { yr[j * s] -= logSum }
            tally.flops += 5 * n + 1
        }
        box.add(tally)
    }
    return box.value
}

/// dx = dy - exp(y) * sum(dy) along the layout's axis (4n per row, counted per row).
func logSoftmaxBackwardRows<T: KernelScalar>(_ dy: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                             _ dx: UnsafeMutablePointer<T>, _ layout: AxisLayout) -> WorkTally {
    let n = layout.length, s = layout.inner
    let pg = SendablePointer(dy), py = SendablePointer(y), pd = SendablePointer(dx)
    let box = TallyBox()
    parallelFor(layout.outer * layout.inner, cost: 4 * n) { range in
        var tally = WorkTally()
        for row in range {
            let start = (row / s) * n * s + row % s
            let g = pg.pointer + start, yr = py.pointer + start, o = pd.pointer + start
            var total: T = 0
            for j in 0..<n { total += g[j * s] }
            for j in 0..<n { o[j * s] = g[j * s] - T.exp(yr[j * s]) * total }
            tally.flops += 4 * n
        }
        box.add(tally)
    }
    return box.value
}
