import Foundation
import Testing

/// Usage errors as a user meets them (the built binary): every bad flag value reads the
/// same way, `Error: The value 'V' is invalid for '--flag <name>': REASON`, and exits 2;
/// a command offers only the options that mean something for it; the number vocabulary
/// (README, "Numbers and units") is the same on every flag and in specs; phases have one
/// JSON spelling.
@Suite struct UsageErrorTests {
    let cli = CLITests()

    /// Runs `arguments`, expects exit 2 and `message` in stderr, nothing on stdout.
    func expectUsageError(_ arguments: [String], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try cli.run(arguments)
        #expect(result.status == 2, "\(arguments): \(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, "\(arguments)", sourceLocation: sourceLocation)
    }

    @Test func badValuesReadTheSameWay() throws {
        let cases: [([String], String)] = [
            (["mlp", "--batch", "0"], "Error: The value '0' is invalid for '--batch <n>': must be at least 1"),
            (["mlp", "--batch", "x"], "Error: The value 'x' is invalid for '--batch <n>': not an integer"),
            (["mlp", "--depth", "0"], "Error: The value '0' is invalid for '--depth <n>': must be at least 1"),
            (["mlp", "--micro-batch", "0"], "Error: The value '0' is invalid for '--micro-batch <m>': must be at least 1"),
            (["mlp", "--weight-decay=-1"], "Error: The value '-1' is invalid for '--weight-decay <w>': must be a non-negative number"),
            (["mlp", "--grad-clip", "0"], "Error: The value '0' is invalid for '--grad-clip <max-norm>': must be a positive number"),
            (["mlp", "--grad-clip", "nan"], "Error: The value 'nan' is invalid for '--grad-clip <max-norm>': 'nan' is not a number"),
            (["mlp", "--set", "nonsense"], "Error: The value 'nonsense' is invalid for '--set <name=value>': expects NAME=VALUE"),
            (["check", "mlp", "--batch", "0", "--max-params", "1K"], "Error: The value '0' is invalid for '--batch <n>': must be at least 1"),
            (["check", "mlp", "--micro-batch", "0", "--max-params", "1K"], "Error: The value '0' is invalid for '--micro-batch <m>': must be at least 1"),
            (["fit", "mlp", "--memory", "1GiB", "--reserve", "1"], "Error: The value '1' is invalid for '--reserve <fraction>': must be in [0, 1)"),
            (["fit", "mlp", "--memory", "0"], "Error: The value '0' is invalid for '--memory <size>': '0' is out of range (1 byte to 8 EiB)"),
            (["roofline", "mlp", "--gpu", "h100-sxm", "--batch", "0"], "Error: The value '0' is invalid for '--batch <n>': must be at least 1"),
            (["roofline", "mlp", "--gpu", "h100-sxm", "--top=-1"], "Error: The value '-1' is invalid for '--top <n>': must be at least 0"),
            (["roofline", "mlp", "--gpu", "h100-sxm", "--samples", "1M", "--gpus", "0"], "Error: The value '0' is invalid for '--gpus <n>': must be at least 1"),
            (["roofline", "mlp", "--gpu", "h100-sxm", "--samples", "1M", "--epochs", "0"], "Error: The value '0' is invalid for '--epochs <E>': must be a positive number"),
            (["roofline", "mlp", "--gpu", "h100-sxm", "--samples", "1M", "--utilization", "1.5"], "Error: The value '1.5' is invalid for '--utilization <fraction>': must be in (0, 1]"),
            (["validate", "mlp", "--batch", "0"], "Error: The value '0' is invalid for '--batch <n>': must be at least 1"),
            (["validate", "mlp", "--scale", "0"], "Error: The value '0' is invalid for '--scale <s>': must be a positive number"),
            (["plan", "--compute", "1e21", "--gpu", "h100-sxm", "--gpus", "0"], "Error: The value '0' is invalid for '--gpus <n>': must be at least 1"),
            (["plan", "--compute", "1e21", "--gpu", "h100-sxm", "--mfu", "1.5"], "Error: The value '1.5' is invalid for '--mfu <fraction>': must be in (0, 1]"),
            (["plan", "--compute", "1e21", "--gpu", "h100-sxm", "--micro-batch", "0"], "Error: The value '0' is invalid for '--micro-batch <b>': must be at least 1"),
            (["plan", "--compute", "1e21", "--seq", "0"], "Error: The value '0' is invalid for '--seq <s>': must be at least 1"),
            (["plan", "--compute", "1e21", "--vocab", "0"], "Error: The value '0' is invalid for '--vocab <v>': must be at least 1"),
            (["plan", "--compute", "lots"], "Error: The value 'lots' is invalid for '--compute <flops>': 'lots' is not a count"),
            (["plan", "--compute=-5"], "Error: The value '-5' is invalid for '--compute <flops>': must be a positive number"),
            (["plan", "--compute", "1e3"], "Error: The value '1e3' is invalid for '--compute <flops>': outside the supported range 1.00e6...1.00e40"),
            (["plan", "--tokens", "1e23"], "Error: The value '1e23' is invalid for '--tokens <count>': outside the supported range 1.00e0...1.00e22"),
        ]
        for (arguments, message) in cases {
            try expectUsageError(arguments, message)
        }
    }

