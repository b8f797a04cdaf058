/// How attention's cost is counted (design.md §4).
public enum AttentionConvention: String, Sendable, CaseIterable, Codable {
    /// The full n x n score matrix, even when causal (PyTorch FlopCounterMode, most papers).
    case dense
    /// What the chosen implementation executes: a fused causal kernel skips the masked half.
    /// (Fused attention's backward recomputes the scores under both conventions: that is
    /// what the kernel runs, and what FlopCounterMode counts, 2.5x the forward matmuls.)
    case executed
}

/// FLOPs and the part of them that is multiply-accumulate work, for one phase.
/// `macs` counts multiply-accumulates (each 2 FLOPs, included in `flops`).
public struct Work: Sendable, Hashable {
    public var flops: Count
    public var macs: Count

    public init(flops: Count = .zero, macs: Count = .zero) {
        self.flops = flops
        self.macs = macs
    }

    /// Work that is all multiply-accumulate: `flops = 2 * macs`.
    public static func mac(_ macs: Count) -> Work { Work(flops: macs * 2, macs: macs) }
    /// Work with no multiply-accumulates (element-wise, reductions, comparisons).
    public static func elementwise(_ flops: Count) -> Work { Work(flops: flops, macs: .zero) }

    public static let zero = Work()

    public static func + (a: Work, b: Work) -> Work { Work(flops: a.flops + b.flops, macs: a.macs + b.macs) }
    public static func += (a: inout Work, b: Work) { a = a + b }
    public var overflowed: Bool { flops.overflowed || macs.overflowed }
}

/// Cost of one operator instance per phase. Backward is split into the gradient with
/// respect to the inputs and the gradient with respect to the parameters.
struct OperatorCost: Sendable, Hashable {
    public var forward: Work
    public var inputGradient: Work
    public var weightGradient: Work

    public init(forward: Work, inputGradient: Work = .zero, weightGradient: Work = .zero) {
        self.forward = forward
        self.inputGradient = inputGradient
        self.weightGradient = weightGradient
    }

    public var backward: Work { inputGradient + weightGradient }
}

/// What an operator needs to know to price its backward pass, and the run it is priced
/// in: the precision policy's runtime types (`RuntimeTypes`, Analysis/Precision.swift) and
/// whether transformers' KV cache is on. Operators whose implementation PyTorch chooses at
/// run time (attention's kernel, by dtype) read them; most ignore them.
struct CostContext: Sendable, Hashable {
    /// For each tensor input (in `Node.inputs` order): does something upstream need its gradient?
    public var inputNeedsGradient: [Bool]
    /// For each parameter (in `Operator.parameters` order): is it trainable?
    public var parameterTrainable: [Bool]
    public var attention: AttentionConvention
    /// The run's precision policy.
    public var precision: PrecisionPolicy
    /// For each tensor input: its runtime type under the policy, as its producer made it
    /// (before any autocast cast this node applies).
    public var inputTypes: [DType]
    /// The floating-point type the node computes in under the policy (autocast's half type
    /// for a lower-precision operator, fp32 for an fp32-listed one, else the widest input).
    public var computeType: DType
    /// transformers' `use_cache` (the `--use-cache` run option): attention marked
    /// `cache = true` concatenates k and v onto the DynamicCache (README, attention).
    public var useCache: Bool
    /// Training or inference: `model.train()` or `model.eval()`. Operators that behave
    /// differently in eval mode (batchnorm with its running statistics, dropout and
    /// drop_path returning their input) read it.
    public var mode: RunMode
    /// An inference run that keeps attention's keys and values as state across steps
    /// (`nnflops infer`, README "Inference"): the positions the KV cache holds before this
    /// step (0 for the prefill, L - 1 for the decode step at context L); nil when the run
    /// keeps no such state (training, `--inference`). Causal attention reads it
    /// (`Operator.decodingState`).
    public var cachedPositions: Int?

    public init(inputNeedsGradient: [Bool], parameterTrainable: [Bool], attention: AttentionConvention = .dense,
                precision: PrecisionPolicy = .fp32, inputTypes: [DType] = [], computeType: DType = .float32,
                useCache: Bool = true, mode: RunMode = .training, cachedPositions: Int? = nil) {
        self.inputNeedsGradient = inputNeedsGradient
        self.parameterTrainable = parameterTrainable
        self.attention = attention
        self.precision = precision
        self.inputTypes = inputTypes
        self.computeType = computeType
        self.useCache = useCache
        self.mode = mode
        self.cachedPositions = cachedPositions
    }

