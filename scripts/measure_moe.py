#!/usr/bin/env python3
"""Mixture-of-experts blocks as transformers 5 runs them, for the `moe` operator's tests.

Dev-time only (the Swift tests read the committed JSON and never run Python):

    /work/venv-torch/bin/python scripts/measure_moe.py

Writes Tests/Fixtures/moe/reference.json for Tests/NNFlopsTests/MoETests.swift. Each case
is a small spec, `h = linear(x, D, bias = false, name = "proj")` then `moe(h, ...,
name = "m")`, built as transformers' MixtralSparseMoeBlock or Qwen2MoeSparseMoeBlock
(with its shared expert and sigmoid shared_expert_gate) under one experts
implementation ("grouped_mm", transformers' default, or "eager", the per-expert loop):

The spec's `IMPL` is a param (`--set IMPL=...`): `param IMPL = "grouped_mm"`.

* saved: one fp32 training forward with torch.autograd.graph.saved_tensors_hooks, every
  packed tensor deduplicated by storage (untyped_storage().nbytes() once per storage),
  parameters and the input x left out (as scripts/measure_saved.py does): the bytes autograd
  keeps for the block (h, the router input, included). Each storage is named by the
  autograd nodes that keep it (a walk over grad_fn's `_saved_*` attributes). The
  per-expert token counts of that run are recorded: the eager loop keeps one set of
  tensors per expert, and their sizes sum over the experts to the T*k routed rows.
* numerics: the same block in float64 (eager experts, the same arithmetic): input x,
  every parameter under nnflops's name, the output, loss = output.sum() and the gradient
  of every parameter. Seeds are chosen so that every token's k-th and (k+1)-th router
  probabilities differ by more than 1e-3, so float32 picks the same experts.
"""
import json
import pathlib

import torch
import transformers
from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock
from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeSparseMoeBlock

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "moe" / "reference.json"
BATCH, SEQ, HIDDEN, EXPERTS, TOP_K, INTERMEDIATE, SHARED = 2, 5, 8, 4, 2, 12, 20


def families():
    mixtral = transformers.MixtralConfig(hidden_size=HIDDEN, intermediate_size=INTERMEDIATE,
                                         num_local_experts=EXPERTS, num_experts_per_tok=TOP_K)
    qwen = transformers.Qwen2MoeConfig(hidden_size=HIDDEN, moe_intermediate_size=INTERMEDIATE,
                                       shared_expert_intermediate_size=SHARED, num_experts=EXPERTS,
                                       num_experts_per_tok=TOP_K)
    return {
        "mixtral": (mixtral, MixtralSparseMoeBlock,
                    "moe(h, %d, %d, %d, impl = IMPL, name = \"m\")" % (EXPERTS, TOP_K, INTERMEDIATE)),
        "qwen2_moe": (qwen, Qwen2MoeSparseMoeBlock,
                      "moe(h, %d, %d, %d, norm_topk = false, shared_intermediate = %d, shared_gate = true, "
                      "impl = IMPL, name = \"m\")" % (EXPERTS, TOP_K, INTERMEDIATE, SHARED)),
    }


def nnflops_name(name):
    # transformers' names below the block; nnflops puts them under the operator "m".
    return "m." + name


def saved_names(root):
    names, seen, stack = {}, set(), [root.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        for attr in dir(node):
            if not attr.startswith("_saved_"):
                continue
            try:
                value = getattr(node, attr)
            except Exception:
                continue
            for t in value if isinstance(value, (tuple, list)) else [value]:
                if isinstance(t, torch.Tensor):
                    names.setdefault(t.untyped_storage().data_ptr(), []).append(type(node).__name__ + "." + attr[7:])
        stack.extend(f for f, _ in node.next_functions)
    return names


def router_margin(block, h):
    probs = torch.softmax(h.reshape(-1, HIDDEN) @ block.gate.weight.T, dim=-1)
    top = torch.topk(probs, TOP_K + 1 if TOP_K < EXPERTS else TOP_K, dim=-1).values
    return (top[:, TOP_K - 1] - top[:, TOP_K]).min().item() if TOP_K < EXPERTS else 1.0


def build(config, cls, seed):
    torch.manual_seed(seed)
    block = cls(config).double()
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.empty(BATCH, SEQ, HIDDEN, dtype=torch.float64).uniform_(-1, 1)
    proj = torch.empty(HIDDEN, HIDDEN, dtype=torch.float64).uniform_(-0.5, 0.5)
    return block, x, proj


def measure(block, x, proj, impl):
    block = block.float()
    block.experts.config._experts_implementation = impl
    x, proj = x.float(), proj.float().requires_grad_(True)
    skip = {p.untyped_storage().data_ptr() for p in block.parameters()}
    skip |= {x.untyped_storage().data_ptr(), proj.untyped_storage().data_ptr()}
    storages, held = {}, []

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in skip and ptr not in storages:
            storages[ptr] = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                             "bytes": t.untyped_storage().nbytes()}
            held.append(t)
        return t

    h = x @ proj.T
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = block(h)
    names = saved_names(y)
    tensors = [dict(entry, kept_by=sorted(names.get(ptr, []))) for ptr, entry in storages.items()]
    with torch.no_grad():
        probs = torch.softmax(h.reshape(-1, HIDDEN) @ block.gate.weight.T, dim=-1)
        chosen = torch.topk(probs, TOP_K, dim=-1).indices.reshape(-1)
        counts = torch.bincount(chosen, minlength=EXPERTS).tolist()
    return {"saved_bytes": sum(t["bytes"] for t in tensors), "tensors": tensors, "tokens_per_expert": counts}


def numerics(block, x, proj):
    block = block.double()
    block.experts.config._experts_implementation = "eager"
    proj = proj.clone().requires_grad_(True)
    y = block(x @ proj.T)
    loss = y.sum()
    loss.backward()
    parameters = {"proj.weight": proj.detach().reshape(-1).tolist()}
    gradients = {"proj.weight": proj.grad.reshape(-1).tolist()}
    for name, p in block.named_parameters():
        parameters[nnflops_name(name)] = p.detach().reshape(-1).tolist()
        gradients[nnflops_name(name)] = p.grad.reshape(-1).tolist()
    return {"input": x.reshape(-1).tolist(), "parameters": parameters, "output": y.detach().reshape(-1).tolist(),
            "loss": loss.item(), "gradients": gradients}


def main():
    torch.set_num_threads(2)
    cases = {}
    for family, (config, cls, call) in families().items():
        seed = 0
        while True:
            block, x, proj = build(config, cls, seed)
            if router_margin(block, x @ proj.T) > 1e-3:
                break
            seed += 1
        block, x, proj = build(config, cls, seed)
        entry = {"family": family, "class": cls.__name__, "seed": seed,
                 "spec": ("model moe_reference\nparam IMPL = \"grouped_mm\"\ninput x: [%d, %d, %d]\n"
                          "h = linear(x, %d, bias = false, name = \"proj\")\noutput %s\n"
                          % (BATCH, SEQ, HIDDEN, HIDDEN, call)),
                 "experts_implementations": {}}
        entry.update(numerics(block, x, proj))
        for impl in ("grouped_mm", "eager"):
            block, x, proj = build(config, cls, seed)
            measured = measure(block, x, proj, impl)
            entry["experts_implementations"][impl] = measured
            print("%s %s: saved %d bytes, tokens per expert %s" % (
                family, impl, measured["saved_bytes"], measured["tokens_per_expert"]))
        cases[family] = entry
    fixture = {"source": "scripts/measure_moe.py", "torch": torch.__version__.split("+")[0],
               "transformers": transformers.__version__, "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
