/// The limits that keep a hostile or mistaken model from hanging nnflops or exhausting
/// its memory, in one place (README, "Limits"). Each is checked before the work it
/// bounds (a loop's count before its first iteration, a list's size before it is built,
/// the executor's memory before it allocates) and its error names it. A real model is far
/// inside every one of them: GPT-3 175B is about 1,500 operators, 100 block calls and 200
/// loop iterations.
public struct Limits: Sendable, Equatable {
    /// Source nesting: parentheses, calls, lists, indexing, unary operands, `**`, and
    /// indented suites. A chain of one operator level (`x + x + ... + x`) is not nesting.
    public var nesting = 100
    /// Block calls active at once (recursion); a default argument's evaluation is inside
    /// the call whose parameter it fills.
    public var callDepth = 64
    /// Block calls in one elaboration.
    public var blockCalls = 100_000
    /// Loop iterations in one elaboration, `repeat` and `for` together; a loop whose count
    /// would pass it fails before its first iteration.
    public var loopIterations = 1_000_000
    /// Elaboration steps: statements executed, block calls, and the list items and string
    /// bytes that value operations copy or visit (`+` on lists and strings, `==`, `str`,
    /// `min`, `max`, `range`, `output`).
    public var steps = 20_000_000
    /// Operators in one graph, from any front end (a spec, an ONNX file, a config.json).
    public var operators = 1_000_000
    /// Items in one list value (the items of nested lists are counted by their list).
    public var listItems = 1_000_000
    /// Bytes (UTF-8) in one string value.
    public var stringBytes = 1_000_000
    /// Dimensions of one tensor (PyTorch's own limit is 64 as well).
    public var tensorRank = 64
    /// Bytes of one tensor: 2^56, so that FLOP counts, which multiply element counts by
    /// small factors, stay inside 64 bits.
    public var tensorBytes = 1 << 56
    /// The largest batch `fit` searches; a model that fits it is reported as fitting at
    /// least this batch.
    public var batchSearch = 1 << 24
    /// The largest batch and the longest context `infer`'s capacity search tries; a model
    /// that fits them is reported as fitting at least this much.
    public var inferenceBatchSearch = 1 << 20
    public var inferenceContextSearch = 1 << 22
    /// FLOPs one `validate` run may execute (forward, backward and the step together):
    /// about ten minutes of the executor on a laptop's cores. `validate --max-flops` raises it.
    public var executedFLOPs = 1e13

    public init() {}

    /// The limits every command uses.
    public static let standard = Limits()

    /// The limits the spec and hf fuzz targets elaborate under (Fuzz/Spec.swift,
    /// Fuzz/HuggingFace.swift; README, "Fuzzing"): the same checks with a twentieth of
    /// the work before the bounds on block calls, operators, loops and steps. A mutated
    /// MobileNet looping 600,000 times took 4.5 s in a release build to reach the
    /// 100,000th block call, and 35 s under AddressSanitizer, past libFuzzer's timeout:
    /// work the limits allow, not a hang.
    public static let fuzzing: Limits = {
        var limits = Limits()
        limits.blockCalls = 5_000
        limits.operators = 10_000
        limits.loopIterations = 50_000
        limits.steps = 1_000_000
        limits.listItems = 50_000
        limits.stringBytes = 50_000
        return limits
    }()
}