    public var anyInputNeedsGradient: Bool { inputNeedsGradient.contains(true) }
    /// Does autograd record this node (an input needs a gradient or a parameter trains)?
    public var recordsForBackward: Bool { anyInputNeedsGradient || parameterTrainable.contains(true) }
    /// The same node in a forward-only run (eval mode): nothing needs a gradient, nothing
    /// trains; the attention convention and the run's types stay.
    public var forInference: CostContext {
        var context = self
        context.inputNeedsGradient = inputNeedsGradient.map { _ in false }
        context.parameterTrainable = parameterTrainable.map { _ in false }
        context.mode = .inference
        return context
    }
    /// Eval mode (`model.eval()`): batchnorm uses its running statistics, dropout is off.
    public var evaluates: Bool { mode == .inference }
    /// The runtime type of input `index` (fp32 when unknown).
    public func inputType(_ index: Int) -> DType { index < inputTypes.count ? inputTypes[index] : .float32 }
    /// Whether the node computes in a half type (bf16 / fp16) in this run.
    public var computesInHalf: Bool { computeType == .bfloat16 || computeType == .float16 }
    public func needsGradient(input index: Int) -> Bool { index < inputNeedsGradient.count && inputNeedsGradient[index] }
    public func trainable(parameter index: Int) -> Bool { index < parameterTrainable.count && parameterTrainable[index] }
}

/// A learnable parameter an operator owns, by local name ("weight", "bias"); also used
/// for buffers. `dtype` is float32 except for integer buffers such as batchnorm's int64
/// `num_batches_tracked`. An empty local name is a bare learned tensor (`parameter`): the
/// tensor is named by its operator's name itself, as PyTorch names an `nn.Parameter`
/// attribute (`encoder.pos_embedding`, `layer_scale`), not `<name>.weight`.
struct ParameterSpec: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var dtype: DType
    public init(_ name: String, _ shape: [Int], dtype: DType = .float32) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
    }

    public var elements: Count { Count.product(shape) }
    public var bytes: Count { elements * dtype.bytes }

    /// The parameter's full name under the node (module) named `node`: `node.weight`, or
    /// `node` itself for a bare learned tensor.
    public func qualifiedName(under node: String) -> String { name.isEmpty ? node : node + "." + name }
}

/// An operator kind. Each conforming type lives in its own file under Ops/ and is listed
/// once in `OperatorCatalog`. Analyses never switch on the kind: they add up what each
/// operator says about itself.
protocol Operator: Sendable {
    /// The name used in specs, e.g. `conv2d`.
    static var kind: String { get }
    /// One-line description for `--help`-style listings.
    static var summary: String { get }
    /// The arguments it takes, in positional order.
    static var signature: [ArgumentSpec] { get }
    /// Validates the bound arguments and computes the output types.
    /// Throws `OperatorError` for bad arguments or incompatible shapes.
    init(_ arguments: BoundArguments) throws
    /// The tensors it produces, with their layouts (Graph/TensorLayout.swift): a view
    /// derives its strides from its input's, an element-wise operator lays its result out
    /// as TensorIterator does, every other operator produces contiguous tensors.
    var outputs: [TensorType] { get }
    /// The learnable parameters it owns.
    var parameters: [ParameterSpec] { get }
    /// State that is not learned (batchnorm running statistics): memory, not parameters.
    var buffers: [ParameterSpec] { get }
    /// Exact FLOPs and MACs of the reference algorithm, per phase.
    func cost(_ context: CostContext) -> OperatorCost
    /// Short configuration text for tables, e.g. `3x3/2 p1`.
    var detail: String { get }
    /// True when `cost` reads `CostContext.attention` (README, "Counting conventions"):
    /// reports state the attention convention only for models that have such an operator.
    var countsUnderAttentionConvention: Bool { get }

