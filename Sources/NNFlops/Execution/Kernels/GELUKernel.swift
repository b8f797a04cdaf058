/// GELU, exact (erf) and tanh approximation, step by step as documented in GELU.swift:
/// forward 5 (erf) or 9 (tanh) operations per element, input gradient 11 or 18.
/// Keeps the input. `impl = "composite"` (GELU written as separate torch ops, Hugging
/// Face's gelu_new) keeps what the composite's autograd keeps, materialised by the same
/// forward steps: tanh form x, tanh(inner), 0.5 * x and 1 + tanh (backward reads x and
/// runs the reference algorithm); erf form x / sqrt 2, 0.5 * x and 1 + erf (backward
/// reads s = x / sqrt 2: cdf = 0.5 * (1 + erf(s)) (3), pdf = exp(s * s * -1) / sqrt(2 pi)
/// (4), x = s * sqrt 2 (1), dX = dY * (cdf + x * pdf) (3): the same 11).
extension GELU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        if composite && context.needsBackward && context.inputNeedsGradient[0] {
            let x = context.inputs[0]
            return compositeForward(context, x: x, y: context.output(x.shape))
        }
        if tanhApproximation {
            let k = T(0.7978845608028654), c = T(0.044715)
            // inner = k * (x + c * x^3): mul, mul, mul, add, mul; y = 0.5 * x * (1 + tanh(inner)): tanh, add, mul, mul.
            return elementwiseForward(context, operations: 9) { v in
                let inner = k * (v + c * (v * v * v))
                return T(0.5) * v * (1 + T.tanh(inner))
            }
        }
        let r = T(0.7071067811865476)
        // x * 0.5 * (1 + erf(x * 1/sqrt 2)): mul, erf, add, mul, mul.
        return elementwiseForward(context, operations: 5) { v in v * T(0.5) * (1 + T.erf(v * r)) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        if composite && !tanhApproximation {
            // The erf composite keeps u = x / sqrt 2 first.
            let sqrt2 = T(1.4142135623730951), s = T(0.3989422804014327)
            return elementwiseBackward(context, operations: 11) { g, u in
                let cdf = T(0.5) * (1 + T.erf(u))      // 3
                let pdf = T.exp(u * u * -1) * s        // 4
                let v = u * sqrt2                      // 1
                return g * (cdf + v * pdf)             // 3
            }
        }
        if tanhApproximation {
            let k = T(0.7978845608028654), c = T(0.044715), c3 = T(3 * 0.044715)
            return elementwiseBackward(context, operations: 18) { g, v in
                let x2 = v * v                        // 1
                let x3 = x2 * v                       // 1
                let inner = k * (v + c * x3)          // 3
                let t = T.tanh(inner)                 // 1
                let left = T(0.5) * v                 // 1
                let right = 1 + t                     // 1
                let dleft = T(0.5) * right            // 1
                let dright = 1 - t * t                // 2
                let dinner = k * (1 + c3 * x2)        // 3
                let d = dleft + left * dright * dinner // 3
                return g * d                          // 1
            }
        }
        let r = T(0.7071067811865476), s = T(0.3989422804014327)
        return elementwiseBackward(context, operations: 11) { g, v in
            let cdf = T(0.5) * (1 + T.erf(v * r))  // 4
            let pdf = T.exp(T(-0.5) * v * v) * s   // 4
            return g * (cdf + v * pdf)             // 3
        }
    }

    /// The composite's forward: the same steps, each intermediate the composite keeps
    /// written to its own tensor.
    private func compositeForward<T: KernelScalar>(_ context: ForwardContext<T>, x: Tensor<T>, y: Tensor<T>) -> ForwardResult<T> {
        let n = x.count, xs = x.values, ys = y.values
        let half = context.allocate(x.shape), other = context.allocate(x.shape)
        let hs = half.values, os = other.values
        if tanhApproximation {
            let t = context.allocate(x.shape), ts = t.values
            let k = T(0.7978845608028654), c = T(0.044715)
            for i in 0..<n {
                let v = xs[i]
                let inner = k * (v + c * (v * v * v))  // 5
                ts[i] = T.tanh(inner)                  // 1
                os[i] = 1 + ts[i]                      // 1
                hs[i] = T(0.5) * v                     // 1
                ys[i] = hs[i] * os[i]                  // 1
            }
            context.count(WorkTally(flops: 9 * n))
            return ForwardResult([y], saved: SavedState([x, t, half, other]))
        }
        let u = context.allocate(x.shape), us = u.values, r = T(0.7071067811865476)
        for i in 0..<n {
            let v = xs[i]
            us[i] = v * r                              // 1
            os[i] = 1 + T.erf(us[i])                   // 2
            hs[i] = v * T(0.5)                         // 1
            ys[i] = hs[i] * os[i]                      // 1
        }
        context.count(WorkTally(flops: 5 * n))
        return ForwardResult([y], saved: SavedState([u, half, other]))
    }
}
