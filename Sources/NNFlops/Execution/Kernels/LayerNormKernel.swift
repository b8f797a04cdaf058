/// Layer normalisation over the last `normalized` dimensions: `Standardize` with R rows
/// of M values and the weight indexed by position within the row.
extension LayerNorm: ExecutableOperator {
    var standardizeGeometry: StandardizeGeometry {
        let m = normalizedShape.reduce(1, *)
        return StandardizeGeometry(groups: input.elements.value / m, size: m, perSample: 1, run: 1, weightElements: m)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        Standardize.forward(context, standardizeGeometry, eps: eps, weight: affine ? context.parameters[0] : nil,
                            bias: hasBias ? context.parameters[1] : nil)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let (dx, dw, db) = Standardize.backward(context, standardizeGeometry, hasWeight: affine, hasBias: hasBias)
        let shape = normalizedShape
        func reshaped(_ t: Tensor<T>?) -> Tensor<T>? {
            guard let t, shape.count > 1 else { return t }
            let r = context.parameterGradient(shape)
            r.values.update(from: t.values, count: t.count)
            return r
        }
        return BackwardResult(inputs: [dx], parameters: (affine ? [reshaped(dw)] : []) + (hasBias ? [reshaped(db)] : []))
    }
}
