/// Sum: every output accumulates its terms from zero, one add per input element. Input
/// gradient: dY broadcast back to the input's shape (a copy, 0 FLOPs). Saves nothing.
extension Sum: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(reduction.output.shape, dtype: reduction.output.dtype)
        if x.dtype.isFloatingPoint {
            let n = reduceToOperand(y.values, BroadcastLayout(operand: reduction.keptShape, output: reduction.input.shape), x.values)
            context.count(WorkTally(flops: n))
        } else {
            // Integer sums (counts of ids): the same adds, in integers.
            let yi = y.indices, xi = x.indices
            var n = 0
            BroadcastLayout(operand: reduction.keptShape, output: reduction.input.shape).forEachRow { o, offset, inner, stride in
                for j in 0..<inner { yi[offset + j * stride] &+= xi[o + j] }
                n += inner
            }
            context.count(WorkTally(flops: n))
        }
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(reduction.input.shape)
        broadcastCopy(dy.values, BroadcastLayout(operand: reduction.keptShape, output: reduction.input.shape), dx.values)
        return BackwardResult(inputs: [dx])
    }
}

extension Reduction {
    /// The output's shape with the reduced dimensions kept as 1 (for broadcasting).
    var keptShape: [Int] { input.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element } }
}
