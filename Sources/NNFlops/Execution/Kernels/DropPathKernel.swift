/// DropPath (stochastic depth, training): per noise element u ~ U[0, 1) (not a FLOP),
/// keep = u >= p (1 compare), noise = keep / (1 - p) (1 divide, skipped when p = 1);
/// y = x * noise[sample] (1 multiply per element). Keeps the noise ([B, 1, ..., 1] or
/// [1, ..., 1]); dX = dY * noise[sample] (1 per element). p = 0 returns the input itself
/// and its gradient is dY itself.
extension DropPath: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        guard p > 0 else { return ForwardResult([x]) }
        let noise = context.allocate(noiseShape)
        let m = noise.count, values = noise.values
        var random = context.random
        var tally = WorkTally()
        for i in 0..<m { values[i] = random.unit() >= p ? 1 : 0 }
        tally.flops += m
        if p < 1 {
            let survival = T(1 - p)
            for i in 0..<m { values[i] /= survival }
            tally.flops += m
        }
        let y = context.output(x.shape)
        tally.flops += scaleSamples(y.values, x.values, noise: values, m: m, count: x.count)
        context.count(tally)
        return ForwardResult([y], saved: context.needsBackward && context.inputNeedsGradient[0] ? SavedState([noise]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        guard p > 0 else { return BackwardResult(inputs: [dy]) }
        let noise = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let n = scaleSamples(dx.values, dy.values, noise: noise.values, m: noise.count, count: dy.count)
        context.count(WorkTally(flops: n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }

    /// out[i] = a[i] * noise[sample of i] over `count` elements in m equal blocks (one
    /// block per noise value). Returns the multiplies executed.
    private func scaleSamples<T: KernelScalar>(_ out: UnsafeMutablePointer<T>, _ a: UnsafeMutablePointer<T>, noise: UnsafeMutablePointer<T>, m: Int, count: Int) -> Int {
        let block = count / m
        for s in 0..<m {
            let v = noise[s], o = out + s * block, x = a + s * block
            for i in 0..<block { o[i] = x[i] * v }
        }
        return count
    }
}
