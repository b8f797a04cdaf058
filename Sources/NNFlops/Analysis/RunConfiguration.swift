/// How a model is trained or run: the closed sets (optimizer, precision policy, stored
/// weight precision; the checkpointing policy lives in Checkpointing.swift) and the knobs
/// that go with them.
/// Memory and step-FLOP analyses are pure functions of a graph and one of these
/// (design §5, README, "Training and inference memory").

/// An optimizer: its step FLOPs per parameter (design §4), the fp32 state tensors it
/// keeps per parameter (design §5) and the parameter-sized temporaries its PyTorch
/// (foreach) step allocates.
public enum Optimizer: String, Sendable, CaseIterable, Codable {
    case sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, lamb, lars

    /// Step FLOPs per trainable parameter element, weight decay and clipping excluded
    /// (except where the method itself decays: AdamW and LAMB include their decoupled
    /// decay). SGD p -= lr*g (2); momentum v = mu*v + g, p -= lr*v (4); Nesterov 5;
    /// AdaGrad s += g*g, p -= lr*g/(sqrt(s)+eps) (7); RMSProp 8; Adam m, v, bias
    /// corrections, sqrt, eps, divide, step (14); AdamW Adam + p -= lr*wd*p (16) — the
    /// figures of design §4. LAMB: the Adam update (12 before the step) + wd*p (2) +
    /// squared norms of p and the update (4) + p -= lr*ratio*u (2) = 20. LARS: squared
    /// norms of p and g (4), g + wd*p (2), local learning rate (1), momentum (2), step (2) = 11.
    public var flopsPerParameter: Int {
        switch self {
        case .sgd: 2
        case .momentum: 4
        case .nesterov: 5
        case .adagrad: 7
        case .rmsprop: 8
        case .adam: 14
        case .adamw: 16
        case .lamb: 20
        case .lars: 11
        }
    }

    /// Scalar FLOPs per parameter tensor (LAMB's and LARS's layer-wise trust ratio, on
    /// the tensor's norms): LAMB sqrt of ||p||^2 and ||u||^2 (2), two > 0 tests (2),
    /// ||p|| / ||u|| (1), lr * ratio (1) = 6; LARS sqrt of ||p||^2 and ||g||^2 (2), two > 0
    /// tests (2), wd * ||p|| (1), ||g|| + that (1), eta * ||p|| (1), the division (1) = 8.
    /// Others 0.
    public var flopsPerTensor: Int {
        switch self {
        case .lamb: 6
        case .lars: 8
        default: 0
        }
    }

    /// Optimizer state tensors per parameter (design §5): SGD 0, momentum/Nesterov/
    /// AdaGrad/RMSProp 1 (buffer or running sum), Adam/AdamW/LAMB 2 (first and second
    /// moments), LARS 1 (momentum).
    public var stateTensors: Int {
        switch self {
        case .sgd: 0
        case .momentum, .nesterov, .adagrad, .rmsprop, .lars: 1
        case .adam, .adamw, .lamb: 2
        }
    }

    /// Parameter-sized fp32 temporaries alive at once during the step (torch.optim's
    /// foreach implementations): Nesterov's g + mu*v, AdaGrad's and RMSProp's
    /// sqrt(state) + eps, Adam's sqrt(v) + eps, LAMB's update, LARS's scaled gradient: 1;
    /// SGD and momentum update in place: 0. Coupled weight decay (g + wd*p, a new list)
    /// adds one.
    public func temporaries(weightDecay: Double) -> Int {
        let base: Int
        switch self {
        case .sgd, .momentum: base = 0
        case .nesterov, .adagrad, .rmsprop, .adam, .adamw, .lamb, .lars: base = 1
        }
        return base + (weightDecay > 0 && decayIsCoupled ? 1 : 0)
    }

    /// Whether weight decay is added to the gradient (an extra 2 FLOPs per parameter
    /// and a temporary) rather than built into the method (AdamW, LAMB, LARS).
    public var decayIsCoupled: Bool {
        switch self {
        case .adamw, .lamb, .lars: false
        default: true
        }
    }
}

/// Precision policy (design §5).
public enum PrecisionPolicy: String, Sendable, CaseIterable, Codable {
    /// Everything in fp32.
    case fp32
    /// torch.autocast(bfloat16): fp32 parameters, gradients and optimizer state; conv /
    /// linear / matmul / attention run in bf16 (their inputs and weights cast, the weight
    /// copies cached for the step); norms, softmax and losses run in fp32.
    case ampBF16 = "amp-bf16"
    /// torch.autocast(float16), as amp-bf16 with fp16.
    case ampFP16 = "amp-fp16"
    /// Pure bf16 (model.to(bfloat16)) with an fp32 master copy of the weights:
    /// 2 + 2 + 4 (+ optimizer state in fp32) bytes per parameter.
    case bf16
    /// Pure fp16 with an fp32 master copy.
    case fp16

