/// Softmax along an axis, per row of n entries (stride = the product of the dimensions
/// after the axis): max from -inf (n compares), e = exp(x - max) (n subtracts, n exps),
/// sum from zero (n adds), y = e / sum (n divides): 5n. Input gradient
/// dX = Y * (dY - sum(dY * Y)): n multiplies and n adds for the dot product, n
/// subtracts, n multiplies: 4n. Keeps the output.
extension Softmax: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(input.shape)
        let layout = AxisLayout(input.shape, axis: axis)
        let n = layout.length, s = layout.inner
        let px = SendablePointer(x.values), py = SendablePointer(y.values)
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
                    let e = T.exp(xr[j * s] - m)
                    yr[j * s] = e
                    sum += e
                }
                for j in 0..<n { yr[j * s] /= sum }
                tally.flops += 5 * n
            }
            box.add(tally)
        }
        context.count(box.value)
        let keep = context.needsBackward && context.inputNeedsGradient[0]
        return ForwardResult([y], saved: keep ? SavedState([y]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], y = context.saved.tensors[0]
        let dx = context.inputGradient(input.shape)
        let layout = AxisLayout(input.shape, axis: axis)
        let n = layout.length, s = layout.inner
        let pg = SendablePointer(dy.values), py = SendablePointer(y.values), pd = SendablePointer(dx.values)
        let box = TallyBox()
        parallelFor(layout.outer * layout.inner, cost: 4 * n) { range in
            var tally = WorkTally()
            for row in range {
                let start = (row / s) * n * s + row % s
                let g = pg.pointer + start, yr = py.pointer + start, o = pd.pointer + start
                var total: T = 0
                for j in 0..<n { total += g[j * s] * yr[j * s] }
                for j in 0..<n { o[j * s] = yr[j * s] * (g[j * s] - total) }
                tally.flops += 4 * n
            }
            box.add(tally)
        }
        context.count(box.value, .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
