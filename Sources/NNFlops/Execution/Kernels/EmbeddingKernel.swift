#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Embedding: forward gathers one row of the table per id (a copy, 0 FLOPs). Weight
/// gradient: dW from zero, each row of dY added into the row of its id (scatter-add):
/// dim adds per id. Keeps the ids when the table is trained. An id outside the table is
/// an error (thrown, never a trap).
extension Embedding: ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain { .integers(upperBound: num) }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let ids = context.inputs[0], w = context.parameters[0]
        let y = context.output(outputs[0].shape)
        let dim = self.dim
        for t in 0..<ids.count {
            let id = Int(ids.indices[t])
            guard id >= 0 && id < num else { throw NNFlopsError("embedding id \(id) at position \(t) is outside the table of \(num) rows") }
            (y.values + t * dim).update(from: w.values + id * dim, count: dim)
        }
        let keep = context.needsBackward && context.parameterTrainable[0]
        return ForwardResult([y], saved: keep ? SavedState([ids]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.trainable(parameter: 0) else { return BackwardResult(inputs: [nil], parameters: [nil]) }
        let dy = context.outputGradients[0], ids = context.saved.tensors[0]
        let dw = context.parameterGradient([num, dim])
        let dim = self.dim
        var tally = WorkTally()
        for t in 0..<ids.count {
            let row = dw.values + Int(ids.indices[t]) * dim, g = dy.values + t * dim
            for j in 0..<dim { row[j] += g[j] }
            tally.flops += dim
        }
        context.count(tally, .weightGradient)
        return BackwardResult(inputs: [nil], parameters: [dw])
    }
}
