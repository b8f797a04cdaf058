/// Dropout (training): per element u ~ U[0, 1) (not a FLOP), keep = u >= p (1 compare),
/// y = x * keep * scale (2 muls): 3 per element; keeps the 1-byte bool mask (native_dropout).
/// In place (F.dropout(inplace=True) -> torch's `_dropout_impl<inplace>`: a noise tensor
/// of the input's type, `input.mul_(noise)`, and mul_ keeps the noise) the result is the
/// input and the keep values are kept in a float tensor of the input's type, as torch
/// keeps its noise; the arithmetic is the same. p = 0 returns the input itself (no FLOPs,
/// no mask) and its gradient is dY itself.
/// dX = dY * mask * scale: 2 per element.
extension Dropout: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        guard p > 0 else { return ForwardResult([x]) }
        let y = inplace ? context.inPlaceOutput(0) : context.output(x.shape)
        let keepMask = context.needsBackward && context.inputNeedsGradient[0]
        let mask = inplace ? context.allocate(x.shape) : context.allocate(x.shape, dtype: .bool)
        let scale = T(1 / (1 - p)), threshold = p
        let xs = x.values, ys = y.values
        var random = context.random
        if inplace {
            let ms = mask.values
            for i in 0..<x.count {
                let keep: T = random.unit() >= threshold ? 1 : 0
                ms[i] = keep
                ys[i] = xs[i] * keep * scale
            }
        } else {
            let ms = mask.indices
            for i in 0..<x.count {
                let keep: T = random.unit() >= threshold ? 1 : 0
                ms[i] = keep == 1 ? 1 : 0
                ys[i] = xs[i] * keep * scale
            }
        }
        context.count(WorkTally(flops: 3 * x.count))
        return ForwardResult([y], saved: keepMask ? SavedState([mask]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        guard p > 0 else { return BackwardResult(inputs: [dy]) }
        let dx = context.inputGradient(dy.shape)
        let saved = context.saved.tensors[0]
        let scale = T(1 / (1 - p)), g = dy.values, out = dx.values
        if saved.dtype.isFloatingPoint {
            let mask = saved.values
            for i in 0..<dy.count { out[i] = g[i] * mask[i] * scale }
        } else {
            let mask = saved.indices
            for i in 0..<dy.count { out[i] = g[i] * T(mask[i]) * scale }
        }
        context.count(WorkTally(flops: 2 * dy.count), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
