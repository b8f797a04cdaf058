/// The shared kernel of layernorm, groupnorm and instancenorm: R contiguous groups of M
/// values are standardised, xhat = (x - mean) * rstd, then scaled and shifted per
/// weight index ((r % G) * M + t) / S (layernorm: G = 1, S = 1; groupnorm: G = groups,
/// S = spatial size; instancenorm: G = C, S = M). The algorithm and its counts are the
/// ones documented in CNNSupport.swift (`standardizeBackward`) and the three op files.
struct StandardizeGeometry {
    let groups: Int      // R
    let size: Int        // M
    let perSample: Int   // G
    let run: Int         // S
    let weightElements: Int

    @inline(__always) func weightIndex(group r: Int, offset t: Int) -> Int { ((r % perSample) * size + t) / run }
}

enum Standardize {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func forward<T: KernelScalar>(_ context: ForwardContext<T>, _ geometry: StandardizeGeometry, eps: Double,
                                         weight: Tensor<T>?, bias: Tensor<T>?) -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(x.shape)
        let (r, m) = (geometry.groups, geometry.size)
        let mean = context.allocate([r]), rstd = context.allocate([r])
        let px = SendablePointer(x.values), py = SendablePointer(y.values)
        let pm = SendablePointer(mean.values), pr = SendablePointer(rstd.values)
        let pw = weight.map { SendablePointer($0.values) }, pb = bias.map { SendablePointer($0.values) }
        let e = T(eps)
        let total = TallyBox()
        parallelFor(r, cost: m * 8) { range in
            var tally = WorkTally()
            for group in range {
                let row = px.pointer + group * m, out = py.pointer + group * m
                var sum = T(0)
                for i in 0..<m { sum += row[i] }
                let mu = sum / T(m)
                var squares = T(0)
                for i in 0..<m { let d = row[i] - mu; squares += d * d }
                let variance = squares / T(m)
                let s = 1 / T.sqrt(variance + e)
                tally.flops += m + 1 + 3 * m + 1 + 3
                for i in 0..<m { out[i] = (row[i] - mu) * s }
                tally.flops += 2 * m
                if let pw {
                    let w = pw.pointer
                    if geometry.run == 1 && geometry.perSample == 1 {
                        for i in 0..<m { out[i] *= w[i] }
                    } else {
                        for i in 0..<m { out[i] *= w[geometry.weightIndex(group: group, offset: i)] }
                    }
                    tally.flops += m
                }
                if let pb {
                    let b = pb.pointer
                    if geometry.run == 1 && geometry.perSample == 1 {
                        for i in 0..<m { out[i] += b[i] }
                    } else {
                        for i in 0..<m { out[i] += b[geometry.weightIndex(group: group, offset: i)] }
                    }
                    tally.flops += m
                }
                pm.pointer[group] = mu
                pr.pointer[group] = s
            }
            total.add(tally)
        }
        context.count(total.value)
        return ForwardResult([y], saved: context.needsBackward ? SavedState([x, mean, rstd]) : .none)
    }

    /// Returns (dX, dWeight, dBias).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    static func backward<T: KernelScalar>(_ context: BackwardContext<T>, _ geometry: StandardizeGeometry,
                                          hasWeight: Bool, hasBias: Bool) -> (Tensor<T>?, Tensor<T>?, Tensor<T>?) {
        let dy = context.outputGradients[0]
        let x = context.saved.tensors[0], mean = context.saved.tensors[1], rstd = context.saved.tensors[2]
        let (r, m) = (geometry.groups, geometry.size)
        let needsInput = context.needsGradient(input: 0)
        let weightTrainable = hasWeight && context.trainable(parameter: 0)
        let biasTrainable = hasBias && context.trainable(parameter: hasWeight ? 1 : 0)
        let dx = needsInput ? context.inputGradient(x.shape) : nil
        let dw = weightTrainable ? context.parameterGradient([geometry.weightElements]) : nil
        let db = biasTrainable ? context.parameterGradient([geometry.weightElements]) : nil
        var xhat: [T] = []
        let needXhat = weightTrainable || needsInput
        if needXhat { xhat = [T](repeating: 0, count: x.count) }
        let weight = hasWeight ? SendablePointer(context.parameters[0].values) : nil
        let px = SendablePointer(x.values), pg = SendablePointer(dy.values)
        let pm = SendablePointer(mean.values), pr = SendablePointer(rstd.values)
        let pdx = dx.map { SendablePointer($0.values) }
        let inputTally = TallyBox(), weightTally = TallyBox()
        withElements(&xhat) { xhatPointer in
            let ph = needXhat ? SendablePointer(xhatPointer) : nil
            parallelFor(r, cost: m * 12) { range in
                var ti = WorkTally(), tw = WorkTally()
                var g = [T](repeating: 0, count: hasWeight ? m : 0)
                for group in range {
                    let row = px.pointer + group * m, dyRow = pg.pointer + group * m
                    let mu = pm.pointer[group], s = pr.pointer[group]
                    if let ph {
                        let h = ph.pointer + group * m
                        for i in 0..<m { h[i] = (row[i] - mu) * s }
                        if weightTrainable { tw.flops += 2 * m } else { ti.flops += 2 * m }
                    }
                    guard let pdx, let ph else { continue }
                    let h = ph.pointer + group * m, out = pdx.pointer + group * m
                    withElements(&g) { gPointer in
                        let gs: UnsafeMutablePointer<T>
                        if let weight {
                            gs = gPointer
                            for i in 0..<m { gs[i] = dyRow[i] * weight.pointer[geometry.weightIndex(group: group, offset: i)] }
                            ti.flops += m
                        } else {
                            gs = dyRow
                        }
                        var a = T(0), b = T(0)
                        for i in 0..<m { a += gs[i] }
                        for i in 0..<m { b += gs[i] * h[i] }
                        a = a / T(m)
                        b = b / T(m)
                        ti.flops += m + 2 * m + 2
                        for i in 0..<m { out[i] = (gs[i] - a - h[i] * b) * s }
                        ti.flops += 4 * m
                    }
                }
                inputTally.add(ti)
                weightTally.add(tw)
            }
            // Parameter gradients: sums over the positions sharing a weight, in group order.
            var tw = WorkTally()
            if let dw, let ph {
                let out = dw.values
                for group in 0..<r {
                    let h = ph.pointer + group * m, d = pg.pointer + group * m
                    for i in 0..<m { out[geometry.weightIndex(group: group, offset: i)] += d[i] * h[i] }
                    tw.flops += 2 * m
                }
            }
            if let db {
                let out = db.values
                for group in 0..<r {
                    let d = pg.pointer + group * m
                    for i in 0..<m { out[geometry.weightIndex(group: group, offset: i)] += d[i] }
                    tw.flops += m
                }
            }
            weightTally.add(tw)
        }
        context.count(inputTally.value, .inputGradient)
        context.count(weightTally.value, .weightGradient)
        return (dx, dw, db)
    }
}
