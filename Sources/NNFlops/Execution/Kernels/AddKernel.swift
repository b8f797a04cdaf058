/// Add: one add per output element (broadcasting; `other` may be a number).
/// Backward: an operand of the output's shape gets dY itself (no FLOPs; a fresh copy
/// so the executor may free and accumulate independently), a broadcast operand gets dY
/// summed over the broadcast dimensions (one add per output element). Saves nothing.
extension Add: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(operands.output.shape)
        let n: Int
        if let right = operands.right {
            let other = context.inputs[1]
            n = broadcastMap(y.values, x.values, BroadcastLayout(operand: operands.left.shape, output: operands.output.shape),
                             other.values, BroadcastLayout(operand: right.shape, output: operands.output.shape), +)
        } else {
            let c = T(operands.number ?? 0)
            n = unaryMap(y.values, x.values, x.count) { $0 + c }
        }
        context.count(WorkTally(flops: n))
        return ForwardResult([y])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0]
        var grads: [Tensor<T>?] = []
        let shapes = [operands.left.shape] + (operands.right.map { [$0.shape] } ?? [])
        for (slot, shape) in shapes.enumerated() {
            guard context.needsGradient(input: slot) else { grads.append(nil); continue }
            grads.append(passGradient(dy, to: shape, output: operands.output.shape, context))
        }
        return BackwardResult(inputs: grads)
    }
}

/// dY for an operand of `shape`: a copy (0 FLOPs) when it has the output's shape, else
/// dY summed over the broadcast dimensions (counted: one add per output element).
func passGradient<T: KernelScalar>(_ dy: Tensor<T>, to shape: [Int], output: [Int], _ context: BackwardContext<T>) -> Tensor<T> {
    let g = context.inputGradient(shape)
    if shape == output {
        g.values.update(from: dy.values, count: dy.count)
    } else {
        let n = reduceToOperand(g.values, BroadcastLayout(operand: shape, output: output), dy.values)
        context.count(WorkTally(flops: n), .inputGradient)
    }
    return g
}
