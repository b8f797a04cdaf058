/// Average pooling (torch's CPU kernel): each output sums its valid taps from zero (v
/// adds) and divides once by the divisor (the window clipped to the padded input with
/// count_include_pad, else v). Backward: per output one divide, then one add into each
/// valid tap of the zeroed dX. Keeps its input, as torch's avg_pool2d does
/// (derivatives.yaml: avg_pool2d_backward(grad, self, ...)), though only its shape is read.
extension AvgPool: ExecutableOperator {
    /// The window of output o along an axis: valid taps [start, end) and the divisor span.
    @inline(__always)
    func window(_ axis: PoolAxis, _ o: Int) -> (start: Int, end: Int, span: Int) {
        let start = o * axis.stride - axis.padding
        let paddedEnd = min(start + axis.kernel, axis.input + axis.padding)
        let span = paddedEnd - start
        return (max(start, 0), min(start + axis.kernel, axis.input), span)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = (axes[0].output, axes[1].output)
        let planes = input.shape[0] * input.shape[1]
        let y = context.output(outputs[0].shape)
        let px = SendablePointer(x.values), py = SendablePointer(y.values)
        let total = TallyBox()
        parallelFor(planes, cost: oh * ow * axes[0].kernel * axes[1].kernel) { range in
            var tally = WorkTally()
            for plane in range {
                let xs = px.pointer + plane * h * w, ys = py.pointer + plane * oh * ow
                for i in 0..<oh {
                    let (r0, r1, sh) = window(axes[0], i)
                    for j in 0..<ow {
                        let (c0, c1, sw) = window(axes[1], j)
                        var sum = T(0)
                        for r in r0..<max(r0, r1) {
                            for c in c0..<max(c0, c1) { sum += xs[r * w + c] }
                            tally.flops += max(0, c1 - c0)
                        }
                        let divisor = countIncludePad ? sh * sw : max(0, r1 - r0) * max(0, c1 - c0)
                        ys[i * ow + j] = sum / T(divisor)
                        tally.flops += 1
                    }
                }
            }
            total.add(tally)
        }
        context.count(total.value)
        let keep = context.needsBackward && context.inputNeedsGradient[0]
        return ForwardResult([y], saved: keep ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let (h, w) = (input.shape[2], input.shape[3])
        let (oh, ow) = (axes[0].output, axes[1].output)
        let planes = input.shape[0] * input.shape[1]
        let dx = context.inputGradient(input.shape)
        let pg = SendablePointer(dy.values), pd = SendablePointer(dx.values)
        let total = TallyBox()
        parallelFor(planes, cost: oh * ow * axes[0].kernel * axes[1].kernel) { range in
            var tally = WorkTally()
            for plane in range {
                let out = pd.pointer + plane * h * w, g = pg.pointer + plane * oh * ow
                for i in 0..<oh {
                    let (r0, r1, sh) = window(axes[0], i)
                    for j in 0..<ow {
                        let (c0, c1, sw) = window(axes[1], j)
                        let divisor = countIncludePad ? sh * sw : max(0, r1 - r0) * max(0, c1 - c0)
                        let share = g[i * ow + j] / T(divisor)
                        tally.flops += 1
                        for r in r0..<max(r0, r1) {
                            for c in c0..<max(c0, c1) { out[r * w + c] += share }
                            tally.flops += max(0, c1 - c0)
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
