/// Mul: one multiply per output element (broadcasting; `other` may be a number).
/// Backward: the left operand gets dY * other (one multiply per output element, then
/// summed over broadcast dimensions: one add per output element); the right operand
/// gets dY * x likewise. Keeps the operand each gradient needs.
extension Mul: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(operands.output.shape)
        let n: Int
        var keep: [Tensor<T>] = []
        if let right = operands.right {
            let other = context.inputs[1]
            n = broadcastMap(y.values, x.values, BroadcastLayout(operand: operands.left.shape, output: operands.output.shape),
                             other.values, BroadcastLayout(operand: right.shape, output: operands.output.shape), *)
            if context.needsBackward {
                // Slot 0: what the left gradient needs (other), slot 1: what the right needs (x).
                keep = [other, x]
            }
        } else {
            let c = T(operands.number ?? 1)
            n = unaryMap(y.values, x.values, x.count) { $0 * c }
        }
        context.count(WorkTally(flops: n))
        let needed = keep.isEmpty ? [] : [context.inputNeedsGradient[0] ? keep[0] : nil, context.inputNeedsGradient[1] ? keep[1] : nil].compactMap { $0 }
        return ForwardResult([y], saved: SavedState(needed, flags: keep.isEmpty ? [] : [context.inputNeedsGradient[0] ? 1 : 0, context.inputNeedsGradient[1] ? 1 : 0]))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0], output = operands.output.shape
        let identity = BroadcastLayout(operand: output, output: output)
        guard let right = operands.right else {
            guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
            let c = T(operands.number ?? 1)
            let g = context.inputGradient(output)
            let n = unaryMap(g.values, dy.values, dy.count) { $0 * c }
            context.count(WorkTally(flops: n), .inputGradient)
            return BackwardResult(inputs: [g])
        }
        var saved = context.saved.tensors[...]
        let hasOther = context.saved.flags.first == 1, hasX = context.saved.flags.last == 1
        let other = hasOther ? saved.popFirst() : nil
        let x = hasX ? saved.popFirst() : nil
        var grads: [Tensor<T>?] = [nil, nil]
        for (slot, (shape, factor, factorShape)) in [(operands.left.shape, other, right.shape), (right.shape, x, operands.left.shape)].enumerated() {
            guard context.needsGradient(input: slot), let factor else { continue }
            let product = context.temporary(output)
            let n = broadcastMap(product.values, dy.values, identity, factor.values, BroadcastLayout(operand: factorShape, output: output), *)
            context.count(WorkTally(flops: n), .inputGradient)
            grads[slot] = shape == output ? product : passGradient(product, to: shape, output: output, context)
        }
        return BackwardResult(inputs: grads)
    }
}
