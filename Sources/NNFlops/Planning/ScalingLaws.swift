import Foundation

/// The parametric loss of Hoffmann et al. 2022 (approach 3):
/// L(N, D) = E + A / N^alpha + B / D^beta, N parameters, D training tokens.
struct ParametricLoss: Sendable, Hashable, Codable {
    public var E: Double
    public var A: Double
    public var B: Double
    public var alpha: Double
    public var beta: Double

    public init(E: Double, A: Double, B: Double, alpha: Double, beta: Double) {
        self.E = E
        self.A = A
        self.B = B
        self.alpha = alpha
        self.beta = beta
    }

    /// Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models"
    /// (arXiv 2203.15556), approach 3, eq. 10, with the constants as printed (rounded).
    public static let hoffmann2022 = ParametricLoss(E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28)

    /// Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication attempt"
    /// (Epoch AI, arXiv 2404.10102): the refit of approach 3 on the data of Hoffmann et
    /// al.'s Figure 4.
    public static let epoch2024 = ParametricLoss(E: 1.8172, A: 482.01, B: 2085.43, alpha: 0.3478, beta: 0.3658)

    /// Predicted loss (nats per token) for N parameters trained on D tokens.
    public func loss(params N: Double, tokens D: Double) -> Double {
        E + A / pow(N, alpha) + B / pow(D, beta)
    }

    /// The compute-optimal frontier of this law under C = 6ND as a power law
    /// N*(C) = k C^p (Hoffmann et al. eq. 4): G = (alpha A / (beta B))^(1/(alpha+beta)),
    /// N* = G (C/6)^(beta/(alpha+beta)), so k = G 6^(-p), p = beta/(alpha+beta).
    public var frontier: PowerLawFrontier {
        let p = beta / (alpha + beta)
        let G = pow(alpha * A / (beta * B), 1 / (alpha + beta))
        return PowerLawFrontier(coefficient: G * pow(6, -p), exponent: p)
    }
}

/// A compute-optimal frontier of the form N*(C) = coefficient * C^exponent, with the
/// tokens following from C = 6ND: D*(C) = C / (6 N*(C)). All four planning methods have
/// this form, so one set of closed-form inverses serves them all.
struct PowerLawFrontier: Sendable, Hashable, Codable {
    public var coefficient: Double
    public var exponent: Double

    public init(coefficient: Double, exponent: Double) {
        self.coefficient = coefficient
        self.exponent = exponent
    }

    /// Compute-optimal parameters for a budget of C FLOPs.
    public func params(compute C: Double) -> Double {
        // exp/log keeps the power exact enough over 1e10...1e40.
        coefficient * exp(exponent * log(C))
    }

    /// Compute-optimal tokens for a budget of C FLOPs: C / (6 N*), so 6 N* D* = C.
    public func tokens(compute C: Double) -> Double { C / (6 * params(compute: C)) }

    /// The budget for which N parameters are compute-optimal: C = (N / k)^(1/p).
    public func compute(params N: Double) -> Double { exp(log(N / coefficient) / exponent) }

    /// The budget for which D tokens are compute-optimal:
    /// D = C^(1-p) / (6k)  =>  C = (6 k D)^(1/(1-p)).
    public func compute(tokens D: Double) -> Double { exp(log(6 * coefficient * D) / (1 - exponent)) }
}

/// The named planning methods, shown side by side.
public enum ScalingMethod: String, Sendable, CaseIterable, Codable {
    /// D = 20 N (the Chinchilla rule of thumb), so with C = 6ND: N = sqrt(C / 120).
    case tokens20 = "tokens20"
    /// Hoffmann et al. 2022 approach 3 with the printed (rounded) constants.
    case hoffmann
    /// The Epoch AI refit of approach 3 (Besiroglu et al. 2024). The default.
    case epoch
    /// Kaplan et al. 2020: compute-efficient N = 1.3e9 (C / 1 PF-day)^0.73.
    case kaplan

    /// The default method: the Epoch AI refit. It is the only parametric fit here whose
    /// optimum reproduces Chinchilla's own allocation (70B parameters, 1.4T tokens at
    /// 5.76e23 FLOPs; it gives 72B / 1.33T), it predicts a loss, and it corrects the
    /// printed approach-3 constants, whose rounding moves the optimum to 32B / 3.0T at
    /// that budget (Besiroglu et al. 2024).
    public static let `default`: ScalingMethod = .epoch

    /// Short human title.
    public var title: String {
        switch self {
        case .tokens20: return "20 tokens/param"
        case .hoffmann: return "Hoffmann approach 3"
        case .epoch: return "Epoch AI refit"
        case .kaplan: return "Kaplan et al."
        }
    }

    /// Where the method and its constants come from.
    public var citation: String {
        switch self {
        case .tokens20:
            return "Hoffmann et al. 2022 (arXiv 2203.15556), Table 3 rule of thumb: D = 20 N"
        case .hoffmann:
            return "Hoffmann et al. 2022 (arXiv 2203.15556), approach 3, eq. 10 as printed: E=1.69 A=406.4 B=410.7 alpha=0.34 beta=0.28"
        case .epoch:
            return "Besiroglu et al. 2024 (Epoch AI, arXiv 2404.10102): E=1.8172 A=482.01 B=2085.43 alpha=0.3478 beta=0.3658"
        case .kaplan:
            return "Kaplan et al. 2020 (arXiv 2001.08361), eq. 6.1 / Table 6: N = 1.3e9 (C / 8.64e19 FLOPs)^0.73"
        }
    }

    /// The method's loss law, where it has one comparable with the others.
    /// (Kaplan et al.'s L(N, D) is fitted on WebText2 with another tokenizer and counts
    /// only non-embedding parameters; its values are not comparable, so none is given.)
    var lossLaw: ParametricLoss? {
        switch self {
        case .hoffmann: return .hoffmann2022
        case .epoch: return .epoch2024
        case .tokens20, .kaplan: return nil
        }
    }

    /// Kaplan et al. 2020, "Scaling Laws for Neural Language Models" (arXiv 2001.08361),
    /// eq. 6.1 (Figure 14, Table 6): the compute-efficient model size is
    /// N_opt = 1.3e9 * C_min^0.73 with C_min in PF-days, 1 PF-day = 1e15 * 86400 =
    /// 8.64e19 FLOPs. Their N excludes embedding parameters; it is used here as the total.
    public static let kaplanCoefficient = 1.3e9
    public static let kaplanExponent = 0.73
    public static let flopsPerPetaflopDay = 8.64e19

    /// The compute-optimal frontier N*(C) of the method.
    var frontier: PowerLawFrontier {
        switch self {
        case .tokens20:
            // D = 20 N and C = 6 N D = 120 N^2.
            return PowerLawFrontier(coefficient: (1.0 / 120).squareRoot(), exponent: 0.5)
        case .hoffmann:
            return ParametricLoss.hoffmann2022.frontier
        case .epoch:
            return ParametricLoss.epoch2024.frontier
        case .kaplan:
            let p = Self.kaplanExponent
            return PowerLawFrontier(coefficient: Self.kaplanCoefficient * pow(Self.flopsPerPetaflopDay, -p), exponent: p)
        }
    }
}
