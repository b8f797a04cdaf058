/// Leaky ReLU: m = x * slope and the compare x > 0 run for every element (2), then
/// select. In place when allowed and slope >= 0 (the output then has the input's sign
/// and is kept); otherwise the input is kept. dX: compare and dY * slope (2).
extension LeakyReLU: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let inPlace = inplace && context.canOverwrite[0] && slope >= 0
        let y = inPlace ? x : context.output(x.shape)
        let s = T(slope)
        let n = unaryMap(y.values, x.values, x.count) { v in
            let m = v * s
            return v > 0 ? v : m
        }
        context.count(WorkTally(flops: 2 * n))
        return ForwardResult([y], saved: context.needsBackward ? SavedState([inPlace ? y : x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], v = context.saved.tensors[0]
        let dx = context.inputGradient(dy.shape)
        let s = T(slope)
        let n = binaryMap(dx.values, dy.values, v.values, dy.count) { g, v in
            let m = g * s
            return v > 0 ? g : m
        }
        context.count(WorkTally(flops: 2 * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}
