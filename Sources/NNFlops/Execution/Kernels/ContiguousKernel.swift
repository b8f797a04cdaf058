/// Contiguous: the input itself (a view) when it is contiguous; otherwise a copy into a new
/// tensor (0 FLOPs: the executor's tensors already hold their elements in row-major order,
/// so the copy is a straight move). Input gradient: dY itself, as a view when the operator
/// is a view, a copy into a new gradient when it copied (0 FLOPs). Saves nothing.
extension Contiguous: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        ForwardResult([copyOrView(context.inputs[0], copies: copies, context)])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        return BackwardResult(inputs: [gradientCopyOrView(context.outputGradients[0], shape: input.shape, copies: copies, context)])
    }
}

/// The output of a shape operator that is a view of its input or, when `copies`, a new
/// tensor (`shape`, default the input's) holding the same elements in row-major order.
func copyOrView<T: KernelScalar>(_ x: Tensor<T>, shape: [Int]? = nil, copies: Bool, _ context: ForwardContext<T>) -> Tensor<T> {
    let shape = shape ?? x.shape
    guard copies else { return x.view(shape) }
    let y = context.output(shape, dtype: x.dtype)
    copyElements(x, from: 0, to: y, at: 0, count: x.count)
    return y
}

/// The input gradient of such an operator: a view of dY with the input's shape, or a
/// new gradient tensor holding dY when the forward copied.
func gradientCopyOrView<T: KernelScalar>(_ dy: Tensor<T>, shape: [Int], copies: Bool, _ context: BackwardContext<T>) -> Tensor<T> {
    guard copies else { return dy.view(shape) }
    let dx = context.inputGradient(shape)
    dx.values.update(from: dy.values, count: dy.count)
    return dx
}
