/// `moe(x, experts, top_k, intermediate, act="silu", norm_topk=true, shared_intermediate=0,
/// shared_gate=false, capacity_factor=none, impl="grouped_mm")`: a sparse mixture-of-experts
/// feed-forward layer over the last dimension, as transformers' MixtralSparseMoeBlock and
/// Qwen2MoeSparseMoeBlock run it (models/mixtral/modeling_mixtral.py,
/// models/qwen2_moe/modeling_qwen2_moe.py, integrations/moe.py).
///
/// x [..., D] holds T tokens (the product of the leading dimensions). A router
/// (`gate.weight` [E, D], no bias) scores every token against the E experts; softmax over
/// E; the top_k = k largest probabilities are kept and, with `norm_topk` (Mixtral;
/// Qwen2-MoE's `norm_topk_prob`), divided by their sum. Each token is sent to its k
/// experts; expert e is a gated MLP, down(act(gate) * up) with [gate; up] = x
/// `experts.gate_up_proj[e]`^T ([E, 2I, D]) and `experts.down_proj[e]` [E, D, I]; each
/// expert's output is scaled by its routing weight and a token's k outputs are summed.
/// With `shared_intermediate` = Is > 0 every token also goes through a shared expert
/// (`shared_expert.gate_proj/up_proj/down_proj`, the same gated MLP, width Is), scaled,
/// with `shared_gate`, by sigmoid(x `shared_expert_gate.weight`^T) ([1, D]), and added.
/// Parameters count all E experts.
///
/// Routed rows. The dropless layer (no `capacity_factor`, as transformers) processes
/// exactly R = S = T*k token-expert rows: every token sends k rows whatever the router
/// chooses, so the counts below hold for any routing, balanced or not. With
/// `capacity_factor` = c each expert takes at most C = ceil(c * T * k / E) rows (Switch
/// Transformer's and GShard's expert capacity, DeepSpeed's `_capacity`, one group = the T
/// tokens); rows beyond it are dropped (they add nothing; the token keeps its other rows).
/// How many are dropped depends on the data; the count assumes the load is balanced: the
/// S rows spread as evenly as integers allow (S mod E experts get floor(S/E) + 1, the
/// others floor(S/E)), so expert e processes min(C, n_e) rows and R = sum min(C, n_e) =
/// min(S, E*C).
///
/// Reference algorithm (FLOPs; MACs are the products), D, E, k, I, Is as above:
/// - forward, per token: router logits x W_g^T: E*D MACs; softmax over E: 5E (as
///   `softmax`); top-k by k passes of a running maximum over the experts not yet chosen,
///   each from -inf: kE - k(k-1)/2 compares; with norm_topk the sum of the k values (k
///   adds) and k divides. Per processed row: [gate; up] = x_t W_gu[e]^T: 2I*D MACs;
///   act(gate): 4I (silu, as `silu`); * up: I; o = h W_d[e]^T: I*D MACs; o * weight: D;
///   added into the token's output (a sum over its rows from zero): D. Shared expert per
///   token: gate_proj, up_proj, down_proj 3*Is*D MACs, silu 4Is, * up Is, added to the
///   output: D; with shared_gate, the gate x W_q^T: D MACs, sigmoid 4, * the shared
///   output: D.
///   Forward MACs = T*E*D + R*3*I*D + T*(3*Is*D [+ D]).
/// - backward, from dY (each part only when something needs it): per processed row, the
///   routing weight's gradient dw = sum_d dY*o (D multiplies, D adds); do = dY * w (D);
///   dW_d[e] += do^T h (I*D MACs); dh = do W_d[e] (I*D MACs); through the gated
///   activation dgate = silu'(gate) * dh * up and dup = dh * act (11I: 1 + 9 as `silu`'s
///   input gradient + 1); dW_gu[e] += [dgate; dup]^T x (2I*D MACs); dx_row = [dgate; dup]
///   W_gu[e] (2I*D MACs), added into dX at its token (D). Router, per token: with
///   norm_topk, w_j = v_j / s gives dv_j = (dw_j - c) / s with c = sum_i dw_i v_i / s
///   (4k + 1); top-k's gradient is a scatter (no arithmetic); softmax backward 4E (as
///   `softmax`); dW_g = dL^T x and dX += dL W_g (E*D MACs each). Shared expert, per token:
///   with shared_gate dso = dY * g (D), dg = sum dY * so (2D), the sigmoid's backward 3,
///   dW_q and dX += dq W_q (D MACs each); dW_sd = dso^T sh, dsh = dso W_sd (Is*D MACs
///   each); dsg = silu'(sg) * dsh * su (10 Is), dsu = dsh * sa (Is); dW_sg, dW_su and their
///   dX contributions (Is*D MACs each).
///   Phases: a product that yields a parameter's gradient is weight gradient; the
///   propagation through the layer's own intermediates (dw, do, dh, the activation's
///   backward, the router's renormalisation and softmax backward, the shared path) is
///   charged to the weight gradient it leads to when that parameter trains (as rmsnorm
///   charges its shared sums), else to the input gradient; the products into dX and the
///   scatter-adds are input gradient.
///
/// Memory (`savedTensors`) is what autograd keeps for this code in transformers 5 with
/// torch 2.11, measured with saved_tensors_hooks (scripts/measure_moe.py): the router's
/// x (its mm, and the shared expert's linears), the fp32 softmax result, topk's int64
/// indices, with norm_topk the in-place division's clone of the top-k values and their
/// sum; per processed row the gathered token state, the [gate; up] projection, act(gate),
/// the product fed to down_proj, the routing weight and the expert output; the index
/// tensors of the dispatch: `impl = "grouped_mm"` (transformers' default
/// experts_implementation: rows sorted by expert, one grouped matmul per projection) keeps
/// three int64 [R] index vectors and the int32 [E] group offsets; `impl = "eager"` (the
/// per-expert loop) keeps each expert's torch.where result ([n_e, 2] int64: 16 bytes per
/// row) and index_add_'s source (the weighted rows, [R, D]). The per-expert tensors sum to
/// R rows for any routing, so the bytes do not depend on the data either.
struct MoE: Operator {
    public static let kind = "moe"
    public static let summary = "sparse mixture-of-experts MLP (router, top-k routing, gated experts, optional shared expert)"
    public static let signature: [ArgumentSpec] = [
        .required("x", .tensor),
        .required("experts", .int),
        .required("top_k", .int),
        .required("intermediate", .int),
        .defaulted("act", .string, .string("silu")),
        .defaulted("norm_topk", .bool, .bool(true)),
        .defaulted("shared_intermediate", .int, .int(0)),
        .defaulted("shared_gate", .bool, .bool(false)),
        .defaulted("capacity_factor", .float, .none),
        .defaulted("impl", .string, .string("grouped_mm")),
    ]

