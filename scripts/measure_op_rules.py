#!/usr/bin/env python3
"""Measure, per operator call, what autograd keeps and the result's dtype, fp32 and amp-bf16.

Dev-time only (the Swift tests read the committed JSON and never run Python):

    /work/venv-torch/bin/python scripts/measure_op_rules.py   # writes Tests/Fixtures/op_rules.json

Every case is one operator call on activations made by linear layers from a batch x that
needs no gradient, as the spec writes it:

    input x: [2, 3, 4, 5]
    y = linear(x, 5, name = "lin")      # torch.nn.Linear(5, 5)
    z = linear(x, 5, name = "lin2")     # a second operand where a case needs one
    out = <the case's call, name = "op">

The tensors autograd packs while the call runs (torch.autograd.graph.saved_tensors_hooks)
are deduplicated by storage; x and the parameters are left out (static memory), as
nnflops's per-node kept bytes leave out graph inputs and parameters. Everything runs on
fake CUDA tensors (FakeTensorMode) so that the amp-bf16 variant follows CUDA's autocast
lists (torch.set_autocast_enabled('cuda', True), bfloat16, as scripts/measure_saved.py).
Tests/NNFlopsTests/OperatorRuleTests.swift holds nnflops's `layers[op].keptBytes` and the
result's runtime dtype to these values.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from torch._subclasses.fake_tensor import FakeTensorMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_saved import cuda_autocast_bf16, dtype_name  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "op_rules.json")

# (spec call producing node "op" from y [, z, x], torch function of (y, z, x, modules)).
CASES = [
    ("exp(y, name = \"op\")", lambda y, z, x, m: torch.exp(y)),
    ("log(y, name = \"op\")", lambda y, z, x, m: torch.log(y)),
    ("sqrt(y, name = \"op\")", lambda y, z, x, m: torch.sqrt(y)),
    ("rsqrt(y, name = \"op\")", lambda y, z, x, m: torch.rsqrt(y)),
    ("abs(y, name = \"op\")", lambda y, z, x, m: torch.abs(y)),
    ("neg(y, name = \"op\")", lambda y, z, x, m: torch.neg(y)),
    ("reciprocal(y, name = \"op\")", lambda y, z, x, m: torch.reciprocal(y)),
    ("erf(y, name = \"op\")", lambda y, z, x, m: torch.erf(y)),
    ("pow(y, 2, name = \"op\")", lambda y, z, x, m: y ** 2),
    ("pow(y, 0.5, name = \"op\")", lambda y, z, x, m: y ** 0.5),
    ("pow(y, 0, name = \"op\")", lambda y, z, x, m: y ** 0),
    ("pow(y, z, name = \"op\")", lambda y, z, x, m: torch.pow(y, z)),
    ("roll(y, [1, -1], dims = [1, 3], name = \"op\")", lambda y, z, x, m: torch.roll(y, (1, -1), (1, 3))),
    ("pad(y, [1, 2, 0, 1], name = \"op\")", lambda y, z, x, m: F.pad(y, (1, 2, 0, 1))),
    ("pad(y, [1, 1, 2, 1], mode = \"reflect\", name = \"op\")", lambda y, z, x, m: F.pad(y, (1, 1, 2, 1), mode="reflect")),
    ("pad(y, [1, 1, 2, 1], mode = \"replicate\", name = \"op\")", lambda y, z, x, m: F.pad(y, (1, 1, 2, 1), mode="replicate")),
    ("drop_path(y, 0.2, name = \"op\")", lambda y, z, x, m: torchvision.ops.stochastic_depth(y, 0.2, "row", True)),
    ("drop_path(y, 0.5, mode = \"batch\", name = \"op\")", lambda y, z, x, m: torchvision.ops.stochastic_depth(y, 0.5, "batch", True)),
    ("drop_path(y, 0.0, name = \"op\")", lambda y, z, x, m: torchvision.ops.stochastic_depth(y, 0.0, "row", True)),
    ("add(y, z, inplace = true, name = \"op\")", lambda y, z, x, m: y.add_(z)),
    ("relu(y, inplace = true, name = \"op\")", lambda y, z, x, m: F.relu(y, inplace=True)),
    ("relu6(y, inplace = true, name = \"op\")", lambda y, z, x, m: F.relu6(y, inplace=True)),
    ("relu6(y, name = \"op\")", lambda y, z, x, m: F.relu6(y)),
    ("leaky_relu(y, inplace = true, name = \"op\")", lambda y, z, x, m: F.leaky_relu(y, inplace=True)),
    ("silu(y, inplace = true, name = \"op\")", lambda y, z, x, m: F.silu(y, inplace=True)),
    ("hardswish(y, inplace = true, name = \"op\")", lambda y, z, x, m: F.hardswish(y, inplace=True)),
    ("hardsigmoid(y, inplace = true, name = \"op\")", lambda y, z, x, m: F.hardsigmoid(y, inplace=True)),
    ("dropout(y, 0.3, inplace = true, name = \"op\")", lambda y, z, x, m: F.dropout(y, 0.3, training=True, inplace=True)),
    ("contiguous(transpose(y, 1, 2), name = \"op\")", lambda y, z, x, m: y.transpose(1, 2).contiguous()),
    ("conv2d(x, 4, kernel = 3, name = \"op\")", lambda y, z, x, m: m["conv"](x)),
    ("linear(x, 6, name = \"op\")", lambda y, z, x, m: m["fc"](x)),
]


def measure(call, amp):
    with FakeTensorMode():
        x = torch.randn(2, 3, 4, 5, device="cuda")
        modules = {"lin": torch.nn.Linear(5, 5, device="cuda"), "lin2": torch.nn.Linear(5, 5, device="cuda"),
                   "conv": torch.nn.Conv2d(3, 4, 3, device="cuda"), "fc": torch.nn.Linear(5, 6, device="cuda")}
        static = {x.untyped_storage()._cdata}
        for module in modules.values():
            for p in module.parameters():
                static.add(p.untyped_storage()._cdata)
        context = cuda_autocast_bf16() if amp else torch.autograd.grad_mode.enable_grad()
        with context:
            y = modules["lin"](x)
            z = modules["lin2"](x)
            kept = {}

            def pack(t):
                storage = t.untyped_storage()
                if storage._cdata not in static:
                    kept[storage._cdata] = storage.nbytes()
                return t

            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                out = call(y, z, x, modules)
        return {"kept_bytes": sum(kept.values()), "kept_storages": len(kept), "dtype": dtype_name(out.dtype),
                "shape": list(out.shape)}


def main():
    cases = []
    for spec, call in CASES:
        cases.append({"spec": spec, "fp32": measure(call, False), "amp-bf16": measure(call, True)})
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "device": "cuda (FakeTensorMode)", "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote %s (%d cases)" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
