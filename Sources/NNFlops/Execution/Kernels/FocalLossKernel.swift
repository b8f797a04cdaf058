#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sigmoid focal loss as torchvision writes it, per element: p = sigmoid(x) (4), ce =
/// the stable BCE with logits (9), p_t = p*t + (1-p)*(1-t) (5), q = 1 - p_t, the
/// modulating factor q^gamma and ce times it (3); with alpha >= 0, alpha_t (4) and
/// alpha_t * loss (1); the add to the sum; one divide. Keeps input, target and the
/// composite's saved intermediates p, ce, q, q^gamma (and alpha_t).
/// Input gradient, from those: s = dL / N (1); per element (p - t) * q^gamma (2, the
/// factor read back, not recomputed), dp_t = p*(1-p)*(2t - 1) (5),
/// gamma*ce*q^(gamma-1)*dp_t (4), subtract (1), times alpha_t (1, with alpha), times s
/// (1): 13 per element, or 14 with alpha.
extension FocalLoss: ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain { index == 1 ? .unitInterval : .any }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], t = context.inputs[1]
        let out = context.output([])
        let n = x.count, weighted = alpha >= 0
        let keep = context.needsBackward && context.inputNeedsGradient.contains(true)
        let shape = x.shape
        let p = context.allocate(shape), ce = context.allocate(shape), q = context.allocate(shape), modulating = context.allocate(shape)
        let alphaT: Tensor<T>? = weighted ? context.allocate(shape) : nil
        let px = x.values, pt = t.values
        let a = T(alpha), oneMinusA = T(1 - alpha)
        var sum: T = 0
        for i in 0..<n {
            let v = px[i], target = pt[i]
            let prob = 1 / (1 + T.exp(-v))
            let bce = Swift.max(v, 0) - v * target + T.log(1 + T.exp(-Swift.abs(v)))
            let pT = prob * target + (1 - prob) * (1 - target)
            let oneMinus = 1 - pT
            let factor = T(pow(Double(oneMinus), gamma))
            var loss = bce * factor
            if let alphaT {
                let at = a * target + oneMinusA * (1 - target)
                alphaT[i] = at
                loss = at * loss
            }
            p[i] = prob; ce[i] = bce; q[i] = oneMinus; modulating[i] = factor
            sum += loss
        }
        out[0] = sum / T(n)
        context.count(WorkTally(flops: (weighted ? 27 : 22) * n + 1))
        guard keep else { return ForwardResult([out]) }
        return ForwardResult([out], saved: SavedState([x, t, p, ce, q, modulating] + (alphaT.map { [$0] } ?? [])))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil, nil]) }
        let saved = context.saved.tensors
        let t = saved[1].values, p = saved[2].values, ce = saved[3].values, q = saved[4].values, f = saved[5].values
        let alphaT: UnsafeMutablePointer<T>? = saved.count > 6 ? saved[6].values : nil
        let n = saved[0].count
        let s = context.outputGradients[0][0] / T(n)
        let g = T(gamma)
        let dx = context.inputGradient(saved[0].shape), out = dx.values
        for i in 0..<n {
            let dce = (p[i] - t[i]) * f[i]
            let dpT = p[i] * (1 - p[i]) * (2 * t[i] - 1)
            let dmod = g * ce[i] * T(pow(Double(q[i]), gamma - 1)) * dpT
            var d = dce - dmod
            if let alphaT { d *= alphaT[i] }
            out[i] = d * s
        }
        context.count(WorkTally(flops: (alphaT == nil ? 13 : 14) * n + 1), .inputGradient)
        return BackwardResult(inputs: [dx, nil])
    }
}
