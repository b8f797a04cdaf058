/// An operator the reference executor can run: forward and backward float kernels that
/// count the work they execute.
///
/// ## Adding a kernel
///
/// 1. Create `Execution/Kernels/<OpName>Kernel.swift` with
///    `extension <OpName>: ExecutableOperator { ... }`. The executor finds it with
///    `node.op as? any ExecutableOperator`; it never switches on the operator kind, and
///    an operator without a kernel is reported as an error.
/// 2. Implement `forward` and `backward` generically over `T: KernelScalar` and put
///    `@_specialize(where T == Float)` and `@_specialize(where T == Double)` on both
///    (without them the code runs unspecialised through witness tables, 20x slower).
/// 3. Run exactly the reference algorithm documented atop the operator's file, and count
///    as you go: keep a `WorkTally`, add to it per executed loop iteration or after
///    each executed inner loop (`tally.mac(k)` after a k-long dot product,
///    `tally.flops += 3 * n` after an n-element loop doing 3 operations per element),
///    then `context.count(tally, .forward)` (or `.inputGradient` / `.weightGradient`).
///    Never evaluate the analytic formula. Parallel loops (`parallelFor`) keep one
///    tally per chunk and count it once.
/// 4. Allocate every output, saved tensor and gradient through the context
///    (`context.output`, `context.allocate`, `context.inputGradient`,
///    `context.parameterGradient`); keep what backward needs in the returned
///    `SavedState` (only when `context.needsBackward`), and nothing else. Scratch
///    arrays freed before returning (im2col columns) need no tracking.
/// 5. In backward, compute an input gradient only where `context.inputNeedsGradient[i]`
///    and a parameter gradient only where `context.parameterTrainable[k]`; return nil
///    elsewhere.
/// 6. An operator of a family uses its kernel helpers: element-wise activations
///    `elementwiseForward` / `elementwiseBackward`, broadcasting binary operators
///    `broadcastingForward` / `operandGradient` (Kernels/ElementwiseSupport.swift), weighted
///    layers `addBias` / `biasGradient` / `keptForBackward` (Kernels/WeightedLayerSupport.swift).
///    The kernel still states the operations its loop bodies execute.
/// 7. Remove the kind from `ExecutorTests.expectedMissingKernels` and add shapes to the
///    conformance catalog in `ExecutorTests`: it checks analytic == executed per phase
///    and gradients against central finite differences in Double.
protocol ExecutableOperator: Operator {
    /// Runs the forward pass: returns the outputs (shapes and dtypes as `outputs`) and
    /// what backward needs.
    func forward<T: KernelScalar>(_ context: ForwardContext<T>) throws -> ForwardResult<T>
    /// Runs the backward pass from the gradients of the outputs and the saved state.
    func backward<T: KernelScalar>(_ context: BackwardContext<T>) throws -> BackwardResult<T>
    /// The values a graph input feeding input `index` must take (token ids below the
    /// vocabulary size, class indices, probabilities). Default: any.
    func inputDomain(_ index: Int) -> InputDomain
    /// Initial value of buffer `index` (batchnorm's running variance starts at 1). Default 0.
    func bufferInitialValue(_ index: Int) -> Double
}

extension ExecutableOperator {
    public func inputDomain(_ index: Int) -> InputDomain { .any }
    public func bufferInitialValue(_ index: Int) -> Double { 0 }
}

/// Constraint on the values of a generated graph input.
enum InputDomain: Sendable, Hashable {
    /// Uniform in [-1, 1) (floats) or [0, 2) (integers).
    case any
    /// Integers in 0..<upperBound (token ids, class indices).
    case integers(upperBound: Int)
    /// Floats in (0, 1) (binary targets, probabilities).
    case unitInterval
    /// Each row along the last dimension a probability distribution (soft labels).
    case distribution
}

/// What a node's forward keeps for its backward. The executor stores it per node and
/// drops it right after the node's backward has run (freeing tensors only it holds).
struct SavedState<T: KernelScalar> {
    public var tensors: [Tensor<T>]
    /// Small non-tensor facts (e.g. whether the kernel ran in place).
    public var flags: [Int]
    public init(_ tensors: [Tensor<T>] = [], flags: [Int] = []) {
        self.tensors = tensors
        self.flags = flags
    }
    public static var none: SavedState<T> { SavedState() }
}

struct ForwardResult<T: KernelScalar> {
    public var outputs: [Tensor<T>]
    public var saved: SavedState<T>
    /// The operator's `heldTensors`: the executor keeps them until the outputs are dropped.
    public var held: [Tensor<T>]
    /// The operator's `forwardWorkspace`, alive at the node's memory moment, then dropped.
    public var workspace: [Tensor<T>]
    public init(_ outputs: [Tensor<T>], saved: SavedState<T> = .none, held: [Tensor<T>] = [], workspace: [Tensor<T>] = []) {
        self.outputs = outputs
        self.saved = saved
        self.held = held
        self.workspace = workspace
    }
}

struct BackwardResult<T: KernelScalar> {
    /// One entry per input (nil where not needed).
    public var inputs: [Tensor<T>?]
    /// One entry per parameter (nil where frozen).
    public var parameters: [Tensor<T>?]
    /// The operator's `backwardWorkspace`, alive at the node's memory moment, then dropped.
    public var workspace: [Tensor<T>]
    public init(inputs: [Tensor<T>?], parameters: [Tensor<T>?] = [], workspace: [Tensor<T>] = []) {
        self.inputs = inputs
        self.parameters = parameters
        self.workspace = workspace
    }
}

