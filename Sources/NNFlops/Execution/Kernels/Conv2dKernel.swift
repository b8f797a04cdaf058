/// Conv2d as documented in Conv2d.swift:
/// - forward: per (sample, group) im2col of the zero-padded input, then
///   Y = W_g [Cout/g x (C/g)kh kw] * cols (padded taps included), + bias per output;
/// - weight gradient: dW_g += dY_g * cols^T (cols rebuilt from the saved input; a copy,
///   no FLOPs), bias gradient = sums of dY;
/// - input gradient: the direct scatter (`Conv.scatter`) of W^T dY into a zero-padded
///   dX, then cropped: exactly N*Cout*Ho*Wo*(C/g)*kh*kw MACs, padded taps included.
/// Keeps the input when the weight is trainable.
extension Conv2d: ExecutableOperator {
    struct Geometry {
        let n, c, h, w, cg, og, oh, ow, ck, area: Int
    }

    /// 1x1, stride 1, no padding: the input planes are already the im2col columns.
    var isPointwise: Bool { kernel == [1, 1] && stride == [1, 1] && padding == [0, 0] }

    var geometry: Geometry {
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let cg = c / groups, og = outChannels / groups
        return Geometry(n: n, c: c, h: h, w: w, cg: cg, og: og, oh: outputSize[0], ow: outputSize[1],
                        ck: cg * kernel[0] * kernel[1], area: outputSize[0] * outputSize[1])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], weight = context.parameters[0]
        let gm = geometry
        let y = context.output(outputs[0].shape)
        let px = SendablePointer(x.values), py = SendablePointer(y.values), pw = SendablePointer(weight.values)
        let total = TallyBox()
        let items = gm.n * groups
        let perItemParallel = groups == 1
        let pointwise = isPointwise
        let run: (Range<Int>) -> Void = { range in
            var tally = WorkTally()
            // Columns in reused scratch (every entry is written by im2col); none for 1x1 stride 1.
            ScratchPool.shared.with(T.self, count: pointwise ? 1 : gm.ck * gm.area) { colsPointer in
                for item in range {
                    let (s, g) = (item / groups, item % groups)
                    let plane = px.pointer + (s * gm.c + g * gm.cg) * gm.h * gm.w
                    if !pointwise {
                        Conv.im2col(plane, channels: gm.cg, height: gm.h, width: gm.w,
                                    kernel: kernel, stride: stride, dilation: dilation, padding: padding,
                                    outHeight: gm.oh, outWidth: gm.ow, into: colsPointer)
                    }
                    tally += GEMM.multiply(m: gm.og, n: gm.area, k: gm.ck, a: pw.pointer + g * gm.og * gm.ck, lda: gm.ck, transposeA: false,
                                           b: pointwise ? plane : colsPointer, ldb: gm.area, transposeB: false,
                                           c: py.pointer + (s * outChannels + g * gm.og) * gm.area, ldc: gm.area,
                                           accumulate: false, parallel: perItemParallel)
                }
            }
            total.add(tally)
        }
        if perItemParallel { run(0..<items) } else { parallelFor(items, cost: gm.og * gm.area * gm.ck, run) }
        var tally = total.value
        addBias(to: y, context, outer: gm.n, inner: gm.area, tally: &tally)
        context.count(tally)
        return ForwardResult([y], saved: keptForBackward(context))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], weight = context.parameters[0]
        let gm = geometry
        let (kh, kw) = (kernel[0], kernel[1])
        let pdy = SendablePointer(dy.values), pw = SendablePointer(weight.values)
        var dx: Tensor<T>?, dw: Tensor<T>?
        if context.trainable(parameter: 0) {
            let x = context.saved.tensors[0]
            let g = context.parameterGradient(parameters[0].shape)
            let px = SendablePointer(x.values), pg = SendablePointer(g.values)
            let total = TallyBox()
            let perGroupParallel = groups == 1
            let pointwise = isPointwise
            let run: (Range<Int>) -> Void = { range in
                var tally = WorkTally()
                ScratchPool.shared.with(T.self, count: pointwise ? 1 : gm.ck * gm.area) { colsPointer in
                    for group in range {
                        for s in 0..<gm.n {
                            let plane = px.pointer + (s * gm.c + group * gm.cg) * gm.h * gm.w
                            if !pointwise {
                                Conv.im2col(plane, channels: gm.cg, height: gm.h, width: gm.w,
                                            kernel: kernel, stride: stride, dilation: dilation, padding: padding,
                                            outHeight: gm.oh, outWidth: gm.ow, into: colsPointer)
                            }
                            tally += GEMM.multiply(m: gm.og, n: gm.ck, k: gm.area,
                                                   a: pdy.pointer + (s * outChannels + group * gm.og) * gm.area, lda: gm.area, transposeA: false,
                                                   b: pointwise ? plane : colsPointer, ldb: gm.area, transposeB: true,
                                                   c: pg.pointer + group * gm.og * gm.ck, ldc: gm.ck, accumulate: s > 0, parallel: perGroupParallel)
                        }
                    }
                }
                total.add(tally)
            }
            if perGroupParallel { run(0..<groups) } else { parallelFor(groups, cost: gm.n * gm.og * gm.area * gm.ck, run) }
            context.count(total.value, .weightGradient)
            dw = g
        }
        let db = biasGradient(dy, context, outer: gm.n, inner: gm.area)
        if context.needsGradient(input: 0) && isPointwise {
            // 1x1 stride 1, no padding: the scatter has one tap and no offsets, so it is
            // dX_g = W_g^T dY_g straight into dX (same N*Cout*H*W*(C/g) MACs, no padded copy).
            let g = context.inputGradient(input.shape)
            let pg = SendablePointer(g.values)
            let items = gm.n * groups
            let fewItems = items < 2 * executorThreads
            let total = TallyBox()
            let run: (Range<Int>) -> Void = { range in
                var tally = WorkTally()
                for item in range {
                    let (s, group) = (item / groups, item % groups)
                    tally += GEMM.multiply(m: gm.cg, n: gm.area, k: gm.og, a: pw.pointer + group * gm.og * gm.cg, lda: gm.cg, transposeA: true,
                                           b: pdy.pointer + (s * outChannels + group * gm.og) * gm.area, ldb: gm.area, transposeB: false,
                                           c: pg.pointer + (s * gm.c + group * gm.cg) * gm.area, ldc: gm.area, accumulate: false,
                                           parallel: fewItems)
                }
                total.add(tally)
            }
            if fewItems { run(0..<items) } else { parallelFor(items, cost: gm.og * gm.area * gm.cg, run) }
            context.count(total.value, .inputGradient)
            dx = g
        } else if context.needsGradient(input: 0) {
            // Taps packed per group: taps[g][a*kw + b][c][co] = W[g*og + co, c, a, b].
            let tapCount = kh * kw
            var taps = [T](repeating: 0, count: groups * tapCount * gm.cg * gm.og)
            withElements(&taps) { out in
                let w = weight.values
                // Blocks of 16 output channels, so every written cache line is filled at once.
                for group in 0..<groups {
                    for co0 in Swift.stride(from: 0, to: gm.og, by: 16) {
                        let coEnd = min(gm.og, co0 + 16)
                        for c in 0..<gm.cg {
                            for t in 0..<tapCount {
                                let target = out + ((group * tapCount + t) * gm.cg + c) * gm.og
                                let source = w + ((group * gm.og) * gm.cg + c) * tapCount + t
                                for co in co0..<coEnd { target[co] = source[co &* gm.cg &* tapCount] }
                            }
                        }
                    }
                }
            }
            let hp = gm.h + 2 * padding[0], wp = gm.w + 2 * padding[1]
            let paddedCount = gm.n * gm.c * hp * wp
            ScratchPool.shared.with(T.self, count: paddedCount) { paddedBase in
            paddedBase.initialize(repeating: 0, count: paddedCount)
            // Items: (sample, group, block of input channels); with few items each runs a
            // parallel GEMM per tap, otherwise items run in parallel with serial GEMMs.
            let fewItems = gm.n * groups < 2 * executorThreads
            let block = fewItems ? gm.cg : min(gm.cg, 64)
            let blocks = (gm.cg + block - 1) / block
            let total = TallyBox()
            withElements(&taps) { tapPointer in
                do {
                    let pt = SendablePointer(tapPointer)
                    let pp = SendablePointer(paddedBase)
                    let run: (Range<Int>) -> Void = { range in
                        var tally = WorkTally()
                        for item in range {
                            let s = item / (groups * blocks), group = (item / blocks) % groups, b = item % blocks
                            let rows = (b * block)..<min(gm.cg, (b + 1) * block)
                            tally += Conv.scatter(taps: pt.pointer + group * tapCount * gm.cg * gm.og, rows: rows, outChannels: gm.cg, depth: gm.og,
                                                  src: pdy.pointer + (s * outChannels + group * gm.og) * gm.area,
                                                  sourceHeight: gm.oh, sourceWidth: gm.ow,
                                                  kernel: kernel, stride: stride, dilation: dilation,
                                                  dst: pp.pointer + (s * gm.c + group * gm.cg) * hp * wp, dstHeight: hp, dstWidth: wp,
                                                  parallel: fewItems)
                        }
                        total.add(tally)
                    }
                    if fewItems { run(0..<(gm.n * groups * blocks)) } else { parallelFor(gm.n * groups * blocks, cost: gm.og * gm.area * block * tapCount, run) }
                }
            }
            context.count(total.value, .inputGradient)
            let g = context.inputGradient(input.shape)
            do {
                let p = paddedBase
                for plane in 0..<(gm.n * gm.c) {
                    for r in 0..<gm.h {
                        (g.values + (plane * gm.h + r) * gm.w).update(from: p + plane * hp * wp + (r + padding[0]) * wp + padding[1], count: gm.w)
                    }
                }
            }
            dx = g
            }
        }
        return BackwardResult(inputs: [dx], parameters: parameterGradients(weight: dw, bias: db))
    }
}