    /// How the routed rows are dispatched: the two transformers experts implementations
    /// (they differ only in the index tensors they keep).
    enum Dispatch: String, Sendable {
        case groupedMM = "grouped_mm"
        case eager
    }

    let input: TensorType
    let experts: Int
    let topK: Int
    let intermediate: Int
    let normTopK: Bool
    let sharedIntermediate: Int
    let sharedGate: Bool
    let capacityFactor: Double?
    let dispatch: Dispatch
    /// T, the tokens.
    let tokens: Int
    /// R, the token-expert rows the experts process.
    let rows: Int
    /// C, each expert's capacity (nil: dropless).
    let capacity: Int?

    public init(_ arguments: BoundArguments) throws {
        input = try arguments.tensor("x")
        guard input.dtype.isFloatingPoint else { throw OperatorError("x must be a float tensor, got \(input)", argument: "x") }
        guard input.rank >= 1 else { throw OperatorError("x must be [..., hidden], got a scalar", argument: "x") }
        experts = try arguments.int("experts", atLeast: 1)
        topK = try arguments.int("top_k", atLeast: 1)
        guard topK <= experts else {
            throw OperatorError("top_k = \(topK) exceeds experts = \(experts): each token picks top_k distinct experts", argument: "top_k")
        }
        intermediate = try arguments.int("intermediate", atLeast: 1)
        _ = try arguments.choice("act", ["silu"])
        normTopK = try arguments.bool("norm_topk")
        sharedIntermediate = try arguments.int("shared_intermediate", atLeast: 0)
        sharedGate = try arguments.bool("shared_gate")
        if sharedGate && sharedIntermediate == 0 {
            throw OperatorError("shared_gate needs a shared expert (shared_intermediate > 0)", argument: "shared_gate")
        }
        let impl = try arguments.choice("impl", ["grouped_mm", "eager"])
        guard let chosen = Dispatch(rawValue: impl) else { throw OperatorError("impl must be \"grouped_mm\" or \"eager\", got \"\(impl)\"", argument: "impl") }
        dispatch = chosen
        let tokenCount = Count.product(input.shape.dropLast())
        let slots = tokenCount * topK
        guard !slots.overflowed, !(Count(experts) * intermediate * 3 * (input.shape.last ?? 1)).overflowed else {
            throw OperatorError("the layer's sizes overflow", argument: "x")
        }
        tokens = tokenCount.value
        if let factor = try arguments.optionalFloat("capacity_factor") {
            guard factor.isFinite, factor > 0 else {
                throw OperatorError("'capacity_factor' must be a positive number, got \(factor)", argument: "capacity_factor")
            }
            let exact = (factor * Double(slots.value) / Double(experts)).rounded(.up)
            guard exact < 0x1p53 else { throw OperatorError("the expert capacity overflows", argument: "capacity_factor") }
            let perExpert = Int(exact)
            capacityFactor = factor
            capacity = perExpert
            // sum over experts of min(C, n_e) with n_e the balanced share = min(S, E*C).
            let (all, overflow) = perExpert.multipliedReportingOverflow(by: experts)
            rows = overflow ? slots.value : min(slots.value, all)
        } else {
            capacityFactor = nil
            capacity = nil
            rows = slots.value
        }
    }

