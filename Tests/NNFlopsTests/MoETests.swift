import Foundation
import Testing
@testable import NNFlops

/// Conformance cases of the mixture-of-experts kernel (analytic == executed per phase,
/// parameters == allocated, saved bytes and peak == the memory model, gradients against
/// central finite differences): Mixtral's routing (renormalised top-k), both dispatch
/// implementations, Qwen2-MoE's unnormalised top-k with a sigmoid-gated shared expert, a
/// shared expert without a gate, capacity factors that drop rows and that drop none, an
/// input that needs no gradient, frozen routers and experts, top-1 and top-E.
extension ExecutorTests {
    static let moeCases: [KernelCase] = [
        KernelCase("moe", "[2, 5, 8]", "h = linear(x, 8)\noutput moe(h, 4, 2, 6)"),
        KernelCase("moe", "[2, 5, 8]", "h = linear(x, 8)\noutput moe(h, 4, 2, 6, impl = \"eager\")"),
        KernelCase("moe", "[2, 3, 6]", "h = linear(x, 6)\noutput moe(h, 5, 3, 4, norm_topk = false, shared_intermediate = 7, shared_gate = true)"),
        KernelCase("moe", "[2, 3, 6]", "h = linear(x, 6)\noutput moe(h, 5, 3, 4, norm_topk = false, shared_intermediate = 7, shared_gate = true, impl = \"eager\")"),
        KernelCase("moe", "[7, 5]", "h = linear(x, 5)\noutput moe(h, 3, 1, 5, shared_intermediate = 6)"),
        KernelCase("moe", "[2, 5, 8]", "h = linear(x, 8)\noutput moe(h, 4, 2, 6, capacity_factor = 0.5)"),
        KernelCase("moe", "[7, 4]", "h = linear(x, 4)\noutput moe(h, 3, 2, 5, capacity_factor = 0.7, impl = \"eager\")"),
        KernelCase("moe", "[7, 4]", "h = linear(x, 4)\noutput moe(h, 3, 2, 5, capacity_factor = 1.25)"),
        KernelCase("moe", "[3, 4, 6]", "output moe(x, 3, 2, 4, shared_intermediate = 3, shared_gate = true)"),
        KernelCase("moe", "[2, 4, 6]", "h = linear(x, 6)\ny = moe(h, 4, 2, 5, name = \"m\")\nfreeze \"m.gate\"\noutput y"),
        KernelCase("moe", "[2, 4, 6]", "h = linear(x, 6)\ny = moe(h, 4, 2, 5, shared_intermediate = 4, shared_gate = true, name = \"m\")\nfreeze \"m.experts\", \"m.shared_expert.up_proj\"\noutput y"),
        KernelCase("moe", "[9, 5]", "h = linear(x, 5)\noutput moe(h, 4, 1, 3, norm_topk = false)"),
        KernelCase("moe", "[4, 5]", "h = linear(x, 5)\noutput moe(h, 3, 3, 4, impl = \"eager\")"),
    ]
}
