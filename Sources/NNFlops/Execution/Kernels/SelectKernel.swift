/// Select: a view of the input when the picked entry is contiguous (nothing before the
/// axis but size-1 dimensions), else a copy (0 FLOPs). Backward writes dY into a zero
/// tensor of the input's shape (a copy, 0 FLOPs). Saves nothing.
extension Select: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let layout = AxisLayout(x.shape, axis: axis)
        let shape = outputs[0].shape
        if layout.outer == 1 { return ForwardResult([x.view(shape, offset: index * layout.inner)]) }
        let y = context.output(shape, dtype: x.dtype)
        copyAxisBlock(x, layout, start: index, part: 1, into: y, destinationStart: 0, destinationLength: 1)
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(input.shape)
        let layout = AxisLayout(input.shape, axis: axis)
        copyAxisBlock(dy, AxisLayout([layout.outer, 1, layout.inner], axis: 1), start: 0, part: 1,
                      into: dx, destinationStart: index, destinationLength: layout.length)
        return BackwardResult(inputs: [dx])
    }
}