    /// D, the hidden size.
    var hidden: Int { input.shape[input.rank - 1] }

    public var outputs: [TensorType] { [input] }

    public var parameters: [ParameterSpec] {
        var list = [ParameterSpec("gate.weight", [experts, hidden]),
                    ParameterSpec("experts.gate_up_proj", [experts, 2 * intermediate, hidden]),
                    ParameterSpec("experts.down_proj", [experts, hidden, intermediate])]
        if sharedIntermediate > 0 {
            list += [ParameterSpec("shared_expert.gate_proj.weight", [sharedIntermediate, hidden]),
                     ParameterSpec("shared_expert.up_proj.weight", [sharedIntermediate, hidden]),
                     ParameterSpec("shared_expert.down_proj.weight", [hidden, sharedIntermediate])]
        }
        if sharedGate { list.append(ParameterSpec("shared_expert_gate.weight", [1, hidden])) }
        return list
    }

    /// Parameter indices, in `parameters` order.
    enum Weight {
        static let router = 0, gateUp = 1, down = 2, sharedGate = 3, sharedUp = 4, sharedDown = 5, sharedScale = 6
    }

    /// Which gradients backward propagates, from what needs one (the kernel runs the same plan).
    struct Needs: Sendable {
        var input: Bool
        var router: Bool, gateUp: Bool, down: Bool
        var sharedGate: Bool, sharedUp: Bool, sharedDown: Bool, sharedScale: Bool

        init(_ context: CostContext, shared: Bool, gated: Bool) {
            input = context.needsGradient(input: 0)
            router = context.trainable(parameter: Weight.router)
            gateUp = context.trainable(parameter: Weight.gateUp)
            down = context.trainable(parameter: Weight.down)
            sharedGate = shared && context.trainable(parameter: Weight.sharedGate)
            sharedUp = shared && context.trainable(parameter: Weight.sharedUp)
            sharedDown = shared && context.trainable(parameter: Weight.sharedDown)
            sharedScale = gated && context.trainable(parameter: Weight.sharedScale)
        }

        /// The routing weights' gradient (the router's backward).
        var routerPath: Bool { router || input }
        /// do = dY * w, into the experts.
        var expertOutput: Bool { down || gateUp || input }
        /// dh and the activation's backward, into [gate; up].
        var expertHidden: Bool { gateUp || input }
        var any: Bool { routerPath || expertOutput || sharedOutput || sharedScalePath }
        /// dso, into the shared expert.
        var sharedOutput: Bool { sharedDown || sharedGate || sharedUp || input }
        var sharedHidden: Bool { sharedGate || sharedUp || input }
        var sharedScalePath: Bool { sharedScale || input }
        /// Some weight that reads x: the router, a shared projection or the shared gate.
        var keepsInput: Bool { router || sharedGate || sharedUp || sharedScale }
    }

