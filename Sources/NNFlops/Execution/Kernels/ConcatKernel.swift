/// Concat: copies each input into its slot of the output along the axis (0 FLOPs); the
/// input gradients are the matching slices of dY, copies (0 FLOPs). Saves nothing.
extension Concat: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let y = context.output(output.shape, dtype: output.dtype)
        var start = 0
        for x in context.inputs {
            let layout = AxisLayout(x.shape, axis: axis)
            copyAxisBlock(x, layout, start: 0, part: layout.length, into: y, destinationStart: start, destinationLength: output.shape[axis])
            start += layout.length
        }
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0]
        let layout = AxisLayout(output.shape, axis: axis)
        var grads: [Tensor<T>?] = []
        var start = 0
        for (slot, type) in inputs.enumerated() {
            let part = type.shape[axis]
            defer { start += part }
            guard context.needsGradient(input: slot) else { grads.append(nil); continue }
            let dx = context.inputGradient(type.shape)
            copyAxisBlock(dy, layout, start: start, part: part, into: dx, destinationStart: 0, destinationLength: part)
            grads.append(dx)
        }
        return BackwardResult(inputs: grads)
    }
}
