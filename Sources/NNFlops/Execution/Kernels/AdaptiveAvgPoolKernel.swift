/// Adaptive average pooling: output i of o along an axis of size H averages input rows
/// [floor(i H / o), ceil((i + 1) H / o)): bin-size adds from zero and one divide per
/// output. Backward: one divide per output, one add per bin position. Keeps its input, as
/// torch's _adaptive_avg_pool2d does (derivatives.yaml: _adaptive_avg_pool2d_backward(grad,
/// self)), though only its shape is read; an output of 1x1 runs as a mean and keeps nothing.
extension AdaptiveAvgPool: ExecutableOperator {
    @inline(__always)
    static func bin(_ i: Int, _ length: Int, _ bins: Int) -> (Int, Int) {
        (i * length / bins, ((i + 1) * length + bins - 1) / bins)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = (size[0], size[1])
        let planes = input.shape[0] * input.shape[1]
        let y = context.output(outputs[0].shape)
        let px = SendablePointer(x.values), py = SendablePointer(y.values)
        let total = TallyBox()
        parallelFor(planes, cost: h * w + oh * ow) { range in
            var tally = WorkTally()
            for plane in range {
                let xs = px.pointer + plane * h * w, ys = py.pointer + plane * oh * ow
                for i in 0..<oh {
                    let (r0, r1) = Self.bin(i, h, oh)
                    for j in 0..<ow {
                        let (c0, c1) = Self.bin(j, w, ow)
                        var sum = T(0)
                        for r in r0..<r1 {
                            for c in c0..<c1 { sum += xs[r * w + c] }
                            tally.flops += c1 - c0
                        }
                        ys[i * ow + j] = sum / T((r1 - r0) * (c1 - c0))
                        tally.flops += 1
                    }
                }
            }
            total.add(tally)
        }
        context.count(total.value)
        return ForwardResult([y], saved: context.needsBackward && context.inputNeedsGradient[0] && size != [1, 1] ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = (size[0], size[1])
        let planes = input.shape[0] * input.shape[1]
        let dx = context.inputGradient(input.shape)
        let pg = SendablePointer(dy.values), pd = SendablePointer(dx.values)
        let total = TallyBox()
        parallelFor(planes, cost: h * w + oh * ow) { range in
            var tally = WorkTally()
            for plane in range {
                let out = pd.pointer + plane * h * w, g = pg.pointer + plane * oh * ow
                for i in 0..<oh {
                    let (r0, r1) = Self.bin(i, h, oh)
                    for j in 0..<ow {
                        let (c0, c1) = Self.bin(j, w, ow)
                        let share = g[i * ow + j] / T((r1 - r0) * (c1 - c0))
                        tally.flops += 1
                        for r in r0..<r1 {
                            for c in c0..<c1 { out[r * w + c] += share }
                            tally.flops += c1 - c0
                        }
                    }
                }
            }
            total.add(tally)
        }
        context.count(total.value, .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
