import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNFlops

/// `nnflops validate`: runs the reference executor (seeded init, forward, loss, backward,
/// optimizer step) and compares executed with analytic FLOPs per layer and phase, saved
/// bytes per layer and the peak memory (fp32; README, "The reference executor").
/// Exit 0 when everything agrees, 1 on any mismatch, 2 on bad input.
struct ValidateCommand: NamedCommand {
    static let commandName = "validate"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Run the spec on the CPU reference executor and compare executed with analytic FLOPs, saved bytes and peak memory; exit 1 on a mismatch.",
        usage: "nnflops validate <spec> [<options>]",
        discussion: """
          nnflops validate mlp
          nnflops validate resnet50 --scale 0.25
          nnflops validate gpt2 --scale 0.03 --checkpoint segments=4 --format json

        --scale S multiplies the spec params named image and seq by S, rounded and at least 1, for a quick check of a big model. Attention is priced under the executed convention, what the kernels run: fused causal attention skips the masked entries, so there is no --attention-flops.

        Memory is compared in fp32: per layer the bytes kept for backward, and the peak, static memory included, against the memory model under the same optimizer and checkpointing. Timings are left out unless --timing asks for them, so that two runs print the same bytes.

        Exit codes: 0 every count agrees, 1 a mismatch, 2 a usage error or a bad spec.
        """)

    static let formats = ValidationRenderer.formats

    @OptionGroup var model: BatchedModelOptions

    @Option(help: ArgumentHelp("Multiply the spec's image and seq params by this factor: 0 < S <= 1 for a quick check.", valueName: "s"),
            transform: ArgumentValue.number(.positive))
    var scale: Double = 1

    @Option(help: "Seed of the initialisation, inputs and dropout masks.")
    var seed: UInt64 = 0

    @Option(help: formatHelp(formats), transform: ArgumentValue.format(formats, command: "validate"))
    var format: OutputFormat = .table

    @Option(help: "Optimizer whose update step runs.")
    var optimizer: Optimizer = .sgd

    @Option(name: .customLong("weight-decay"), help: ArgumentHelp("Weight decay of the step: coupled optimizers add 2 FLOPs per parameter and a temporary.", valueName: "w"),
            transform: ArgumentValue.number(.nonNegative))
    var weightDecay: Double = 0

    @Option(name: .customLong("grad-clip"), help: ArgumentHelp("Clip the gradient norm to this value before the step.", valueName: "max-norm"),
            transform: ArgumentValue.number(.positive))
    var gradClip: Double?

    @Option(help: ArgumentHelp("Activation checkpointing, executed.", valueName: "policy"))
    var checkpoint: CheckpointPolicy = .none

    @Option(name: .customLong("max-flops"),
            help: ArgumentHelp("The most FLOPs the run may execute, a count such as 1e14; default 1e13, minutes of the CPU executor.", valueName: "count"),
            transform: ArgumentValue.positiveCount)
    var maxFLOPs: Double = Limits.standard.executedFLOPs

    @Option(name: .customLong("checkpoint-units"),
            help: ArgumentHelp("With --checkpoint sqrt or segments=K: the sequence's units, a name glob or depth=N.", valueName: "units"))
    var checkpointUnits: CheckpointUnits = .inferred

    @Flag(help: "Show only the rows that disagree, in the table.")
    var mismatchesOnly = false

    @Flag(help: "First measure this machine's FMA and mul+add peaks and the executor's GEMM rate, printed on stderr.")
    var peak = false

    @Flag(help: "Add the run's wall-clock time and the kernel times by kind; in JSON, seconds. Without it, two runs print the same bytes.")
    var timing = false

    func run() throws {
        let request = try model.request()
        let graph = try request.scalingInputs(by: scale).graph()
        if peak { writeStandardError(ValidationRenderer.peakLine(MeasuredPeak.measure())) }
        // The kernels execute what an implementation runs (a fused causal kernel skips the
        // masked entries): only the `executed` attention convention can equal that.
        var options = ExecutionOptions(seed: seed, attention: .executed, optimizer: optimizer, weightDecay: weightDecay,
                                       gradClip: gradClip, checkpoint: checkpoint)
        options.maxFLOPs = maxFLOPs
        options.checkpointUnits = checkpointUnits
        // Memory and time are checked before anything is allocated, with a size that fits.
        if var refusal = try ExecutionNeeds(graph: graph, options: options).refusal(options) {
            refusal.notes += try suggestions(request, options)
            throw refusal
        }
        if isatty(STDERR_FILENO) != 0 {
            let start = Date()
            options.progress = { done, total, name in
                guard ValidationRenderer.showsProgress(done: done, total: total) else { return }
                let line = ValidationRenderer.progress(done: done, total: total, node: name, elapsed: Date().timeIntervalSince(start))
                writeStandardError(line)
            }
        }
        let started = Date()
        warn(try CostAnalysis(graph: graph, options: CountOptions(attention: .executed)).warnings)
        let report = try ReferenceExecutor.run(graph, options: options)
        let seconds = Date().timeIntervalSince(started)
        emit(try ValidationRenderer.render(report, seconds: timing ? seconds : nil, optimizer: optimizer, format: format,
                                           mismatchesOnly: mismatchesOnly))
        if !report.ok { throw ExitCode(1) }
    }

    /// A run that fits: the largest of a few smaller scales, else the largest power-of-two
    /// batch below the model's, with what it needs.
    func suggestions(_ request: ModelRequest, _ options: ExecutionOptions) throws -> [String] {
        func needs(_ graph: Graph) throws -> ExecutionNeeds { try ExecutionNeeds(graph: graph, options: options) }
        func described(_ needs: ExecutionNeeds) -> String {
            "\(Units.bytes(needs.peakBytes)) and \(PlanQuantity.scientific(Double(needs.flops))) FLOPs"
        }
        let unscaled = try request.scalingInputs(by: scale).graph()
        for factor in [0.5, 0.25, 0.1, 0.05, 0.03, 0.01] {
            let smaller = try request.scalingInputs(by: scale * factor).graph()
            guard smaller.tensors.map(\.shape) != unscaled.tensors.map(\.shape) else { break }  // no image or seq param
            let need = try needs(smaller)
            if need.fits(options) { return ["note: --scale \(scale * factor) needs \(described(need))"] }
        }
        if let batch = try request.batchSize(), batch > 1 {
            var candidate = 1
            while candidate * 2 < batch { candidate *= 2 }
            while candidate >= 1 {
                let need = try needs(try request.scalingInputs(by: scale).graph(batch: candidate))
                if need.fits(options) {
                    // In the user's own terms: the batch may have come from --set.
                    let bySet = model.model.overrides.contains { (try? SpecLoader.parseOverride($0))?.0 == "batch" }
                    return ["note: \(bySet ? "--set batch=" : "--batch ")\(candidate) needs \(described(need))"]
                }
                candidate /= 2
            }
        }
        return []
    }
}