    @Test func closedSetsAreEnums() throws {
        try expectUsageError(["plan", "--compute", "1e21", "--method", "epoc"],
                             "Error: The value 'epoc' is invalid for '--method <method>'. Please provide one of 'tokens20', 'hoffmann', 'epoch' or 'kaplan'.")
        // Method names stay case-insensitive.
        let upper = try cli.run(["plan", "--compute", "1e21", "--method", "EPOCH", "--format", "json"])
        #expect(upper.status == 0)
        #expect(upper.stdout.contains("\"selected_method\" : \"epoch\""))
        try expectUsageError(["mlp", "--precision", "fp8"], "Error: The value 'fp8' is invalid for '--precision <precision>'. Please provide one of 'fp32'")
        try expectUsageError(["mlp", "--checkpoint", "segments=0"], "Error: The value 'segments=0' is invalid for '--checkpoint <policy>'")
        try expectUsageError(["mlp", "--attention-flops", "sparse"], "Error: The value 'sparse' is invalid for '--attention-flops <convention>'. Please provide one of 'dense' and 'executed'.")
    }

    /// One `OutputFormat`; each command takes the formats it writes.
    @Test func formatsPerCommand() throws {
        let tableOrJSON = ["check mlp --max-params 1K", "fit mlp --memory 1GiB", "validate mlp", "plan --compute 1e21"]
        for command in tableOrJSON {
            let arguments = command.split(separator: " ").map(String.init)
            let name = arguments[0]
            try expectUsageError(arguments + ["--format", "csv"], "Error: The value 'csv' is invalid for '--format <format>': \(name) writes table or json")
            try expectUsageError(arguments + ["--format", "markdown"], "\(name) writes table or json")
        }
        try expectUsageError(["mlp", "--format", "xml"], "Error: The value 'xml' is invalid for '--format <format>': not a format; analyze writes table, json, csv or markdown")
        for arguments in [["zoo", "--format", "csv"], ["gpus", "--format", "markdown"], ["roofline", "mlp", "--gpu", "h100-sxm", "--format", "csv"],
                          ["check", "mlp", "--max-params", "1M", "--format", "json"], ["validate", "mlp", "--format", "json"]] {
            let result = try cli.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
    }

    /// A command offers only the options that mean something for it.
    @Test func optionsACommandIgnoresAreRefused() throws {
        try expectUsageError(["validate", "mlp", "--attention-flops", "dense"], "Error: Unknown option '--attention-flops'")
        try expectUsageError(["validate", "mlp", "--precision", "amp-bf16"], "Error: Unknown option '--precision'")
        try expectUsageError(["fit", "mlp", "--memory", "1GiB", "--inference"], "Error: Unknown option '--inference'")
        try expectUsageError(["fit", "mlp", "--memory", "1GiB", "--batch", "4"], "Error: Unknown option '--batch'")
        try expectUsageError(["fit", "mlp", "--memory", "1GiB", "--micro-batch", "2"], "Error: Unknown option '--micro-batch'")
        try expectUsageError(["check", "mlp", "--max-params", "1K", "--memory"], "Error: Unknown option '--memory'")
        try expectUsageError(["roofline", "mlp", "--gpu", "h100-sxm", "--memory"], "Error: Unknown option '--memory'")
        // The shared run options are the same flags on fit, check, roofline and analyze.
        for arguments in [["fit", "mlp", "--memory", "1GiB", "--optimizer", "sgd", "--weight-decay", "0.1", "--grad-clip", "1", "--precision", "fp32",
                           "--checkpoint", "none", "--attention-flops", "executed"],
                          ["check", "mlp", "--max-params", "1M", "--optimizer", "sgd", "--weight-decay", "0.1", "--grad-clip", "1", "--precision", "bf16"],
                          ["check", "mlp", "--max-params", "1M", "--inference", "--fold-bn", "--weight-precision", "int8"],
                          ["roofline", "mlp", "--gpu", "h100-sxm", "--optimizer", "sgd", "--weight-decay", "0.1", "--grad-clip", "1", "--batch", "4", "--micro-batch", "2"],
                          ["mlp", "--optimizer", "sgd", "--weight-decay", "0.1", "--grad-clip", "1", "--batch", "4", "--micro-batch", "2", "--attention-flops", "executed"]] {
            let result = try cli.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        try expectUsageError(["check", "mlp", "--max-params", "1M", "--fold-bn"], "Error: --fold-bn needs --inference")
        try expectUsageError(["roofline", "mlp", "--gpu", "h100-sxm", "--inference", "--samples", "1M"],
                             "Error: --samples/--tokens describe a training run; drop --inference")
        try expectUsageError(["fit", "mlp"], "Error: give exactly one of --gpu and --memory")
    }

    // MARK: The vocabulary on flags

    @Test func byteFlagsTakeByteUnits() throws {
        let spec = try cli.temporarySpec(MemoryTests.mlp)
        defer { try? FileManager.default.removeItem(at: spec) }
        // Peak 3688 bytes (MemoryTests.budgetExitCodes): within each of these limits.
        for limit in ["1MiB", "1MB", "4000", "4e3", "4 KiB"] {
            let result = try cli.run(["check", spec.path, "--max-peak-memory", limit, "--max-activation-memory", limit])
            #expect(result.status == 0, "\(limit): \(result.stdout)\(result.stderr)")
        }
        // Before, `--max-peak-memory 1B` meant one byte and a spec's `1B` a billion bytes.
        let bytesRule = "byte sizes take KiB, MiB, GiB, TiB (powers of 2), KB, MB, GB, TB (powers of 10) or a plain number of bytes"
        try expectUsageError(["check", spec.path, "--max-peak-memory", "1B"],
                             "Error: The value '1B' is invalid for '--max-peak-memory <size>': 'B' is a count suffix (10^9), not a byte unit; " + bytesRule)
        try expectUsageError(["check", spec.path, "--max-activation-memory", "8G"], "'G' is a count suffix (10^9), not a byte unit")
        try expectUsageError(["check", spec.path, "--max-peak-memory", "16gib"], "unknown unit 'gib' (did you mean 'GiB'?)")
        try expectUsageError(["fit", "mlp", "--memory", "24B"], "Error: The value '24B' is invalid for '--memory <size>': 'B' is a count suffix")
        let fit = try cli.run(["fit", "mlp", "--memory", "24GiB", "--precision", "fp32", "--checkpoint", "none", "--format", "json"])
        #expect(fit.status == 0)
        #expect(fit.stdout.contains("\"capacity_bytes\" : 25769803776"))
    }

    @Test func countFlagsTakeCountSuffixes() throws {
        let spec = try cli.temporarySpec(MemoryTests.mlp)
        defer { try? FileManager.default.removeItem(at: spec) }
        // 178 parameters (MemoryTests.budgets).
        for limit in ["1K", "1k", "0.2K", "1e3", "178", "1B", "1G", "7b"] {
            let result = try cli.run(["check", spec.path, "--max-params", limit, "--max-train-flops", "1T"])
            #expect(result.status == 0, "\(limit): \(result.stdout)\(result.stderr)")
        }
        #expect(try cli.run(["check", spec.path, "--max-params", "177"]).status == 1)
        let countRule = "counts take K, M, B or G, T, P (10^3 to 10^15) or scientific notation (1e21)"
        try expectUsageError(["check", spec.path, "--max-params", "16GiB"],
                             "Error: The value '16GiB' is invalid for '--max-params <count>': 'GiB' is a byte unit (2^30 bytes), not a count suffix; " + countRule)
        try expectUsageError(["check", spec.path, "--max-train-flops", "5TB"], "'TB' is a byte unit (10^12 bytes), not a count suffix")
        try expectUsageError(["check", spec.path, "--max-params", "7m"], "'m' is ambiguous (milli or mega?): write M for 10^6")
        try expectUsageError(["roofline", "mlp", "--gpu", "h100-sxm", "--samples", "1GiB"], "Error: The value '1GiB' is invalid for '--samples <N>': 'GiB' is a byte unit")
        try expectUsageError(["plan", "--params", "7GB"], "Error: The value '7GB' is invalid for '--params <count>': 'GB' is a byte unit")
        // plan and roofline now accept the same spellings: lower-case suffixes and P on roofline, G on plan.
        let roofline = try cli.run(["roofline", "resnet50", "--gpu", "v100-sxm2", "--precision", "amp-fp16", "--optimizer", "momentum",
                                    "--batch", "256", "--samples", "1.28M", "--epochs", "90", "--top", "1"])
        #expect(roofline.status == 0)
        #expect(roofline.stdout.contains("450000 steps"))
        let lower = try cli.run(["roofline", "mlp", "--gpu", "h100-sxm", "--samples", "1.5k", "--top", "1"])
        #expect(lower.status == 0, "\(lower.stderr)")
        let plan = try cli.run(["plan", "--params", "7b", "--tokens", "1.4t"])
        #expect(plan.status == 0, "\(plan.stderr)")
    }

    // MARK: The vocabulary in specs, through check

    @Test func specBudgetsTakeTheirMetricsUnits() throws {
        let head = MemoryTests.mlp + "\n"
        let bytes = try cli.temporarySpec(head + "budget peak_memory <= 1B\n")
        defer { try? FileManager.default.removeItem(at: bytes) }
        let result = try cli.run(["check", bytes.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("error: budget peak_memory is a byte size: 'B' is a count suffix (10^9), not a byte unit"))
        let count = try cli.temporarySpec(head + "budget params <= 16GiB\n")
        defer { try? FileManager.default.removeItem(at: count) }
        let countResult = try cli.run(["check", count.path])
        #expect(countResult.status == 2)
        #expect(countResult.stderr.contains("error: budget params is a count: 'GiB' is a byte unit (2^30 bytes), not a count suffix"))
        let fine = try cli.temporarySpec(head + "budget peak_memory <= 4KiB\nbudget params <= 0.2K\n")
        defer { try? FileManager.default.removeItem(at: fine) }
        let within = try cli.run(["check", fine.path, "--format", "json"])
        #expect(within.status == 0, "\(within.stdout)\(within.stderr)")
        #expect(within.stdout.contains("\"checked\" : 2"))
    }

    // MARK: One phase spelling

    @Test func phasesAreSnakeCaseInEverySchema() throws {
        let roofline = try cli.run(["roofline", "mlp", "--gpu", "h100-sxm", "--format", "json"])
        #expect(roofline.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(roofline.stdout.utf8)) as? [String: Any])
        let rooflinePhases = Set(try #require(object["layers"] as? [[String: Any]]).compactMap { $0["phase"] as? String })
        #expect(rooflinePhases == ["forward", "input_gradient", "weight_gradient", "optimizer"])

        let validate = try cli.run(["validate", "mlp", "--format", "json"])
        #expect(validate.status == 0, "\(validate.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(validate.stdout.utf8)) as? [String: Any])
        let validatePhases = Set(try #require(report["layers"] as? [[String: Any]]).compactMap { $0["phase"] as? String })
        #expect(validatePhases == ["forward", "input_gradient", "weight_gradient", "optimizer"])
        #expect(!roofline.stdout.contains("-gradient") && !validate.stdout.contains("-gradient"))
        // The tables use the same spelling.
        let table = try cli.run(["roofline", "mlp", "--gpu", "h100-sxm", "--top", "0"])
        #expect(table.stdout.contains("input_gradient"))
    }
}
