/// Expand: materialised as a broadcast copy (0 FLOPs; PyTorch returns a stride-0 view).
/// Input gradient: dY summed over the broadcast dimensions, accumulated from zero, one
/// add per output element (`reduceToOperand`); a plain copy (0 FLOPs) when nothing was
/// broadcast (only size-1 leading dimensions added). Saves nothing.
extension Expand: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        if x.count == output.elements.value { return ForwardResult([x.view(output.shape)]) }
        let y = context.output(output.shape, dtype: x.dtype)
        let layout = BroadcastLayout(operand: input.shape, output: output.shape)
        if x.dtype.isFloatingPoint {
            broadcastCopy(x.values, layout, y.values)
        } else {
            broadcastCopy(x.indices, layout, y.indices)
        }
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        if dy.count == input.elements.value { return BackwardResult(inputs: [dy.view(input.shape)]) }
        let dx = context.inputGradient(input.shape)
        let n = reduceToOperand(dx.values, BroadcastLayout(operand: input.shape, output: output.shape), dy.values)
        context.count(WorkTally(flops: n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}

/// out[i] = x[operand index of i] over the output (a broadcast copy, no arithmetic).
func broadcastCopy<E>(_ x: UnsafeMutablePointer<E>, _ layout: BroadcastLayout, _ out: UnsafeMutablePointer<E>) {
    layout.forEachRow { o, offset, inner, stride in
        let po = out + o, px = x + offset
        if stride == 1 {
            po.update(from: px, count: inner)
        } else {
            po.update(repeating: px[0], count: inner)
        }
    }
}
