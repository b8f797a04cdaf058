import Foundation

/// The optimizer update step of the reference executor: one kernel per
/// `Optimizer` case, counting what it executes (per element loop, per tensor scalar
/// work) into `Phase.optimizer`, with its state allocated at initialisation (the
/// steady state the memory model's static figure describes) and its parameter-sized
/// temporaries (torch.optim's foreach lists) allocated through the tracking allocator
/// for the whole step. Counts per element are those of `Optimizer.flopsPerParameter`
/// (design §4); the algorithms are exact rewritings of torch.optim's updates:
///
/// - gradient clipping (clip_grad_norm_, when on), before everything: per tensor
///   s = sum g*g (2 per element) and sqrt(s) (1); total = sum of the squared tensor norms
///   (2 per tensor), norm = sqrt (1), coef = max_norm / (norm + 1e-6) (2), min(coef, 1)
///   (1), g *= coef (1 per element): 3N + 3T + 4.
/// - coupled weight decay (when on, not AdamW/LAMB/LARS): g' = g + wd*p into a new list (2).
/// - SGD: p -= lr*g (2). Momentum: v = mu*v + g (2), p -= lr*v (2).
/// - Nesterov (5): the state is w = mu*buf (torch's momentum buffer scaled by mu, one
///   tensor): b = w + g (1) is torch's new buffer, w = mu*b (1), u = g + w (1) is torch's
///   g + mu*buf, p -= lr*u (2). u is the step's temporary.
/// - AdaGrad (7): s += g*g (2), d = sqrt(s) + eps (2, temporary), p -= lr * (g / d) (3).
/// - RMSProp (8): the state is S = square_avg / (1 - alpha): S = alpha*S + g*g (3),
///   d = sqrt(S) * (sqrt(1 - alpha) / lr) + eps / lr (3, temporary) = (sqrt(square_avg)
///   + eps) / lr, p -= g / d (2).
/// - Adam (14): m = b1*m + (1-b1)*g (3), v = b2*v + (1-b2)*g*g (4), d = sqrt(v / bc2) +
///   eps (3, temporary), u = (m / bc1) / d (2), p -= lr*u (2).
/// - AdamW (16): p -= (lr*wd)*p (2), then Adam. Weight decay 0 means torch's default 0.01.
/// - LAMB (20 + 6 per tensor): u = (m/bc1) / (sqrt(v/bc2) + eps) (12 with the moments,
///   u the temporary), u += wd*p (2), sum p*p and sum u*u (4), trust ratio per tensor
///   (`Optimizer.flopsPerTensor`), p -= (lr*ratio)*u (2).
/// - LARS (11 + 8 per tensor): sum p*p and sum g*g (4), local lr per tensor, g' = g +
///   wd*p (2, temporary), g' *= local lr (1), v = mu*v + g' (2), p -= lr*v (2).
extension ExecutionEngine {
    /// Torch's defaults for the hyperparameters the options do not set.
    private var momentum: T { 0.9 }

    /// Decoupled weight decay: the option, or 0.01 (AdamW's default) when 0.
    private var decoupledDecay: Double { options.weightDecay > 0 ? options.weightDecay : 0.01 }

    /// Allocates the optimizer state of every parameter that gets a gradient (zeros, as
    /// torch's lazily created state before its first update; a parameter only dead code
    /// uses has no grad, and torch.optim creates no state for it).
    func allocateOptimizerState() {
        optimizerState = graph.parameters.enumerated().map { id, parameter in
            guard analysis.parameterReceivesGradient[id] else { return [] }
            return (0..<options.optimizer.stateTensors).map { _ in
                allocator.tensor(parameter.shape, dtype: .float32, .optimizerState)
            }
        }
    }

