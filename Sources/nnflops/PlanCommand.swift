import ArgumentParser
import Foundation
import NNFlops

/// `nnflops plan`: compute-optimal model and data size (design.md §7, README, "Planning").
struct PlanCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Compute-optimal parameters and tokens for a compute budget (Chinchilla planning), training time, memory and a spec.",
        discussion: """
        Give one or two of --compute, --params, --tokens (C = 6ND fixes the third):

          nnflops plan --compute 1e21                 compute-optimal N and D per method
          nnflops plan --params 7B                    compute-optimal tokens and compute for N
          nnflops plan --tokens 1.4T                  the model for which D is compute-optimal
          nnflops plan --params 7B --tokens 2T        a fixed run vs the compute-optimal one
          nnflops plan --compute 5.76e23 --gpu h100-sxm --gpus 1024 --mfu 0.4 --price-per-gpu-hour 2
          nnflops plan --compute 1e21 --emit-spec plan.spec

        Numbers take plain or scientific form or a suffix: 1e21, 2.5e9, 7B, 1.4T, 70M, 1.5K.

        Methods, side by side: tokens20 (D = 20N), hoffmann (Hoffmann et al. 2022 approach 3,
        constants as printed), epoch (the Epoch AI refit, Besiroglu et al. 2024), kaplan
        (Kaplan et al. 2020, N = 1.3e9 (C / 8.64e19)^0.73). The default is epoch: it
        reproduces Chinchilla's own allocation (70B parameters, 1.4T tokens at 5.76e23 FLOPs;
        it gives 72B / 1.33T) and predicts a loss, while the rounded printed constants put
        that optimum at 32B / 3.0T. --method picks the run the fleet and spec sections use.

        Fleet time = C / (GPUs x dense bf16 tensor peak x MFU) (fp16 on the V100). Memory:
        16 bytes/param (Adam, mixed precision) sharded over GPUs (ZeRO-3 / FSDP), plus
        activations of 34 s b h bytes per layer (fused attention) and 4 s b V for fp32 logits.
        GPUs: \(GPUProfile.builtinIDs.joined(separator: ", ")).
        Exit codes: 0 success, 2 usage error.
        """)

    @Option(help: ArgumentHelp("Training compute budget C in FLOPs (e.g. 1e21).", valueName: "flops"))
    var compute: String?

    @Option(help: ArgumentHelp("Parameters N (e.g. 7B).", valueName: "count"))
    var params: String?

    @Option(help: ArgumentHelp("Training tokens D (e.g. 1.4T).", valueName: "count"))
    var tokens: String?

    @Option(help: ArgumentHelp("Method choosing the run for the fleet and spec sections: tokens20, hoffmann, epoch (default), kaplan.", valueName: "method"))
    var method: String = ScalingMethod.default.rawValue

    @Option(help: ArgumentHelp("GPU for the fleet section: \(GPUProfile.builtinIDs.joined(separator: ", ")).", valueName: "id"))
    var gpu: String?

    @Option(help: "Number of GPUs (default 1).")
    var gpus: Int?

    @Option(help: ArgumentHelp("Model FLOPs utilisation in (0, 1] (default 0.4).", valueName: "fraction"))
    var mfu: String?

    @Option(name: .customLong("price-per-gpu-hour"), help: ArgumentHelp("Price of one GPU-hour, for the cost.", valueName: "dollars"))
    var pricePerGPUHour: String?

    @Option(name: .customLong("micro-batch"), help: "Sequences per GPU per micro-step, for the activation estimate (default 1).")
    var microBatch: Int?

    @Option(help: "Sequence length of the emitted spec and the activation estimate.")
    var seq: Int = TransformerShape.defaultSequence

    @Option(help: "Vocabulary size of the emitted spec.")
    var vocab: Int = TransformerShape.defaultVocab

    @Option(name: .customLong("emit-spec"), help: ArgumentHelp("Write a decoder-only transformer spec with about N parameters to this file.", valueName: "file"))
    var emitSpec: String?

    @Option(help: "Output format: table or json.")
    var format: Format = .table

    func run() throws {
        do {
            var plan = try Plan(try request())
            if let path = emitSpec, let spec = plan.spec {
                do {
                    try spec.source.write(toFile: path, atomically: true, encoding: .utf8)
                } catch {
                    throw NNFlopsError("cannot write \(path): \(error.localizedDescription)")
                }
                plan.spec?.path = path
            }
            switch format {
            case .table: emitPlan(plan.renderTable())
            case .json: emitPlan(try plan.renderJSON())
            }
        } catch let error as NNFlopsError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
    }

    /// The library request from the flags; every number goes through PlanQuantity.
    func request() throws -> PlanRequest {
        guard let chosen = ScalingMethod(rawValue: method.lowercased()) else {
            let names = ScalingMethod.allCases.map(\.rawValue)
            var notes: [String] = []
            if let guess = closestMatch(to: method, in: names) { notes.append("did you mean '\(guess)'?") }
            notes.append("note: methods: " + names.joined(separator: ", "))
            throw NNFlopsError("unknown method '\(method)'", notes: notes)
        }
        var fleet: FleetRequest?
        if let gpu {
            fleet = FleetRequest(gpu: gpu, gpus: gpus ?? 1,
                                 mfu: try mfu.map { try PlanQuantity.parse($0, what: "--mfu") } ?? FleetRequest.defaultMFU,
                                 pricePerGPUHour: try pricePerGPUHour.map { try PlanQuantity.parse($0, what: "--price-per-gpu-hour") },
                                 microBatch: microBatch ?? 1)
        } else {
            let orphans = [("--gpus", gpus != nil), ("--mfu", mfu != nil), ("--price-per-gpu-hour", pricePerGPUHour != nil),
                           ("--micro-batch", microBatch != nil)].filter(\.1).map(\.0)
            if !orphans.isEmpty {
                throw NNFlopsError("\(orphans.joined(separator: ", ")) \(orphans.count == 1 ? "needs" : "need") --gpu", notes: ["note: e.g. --gpu h100-sxm --gpus 1024 --mfu 0.4"])
            }
        }
        return PlanRequest(compute: try compute.map { try PlanQuantity.parse($0, what: "--compute") },
                           params: try params.map { try PlanQuantity.parse($0, what: "--params") },
                           tokens: try tokens.map { try PlanQuantity.parse($0, what: "--tokens") },
                           method: chosen, fleet: fleet, emitSpec: emitSpec != nil, vocab: vocab, sequence: seq)
    }

    private func emitPlan(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
