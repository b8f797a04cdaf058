/// Slice: a view of the input when the range is contiguous (step 1, nothing before the
/// axis but size-1 dimensions), else a copy of the selected entries (0 FLOPs). Backward
/// writes dY into a zero tensor of the input's shape (a copy, 0 FLOPs). Saves nothing.
extension Slice: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let layout = AxisLayout(x.shape, axis: axis)
        let shape = outputs[0].shape
        if layout.outer == 1 && step == 1 { return ForwardResult([x.view(shape, offset: start * layout.inner)]) }
        let y = context.output(shape, dtype: x.dtype)
        for o in 0..<layout.outer {
            for i in 0..<length {
                copyElements(x, from: (o * layout.length + start + i * step) * layout.inner,
                             to: y, at: (o * length + i) * layout.inner, count: layout.inner)
            }
        }
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(input.shape)
        let layout = AxisLayout(input.shape, axis: axis)
        for o in 0..<layout.outer {
            for i in 0..<length {
                copyElements(dy, from: (o * length + i) * layout.inner,
                             to: dx, at: (o * layout.length + start + i * step) * layout.inner, count: layout.inner)
            }
        }
        return BackwardResult(inputs: [dx])
    }
}
