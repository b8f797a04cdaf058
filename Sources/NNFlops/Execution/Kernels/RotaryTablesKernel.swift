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

/// The rotary tables: inv_freq[i] = base^(-2i/dim) (the buffer), then per position t and
/// dimension i cos(t * inv_freq[i mod dim/2]) and sin of it: constants of the shapes,
/// built uncounted (README, "Counting conventions"). No backward (torch.no_grad).
extension RotaryTables: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let invFreq = context.buffers[0]
        for i in 0..<(dim / 2) { invFreq[i] = T(pow(base, -Double(2 * i) / Double(dim))) }
        let cos = context.output([1, positions, dim]), sin = context.output([1, positions, dim])
        for t in 0..<positions {
            for i in 0..<dim {
                let angle = Double(t) * Double(invFreq[i % (dim / 2)])
                cos[t * dim + i] = T(Glibc.cos(angle))
                sin[t * dim + i] = T(Glibc.sin(angle))
            }
        }
        return ForwardResult([cos, sin])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        BackwardResult(inputs: [nil])
    }
}
