/// Div: one divide per output element (broadcasting; `other` may be a number).
/// Backward: the left operand gets dY / other (one divide per output element, then
/// summed over broadcast dimensions); the right operand gets -dY * ((x / other) / other)
/// (divide, divide, negate, multiply: 4 per output element, then summed when broadcast).
/// Keeps other (and x when the right operand needs its gradient).
extension Div: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, n) = broadcastingForward(context, /)
        context.count(WorkTally(flops: n))
        guard operands.right != nil, context.needsBackward else { return ForwardResult([y]) }
        let (x, other) = (context.inputs[0], context.inputs[1])
        return ForwardResult([y], saved: SavedState(context.inputNeedsGradient[1] ? [other, x] : [other]))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], output = operands.output.shape
        let identity = BroadcastLayout(operand: output, output: output)
        switch operands.other {
        case .number(let number):
            guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
            let c = T(number)
            let g = context.inputGradient(output)
            let n = unaryMap(g.values, dy.values, dy.count) { $0 / c }
            context.count(WorkTally(flops: n), .inputGradient)
            return BackwardResult(inputs: [g])
        case .tensor(let right):
            let other = context.saved.tensors[0]
            let otherLayout = BroadcastLayout(operand: right.shape, output: output)
            var grads: [Tensor<T>?] = [nil, nil]
            if context.needsGradient(input: 0) {
                let quotient = context.temporary(output)
                let n = broadcastMap(quotient.values, dy.values, identity, other.values, otherLayout, /)
                context.count(WorkTally(flops: n), .inputGradient)
                grads[0] = operandGradient(quotient, operand: operands.left.shape, context)
            }
            if context.needsGradient(input: 1) {
                let x = context.saved.tensors[1]
                let t = context.temporary(output)
                var n = broadcastMap(t.values, x.values, BroadcastLayout(operand: operands.left.shape, output: output), other.values, otherLayout, /)
                n += broadcastMap(t.values, t.values, identity, other.values, otherLayout, /)
                n += 2 * binaryMap(t.values, dy.values, t.values, dy.count) { g, v in -g * v }
                context.count(WorkTally(flops: n), .inputGradient)
                grads[1] = operandGradient(t, operand: right.shape, context)
            }
            return BackwardResult(inputs: grads)
        }
    }
}
