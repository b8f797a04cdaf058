/// Batch normalisation (training), per channel exactly as documented in BatchNorm.swift:
/// forward 6m + 12 per channel (+ 2m affine), running statistics updated; keeps x,
/// mean and rstd. Backward: s = sum dY and p = sum (x - mean) dY, each charged to the
/// parameter gradient it serves when trainable, else to the input gradient.
extension BatchNorm: ExecutableOperator {
    public func bufferInitialValue(_ index: Int) -> Double { index == 1 ? 1 : 0 }

    /// (outer, channels, inner): x[o, c, i] at (o * C + c) * inner + i.
    var batchLayout: (outer: Int, channels: Int, inner: Int) {
        (input.shape[0], channels, input.shape.dropFirst(2).reduce(1, *))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let (outer, c, inner) = batchLayout
        let m = outer * inner
        let y = context.output(x.shape)
        let mean = context.allocate([c]), rstd = context.allocate([c])
        let eps = T(self.eps), momentum = T(self.momentum)
        let runningMean = context.buffers[0].values, runningVar = context.buffers[1].values
        let weight = affine ? context.parameters[0].values : nil, bias = affine ? context.parameters[1].values : nil
        let px = SendablePointer(x.values), py = SendablePointer(y.values)
        let pm = SendablePointer(mean.values), pr = SendablePointer(rstd.values)
        let prm = SendablePointer(runningMean), prv = SendablePointer(runningVar)
        let pw = weight.map { SendablePointer($0) }, pb = bias.map { SendablePointer($0) }
        let total = TallyBox()
        parallelFor(c, cost: m * 8) { channels in
            var tally = WorkTally()
            let xs = px.pointer, ys = py.pointer
            for ch in channels {
                var sum = T(0)
                for o in 0..<outer {
                    let row = xs + (o * c + ch) * inner
                    for i in 0..<inner { sum += row[i] }
                }
                tally.flops += m
                let mu = sum / T(m)
                var squares = T(0)
                for o in 0..<outer {
                    let row = xs + (o * c + ch) * inner
                    for i in 0..<inner { let d = row[i] - mu; squares += d * d }
                }
                tally.flops += 3 * m
                let variance = squares / T(m)
                let r = 1 / T.sqrt(variance + eps)
                tally.flops += 2 + 3
                if let pw, let pb {
                    let w = pw.pointer[ch], b = pb.pointer[ch]
                    for o in 0..<outer {
                        let row = xs + (o * c + ch) * inner, out = ys + (o * c + ch) * inner
                        for i in 0..<inner { out[i] = (row[i] - mu) * r * w + b }
                    }
                    tally.flops += 4 * m
                } else {
                    for o in 0..<outer {
                        let row = xs + (o * c + ch) * inner, out = ys + (o * c + ch) * inner
                        for i in 0..<inner { out[i] = (row[i] - mu) * r }
                    }
                    tally.flops += 2 * m
                }
                // Running statistics: unbiased variance (1 div), running += momentum * (new - running) (3 + 3).
                let unbiased = squares / T(m - 1)
                prm.pointer[ch] += momentum * (mu - prm.pointer[ch])
                prv.pointer[ch] += momentum * (unbiased - prv.pointer[ch])
                tally.flops += 1 + 3 + 3
                pm.pointer[ch] = mu
                pr.pointer[ch] = r
            }
            total.add(tally)
        }
        context.buffers[2].indices[0] += 1
        context.count(total.value)
        return ForwardResult([y], saved: context.needsBackward ? SavedState([x, mean, rstd]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0]
        let x = context.saved.tensors[0], mean = context.saved.tensors[1], rstd = context.saved.tensors[2]
        let (outer, c, inner) = batchLayout
        let m = outer * inner
        let needsInput = context.needsGradient(input: 0)
        let weightTrainable = affine && context.trainable(parameter: 0)
        let biasTrainable = affine && context.trainable(parameter: 1)
        let dx = needsInput ? context.inputGradient(x.shape) : nil
        let dw = weightTrainable ? context.parameterGradient([c]) : nil
        let db = biasTrainable ? context.parameterGradient([c]) : nil
        let px = SendablePointer(x.values), pg = SendablePointer(dy.values)
        let pdx = dx.map { SendablePointer($0.values) }, pdw = dw.map { SendablePointer($0.values) }, pdb = db.map { SendablePointer($0.values) }
        let weight = affine ? SendablePointer(context.parameters[0].values) : nil
        let means = SendablePointer(mean.values), rstds = SendablePointer(rstd.values)
        let inputTally = TallyBox(), weightTally = TallyBox()
        parallelFor(c, cost: m * 9) { channels in
            var ti = WorkTally(), tw = WorkTally()
            let xs = px.pointer, gs = pg.pointer
            for ch in channels {
                let mu = means.pointer[ch], r = rstds.pointer[ch]
                var s = T(0), p = T(0)
                if biasTrainable || needsInput {
                    for o in 0..<outer {
                        let g = gs + (o * c + ch) * inner
                        for i in 0..<inner { s += g[i] }
                    }
                    if biasTrainable { tw.flops += m } else { ti.flops += m }
                }
                if weightTrainable || needsInput {
                    for o in 0..<outer {
                        let row = xs + (o * c + ch) * inner, g = gs + (o * c + ch) * inner
                        for i in 0..<inner { p += (row[i] - mu) * g[i] }
                    }
                    if weightTrainable { tw.flops += 3 * m } else { ti.flops += 3 * m }
                }
                if let pdw { pdw.pointer[ch] = p * r; tw.flops += 1 }
                if let pdb { pdb.pointer[ch] = s }
                if let pdx {
                    let k = p * r * r / T(m)
                    let meanGrad = s / T(m)
                    ti.flops += 4
                    var scale = r
                    if let weight { scale = r * weight.pointer[ch]; ti.flops += 1 }
                    for o in 0..<outer {
                        let row = xs + (o * c + ch) * inner, g = gs + (o * c + ch) * inner, out = pdx.pointer + (o * c + ch) * inner
                        for i in 0..<inner { out[i] = (g[i] - meanGrad - (row[i] - mu) * k) * scale }
                    }
                    ti.flops += 5 * m
                }
            }
            inputTally.add(ti)
            weightTally.add(tw)
        }
        context.count(inputTally.value, .inputGradient)
        context.count(weightTally.value, .weightGradient)
        return BackwardResult(inputs: [dx], parameters: affine ? [dw, db] : [])
    }
}
