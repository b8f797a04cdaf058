/// Mul: one multiply per output element (broadcasting; `other` may be a number).
/// Backward: the left operand gets dY * other (one multiply per output element, then
/// summed over broadcast dimensions: one add per output element); the right operand
/// gets dY * x likewise. Keeps the operand each gradient needs.
extension Mul: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let (y, n) = broadcastingForward(context, *)
        context.count(WorkTally(flops: n))
        guard operands.right != nil, context.needsBackward else { return ForwardResult([y]) }
        // What the left gradient needs (other), then what the right one needs (x); the
        // flags say which are there.
        let (x, other) = (context.inputs[0], context.inputs[1])
        let needs = context.inputNeedsGradient
        return ForwardResult([y], saved: SavedState((needs[0] ? [other] : []) + (needs[1] ? [x] : []),
                                                    flags: [needs[0] ? 1 : 0, needs[1] ? 1 : 0]))
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
            let n = unaryMap(g.values, dy.values, dy.count) { $0 * c }
            context.count(WorkTally(flops: n), .inputGradient)
            return BackwardResult(inputs: [g])
        case .tensor(let right):
            var saved = context.saved.tensors[...]
            let other = context.saved.flags.first == 1 ? saved.popFirst() : nil
            let x = context.saved.flags.last == 1 ? saved.popFirst() : nil
            var grads: [Tensor<T>?] = [nil, nil]
            for (slot, (shape, factor, factorShape)) in [(operands.left.shape, other, right.shape), (right.shape, x, operands.left.shape)].enumerated() {
                guard context.needsGradient(input: slot), let factor else { continue }
                let product = context.temporary(output)
                let n = broadcastMap(product.values, dy.values, identity, factor.values, BroadcastLayout(operand: factorShape, output: output), *)
                context.count(WorkTally(flops: n), .inputGradient)
                grads[slot] = operandGradient(product, operand: shape, context)
            }
            return BackwardResult(inputs: grads)
        }
    }
}
