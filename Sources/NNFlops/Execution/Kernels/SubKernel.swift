/// Sub: one subtract per output element (broadcasting; `other` may be a number).
/// Backward: the left operand gets dY (a copy, or summed over broadcast dimensions:
/// one add per output element); the right operand gets -dY (one negation per output
/// element, then summed when broadcast). Saves nothing.
extension Sub: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, n) = broadcastingForward(context, -)
        context.count(WorkTally(flops: n))
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], output = operands.output.shape
        var grads: [Tensor<T>?] = [context.needsGradient(input: 0) ? passGradient(dy, to: operands.left.shape, output: output, context) : nil]
        if let right = operands.right {
            var g: Tensor<T>?
            if context.needsGradient(input: 1) {
                let negated = context.temporary(output)
                let n = unaryMap(negated.values, dy.values, dy.count) { -$0 }
                context.count(WorkTally(flops: n), .inputGradient)
                g = operandGradient(negated, operand: right.shape, context)
            }
            grads.append(g)
        }
        return BackwardResult(inputs: grads)
    }
}
