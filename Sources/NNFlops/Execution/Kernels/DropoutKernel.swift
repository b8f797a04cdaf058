/// Dropout (training): per element u ~ U[0, 1) (not a FLOP), keep = u >= p (1 compare),
/// y = x * keep * scale (2 muls): 3 per element; keeps the 1-byte mask. In place when
/// allowed. p = 0 returns the input itself (no FLOPs, no mask).
/// dX = dY * mask * scale: 2 per element.
extension Dropout: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        guard p > 0 else { return ForwardResult([x]) }
        let y = inplace && context.canOverwrite[0] ? x : context.output(x.shape)
        let mask = context.allocate(x.shape, dtype: .bool)
        let scale = T(1 / (1 - p)), threshold = p
        let xs = x.values, ys = y.values, ms = mask.indices
        var random = context.random
        for i in 0..<x.count {
            let keep: T = random.unit() >= threshold ? 1 : 0
            ms[i] = keep == 1 ? 1 : 0
            ys[i] = xs[i] * keep * scale
        }
        context.count(WorkTally(flops: 3 * x.count))
        return ForwardResult([y], saved: context.needsBackward ? SavedState([mask]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(dy.shape)
        guard p > 0 else {
            dx.values.update(from: dy.values, count: dy.count)
            return BackwardResult(inputs: [dx])
        }
        let mask = context.saved.tensors[0].indices
        let scale = T(1 / (1 - p)), g = dy.values, out = dx.values
        for i in 0..<dy.count { out[i] = g[i] * T(mask[i]) * scale }
        context.count(WorkTally(flops: 2 * dy.count), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