    public func cost(_ context: CostContext) -> OperatorCost {
        let t = Count(tokens), r = Count(rows)
        let d = hidden, e = experts, k = topK, i = intermediate, s = sharedIntermediate
        let shared = s > 0

        var forwardMACs = t * e * d + r * 3 * i * d
        var forwardElementwise = t * (5 * e) + t * (k * e - k * (k - 1) / 2) + (normTopK ? t * (2 * k) : .zero) + r * (5 * i + 2 * d)
        if shared {
            forwardMACs += t * 3 * s * d
            forwardElementwise += t * (5 * s + d)
            if sharedGate {
                forwardMACs += t * d
                forwardElementwise += t * (4 + d)
            }
        }
        var cost = OperatorCost(forward: Work(flops: forwardMACs * 2 + forwardElementwise, macs: forwardMACs))

        let needs = Needs(context, shared: shared, gated: sharedGate)
        var input = Work.zero, weight = Work.zero
        func charge(_ work: Work, toWeight: Bool) { if toWeight { weight += work } else { input += work } }

        // Routed rows.
        if needs.routerPath { charge(.elementwise(r * (2 * d)), toWeight: needs.router) }
        if needs.expertOutput { charge(.elementwise(r * d), toWeight: needs.down || needs.gateUp) }
        if needs.down { weight += .mac(r * i * d) }
        if needs.expertHidden { charge(.mac(r * i * d) + .elementwise(r * (11 * i)), toWeight: needs.gateUp) }
        if needs.gateUp { weight += .mac(r * 2 * i * d) }
        if needs.input { input += .mac(r * 2 * i * d) + .elementwise(r * d) }
        // Router.
        if needs.routerPath { charge(.elementwise(t * ((normTopK ? 4 * k + 1 : 0) + 4 * e)), toWeight: needs.router) }
        if needs.router { weight += .mac(t * e * d) }
        if needs.input { input += .mac(t * e * d) }
        // Shared expert.
        if shared {
            if sharedGate {
                if needs.sharedOutput { charge(.elementwise(t * d), toWeight: needs.sharedDown || needs.sharedGate || needs.sharedUp) }
                if needs.sharedScalePath { charge(.elementwise(t * (2 * d + 3)), toWeight: needs.sharedScale) }
                if needs.sharedScale { weight += .mac(t * d) }
                if needs.input { input += .mac(t * d) }
            }
            if needs.sharedDown { weight += .mac(t * s * d) }
            if needs.sharedHidden { charge(.mac(t * s * d), toWeight: needs.sharedGate || needs.sharedUp) }
            if needs.sharedGate || needs.input { charge(.elementwise(t * (10 * s)), toWeight: needs.sharedGate) }
            if needs.sharedUp || needs.input { charge(.elementwise(t * s), toWeight: needs.sharedUp) }
            if needs.sharedGate { weight += .mac(t * s * d) }
            if needs.sharedUp { weight += .mac(t * s * d) }
            if needs.input { input += .mac(t * 2 * s * d) }
        }
        cost.inputGradient = input
        cost.weightGradient = weight
        return cost
    }

    public var detail: String {
        var text = "E\(experts) top\(topK) I\(intermediate)"
        if !normTopK { text += " unnormalised" }
        if sharedIntermediate > 0 { text += " shared \(sharedIntermediate)" + (sharedGate ? " gated" : "") }
        if let capacityFactor, let capacity { text += " capacity \(capacityFactor) (\(capacity)/expert)" }
        if dispatch == .eager { text += " eager" }
        return text
    }
}

// Memory (README, "Training and inference memory").
extension MoE {
    /// The tensors the layer keeps, by role; `savedTensors` and the kernel share this list.
    enum Kept: Sendable, Hashable {
        case input, probabilities, topKIndices, topKValues, topKSum
        /// grouped_mm: hidden_states[perm // k], sample_weights[perm], the group offsets.
        case rowTokens, rowSlots, offsets
        /// eager: each expert's torch.where(expert_mask[e]) result, [n_e, 2] int64.
        case expertTokenIndex
        case gathered, gateUp, activation, hidden, routingWeights, expertOutput
        /// grouped_mm: weighted_out[inv_perm]; eager: index_add_'s source.
        case inversePermutation, weightedOutput
        case sharedGateProjection, sharedUpProjection, sharedActivation, sharedHidden, sharedScale, sharedOutput
    }

