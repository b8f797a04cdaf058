/// Sub: one subtract per output element (broadcasting; `other` may be a number).
/// Backward: the left operand gets dY (a copy, or summed over broadcast dimensions:
/// one add per output element); the right operand gets -dY (one negation per output
/// element, then summed when broadcast). Saves nothing.
extension Sub: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(operands.output.shape)
        let n: Int
        if let right = operands.right {
            n = broadcastMap(y.values, x.values, BroadcastLayout(operand: operands.left.shape, output: operands.output.shape),
                             context.inputs[1].values, BroadcastLayout(operand: right.shape, output: operands.output.shape), -)
        } else {
            let c = T(operands.number ?? 0)
            n = unaryMap(y.values, x.values, x.count) { $0 - c }
        }
        context.count(WorkTally(flops: n))
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], output = operands.output.shape
        var grads: [Tensor<T>?] = [context.needsGradient(input: 0) ? passGradient(dy, to: operands.left.shape, output: output, context) : nil]
        if let right = operands.right {
            if context.needsGradient(input: 1) {
                let negated = context.temporary(output)
                let n = unaryMap(negated.values, dy.values, dy.count) { -$0 }
                context.count(WorkTally(flops: n), .inputGradient)
                grads.append(right.shape == output ? negated : passGradient(negated, to: right.shape, output: output, context))
            } else {
                grads.append(nil)
            }
        }
        return BackwardResult(inputs: grads)
    }
}
