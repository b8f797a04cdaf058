/// Max pooling: each output starts from its first tap inside the input and compares the
/// other valid taps with the running maximum (v - 1 compares; padding is never read);
/// keeps the input and the argmax indices (int64 in the accounting). Backward scatters
/// dY through the indices into the zeroed dX, one add per non-empty window.
extension MaxPool: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        guard x.dtype.isFloatingPoint else { throw NNFlopsError("the maxpool kernel needs a floating-point input, got \(x.dtype.rawValue)") }
        let (h, w) = (input.shape[2], input.shape[3])
        let (ah, aw) = (axes[0], axes[1])
        let (oh, ow) = (ah.output, aw.output)
        let planes = input.shape[0] * input.shape[1]
        let y = context.output(outputs[0].shape)
        let indices = context.allocate(outputs[0].shape, dtype: .int64)
        let px = SendablePointer(x.values), py = SendablePointer(y.values), pi = SendablePointer(indices.indices)
        let total = TallyBox()
        parallelFor(planes, cost: oh * ow * ah.kernel * aw.kernel) { range in
            var tally = WorkTally()
            for plane in range {
                let xs = px.pointer + plane * h * w, ys = py.pointer + plane * oh * ow, idx = pi.pointer + plane * oh * ow
                for i in 0..<oh {
                    for j in 0..<ow {
                        var best = T(0), bestIndex = -1
                        for a in 0..<ah.kernel {
                            let r = i * ah.stride - ah.padding + a * ah.dilation
                            guard r >= 0 && r < h else { continue }
                            for b in 0..<aw.kernel {
                                let c = j * aw.stride - aw.padding + b * aw.dilation
                                guard c >= 0 && c < w else { continue }
                                let v = xs[r * w + c]
                                if bestIndex < 0 {
                                    best = v
                                    bestIndex = r * w + c
                                } else {
                                    if v > best { best = v; bestIndex = r * w + c }
                                    tally.flops += 1
                                }
                            }
                        }
                        ys[i * ow + j] = best
                        idx[i * ow + j] = Int32(bestIndex)
                    }
                }
            }
            total.add(tally)
        }
        context.count(total.value)
        return ForwardResult([y], saved: context.needsBackward ? SavedState([x, indices]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], indices = context.saved.tensors[1].indices
        let (h, w) = (input.shape[2], input.shape[3])
        let per = axes[0].output * axes[1].output
        let planes = input.shape[0] * input.shape[1]
        let dx = context.inputGradient(input.shape)
        var tally = WorkTally()
        for plane in 0..<planes {
            let out = dx.values + plane * h * w, g = dy.values + plane * per, idx = indices + plane * per
            for o in 0..<per where idx[o] >= 0 {
                out[Int(idx[o])] += g[o]
                tally.flops += 1
            }
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