    /// What autograd keeps for transformers' code, per tensor only when a gradient that
    /// reads it is needed (derivatives.yaml; measured by scripts/measure_moe.py): the
    /// router's mm keeps x for its weight gradient (so do the shared expert's linears),
    /// softmax its fp32 result, topk its int64 indices, the in-place `/=` of norm_topk a
    /// clone of the top-k values (its `self`) and their sum; per processed row the gathered
    /// token state (gate_up's grouped mm, for its weight), [gate; up] (silu's input and the
    /// product's `up`), act(gate), the product (down's input), the routing weight and the
    /// expert output (the weighting mul's operands); the dispatch's index tensors (see the
    /// operator's comment); the shared expert's gate_proj and up_proj outputs, act(gate),
    /// the product, and with the sigmoid gate its result and the shared output.
    func keptTensors(_ needs: Needs) -> [Kept] {
        guard needs.any else { return [] }
        let routed = needs.routerPath || needs.expertOutput
        var kept: [Kept] = []
        if needs.keepsInput { kept.append(.input) }
        if needs.routerPath {
            kept += [.probabilities, .topKIndices]
            if normTopK { kept += [.topKValues, .topKSum] }
        }
        if routed {
            switch dispatch {
            case .groupedMM:
                if needs.input { kept.append(.rowTokens) }
                if needs.routerPath { kept.append(.rowSlots) }
                if needs.expertOutput { kept.append(.offsets) }
            case .eager:
                kept.append(.expertTokenIndex)
            }
            if needs.gateUp { kept.append(.gathered) }
            if needs.expertHidden { kept += [.gateUp, .activation] }
            if needs.down { kept.append(.hidden) }
            if needs.expertOutput { kept.append(.routingWeights) }
            if needs.routerPath { kept.append(.expertOutput) }
            kept.append(dispatch == .groupedMM ? .inversePermutation : .weightedOutput)
        }
        if sharedIntermediate > 0 {
            if needs.sharedGate || needs.input { kept += [.sharedGateProjection, .sharedUpProjection] }
            if needs.sharedUp || needs.input { kept.append(.sharedActivation) }
            if needs.sharedDown { kept.append(.sharedHidden) }
            if sharedGate {
                if needs.sharedScalePath || needs.sharedOutput { kept.append(.sharedScale) }
                if needs.sharedScalePath { kept.append(.sharedOutput) }
            }
        }
        return kept
    }

    /// Shape and element type of a kept tensor (`.input` is x itself).
    func layout(_ kept: Kept) -> (shape: [Int], type: DType) {
        let t = Array(input.shape.dropLast()), r = rows, d = hidden, i = intermediate, s = sharedIntermediate
        let float = input.dtype
        switch kept {
        case .input: return (input.shape, float)
        case .probabilities: return (t + [experts], .float32)
        case .topKIndices: return (t + [topK], .int64)
        case .topKValues: return (t + [topK], .float32)
        case .topKSum: return (t + [1], .float32)
        case .rowTokens, .rowSlots, .inversePermutation: return ([r], .int64)
        case .offsets: return ([experts], .int32)
        case .expertTokenIndex: return ([r, 2], .int64)
        case .gathered, .expertOutput, .weightedOutput: return ([r, d], float)
        case .gateUp: return ([r, 2 * i], float)
        case .activation, .hidden: return ([r, i], float)
        case .routingWeights: return ([r, 1], float)
        case .sharedGateProjection, .sharedUpProjection, .sharedActivation, .sharedHidden: return (t + [s], float)
        case .sharedScale: return (t + [1], float)
        case .sharedOutput: return (t + [d], float)
        }
    }

    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] {
        keptTensors(Needs(context, shared: sharedIntermediate > 0, gated: sharedGate)).map { kept in
            if kept == .input { return .input(0) }
            let (shape, type) = layout(kept)
            // The router's probabilities and its top-k values are fp32 (softmax(logits.float())).
            let element: SavedElementType = type.isFloatingPoint && kept != .probabilities && kept != .topKValues && kept != .topKSum
                ? .output : .fixed(type)
            return .extra("\(kept)", shape: shape, type: element)
        }
    }
}
