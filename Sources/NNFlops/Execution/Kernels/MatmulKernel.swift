/// Matmul: one GEMM per output batch entry (operands' batch entries found by
/// broadcasting), each output element a K-long dot product from zero: batch*M*K*N MACs,
/// counted by the GEMM per executed micro-kernel step. Backward dA = dC B^T and
/// dB = A^T dC per batch entry, accumulated in place into a zero gradient, so a
/// broadcast operand's gradient folds the sum over the broadcast batch into the same dot
/// products (batch*M*K*N MACs each, no separate reduction). Keeps `other` when the input
/// needs its gradient and `input` when `other` does.
extension Matmul: ExecutableOperator {
    /// For each output batch entry, the batch entry of an operand with batch shape `shape`.
    func batchEntries(_ shape: [Int]) -> [Int] {
        let layout = BroadcastLayout(operand: shape, output: batch)
        let total = batch.reduce(1, *)
        var entries = [Int](repeating: 0, count: total)
        var index = [Int](repeating: 0, count: batch.count)
        var offset = 0
        for b in 0..<total {
            entries[b] = offset
            var axis = batch.count - 1
            while axis >= 0 {
                index[axis] += 1
                offset += layout.strides[axis]
                if index[axis] < batch[axis] { break }
                offset -= layout.strides[axis] * batch[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return entries
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let a = context.inputs[0], b = context.inputs[1]
        let c = context.output(outputs[0].shape)
        let m = self.m, k = self.k, n = self.n
        let left = batchEntries(Array(self.left.shape.dropLast(2))), right = batchEntries(Array(self.right.shape.dropLast(2)))
        let count = left.count
        let box = TallyBox()
        let pa = SendablePointer(a.values), pb = SendablePointer(b.values), pc = SendablePointer(c.values)
        parallelFor(count, cost: m * n * k) { range in
            var tally = WorkTally()
            for e in range {
                tally += GEMM.multiply(m: m, n: n, k: k, a: pa.pointer + left[e] * m * k, lda: k, transposeA: false,
                                       b: pb.pointer + right[e] * k * n, ldb: n, transposeB: false,
                                       c: pc.pointer + e * m * n, ldc: n, accumulate: false, parallel: count == 1)
            }
            box.add(tally)
        }
        context.count(box.value)
        guard context.needsBackward else { return ForwardResult([c]) }
        let keepA = context.inputNeedsGradient[1], keepB = context.inputNeedsGradient[0]
        return ForwardResult([c], saved: SavedState((keepA ? [a] : []) + (keepB ? [b] : []), flags: [keepA ? 1 : 0, keepB ? 1 : 0]))
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dc = context.outputGradients[0]
        let m = self.m, k = self.k, n = self.n
        let left = batchEntries(Array(self.left.shape.dropLast(2))), right = batchEntries(Array(self.right.shape.dropLast(2)))
        let saved = context.saved.tensors, flags = context.saved.flags
        let a: Tensor<T>? = flags.first == 1 ? saved[0] : nil
        let b: Tensor<T>? = flags.count > 1 && flags[1] == 1 ? saved[flags[0]] : nil
        var grads: [Tensor<T>?] = [nil, nil]
        var tally = WorkTally()
        if context.needsGradient(input: 0), let b {
            let da = context.inputGradient(self.left.shape)
            for e in 0..<left.count {
                tally += GEMM.multiply(m: m, n: k, k: n, a: dc.values + e * m * n, lda: n, transposeA: false,
                                       b: b.values + right[e] * k * n, ldb: n, transposeB: true,
                                       c: da.values + left[e] * m * k, ldc: k, accumulate: true)
            }
            grads[0] = da
        }
        if context.needsGradient(input: 1), let a {
            let db = context.inputGradient(self.right.shape)
            for e in 0..<right.count {
                tally += GEMM.multiply(m: k, n: n, k: m, a: a.values + left[e] * m * k, lda: k, transposeA: true,
                                       b: dc.values + e * m * n, ldb: n, transposeB: false,
                                       c: db.values + right[e] * k * n, ldc: n, accumulate: true)
            }
            grads[1] = db
        }
        context.count(tally, .inputGradient)
        return BackwardResult(inputs: grads)
    }
}
