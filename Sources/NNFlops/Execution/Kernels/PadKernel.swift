/// Pad: every output element copied from its source element of the input (per dimension
/// `Pad.sourceIndex`: constant -> `value` outside, reflect mirrors, replicate clamps): 0
/// FLOPs. Input gradient: constant copies dY's inner block into dX (0 FLOPs); reflect and
/// replicate scatter every dY element into the zeroed dX, one add each (counted). Keeps
/// the input for reflect / replicate, as autograd does (the kernel reads only its shape).
extension Pad: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let y = context.output(output.shape)
        let xs = x.values, ys = y.values, fill = T(value)
        forEachOutput { o, source in ys[o] = source >= 0 ? xs[source] : fill }
        let keep = context.needsBackward && context.inputNeedsGradient[0] && mode != .constant
        return ForwardResult([y], saved: keep ? SavedState([x]) : .none)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0]
        let dx = context.inputGradient(input.shape)
        let g = dy.values, out = dx.values
        if mode == .constant {
            forEachOutput { o, source in if source >= 0 { out[source] = g[o] } }
        } else {
            var adds = 0
            forEachOutput { o, source in
                out[source] += g[o]
                adds += 1
            }
            context.count(WorkTally(flops: adds), .inputGradient)
        }
        return BackwardResult(inputs: [dx])
    }

    /// The input index (per dimension) an output index `o` reads along a dimension of
    /// `size` padded by `before`; -1 in constant padding.
    func sourceIndex(_ o: Int, size: Int, before: Int) -> Int {
        let i = o - before
        switch mode {
        case .constant: return i >= 0 && i < size ? i : -1
        case .reflect: return i < 0 ? -i : (i >= size ? 2 * (size - 1) - i : i)
        case .replicate: return min(max(i, 0), size - 1)
        }
    }

    /// Calls `body(outputOffset, inputOffset)` for every output element in order; the
    /// input offset is -1 where constant padding supplies the value.
    private func forEachOutput(_ body: (Int, Int) -> Void) {
        let rank = output.rank
        guard rank > 0 else { body(0, 0); return }
        let strides = TensorType.contiguousStrides(input.shape)
        // Per dimension: the input index each output index reads (-1: padding value).
        let maps = (0..<rank).map { axis in
            (0..<output.shape[axis]).map { sourceIndex($0, size: input.shape[axis], before: before[axis]) }
        }
        let inner = output.shape[rank - 1], innerMap = maps[rank - 1]
        let rows = output.elements.value / inner
        var index = [Int](repeating: 0, count: rank)
        for row in 0..<rows {
            var base = 0, outside = false
            for axis in 0..<(rank - 1) {
                let s = maps[axis][index[axis]]
                if s < 0 { outside = true }
                base += s * strides[axis]
            }
            let o = row * inner
            for j in 0..<inner {
                let s = innerMap[j]
                body(o + j, outside || s < 0 ? -1 : base + s)
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < output.shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