    /// One optimizer step over the parameters that have gradients.
    func optimizerStep(gradients: [Tensor<T>?]) throws {
        let optimizer = options.optimizer
        // The trainable parameters that received a gradient, with it.
        var ids: [Int] = []
        var stepped: [Tensor<T>] = []
        for (id, g) in gradients.enumerated() where analysis.parameterReceivesGradient[id] {
            guard let g else { continue }
            ids.append(id)
            stepped.append(g)
        }
        var tally = WorkTally()
        defer { counter.add(tally, to: .optimizer) }

        // Gradient clipping (in place on the gradients).
        if let maxNorm = options.gradClip {
            var total: T = 0
            for gradient in stepped {
                let g = gradient.values, n = gradient.count
                var s: T = 0
                for j in 0..<n { s += g[j] * g[j] }
                tally.flops += 2 * n
                let norm = T.sqrt(s)
                tally.flops += 1
                total += norm * norm
                tally.flops += 2
            }
            let norm = T.sqrt(total)
            var coef = T(maxNorm) / (norm + T(1e-6))
            coef = Swift.min(coef, 1)
            tally.flops += 4
            for gradient in stepped {
                let g = gradient.values, n = gradient.count
                for j in 0..<n { g[j] *= coef }
                tally.flops += n
            }
        }

        // The step's temporaries: parameter-sized lists, all live at once.
        let lists = optimizer.temporaries(weightDecay: options.weightDecay)
        let temporaries: [[Tensor<T>]] = (0..<lists).map { _ in
            ids.map { allocator.tensor(graph.parameters[$0].shape, dtype: .float32, .optimizerTemporary) }
        }
        withExtendedLifetime(temporaries) { allocator.moment() }
        var nextList = 0
        func takeList() -> [Tensor<T>] { defer { nextList += 1 }; return temporaries[nextList] }

        // Coupled weight decay: g' = g + wd*p, a new list.
        var grads: [UnsafeMutablePointer<T>] = stepped.map(\.values)
        if options.weightDecay > 0 && optimizer.decayIsCoupled {
            let list = takeList(), wd = T(options.weightDecay)
            for (k, id) in ids.enumerated() {
                let p = parameters[id].values, g = grads[k], out = list[k].values, n = list[k].count
                for j in 0..<n { out[j] = g[j] + wd * p[j] }
                tally.flops += 2 * n
                grads[k] = out
            }
        }

        let lr = T(options.learningRate), mu = momentum
        for (k, id) in ids.enumerated() {
            let p = parameters[id].values, g = grads[k], n = parameters[id].count
            let state = optimizerState[id]
            switch optimizer {
            case .sgd:
                for j in 0..<n { p[j] -= lr * g[j] }
                tally.flops += 2 * n
            case .momentum:
                let v = state[0].values
                for j in 0..<n { v[j] = mu * v[j] + g[j]; p[j] -= lr * v[j] }
                tally.flops += 4 * n
            case .nesterov:
                let w = state[0].values, u = temporaries[nextList][k].values
                for j in 0..<n {
                    u[j] = w[j] + g[j]
                    w[j] = mu * u[j]
                    u[j] = g[j] + w[j]
                    p[j] -= lr * u[j]
                }
                tally.flops += 5 * n
            case .adagrad:
                let s = state[0].values, d = temporaries[nextList][k].values, eps = T(1e-10)
                for j in 0..<n {
                    s[j] += g[j] * g[j]
                    d[j] = T.sqrt(s[j]) + eps
                    p[j] -= lr * (g[j] / d[j])
                }
                tally.flops += 7 * n
            case .rmsprop:
                let alpha = T(0.99), s = state[0].values, d = temporaries[nextList][k].values
                let c = T.sqrt(1 - alpha) / lr, e = T(1e-8) / lr
                for j in 0..<n {
                    s[j] = alpha * s[j] + g[j] * g[j]
                    d[j] = T.sqrt(s[j]) * c + e
                    p[j] -= g[j] / d[j]
                }
                tally.flops += 8 * n
            case .adam, .adamw:
                if optimizer == .adamw {
                    let decay = lr * T(decoupledDecay)
                    for j in 0..<n { p[j] -= decay * p[j] }
                    tally.flops += 2 * n
                }
                adamUpdate(p: p, g: g, m: state[0].values, v: state[1].values, d: temporaries[nextList][k].values, n: n, tally: &tally)
                for j in 0..<n { p[j] -= lr * temporaries[nextList][k].values[j] }
                tally.flops += 2 * n
            case .lamb:
                let u = temporaries[nextList][k].values, wd = T(decoupledDecay)
                adamUpdate(p: p, g: g, m: state[0].values, v: state[1].values, d: u, n: n, tally: &tally, epsilon: 1e-6)
                for j in 0..<n { u[j] += wd * p[j] }
                var pp: T = 0, uu: T = 0
                for j in 0..<n { pp += p[j] * p[j]; uu += u[j] * u[j] }
                tally.flops += 6 * n
                let pn = T.sqrt(pp), un = T.sqrt(uu)
                let ratio: T = pn > 0 && un > 0 ? pn / un : 1
                let step = lr * ratio
                tally.flops += optimizer.flopsPerTensor
                for j in 0..<n { p[j] -= step * u[j] }
                tally.flops += 2 * n
            case .lars:
                let v = state[0].values, scaled = temporaries[nextList][k].values
                let wd = T(decoupledDecay), eta = T(0.001)
                var pp: T = 0, gg: T = 0
                for j in 0..<n { pp += p[j] * p[j]; gg += g[j] * g[j] }
                tally.flops += 4 * n
                let pn = T.sqrt(pp), gn = T.sqrt(gg)
                let local: T = pn > 0 && gn > 0 ? eta * pn / (gn + wd * pn) : 1
                tally.flops += optimizer.flopsPerTensor
                for j in 0..<n {
                    scaled[j] = (g[j] + wd * p[j]) * local
                    v[j] = mu * v[j] + scaled[j]
                    p[j] -= lr * v[j]
                }
                tally.flops += 7 * n
            }
        }
    }

    /// Adam's moments and normalised update: m = b1*m + (1-b1)*g (3), v = b2*v +
    /// (1-b2)*g*g (4), d = (m / bc1) / (sqrt(v / bc2) + eps) (5), step 1: 12 per element.
    private func adamUpdate(p: UnsafeMutablePointer<T>, g: UnsafeMutablePointer<T>, m: UnsafeMutablePointer<T>,
                            v: UnsafeMutablePointer<T>, d: UnsafeMutablePointer<T>, n: Int, tally: inout WorkTally,
                            epsilon: Double = 1e-8) {
        let b1 = T(0.9), b2 = T(0.999), eps = T(epsilon)
        let bc1 = 1 - b1, bc2 = 1 - b2  // 1 - beta^t at t = 1
        for j in 0..<n {
            m[j] = b1 * m[j] + (1 - b1) * g[j]
            v[j] = b2 * v[j] + (1 - b2) * (g[j] * g[j])
            d[j] = (m[j] / bc1) / (T.sqrt(v[j] / bc2) + eps)
        }
        tally.flops += 12 * n
    }
}
