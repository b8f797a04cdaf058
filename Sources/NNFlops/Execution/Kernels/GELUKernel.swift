/// GELU, exact (erf) and tanh approximation, step by step as documented in GELU.swift:
/// forward 5 (erf) or 9 (tanh) operations per element, input gradient 11 or 18.
/// Keeps the input.
extension GELU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(x.shape)
        let n: Int
        if tanhApproximation {
            let k = T(0.7978845608028654), c = T(0.044715)
            // inner = k * (x + c * x^3): mul, mul, mul, add, mul; y = 0.5 * x * (1 + tanh(inner)): tanh, add, mul, mul.
            n = unaryMap(y.values, x.values, x.count) { v in
                let inner = k * (v + c * (v * v * v))
                return T(0.5) * v * (1 + T.tanh(inner))
            }
            context.count(WorkTally(flops: 9 * n))
        } else {
            let r = T(0.7071067811865476)
            // x * 0.5 * (1 + erf(x * 1/sqrt 2)): mul, erf, add, mul, mul.
            n = unaryMap(y.values, x.values, x.count) { v in v * T(0.5) * (1 + T.erf(v * r)) }
            context.count(WorkTally(flops: 5 * n))
        }
        return ForwardResult([y], saved: context.needsBackward ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], x = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n: Int
        if tanhApproximation {
            let k = T(0.7978845608028654), c = T(0.044715), c3 = T(3 * 0.044715)
            n = binaryMap(dx.values, dy.values, x.values, dy.count) { g, v in
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
            context.count(WorkTally(flops: 18 * n), .inputGradient)
        } else {
            let r = T(0.7071067811865476), s = T(0.3989422804014327)
            n = binaryMap(dx.values, dy.values, x.values, dy.count) { g, v in
                let cdf = T(0.5) * (1 + T.erf(v * r))  // 4
                let pdf = T.exp(T(-0.5) * v * v) * s   // 4
                return g * (cdf + v * pdf)             // 3
            }
            context.count(WorkTally(flops: 11 * n), .inputGradient)
        }
        return BackwardResult(inputs: [dx])
    }
}