/// Everything a forward kernel gets.
final class ForwardContext<T: KernelScalar> {
    public let inputs: [Tensor<T>]
    /// The node's parameters in `Operator.parameters` order.
    public let parameters: [Tensor<T>]
    /// The node's buffers in `Operator.buffers` order (kernels may update them).
    public let buffers: [Tensor<T>]
    /// Whether backward will run for this node: save state only then.
    public let needsBackward: Bool
    public let inputNeedsGradient: [Bool]
    public let parameterTrainable: [Bool]
    /// Per input: may an in-place kernel overwrite it (its last use, not a graph input
    /// or output, not kept for another node's backward)?
    public let canOverwrite: [Bool]
    /// The number operand of binary operators given a number, etc. come from the op itself.
    public var random: SeededRandom
    /// The node's context in this run (the cost analysis's): what the memory model was
    /// asked, so a kernel whose implementation depends on the run (attention) runs the same.
    public let run: CostContext
    let allocator: TrackingAllocator
    let counter: OpCounter

    init(inputs: [Tensor<T>], parameters: [Tensor<T>], buffers: [Tensor<T>], needsBackward: Bool,
         inputNeedsGradient: [Bool], parameterTrainable: [Bool], canOverwrite: [Bool], random: SeededRandom,
         run: CostContext, allocator: TrackingAllocator, counter: OpCounter) {
        self.run = run
        self.inputs = inputs
        self.parameters = parameters
        self.buffers = buffers
        self.needsBackward = needsBackward
        self.inputNeedsGradient = inputNeedsGradient
        self.parameterTrainable = parameterTrainable
        self.canOverwrite = canOverwrite
        self.random = random
        self.allocator = allocator
        self.counter = counter
    }

    /// A zero-filled output (or any tensor kept for backward) of the given shape.
    public func output(_ shape: [Int], dtype: DType = .float32) -> Tensor<T> {
        allocator.tensor(shape, dtype: dtype, .activation)
    }
    public func allocate(_ shape: [Int], dtype: DType = .float32) -> Tensor<T> { output(shape, dtype: dtype) }
    /// The output of an operator that runs in place on input `slot` (PyTorch's `relu_`):
    /// the input itself when it may be overwritten, otherwise a physical copy that the
    /// allocator does not account, standing for the input's storage (in PyTorch the
    /// result *is* the input, so no bytes are allocated either way). The caller writes
    /// the result into it.
    public func inPlaceOutput(_ slot: Int) -> Tensor<T> {
        let x = inputs[slot]
        if slot < canOverwrite.count && canOverwrite[slot] { return x }
        let wasSuspended = allocator.suspended
        allocator.suspended = true
        let y: Tensor<T> = allocator.tensor(x.shape, dtype: x.dtype, .activation)
        allocator.suspended = wasSuspended
        y.markAlias(of: x)
        return y
    }
    /// Counts executed work into this node's forward.
    public func count(_ tally: WorkTally, _ phase: Phase = .forward) { counter.add(tally, to: phase) }
}

/// Everything a backward kernel gets.
final class BackwardContext<T: KernelScalar> {
    /// dL/dy for each output (zeros where no gradient reached an output).
    public let outputGradients: [Tensor<T>]
    public let saved: SavedState<T>
    public let parameters: [Tensor<T>]
    public let buffers: [Tensor<T>]
    public let inputNeedsGradient: [Bool]
    public let parameterTrainable: [Bool]
    /// The node's context in this run (as `ForwardContext.run`).
    public let run: CostContext
    let allocator: TrackingAllocator
    let counter: OpCounter

    init(outputGradients: [Tensor<T>], saved: SavedState<T>, parameters: [Tensor<T>], buffers: [Tensor<T>],
         inputNeedsGradient: [Bool], parameterTrainable: [Bool], run: CostContext, allocator: TrackingAllocator, counter: OpCounter) {
        self.run = run
        self.outputGradients = outputGradients
        self.saved = saved
        self.parameters = parameters
        self.buffers = buffers
        self.inputNeedsGradient = inputNeedsGradient
        self.parameterTrainable = parameterTrainable
        self.allocator = allocator
        self.counter = counter
    }

    public func needsGradient(input index: Int) -> Bool { index < inputNeedsGradient.count && inputNeedsGradient[index] }
    public func trainable(parameter index: Int) -> Bool { index < parameterTrainable.count && parameterTrainable[index] }
    /// A zero-filled gradient for an input (dL/dx).
    public func inputGradient(_ shape: [Int]) -> Tensor<T> { allocator.tensor(shape, dtype: .float32, .activationGradient) }
    /// A zero-filled gradient for a parameter (dL/dw).
    public func parameterGradient(_ shape: [Int]) -> Tensor<T> { allocator.tensor(shape, dtype: .float32, .parameterGradient) }
    /// Temporary tensors used during backward (tracked as activation gradients).
    public func temporary(_ shape: [Int]) -> Tensor<T> { allocator.tensor(shape, dtype: .float32, .activationGradient) }
    public func count(_ tally: WorkTally, _ phase: Phase) { counter.add(tally, to: phase) }
}

/// A small deterministic generator (SplitMix64): the same seed gives the same run.
struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    /// Uniform in [a, b).
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * unit() }
}
