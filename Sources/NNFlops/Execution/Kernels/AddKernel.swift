/// Add: one add per output element (broadcasting; `other` may be a number); in place the
/// sum is written into the input (`inPlaceOutput`).
/// Backward: an operand of the output's shape gets dY itself (no FLOPs; a fresh copy
/// so the executor may free and accumulate independently), a broadcast operand gets dY
/// summed over the broadcast dimensions (one add per output element). Saves nothing.
extension Add: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, n) = broadcastingForward(context, +)
        context.count(WorkTally(flops: n))
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0]
        let shapes = [operands.left.shape] + (operands.right.map { [$0.shape] } ?? [])
        return BackwardResult(inputs: shapes.enumerated().map { slot, shape in
            context.needsGradient(input: slot) ? passGradient(dy, to: shape, output: operands.output.shape, context) : nil
        })
    }
}
