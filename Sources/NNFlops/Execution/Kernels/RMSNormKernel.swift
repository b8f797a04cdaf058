/// RMS normalisation over the last dimension, as documented in RMSNorm.swift:
/// forward ms = sum x^2 / D, r = 1 / sqrt(ms + eps), y = x * r (* (offset + weight), the
/// offset added once); keeps x and r. The composite (transformers' LlamaRMSNorm /
/// GemmaRMSNorm) keeps what its ops keep: for the input's gradient x and r ([.., 1]), for
/// the weight's the normalised h = x * r (materialised in forward), with an offset also
/// (offset + weight) [D].
/// Backward: xn = x * r (charged to the weight gradient when trainable; the composite
/// reads its kept h instead), dW = sum over rows of dY * xn, dX = (g - xn * b) * r with
/// g = dY * (offset + weight), b = sum g * xn / D.
extension RMSNorm: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let d = input.shape[input.rank - 1], rows = x.count / max(1, d)
        let y = context.output(x.shape)
        let rs = context.allocate(Array(input.shape.dropLast()) + (composite ? [1] : []))
        let needsInput = context.inputNeedsGradient[0], weightTrains = affine && context.parameterTrainable.first == true
        let h: Tensor<T>? = composite && context.needsBackward && weightTrains ? context.allocate(x.shape) : nil
        var once = WorkTally()
        // (offset + weight), once per pass.
        var scaleTensor: Tensor<T>?
        if affine {
            let w = context.parameters[0]
            if offset != 0 {
                let shifted = context.allocate([d])
                for i in 0..<d { shifted.values[i] = w.values[i] + T(offset) }
                once.flops += d
                scaleTensor = shifted
            } else {
                scaleTensor = w
            }
        }
        let px = SendablePointer(x.values), py = SendablePointer(y.values), pr = SendablePointer(rs.values)
        let pw = scaleTensor.map { SendablePointer($0.values) }, ph = h.map { SendablePointer($0.values) }
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
                if let ph { (ph.pointer + row * d).update(from: out, count: d) }
                if let pw {
                    for i in 0..<d { out[i] *= pw.pointer[i] }
                    tally.flops += d
                }
                pr.pointer[row] = r
            }
            total.add(tally)
        }
        context.count(total.value + once)
        guard context.needsBackward else { return ForwardResult([y]) }
        guard composite else { return ForwardResult([y], saved: SavedState([x, rs])) }
        // The composite keeps x and r only for the input's gradient, h only for the
        // weight's, (offset + weight) only for the input's.
        var saved: [Tensor<T>] = []
        var flags = [0, 0]
        if needsInput { saved += [x, rs]; flags[0] = 1 }
        if let h { saved.append(h); flags[1] = 1 }
        if needsInput && offset != 0, let scaleTensor { saved.append(scaleTensor) }
        return ForwardResult([y], saved: SavedState(saved, flags: flags))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], tensors = context.saved.tensors
        let d = input.shape[input.rank - 1], rows = dy.count / max(1, d)
        let needsInput = context.needsGradient(input: 0)
        let weightTrainable = affine && context.trainable(parameter: 0)
        // Fused: [x, r]. Composite: [x, r] when the input needs its gradient, then h when
        // the weight trains, then (offset + weight) with an offset.
        let hasInputState = !composite || context.saved.flags[0] == 1
        let x: Tensor<T>? = hasInputState ? tensors[0] : nil, rs: Tensor<T>? = hasInputState ? tensors[1] : nil
        let h: Tensor<T>? = composite && context.saved.flags[1] == 1 ? tensors[hasInputState ? 2 : 0] : nil
        let dx = needsInput ? context.inputGradient(dy.shape) : nil
        let dw = weightTrainable ? context.parameterGradient([d]) : nil
        var ti = WorkTally(), tw = WorkTally()
        var xn = [T](repeating: 0, count: d), g = [T](repeating: 0, count: d)
        // The factor dY meets: offset + weight (forward's sum, formed again here without
        // counting: the composite keeps it, the fused kernel keeps the weight).
        var scale = [T](repeating: 1, count: affine ? d : 0)
        if affine {
            let w = context.parameters[0].values
            for i in 0..<d { scale[i] = w[i] + T(offset) }
        }
        let gs = dy.values
        for row in 0..<rows where weightTrainable || needsInput {
            let dr = gs + row * d
            if let h {
                for i in 0..<d { xn[i] = h.values[row * d + i] }
            } else if let x, let rs {
                let r = rs.values[row], xr = x.values + row * d
                for i in 0..<d { xn[i] = xr[i] * r }
                if weightTrainable { tw.flops += d } else { ti.flops += d }
            }
            if let dw {
                let out = dw.values
                for i in 0..<d { out[i] += dr[i] * xn[i] }
                tw.flops += 2 * d
            }
            if let dx, let rs {
                let r = rs.values[row]
                if affine {
                    for i in 0..<d { g[i] = dr[i] * scale[i] }
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