    // Memory (README, "Training and inference memory"). Defaults in the extension below; every operator file
    // states its own.
    /// The tensors it keeps for backward, given which inputs need gradients and which
    /// parameters are trainable (PyTorch saves only what the needed gradients use).
    func savedTensors(_ context: MemoryContext) -> [SavedTensor]
    /// Whether output `index` is a view of an input, an input modified in place, or a
    /// parameter, rather than a new allocation.
    func alias(ofOutput index: Int) -> OutputAlias?
    /// The same, in a run: an operator whose aliasing depends on the runtime types (a cast
    /// to the type its input already has is the input itself) answers here. Default:
    /// `alias(ofOutput:)`. The memory replay, the roofline and the executor ask this one.
    func alias(ofOutput index: Int, _ context: MemoryContext) -> OutputAlias?
    /// An explicit cast (`x.float()`, `x.to(torch.bfloat16)`): its outputs have this type
    /// under every precision policy (pure half does not turn them half, autocast does not
    /// touch them). Default: nil.
    var explicitOutputType: DType? { get }
    /// How autocast treats it under the amp-* precision policies.
    var autocast: AutocastClass { get }
    /// For an operator that runs as several torch ops (a Python composite such as
    /// transformers' `gelu_new` or `LlamaRMSNorm`): the autocast class of each op, in
    /// evaluation order, each reading the previous one's result. Empty (the default): one
    /// op of class `autocast`. A composite casts none of its inputs as a whole; its
    /// running type starts at its widest floating input and each op moves it (a
    /// lower-precision op to half, an fp32-listed op such as `pow` to fp32, a promoting
    /// op keeps it); the output has the type after the last op (`RuntimeTypes`).
    var autocastPrimitives: [AutocastClass] { get }
    /// Tensors it makes that outlive its own backward because the model's returned output
    /// holds them until it is dropped, after backward (transformers' KV cache, returned as
    /// `past_key_values`). Default: none. `SavedTensor.held(i)` names one as kept.
    func heldTensors(_ context: MemoryContext) -> [WorkspaceTensor]
    /// Tensors live only while its forward runs, beyond its outputs and what it keeps (the
    /// math attention path's score matrix next to the probabilities). Default: none.
    func forwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor]
    /// Tensors live only while its backward runs, beyond the gradients it produces (the
    /// math attention path's dP and dS next to the kept P). Default: none.
    func backwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor]
    /// True when inference may fold it into the producer of its input (`--fold-bn`).
    var foldsIntoProducer: Bool { get }
    /// True for an operator that runs under `torch.no_grad()` (transformers' rotary
    /// embedding tables): autograd records nothing for it and its outputs carry no
    /// gradient. Default: false.
    var detachesOutputs: Bool { get }
    /// This operator with a per-output-channel affine transform folded in, or nil.
    func absorbingAffine() -> (any Operator)?
    /// The state it keeps across decoding steps in a run that keeps one
    /// (`CostContext.cachedPositions`): causal attention's KV cache. Default: none.
    func decodingState(_ context: CostContext) -> DecodingState?
    /// True for an attention core (scores, softmax, dropout, the product with V): what
    /// `--checkpoint selective` recomputes (Korthikanti et al. 2022). Default false.
    var isAttentionCore: Bool { get }

    // Roofline traffic (README, "Roofline"). Defaults in the extension at the end.
    /// The saved tensors one backward phase reads. Default: every saved tensor, in both
    /// phases; linear/conv override it (dX reads the weight, dW reads the input).
    func backwardReads(_ phase: BackwardPhase, _ context: CostContext) -> [SavedTensor]
    /// Elements of parameter `index` the forward pass reads. Default: all of them; an
    /// embedding gathers only the rows its ids select.
    func elementsRead(ofParameter index: Int) -> Count

    // Tensor parallelism (README, "Training on many GPUs"). Defaults in
    // Analysis/TensorParallel.swift; an operator that can run on pieces says how here.
    /// How one of T tensor-parallel ranks runs it, given where its inputs lie: the
    /// placement each input needs, where its outputs lie, its arguments at one rank's
    /// sizes. Default: replicated (every rank runs all of it). Throws `OperatorError` for a
    /// split it cannot take (T not dividing attention's heads).
    func tensorParallel(_ request: ShardingRequest) throws -> TensorParallelRule
    /// The collectives it runs on its tensor-parallel group, per call. Default: none.
    func collectives(_ context: CostContext) -> [OperatorCollective]
    /// True for an operator that only moves data between GPUs (an all-reduce): its time is
    /// the communication analysis's, so the roofline leaves it out. Default: false.
    var isCollective: Bool { get }
    /// The library PyTorch runs its matrix work in on a CUDA GPU, which decides the TF32
    /// switch that applies to it in fp32. Default cuBLAS; convolutions say cuDNN.
    var matrixLibrary: MatrixLibrary { get }
}

