/// ConvTranspose2d as documented in ConvTranspose2d.swift:
/// - forward: the direct scatter (`Conv.scatter`) of every input element times its
///   (out/g) kh kw weights into a zeroed full-size output, cropped by the padding
///   (taps landing in the crop included), + bias per output;
/// - input gradient: conv2d of dY with the same weight (im2col of dY, GEMM);
/// - weight gradient: dW_g += X_g * cols(dY)^T; bias gradient: sums of dY.
/// Keeps the input when the weight is trainable.
extension ConvTranspose2d: ExecutableOperator {
    struct Geometry {
        let n, c, h, w, cg, og, oh, ow, fullH, fullW, taps: Int
    }

    var geometry: Geometry {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let fullH = (h - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + outputPadding[0] + 1
        let fullW = (w - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + outputPadding[1] + 1
        return Geometry(n: n, c: c, h: h, w: w, cg: c / groups, og: outChannels / groups, oh: outputSize[0], ow: outputSize[1],
                        fullH: fullH, fullW: fullW, taps: kernel[0] * kernel[1])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], weight = context.parameters[0]
        let gm = geometry
        // taps[g][t][co][c] = W[g*cg + c, co, t].
        var taps = [T](repeating: 0, count: groups * gm.taps * gm.og * gm.cg)
        for group in 0..<groups {
            for c in 0..<gm.cg {
                for co in 0..<gm.og {
                    for t in 0..<gm.taps {
                        taps[((group * gm.taps + t) * gm.og + co) * gm.cg + c] = weight.values[((group * gm.cg + c) * gm.og + co) * gm.taps + t]
                    }
                }
            }
        }
        var full = [T](repeating: 0, count: gm.n * outChannels * gm.fullH * gm.fullW)
        let block = 8
        let blocks = (gm.og + block - 1) / block
        let total = TallyBox()
        let px = SendablePointer(x.values)
        withElements(&taps) { tapPointer in
            withElements(&full) { fullPointer in
                let pt = SendablePointer(tapPointer)
                let pf = SendablePointer(fullPointer)
                parallelFor(gm.n * groups * blocks, cost: gm.cg * gm.h * gm.w * block * gm.taps) { range in
                    var tally = WorkTally()
                    for item in range {
                        let s = item / (groups * blocks), group = (item / blocks) % groups, b = item % blocks
                        let rows = (b * block)..<min(gm.og, (b + 1) * block)
                        tally += Conv.scatter(taps: pt.pointer + group * gm.taps * gm.og * gm.cg, rows: rows, outChannels: gm.og, depth: gm.cg,
                                              src: px.pointer + (s * gm.c + group * gm.cg) * gm.h * gm.w, sourceHeight: gm.h, sourceWidth: gm.w,
                                              kernel: kernel, stride: stride, dilation: dilation,
                                              dst: pf.pointer + (s * outChannels + group * gm.og) * gm.fullH * gm.fullW,
                                              dstHeight: gm.fullH, dstWidth: gm.fullW)
                    }
                    total.add(tally)
                }
            }
        }
        var tally = total.value
        let y = context.output(outputs[0].shape)
        for plane in 0..<(gm.n * outChannels) {
            for r in 0..<gm.oh {
                let source = plane * gm.fullH * gm.fullW + (r + padding[0]) * gm.fullW + padding[1]
                let out = y.values + (plane * gm.oh + r) * gm.ow
                for j in 0..<gm.ow { out[j] = full[source + j] }
            }
        }
        addBias(to: y, context, outer: gm.n, inner: gm.oh * gm.ow, tally: &tally)
        context.count(tally)
        return ForwardResult([y], saved: keptForBackward(context))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], weight = context.parameters[0]
        let gm = geometry
        let depth = gm.og * gm.taps, area = gm.h * gm.w
        let pdy = SendablePointer(dy.values), pw = SendablePointer(weight.values)
        let needsInput = context.needsGradient(input: 0), weightTrainable = context.trainable(parameter: 0)
        let dx = needsInput ? context.inputGradient(input.shape) : nil
        let dw = weightTrainable ? context.parameterGradient(parameters[0].shape) : nil
        let x = weightTrainable ? context.saved.tensors[0] : nil
        let pdx = dx.map { SendablePointer($0.values) }, pdw = dw.map { SendablePointer($0.values) }, px = x.map { SendablePointer($0.values) }
        let inputTally = TallyBox(), weightTally = TallyBox()
        // Weight-gradient accumulation over samples forbids splitting samples of one group across threads.
        let parallelInside = groups == 1
        let run: (Range<Int>) -> Void = { range in
            var cols = [T](repeating: 0, count: depth * area)
            var ti = WorkTally(), tw = WorkTally()
            withElements(&cols) { colsPointer in
                for group in range {
                    for s in 0..<gm.n {
                        // cols of dY placed in the full output: rows (co, a, b), columns (i, j) of the input.
                        Conv.im2col(pdy.pointer + (s * outChannels + group * gm.og) * gm.oh * gm.ow, channels: gm.og,
                                    height: gm.oh, width: gm.ow, kernel: kernel, stride: stride, dilation: dilation,
                                    padding: padding, outHeight: gm.h, outWidth: gm.w, into: colsPointer)
                        if let pdx {
                            ti += GEMM.multiply(m: gm.cg, n: area, k: depth, a: pw.pointer + group * gm.cg * depth, lda: depth, transposeA: false,
                                                b: colsPointer, ldb: area, transposeB: false,
                                                c: pdx.pointer + (s * gm.c + group * gm.cg) * area, ldc: area, accumulate: false,
                                                parallel: parallelInside)
                        }
                        if let pdw, let px {
                            tw += GEMM.multiply(m: gm.cg, n: depth, k: area, a: px.pointer + (s * gm.c + group * gm.cg) * area, lda: area, transposeA: false,
                                                b: colsPointer, ldb: area, transposeB: true,
                                                c: pdw.pointer + group * gm.cg * depth, ldc: depth, accumulate: s > 0, parallel: parallelInside)
                        }
                    }
                }
            }
            inputTally.add(ti)
            weightTally.add(tw)
        }
        if needsInput || weightTrainable {
            if parallelInside { run(0..<groups) } else { parallelFor(groups, cost: gm.n * gm.cg * depth * area, run) }
        }
        context.count(inputTally.value, .inputGradient)
        context.count(weightTally.value, .weightGradient)
        let db = biasGradient(dy, context, outer: gm.n, inner: gm.oh * gm.ow)
        return BackwardResult(inputs: [dx], parameters: parameterGradients(weight: dw, bias: db))
    }
}
