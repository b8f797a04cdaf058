/// RMS normalisation over the last dimension, as documented in RMSNorm.swift:
/// forward ms = sum x^2 / D, r = 1 / sqrt(ms + eps), y = x * r (* weight); keeps x and r.
/// Backward: xn = x * r once (charged to the weight gradient when trainable), dW = sum
/// over rows of dY * xn, dX = (g - xn * b) * r with g = dY * weight, b = sum g * xn / D.
extension RMSNorm: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let d = input.shape[input.rank - 1], rows = x.count / max(1, d)
        let y = context.output(x.shape)
        let rs = context.allocate(Array(input.shape.dropLast()) + [1])
        let px = SendablePointer(x.values), py = SendablePointer(y.values), pr = SendablePointer(rs.values)
        let pw = affine ? SendablePointer(context.parameters[0].values) : nil
        let e = T(eps)
        let total = TallyBox()
        parallelFor(rows, cost: d * 4) { range in
            var tally = WorkTally()
            for row in range {
                let xs = px.pointer + row * d, out = py.pointer + row * d
                var sum = T(0)
                for i in 0..<d { sum += xs[i] * xs[i] }
                let r = 1 / T.sqrt(sum / T(d) + e)
                tally.flops += 2 * d + 1 + 3
                for i in 0..<d { out[i] = xs[i] * r }
                tally.flops += d
                if let pw {
                    for i in 0..<d { out[i] *= pw.pointer[i] }
                    tally.flops += d
                }
                pr.pointer[row] = r
            }
            total.add(tally)
        }
        context.count(total.value)
        return ForwardResult([y], saved: context.needsBackward ? SavedState([x, rs]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], x = context.saved.tensors[0], rs = context.saved.tensors[1]
        let d = input.shape[input.rank - 1], rows = x.count / max(1, d)
        let needsInput = context.needsGradient(input: 0)
        let weightTrainable = affine && context.trainable(parameter: 0)
        let dx = needsInput ? context.inputGradient(x.shape) : nil
        let dw = weightTrainable ? context.parameterGradient([d]) : nil
        var ti = WorkTally(), tw = WorkTally()
        var xn = [T](repeating: 0, count: d), g = [T](repeating: 0, count: d)
        let gs = dy.values, xs = x.values
        for row in 0..<rows where weightTrainable || needsInput {
            let r = rs.values[row], xr = xs + row * d, dr = gs + row * d
            for i in 0..<d { xn[i] = xr[i] * r }
            if weightTrainable { tw.flops += d } else { ti.flops += d }
            if let dw {
                let out = dw.values
                for i in 0..<d { out[i] += dr[i] * xn[i] }
                tw.flops += 2 * d
            }
            if let dx {
                if affine {
                    let w = context.parameters[0].values
                    for i in 0..<d { g[i] = dr[i] * w[i] }
                    ti.flops += d
                } else {
                    for i in 0..<d { g[i] = dr[i] }
                }
                var b = T(0)
                for i in 0..<d { b += g[i] * xn[i] }
                b = b / T(d)
                ti.flops += 2 * d + 1
                let out = dx.values + row * d
                for i in 0..<d { out[i] = (g[i] - xn[i] * b) * r }
                ti.flops += 3 * d
            }
        }
        context.count(ti, .inputGradient)
        context.count(tw, .weightGradient)
        return BackwardResult(inputs: [dx], parameters: affine ? [dw] : [])
    }
}