extension Operator {
    public var parameters: [ParameterSpec] { [] }
    public var buffers: [ParameterSpec] { [] }
    public var detail: String { "" }
    public var countsUnderAttentionConvention: Bool { false }
}

/// An error from an operator's validation; the elaborator attaches the source location.
struct OperatorError: Error, Sendable {
    public var message: String
    /// The argument at fault, if one is (so the caret can point at it).
    public var argument: String?
    public init(_ message: String, argument: String? = nil) {
        self.message = message
        self.argument = argument
    }
}

// MARK: - Memory declarations (design §5; README, "Training and inference memory")

/// The element type of a tensor an operator keeps for backward that is not one of its
/// inputs or outputs.
enum SavedElementType: Sendable, Hashable {
    /// Always this type, whatever the precision policy: int64 pooling indices, bool
    /// dropout masks, fp32 normalisation statistics and log-sum-exp.
    case fixed(DType)
    /// The runtime type of the operator's first output under the precision policy.
    case output
    /// The type an operator of this autocast class produces under the policy (e.g. the
    /// probabilities of eager attention come from a softmax, an fp32 op under autocast).
    case autocast(AutocastClass)
    /// The runtime type of input i, as its producer made it.
    case input(Int)
    /// The running type after op k of a composite (`Operator.autocastPrimitives`).
    case primitive(Int)
    /// The type the node computes in (`CostContext.computeType`).
    case compute
}

/// A tensor an operator allocates beyond its outputs: held with the model's outputs
/// (`heldTensors`) or live only while one of its phases runs (`forwardWorkspace`,
/// `backwardWorkspace`).
struct WorkspaceTensor: Sendable, Hashable {
    public var name: String
    public var shape: [Int]
    public var type: SavedElementType
    public init(_ name: String, _ shape: [Int], _ type: SavedElementType) {
        self.name = name
        self.shape = shape
        self.type = type
    }
}

/// A tensor an operator keeps for its backward pass (PyTorch's `derivatives.yaml`).
/// Inputs, outputs and parameters are named by index, so a tensor that several operators
/// keep, or that an in-place operator's output aliases, is one tensor and counts once.
enum SavedTensor: Sendable, Hashable {
    case input(Int)
    case output(Int)
    /// A parameter (in `parameters` order): free in fp32, but under autocast the saved
    /// tensor is the parameter's cached half-precision copy.
    case parameter(Int)
    /// A tensor private to the operator (statistics, masks, indices, probabilities).
    case extra(String, shape: [Int], type: SavedElementType)
    /// Input i read as `type`: the input itself when its runtime type is that type, else
    /// a cast copy the operator makes and keeps (a composite's `x.to(torch.float32)`, or
    /// `pow` casting a half input under autocast).
    case inputAs(Int, SavedElementType)
    /// Held tensor i (`Operator.heldTensors`), which backward also reads.
    case held(Int)

    /// What an element-wise operator whose backward formula reads its input keeps: the
    /// input, or, when it runs in place, a clone of the original input. Autograd's
    /// generated code saves `original_self = self.clone()` before overwriting
    /// (gen_variable_type.py: an in-place op whose formula reads `self`), so the result
    /// aliases the input and an input-sized copy is kept.
    public static func inputOrInPlaceClone(of input: TensorType, inplace: Bool) -> SavedTensor {
        inplace ? .extra("original input", shape: input.shape, type: .output) : .input(0)
    }
}

/// State an operator keeps from one decoding step to the next (README, "Inference"):
/// causal attention's KV cache. It is state, like the weights, not an activation: the
/// memory of a run counts it beside the weights, and the roofline prices what one step
/// reads of it and writes into it.
public struct DecodingState: Sendable, Hashable {
    /// What the state holds for one position, shapes without the position axis (the key
    /// [B, kv_heads, d] and the value [B, kv_heads, dv]), typed as the tensors it stores.
    var perPosition: [WorkspaceTensor]
    /// The most positions it keeps (a sliding window of W keeps the last W); nil: all.
    public var window: Int?
    /// Positions this step reads from the state (the past it attends to).
    public var read: Int
    /// Positions this step writes into it (its new keys and values).
    public var written: Int

