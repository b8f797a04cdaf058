/// Linear: Y = X W^T + b as one GEMM over all rows; backward dX = dY W, dW = dY^T X,
/// db = column sums of dY. Saves X when the weight is trainable.
extension Linear: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0], w = context.parameters[0]
        let rows = x.count / inFeatures, k = inFeatures, m = outFeatures
        let y = context.output(outputs[0].shape)
        var tally = GEMM.multiply(m: rows, n: m, k: k, a: x.values, lda: k, transposeA: false,
                                  b: w.values, ldb: k, transposeB: true, c: y.values, ldc: m, accumulate: false)
        addBias(to: y, context, outer: rows, inner: 1, tally: &tally)
        context.count(tally)
        return ForwardResult([y], saved: keptForBackward(context))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], w = context.parameters[0]
        let rows = dy.count / outFeatures, k = inFeatures, m = outFeatures
        var dx: Tensor<T>?
        if context.needsGradient(input: 0) {
            let g = context.inputGradient(input.shape)
            let tally = GEMM.multiply(m: rows, n: k, k: m, a: dy.values, lda: m, transposeA: false,
                                      b: w.values, ldb: k, transposeB: false, c: g.values, ldc: k, accumulate: false)
            context.count(tally, .inputGradient)
            dx = g
        }
        var dw: Tensor<T>?
        if context.trainable(parameter: 0) {
            let x = context.saved.tensors[0]
            let g = context.parameterGradient([m, k])
            let tally = GEMM.multiply(m: m, n: k, k: rows, a: dy.values, lda: m, transposeA: true,
                                      b: x.values, ldb: k, transposeB: false, c: g.values, ldc: k, accumulate: false)
            context.count(tally, .weightGradient)
            dw = g
        }
        let db = biasGradient(dy, context, outer: rows, inner: 1)
        return BackwardResult(inputs: [dx], parameters: parameterGradients(weight: dw, bias: db))
    }
}
