/// relative_position_bias: writes the index buffer (torchvision's
/// `_get_relative_position_index`), gathers table rows into [N*N, heads] (a workspace
/// tensor), then lays them out [1, heads, N, N]; 0 FLOPs. Backward scatter-adds dY into
/// the zeroed table gradient, one add per element.
extension RelativePositionBias: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let n = positions, table = context.parameters[0], index = context.buffers[0]
        for p in 0..<n { for q in 0..<n { index.indices[p * n + q] = Int32(self.index(p, q)) } }
        let gathered = context.allocate([n * n, heads])
        for e in 0..<(n * n) {
            (gathered.values + e * heads).update(from: table.values + Int(index.indices[e]) * heads, count: heads)
        }
        let out = context.output([1, heads, n, n])
        for e in 0..<(n * n) { for h in 0..<heads { out.values[h * n * n + e] = gathered.values[e * heads + h] } }
        return ForwardResult([out], workspace: [gathered])
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.trainable(parameter: 0) else { return BackwardResult(inputs: [], parameters: [nil]) }
        let n = positions, dy = context.outputGradients[0], index = context.buffers[0]
        let dw = context.parameterGradient([offsets, heads])
        var tally = WorkTally()
        for e in 0..<(n * n) {
            let row = dw.values + Int(index.indices[e]) * heads
            for h in 0..<heads { row[h] += dy.values[h * n * n + e] }
            tally.flops += heads
        }
        context.count(tally, .weightGradient)
        return BackwardResult(inputs: [], parameters: [dw])
    }
}
