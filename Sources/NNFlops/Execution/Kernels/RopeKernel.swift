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

/// Rope (rotate_half form): the cos/sin tables [n, d] are constants of the shape and
/// `base` (built uncounted, as is the `inv_freq` buffer), or the model's shared pair
/// (`rotary_tables`, inputs 1 and 2). Per head row of d values and
/// half h = d/2, the first half computes x*cos + (-x[i+h])*sin (mul, negate, mul, add: 4)
/// and the second half x*cos + x[i-h]*sin (3): 7d/2 per row, 7N/2 in all. The input
/// gradient dX = dY*cos + rotate_half^T(dY*sin) runs the mirror image: first half
/// dY*cos + (dY*sin)[i+h] (3), second half dY*cos - (dY*sin)[i-h] (mul, mul, negate,
/// add: 4). Keeps the cos and sin tables when the input needs its gradient.
extension Rope: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let n = input.shape[1], d = headDim, h = d / 2
        let cos: Tensor<T>, sin: Tensor<T>
        if sharedTables {
            // The model's pair (rotary_tables), [1, n, d].
            cos = context.inputs[1]
            sin = context.inputs[2]
        } else {
            let invFreq = context.buffers[0]
            for i in 0..<h { invFreq[i] = T(pow(base, -Double(2 * i) / Double(d))) }
            cos = context.allocate([n, d])
            sin = context.allocate([n, d])
            for t in 0..<n {
                for i in 0..<d {
                    let angle = Double(t) * Double(invFreq[i % h])
                    cos[t * d + i] = T(Glibc.cos(angle))
                    sin[t * d + i] = T(Glibc.sin(angle))
                }
            }
        }
        let y = context.output(input.shape)
        let rows = x.count / d
        let px = x.values, py = y.values, pc = cos.values, ps = sin.values
        var tally = WorkTally()
        for r in 0..<rows {
            let t = (r / heads) % n
            let xr = px + r * d, yr = py + r * d, c = pc + t * d, s = ps + t * d
            for i in 0..<h { yr[i] = xr[i] * c[i] + (-xr[i + h]) * s[i] }
            tally.flops += 4 * h
            for i in h..<d { yr[i] = xr[i] * c[i] + xr[i - h] * s[i] }
            tally.flops += 3 * h
        }
        context.count(tally)
        let keep = context.needsBackward && context.inputNeedsGradient[0]
        return ForwardResult([y], saved: keep ? SavedState([cos, sin]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: sharedTables ? [nil, nil, nil] : [nil]) }
        let dy = context.outputGradients[0], cos = context.saved.tensors[0], sin = context.saved.tensors[1]
        let n = input.shape[1], d = headDim, h = d / 2
        let dx = context.inputGradient(input.shape)
        let rows = dy.count / d
        let pg = dy.values, pd = dx.values, pc = cos.values, ps = sin.values
        var tally = WorkTally()
        for r in 0..<rows {
            let t = (r / heads) % n
            let g = pg + r * d, o = pd + r * d, c = pc + t * d, s = ps + t * d
            for i in 0..<h { o[i] = g[i] * c[i] + g[i + h] * s[i + h] }
            tally.flops += 3 * h
            for i in h..<d { o[i] = g[i] * c[i] + (-(g[i - h] * s[i - h])) }
            tally.flops += 4 * h
        }
        context.count(tally, .inputGradient)
        // The tables carry no gradient (rotary_tables runs under no_grad).
        return BackwardResult(inputs: sharedTables ? [dx, nil, nil] : [dx])
    }
}