    init(perPosition: [WorkspaceTensor], window: Int?, read: Int, written: Int) {
        self.perPosition = perPosition
        self.window = window
        self.read = read
        self.written = written
    }

    /// Positions the state holds after `positions` positions have gone through it.
    public func positionsKept(after positions: Int) -> Int { window.map { Swift.min($0, positions) } ?? positions }
}

/// When an output is not a new allocation.
enum OutputAlias: Sendable, Hashable {
    /// A view of input i (reshape, transpose, split): same storage; its gradient is a
    /// view of the output's gradient when the element counts match.
    case view(input: Int)
    /// Input i modified in place (relu_(x)): same storage; the input gradient is new.
    case inPlace(input: Int)
    /// The parameter i itself (a learned tensor used as an activation).
    case parameter(Int)
}

/// How `torch.autocast` treats an operator (amp-bf16 / amp-fp16 policies).
enum AutocastClass: String, Sendable, Hashable, CaseIterable {
    /// Runs in half precision: inputs (and parameters) are cast to half, the output is
    /// half (conv, linear, matmul, attention).
    case lowerPrecision = "lower-precision"
    /// Runs in fp32: half inputs are cast up, the output is fp32 (softmax, log_softmax,
    /// layer/group norm, losses, sum).
    case float32
    /// Runs in the widest floating-point type among its inputs, no casts of its own
    /// (element-wise ops, pooling, batchnorm, shape ops). With no float input (embedding,
    /// a learned tensor) it produces its parameters' type.
    case promote
}

/// What a memory analysis asks an operator: the same facts as for pricing backward.
typealias MemoryContext = CostContext

extension Operator {
    public func savedTensors(_ context: MemoryContext) -> [SavedTensor] { [] }
    public func alias(ofOutput index: Int) -> OutputAlias? { nil }
    public func alias(ofOutput index: Int, _ context: MemoryContext) -> OutputAlias? { alias(ofOutput: index) }
    public var explicitOutputType: DType? { nil }
    public var autocast: AutocastClass { .promote }
    public var autocastPrimitives: [AutocastClass] { [] }
    public func heldTensors(_ context: MemoryContext) -> [WorkspaceTensor] { [] }
    public func forwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] { [] }
    public func backwardWorkspace(_ context: MemoryContext) -> [WorkspaceTensor] { [] }
    /// True for an operator that inference can fold into the producer of its input
    /// (batchnorm into the preceding conv/linear, design §8 `--fold-bn`).
    public var foldsIntoProducer: Bool { false }
    public var detachesOutputs: Bool { false }
    public func decodingState(_ context: CostContext) -> DecodingState? { nil }
    /// The operator after absorbing a folded per-channel affine transform (nil: it
    /// cannot absorb one). Conv/linear return themselves with a bias.
    public func absorbingAffine() -> (any Operator)? { nil }
    public var isAttentionCore: Bool { false }
}

// MARK: - Roofline traffic declarations (README, "Roofline")

/// The two backward phases, for `Operator.backwardReads`.
enum BackwardPhase: String, Sendable, Hashable, CaseIterable {
    case inputGradient = "input-gradient"
    case weightGradient = "weight-gradient"
}

/// Where PyTorch runs an operator's matrix work on a CUDA GPU (README, "Roofline"): each
/// has its own TF32 switch (`TF32Ops`).
enum MatrixLibrary: String, Sendable, Hashable, CaseIterable {
    /// cuBLAS / cuBLASLt: matmul, linear (addmm), bmm; `torch.backends.cuda.matmul.allow_tf32`.
    case cuBLAS = "cublas"
    /// cuDNN: convolutions; `torch.backends.cudnn.allow_tf32`.
    case cuDNN = "cudnn"
}

extension Operator {
    public var matrixLibrary: MatrixLibrary { .cuBLAS }
    public func backwardReads(_ phase: BackwardPhase, _ context: CostContext) -> [SavedTensor] { savedTensors(context) }
    public func elementsRead(ofParameter index: Int) -> Count {
        index < parameters.count ? parameters[index].elements : .zero
    }
}