    /// The half type of the policy (nil for fp32).
    public var halfType: DType? {
        switch self {
        case .fp32: nil
        case .ampBF16, .bf16: .bfloat16
        case .ampFP16, .fp16: .float16
        }
    }
    public var isAutocast: Bool { self == .ampBF16 || self == .ampFP16 }
    public var isPureHalf: Bool { self == .bf16 || self == .fp16 }
}

/// Precision of the stored weights in inference (`--weight-precision`): the model size,
/// the bytes a run reads, and for int8 and fp8 the tensor cores the matrix work can use
/// (README, "Inference": quantised weights).
public enum WeightPrecision: String, Sendable, CaseIterable, Codable {
    case fp32, fp16, bf16, int8, int4, fp8

    /// Bytes to store `elements` weights (int4 packs two per byte, rounded up per tensor).
    public func bytes(elements: Int) -> Int {
        switch self {
        case .fp32: elements * 4
        case .fp16, .bf16: elements * 2
        case .int8, .fp8: elements
        case .int4: (elements + 1) / 2
        }
    }

    /// The same, keeping the overflow flag.
    public func bytes(elements: Count) -> Count {
        switch self {
        case .fp32: elements * 4
        case .fp16, .bf16: elements * 2
        case .int8, .fp8: elements
        case .int4: elements.overflowed ? elements : Count(elements.value / 2 + elements.value % 2)
        }
    }
}

/// Everything about a run that is not the model.
public struct RunConfiguration: Sendable, Hashable {
    public var optimizer: Optimizer
    public var precision: PrecisionPolicy
    public var checkpoint: CheckpointPolicy
    /// What the sequence the `sqrt` and `segments=K` policies walk is made of
    /// (`--checkpoint-units`; default: inferred from names).
    public var checkpointUnits: CheckpointUnits
    /// Micro-batches accumulated per optimizer step (the graph is elaborated at the
    /// micro-batch size; gradients persist across micro-steps).
    public var accumulationSteps: Int
    public var weightDecay: Double
    /// Max gradient norm (clip_grad_norm_), nil when off.
    public var gradClip: Double?
    /// Forward only: no saved tensors, gradients or optimizer.
    public var inference: Bool
    /// Stored weight precision (inference model size); nil = the policy's parameter type.
    public var weightPrecision: WeightPrecision?
    /// transformers' `use_cache` (`--use-cache`): the model builds a DynamicCache in
    /// training too, unless gradient checkpointing turns it off; attention marked
    /// `cache = true` then reads the cache's new copies of k and v, which the returned
    /// output holds until after backward (README, attention).
    public var useCache: Bool
    /// The GPUs and how the model is spread over them (Analysis/ParallelLayout.swift);
    /// one GPU by default. `accumulationSteps` counts the micro-batches of one
    /// data-parallel rank.
    public var parallel: ParallelLayout
    /// An inference run that keeps the KV cache as state (`nnflops infer`): the positions
    /// it holds before this step and its element type; nil otherwise.
    public var kvCache: KVCacheState?

    public init(optimizer: Optimizer = .adam, precision: PrecisionPolicy = .fp32, checkpoint: CheckpointPolicy = .none,
                accumulationSteps: Int = 1, weightDecay: Double = 0, gradClip: Double? = nil,
                inference: Bool = false, weightPrecision: WeightPrecision? = nil, useCache: Bool = true,
                parallel: ParallelLayout = ParallelLayout(), kvCache: KVCacheState? = nil,
                checkpointUnits: CheckpointUnits = .inferred) {
        self.useCache = useCache
        self.parallel = parallel
        self.kvCache = kvCache
        self.optimizer = optimizer
        self.precision = precision
        self.checkpoint = checkpoint
        self.checkpointUnits = checkpointUnits
        self.accumulationSteps = accumulationSteps
        self.weightDecay = weightDecay
        self.gradClip = gradClip
        self.inference = inference
        self.weightPrecision = weightPrecision
    }

    /// The checkpointing as reports print it: the policy, and the units when they are not
    /// inferred (`segments=4 units=encoder.layer.*`).
    public var checkpointDescription: String {
        checkpoint.usesUnitSequence && checkpointUnits != .inferred
            ? "\(checkpoint) units=\(checkpointUnits)" : checkpoint.description
    }

    /// Optimizer step FLOPs for `elements` trainable parameters in `tensors` tensors
    /// (`OptimizerStepFLOPs`); zero in inference or with nothing to train.
    public func optimizerFLOPs(elements: Int, tensors: Int) -> Count {
        OptimizerStepFLOPs(self).step(elements: Count(elements), tensors: tensors)
    }
}
