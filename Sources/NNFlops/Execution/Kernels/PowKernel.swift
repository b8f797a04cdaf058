/// Pow. Tensor ** number: torch's special cases (`PowerRule`): ones (0), copy (0), x*x
/// (1), x*x*x (2), 1/(x*x) (2), sqrt (1), 1/sqrt (2), 1/x (1), else pow (1) per element;
/// keeps the input; dX = dY * (e * x^(e-1)) with x^(e-1) by the same rule, + 2 per element
/// (zeros for e = 0). Tensor ** tensor: pow per output element (1); dX = where(e == 0, 0,
/// dY * (e * pow(x, e - 1))) (5 per output element) and dE = dY * where(x == 0 && e >= 0,
/// 0, y * log(x)) (6), each summed over broadcast dimensions (1 add per output element).
/// The operands are broadcast into untracked scratch arrays (copies, no FLOPs).
extension Pow: ExecutableOperator {
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T> {
        let x = context.inputs[0]
        let keep = context.needsBackward
        switch operands.other {
        case .number(let exponent):
            let y = context.output(x.shape)
            let rule = PowerRule(exponent)
            let n = unaryMap(y.values, x.values, x.count, rule.function(T.self))
            context.count(WorkTally(flops: rule.flops * n))
            return ForwardResult([y], saved: keep && context.inputNeedsGradient[0] ? SavedState([x]) : .none)
        case .tensor(let right):
            let y = context.output(operands.output.shape)
            let done = broadcastMap(y.values, x.values, BroadcastLayout(operand: operands.left.shape, output: operands.output.shape),
                                    context.inputs[1].values, BroadcastLayout(operand: right.shape, output: operands.output.shape)) { T.pow($0, $1) }
            context.count(WorkTally(flops: done))
            let needs = context.inputNeedsGradient
            guard keep else { return ForwardResult([y]) }
            return ForwardResult([y], saved: SavedState([x, context.inputs[1]] + (needs[1] ? [y] : [])))
        }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T> {
        let dy = context.outputGradients[0]
        switch operands.other {
        case .number(let exponent):
            guard context.needsGradient(input: 0) else { return BackwardResult(inputs: [nil]) }
            let dx = context.inputGradient(dy.shape)
            guard exponent != 0 else { return BackwardResult(inputs: [dx]) }
            let x = context.saved.tensors[0]
            let rule = PowerRule(exponent - 1), power = rule.function(T.self), e = T(exponent)
            let n = binaryMap(dx.values, dy.values, x.values, dy.count) { g, v in g * (e * power(v)) }
            context.count(WorkTally(flops: (rule.flops + 2) * n), .inputGradient)
            return BackwardResult(inputs: [dx])
        case .tensor(let right):
            let shape = operands.output.shape, n = dy.count
            let x = broadcastScratch(context.saved.tensors[0], from: operands.left.shape, to: shape)
            let e = broadcastScratch(context.saved.tensors[1], from: right.shape, to: shape)
            let g = dy.values
            var grads: [Tensor<T>?] = [nil, nil]
            if context.needsGradient(input: 0) {
                let product = context.temporary(shape)
                let p = product.values
                for i in 0..<n { p[i] = e[i] == 0 ? 0 : g[i] * (e[i] * T.pow(x[i], e[i] - 1)) }
                context.count(WorkTally(flops: 5 * n), .inputGradient)
                grads[0] = reducedGradient(product, to: operands.left.shape, context)
            }
            if context.needsGradient(input: 1) {
                let y = context.saved.tensors[2].values
                let product = context.temporary(shape)
                let p = product.values
                for i in 0..<n { p[i] = g[i] * (x[i] == 0 && e[i] >= 0 ? 0 : y[i] * T.log(x[i])) }
                context.count(WorkTally(flops: 6 * n), .inputGradient)
                grads[1] = reducedGradient(product, to: right.shape, context)
            }
            return BackwardResult(inputs: grads)
        }
    }

    /// A per-output-element gradient, or its sum over the dimensions `shape` was broadcast
    /// along (one add per output element, counted).
    private func reducedGradient<T: KernelScalar>(_ perOutput: Tensor<T>, to shape: [Int], _ context: BackwardContext<T>) -> Tensor<T> {
        shape == operands.output.shape ? perOutput : passGradient(perOutput, to: shape, output: operands.output.shape, context)
    }
}

/// `tensor`'s values broadcast from `shape` to `output` in a scratch array (a copy).
func broadcastScratch<T: KernelScalar>(_ tensor: Tensor<T>, from shape: [Int], to output: [Int]) -> [T] {
    var values = [T](repeating: 0, count: output.reduce(1, *))
    withElements(&values) { broadcastCopy(tensor.values, BroadcastLayout(operand: shape, output: output), $0) }
    return values
}

extension PowerRule {
    /// x ** e as torch's kernel computes it; each body runs `flops` operations.
    func function<T: KernelScalar>(_: T.Type) -> (T) -> T {
        switch self {
        case .ones: { _ in 1 }
        case .copy: { $0 }
        case .square: { $0 * $0 }
        case .cube: { $0 * $0 * $0 }
        case .inverseSquare: { 1 / ($0 * $0) }
        case .squareRoot: { T.sqrt($0) }
        case .inverseSquareRoot: { 1 / T.sqrt($0) }
        case .reciprocal: { 1 / $0 }
        case .general(let e): { T.pow($0, T(e)) }
        }
    }
}
