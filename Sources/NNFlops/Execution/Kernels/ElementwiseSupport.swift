/// Shared loops of the element-wise kernels: unary maps, broadcasting binary maps and
/// the reduction of a gradient to a broadcast operand's shape. Each helper runs one
/// vectorisable loop and returns the number of elements it processed; the kernel
/// multiplies by the operations its loop body executes per element.

/// How an operand of `shape` is read in the index space of `output` (right-aligned
/// broadcasting): its strides per output dimension, 0 where it is broadcast.
struct BroadcastLayout: Sendable {
    let output: [Int]
    let strides: [Int]
    /// The operand has the output's shape: read it linearly.
    let isIdentity: Bool

    init(operand shape: [Int], output: [Int]) {
        self.output = output
        let rank = output.count
        var strides = [Int](repeating: 0, count: rank)
        var step = 1
        for axis in Swift.stride(from: rank - 1, through: 0, by: -1) {
            let operandAxis = axis - (rank - shape.count)
            guard operandAxis >= 0 else { break }
            let size = shape[operandAxis]
            strides[axis] = size == 1 && output[axis] != 1 ? 0 : step
            step *= size
        }
        self.strides = strides
        isIdentity = shape == output
    }

    /// Calls `body(outputOffset, operandOffset, innerLength, innerStride)` for each run of
    /// the innermost output dimension.
    @inline(__always)
    func forEachRow(_ body: (Int, Int, Int, Int) -> Void) {
        let rank = output.count
        guard rank > 0 else { body(0, 0, 1, 0); return }
        let inner = output[rank - 1]
        let innerStride = strides[rank - 1]
        var rows = 1
        for axis in 0..<(rank - 1) { rows *= output[axis] }
        guard inner > 0, rows > 0 else { return }
        var index = [Int](repeating: 0, count: max(0, rank - 1))
        var offset = 0
        for row in 0..<rows {
            body(row * inner, offset, inner, innerStride)
            // Odometer over the outer dimensions.
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                offset += strides[axis]
                if index[axis] < output[axis] { break }
                offset -= strides[axis] * output[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// out[i] = f(a[i], b[i]) over the output with both operands broadcast. Returns the
/// number of output elements computed (one application of `f` each).
@inline(__always)
func broadcastMap<T: KernelScalar>(_ out: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>, _ la: BroadcastLayout,
                                   _ b: UnsafePointer<T>, _ lb: BroadcastLayout, _ f: (T, T) -> T) -> Int {
    var done = 0
    if la.isIdentity && lb.isIdentity {
        let n = la.output.reduce(1, *)
        for i in 0..<n { out[i] = f(a[i], b[i]) }
        return n
    }
    // Walk both layouts together: outer offsets from each, inner strides 0 or 1.
    var offsetsA: [Int] = []
    la.forEachRow { _, offset, _, _ in offsetsA.append(offset) }
    var row = 0
    lb.forEachRow { o, ob, inner, sb in
        let oa = offsetsA[row]
        let sa = la.strides.last ?? 0
        let pa = a + oa, pb = b + ob, po = out + o
        if sa == 1 && sb == 1 {
            for j in 0..<inner { po[j] = f(pa[j], pb[j]) }
        } else if sa == 1 {
            let bv = pb[0]
            for j in 0..<inner { po[j] = f(pa[j], bv) }
        } else if sb == 1 {
            let av = pa[0]
            for j in 0..<inner { po[j] = f(av, pb[j]) }
        } else {
            let av = pa[0], bv = pb[0]
            for j in 0..<inner { po[j] = f(av, bv) }
        }
        done += inner
        row += 1
    }
    return done
}

/// g[operand index] += dY[i] for every output element i: the gradient of a broadcast
/// operand, accumulated from zero. Returns the adds executed (one per output element).
@inline(__always)
func reduceToOperand<T: KernelScalar>(_ g: UnsafeMutablePointer<T>, _ layout: BroadcastLayout, _ dy: UnsafePointer<T>) -> Int {
    var done = 0
    layout.forEachRow { o, offset, inner, stride in
        let po = dy + o, pg = g + offset
        if stride == 1 {
            for j in 0..<inner { pg[j] += po[j] }
        } else {
            var s = pg[0]
            for j in 0..<inner { s += po[j] }
            pg[0] = s
        }
        done += inner
    }
    return done
}

/// out[i] = f(x[i]) over n elements, on all cores for large n. Returns n.
@inline(__always)
func unaryMap<T: KernelScalar>(_ out: UnsafeMutablePointer<T>, _ x: UnsafePointer<T>, _ n: Int, _ f: @escaping (T) -> T) -> Int {
    let po = SendablePointer(out), px = SendablePointer(UnsafeMutablePointer(mutating: x))
    parallelFor(n, cost: 4) { range in
        let o = po.pointer, xs = px.pointer
        for i in range { o[i] = f(xs[i]) }
    }
    return n
}

/// out[i] = f(a[i], b[i]) over n elements (same shapes), on all cores for large n. Returns n.
@inline(__always)
func binaryMap<T: KernelScalar>(_ out: UnsafeMutablePointer<T>, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ n: Int, _ f: @escaping (T, T) -> T) -> Int {
    let po = SendablePointer(out), pa = SendablePointer(UnsafeMutablePointer(mutating: a)), pb = SendablePointer(UnsafeMutablePointer(mutating: b))
    parallelFor(n, cost: 4) { range in
        let o = po.pointer, xa = pa.pointer, xb = pb.pointer
        for i in range { o[i] = f(xa[i], xb[i]) }
    }
    return n
}

/// Output and source of an element-wise operator whose backward reads its input (silu,
/// hardswish, hardsigmoid). Out of place: a new output, reading the input, which is kept.
/// In place (torch's `silu_`): autograd's generated code keeps `self.clone()` of the
/// original input (the kept tensor, a new allocation) and the result is the input itself
/// (`ForwardContext.inPlaceOutput`: an unaccounted copy when the input may not be
/// overwritten). The copy is a move, no FLOPs.
func inputReadingOutput<T: KernelScalar>(_ context: ForwardContext<T>, inplace: Bool) -> (output: Tensor<T>, source: Tensor<T>) {
    let x = context.inputs[0]
    guard inplace else { return (context.output(x.shape), x) }
    guard context.needsBackward && context.inputNeedsGradient[0] else { return (context.inPlaceOutput(0), x) }
    let clone = context.allocate(x.shape)
    clone.values.update(from: x.values, count: x.count)
    return (context.inPlaceOutput(0), clone)
}

// MARK: - The element-wise activation family (Ops/ElementwiseActivation.swift)

extension ElementwiseActivation {
    /// The forward kernel of an element-wise operator: y = f(x) for every element, with
    /// `operations` FLOPs counted per element (the operations `f`'s body executes, as the
    /// kernel file states them). Where the output goes and what is kept follow the
    /// operator's `backwardReads` and `inplace`:
    /// - `.output`: the output (the input itself in place, when it may be overwritten);
    ///   the output is kept;
    /// - `.inputOrResult`: out of place a new output, the input kept; in place the result
    ///   is kept (it stands for the input's storage) unless `resultGivesDerivative` is
    ///   false (leaky_relu with a negative slope flips signs): then the input is kept and
    ///   the result goes to an unaccounted copy standing for the input's storage;
    /// - `.inputOrClone`: `inputReadingOutput` (in place, a clone of the input is kept);
    /// - `.nothing`: the output (the input itself in place); nothing is kept.
    @inline(__always)
    func elementwiseForward<T: KernelScalar>(_ context: ForwardContext<T>, operations: Int,
                                             resultGivesDerivative: Bool = true,
                                             _ f: @escaping (T) -> T) -> ForwardResult<T> {
        let x = context.inputs[0]
        let keep = context.needsBackward && context.inputNeedsGradient[0]
        let y: Tensor<T>, source: Tensor<T>, kept: Tensor<T>
        switch Self.backwardReads {
        case .output:
            y = inplace ? context.inPlaceOutput(0) : context.output(x.shape)
            source = x
            kept = y
        case .inputOrResult:
            if inplace && resultGivesDerivative {
                y = context.inPlaceOutput(0)
                kept = y
            } else {
                // In place with the input kept, the executor accounts the output as the
                // input's storage (the operator declares the alias).
                y = context.output(x.shape)
                kept = x
            }
            source = x
        case .inputOrClone:
            (y, source) = inputReadingOutput(context, inplace: inplace)
            kept = source
        case .nothing:
            y = inplace ? context.inPlaceOutput(0) : context.output(x.shape)
            let n = unaryMap(y.values, x.values, x.count, f)
            context.count(WorkTally(flops: operations * n))
            return ForwardResult([y])
        }
        let n = unaryMap(y.values, source.values, x.count, f)
        context.count(WorkTally(flops: operations * n))
        return ForwardResult([y], saved: keep ? SavedState([kept]) : .none)
    }

    /// The backward kernel of an element-wise operator: dX = g(dY, kept) for every
    /// element, `kept` being what `elementwiseForward` kept (output, input or result),
    /// with `operations` FLOPs counted per element. No gradient when the input needs none.
    /// An operator that keeps nothing (`.nothing`) gets dY as `kept`.
    @inline(__always)
    func elementwiseBackward<T: KernelScalar>(_ context: BackwardContext<T>, operations: Int,
                                              _ g: @escaping (_ dy: T, _ kept: T) -> T) -> BackwardResult<T> {
        guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
        let dy = context.outputGradients[0], kept = context.saved.tensors.first ?? dy
        let dx = context.inputGradient(dy.shape)
        let n = binaryMap(dx.values, dy.values, kept.values, dy.count, g)
        context.count(WorkTally(flops: operations * n), .inputGradient)
        return BackwardResult(inputs: [dx])
    }
}

// MARK: - The broadcasting binary family (Ops/BroadcastingBinary.swift)

extension BroadcastingBinaryOperator {
    /// The forward kernel of a broadcasting binary operator: y = f(input, other) for every
    /// output element, `other` broadcast or a number. Returns the output and the number of
    /// output elements computed (one application of `f` each: the kernel counts them). In
    /// place the output is `ForwardContext.inPlaceOutput(0)` (the input itself when it may
    /// be overwritten: each element is read before it is written).
    @inline(__always)
    func broadcastingForward<T: KernelScalar>(_ context: ForwardContext<T>, _ f: @escaping (T, T) -> T) -> (output: Tensor<T>, elements: Int) {
        let x = context.inputs[0]
        let shape = operands.output.shape
        let y = inplace ? context.inPlaceOutput(0) : context.output(shape)
        switch operands.other {
        case .tensor(let right):
            let n = broadcastMap(y.values, x.values, BroadcastLayout(operand: operands.left.shape, output: shape),
                                 context.inputs[1].values, BroadcastLayout(operand: right.shape, output: shape), f)
            return (y, n)
        case .number(let number):
            let c = T(number)
            return (y, unaryMap(y.values, x.values, x.count) { f($0, c) })
        }
    }

    /// The gradient of an operand of `shape` from its per-output-element gradient
    /// `perOutput` (already computed and counted): `perOutput` itself when the operand has
    /// the output's shape, else `perOutput` summed over the broadcast dimensions (one add
    /// per output element, counted).
    @inline(__always)
    func operandGradient<T: KernelScalar>(_ perOutput: Tensor<T>, operand shape: [Int], _ context: BackwardContext<T>) -> Tensor<T> {
        shape == operands.output.shape ? perOutput : passGradient(perOutput, to: shape, output: operands.output.shape, context)
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
