/// Shared loops of the weighted-layer kernels (linear, conv2d, conv_transpose2d;
/// Ops/WeightedLayer.swift): the bias add, the bias gradient and what forward keeps.
/// Outputs are laid out as [outer, outChannels, inner]: linear's [rows, out] (inner 1),
/// a convolution's [N, C, H*W].
extension WeightedLayer {
    /// y[o, c, i] += bias[c] when the layer has a bias: one add per output element,
    /// counted into `tally`.
    @inline(__always)
    func addBias<T: KernelScalar>(to y: Tensor<T>, _ context: ForwardContext<T>, outer: Int, inner: Int, tally: inout WorkTally) {
        guard hasBias else { return }
        let b = context.parameters[1].values, out = y.values, channels = outChannels
        for s in 0..<outer {
            if inner == 1 {
                let row = out + s * channels
                for j in 0..<channels { row[j] += b[j] }
                tally.flops += channels
                continue
            }
            for c in 0..<channels {
                let row = out + (s * channels + c) * inner, v = b[c]
                for i in 0..<inner { row[i] += v }
                tally.flops += inner
            }
        }
    }

    /// db[c] = the sum of dY[o, c, i] over o and i (accumulated from zero: one add per
    /// output element, counted as weight gradient), or nil when the layer has no
    /// trainable bias.
    @inline(__always)
    func biasGradient<T: KernelScalar>(_ dy: Tensor<T>, _ context: BackwardContext<T>, outer: Int, inner: Int) -> Tensor<T>? {
        guard hasBias && context.trainable(parameter: 1) else { return nil }
        let channels = outChannels
        let g = context.parameterGradient([channels])
        var tally = WorkTally()
        let out = g.values, d = dy.values
        for s in 0..<outer {
            if inner == 1 {
                let row = d + s * channels
                for j in 0..<channels { out[j] += row[j] }
                tally.flops += channels
                continue
            }
            for c in 0..<channels {
                let row = d + (s * channels + c) * inner
                var sum = out[c]
                for i in 0..<inner { sum += row[i] }
                out[c] = sum
                tally.flops += inner
            }
        }
        context.count(tally, .weightGradient)
        return g
    }

    /// What backward keeps from forward: the input, when the weight trains (dW reads it;
    /// dX reads only the weight, which the executor hands to every kernel), or for a
    /// convolution whenever backward runs (`savesInputAndWeightTogether`: autograd saves
    /// input and weight for its one formula; the weight is a parameter, not counted).
    @inline(__always)
    func keptForBackward<T: KernelScalar>(_ context: ForwardContext<T>) -> SavedState<T> {
        context.needsBackward && (Self.savesInputAndWeightTogether || context.parameterTrainable[0]) ? SavedState([context.inputs[0]]) : .none
    }

    /// The gradients in `Operator.parameters` order (weight, then bias when there is one).
    @inline(__always)
    func parameterGradients<T: KernelScalar>(weight: Tensor<T>?, bias: Tensor<T>?) -> [Tensor<T>?] {
        hasBias ? [weight, bias] : [weight]
    }
}
