/// Instance normalisation: `Standardize` over N * C instances of the spatial values,
/// per-channel weight and bias.
extension InstanceNorm: ExecutableOperator {
    var standardizeGeometry: StandardizeGeometry {
        let spatial = input.shape.dropFirst(2).reduce(1, *)
        return StandardizeGeometry(groups: input.shape[0] * channels, size: spatial, perSample: channels, run: spatial, weightElements: channels)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        Standardize.forward(context, standardizeGeometry, eps: eps, weight: affine ? context.parameters[0] : nil,
                            bias: affine ? context.parameters[1] : nil)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let (dx, dw, db) = Standardize.backward(context, standardizeGeometry, hasWeight: affine, hasBias: affine)
        return BackwardResult(inputs: [dx], parameters: affine ? [dw, db] : [])
    }
}
