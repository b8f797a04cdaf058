#!/usr/bin/env python3
"""Measure PyTorch's memory layouts for chains of shape and element-wise operators.

Dev-time only (the Swift tests read the committed JSON and never run Python):

    /work/venv-torch/bin/python scripts/measure_layouts.py   # writes Tests/Fixtures/layouts.json

Each case starts from a contiguous float tensor of `input` shape and applies `steps`, each
step to the previous result. For every step the fixture records what torch produced: the
shape, `stride()`, `is_contiguous()`, and whether the result shares its input's storage
(`untyped_storage().data_ptr()` equal: a view, or for `contiguous` the input itself) or is a
new tensor (a copy). Tests/NNFlopsTests/LayoutTests.swift writes the same chain as a spec and
holds nnflops's declared layouts (Graph/TensorLayout.swift) and aliases to these values.

Steps (spec spelling in brackets):
  ["transpose", d0, d1]              x.transpose(d0, d1)          [transpose(x, d0, d1)]
  ["permute", dims]                  x.permute(*dims)             [permute(x, dims)]
  ["slice", dim, start, end, step]   x[..., start:end:step, ...]  [slice(x, dim, start, end, step = step)]
  ["select", dim, index]             x.select(dim, index)         [select(x, dim, index)]
  ["split", size, dim, piece]        x.split(size, dim)[piece]    [split(x, size, dim = dim)[piece]]
  ["expand", shape]                  x.expand(*shape)             [expand(x, shape)]
  ["reshape", shape]                 x.reshape(*shape)            [reshape(x, shape)]
  ["flatten", start, end]            x.flatten(start, end)        [flatten(x, start = start, end = end)]
  ["contiguous"]                     x.contiguous()               [contiguous(x)]
  ["relu"]                           torch.relu(x)                [relu(x)]
  ["mul", number]                    x * number                   [x * number]
  ["add", case]                      x + y, y built by `case`     [x + y]
"""
import json
import os

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "layouts.json")

CASES = [
    {"input": [2, 3, 4], "steps": [["transpose", 0, 2]]},
    {"input": [2, 3, 4], "steps": [["transpose", 1, 2], ["reshape", [2, 12]]]},
    {"input": [2, 3, 4], "steps": [["transpose", 1, 2], ["reshape", [2, 4, 3]]]},
    {"input": [2, 3, 4], "steps": [["transpose", 0, 1], ["reshape", [3, 8]]]},
    {"input": [2, 3, 4], "steps": [["transpose", 0, 1], ["flatten", 0, 1]]},
    {"input": [2, 3, 4], "steps": [["transpose", 0, 1], ["flatten", 1, 2]]},
    {"input": [2, 1, 4], "steps": [["transpose", 0, 1]]},
    {"input": [2, 3, 4], "steps": [["transpose", 1, 2], ["contiguous"]]},
    {"input": [2, 3, 4], "steps": [["contiguous"]]},
    {"input": [2, 3, 4, 5], "steps": [["permute", [2, 0, 1, 3]], ["contiguous"], ["reshape", [24, 5]]]},
    {"input": [2, 3, 4, 5], "steps": [["permute", [0, 2, 1, 3]], ["reshape", [2, 4, 15]]]},
    {"input": [2, 3, 4, 5], "steps": [["permute", [0, 2, 1, 3]], ["reshape", [8, 3, 5]]]},
    {"input": [2, 3, 4, 5], "steps": [["permute", [0, 2, 1, 3]], ["relu"], ["reshape", [2, 4, 15]]]},
    {"input": [2, 3, 4, 5], "steps": [["permute", [3, 1, 2, 0]], ["mul", 2.0]]},
    {"input": [2, 7, 3], "steps": [["slice", 1, 1, 6, 2]]},
    {"input": [2, 7, 3], "steps": [["slice", 1, 1, 6, 2], ["relu"]]},
    {"input": [2, 7, 3], "steps": [["slice", 1, 1, 6, 2], ["reshape", [2, 9]]]},
    {"input": [5, 3], "steps": [["slice", 0, 1, 4, 1], ["reshape", [9]]]},
    {"input": [2, 6, 3], "steps": [["slice", 2, 0, 2, 1], ["reshape", [2, 12]]]},
    {"input": [2, 6, 3], "steps": [["slice", 2, 0, 2, 1], ["reshape", [12, 2]]]},
    {"input": [2, 3, 4], "steps": [["select", 1, 2]]},
    {"input": [1, 3, 4], "steps": [["select", 0, 0]]},
    {"input": [2, 3, 4], "steps": [["select", 2, 1], ["reshape", [6]]]},
    {"input": [2, 3, 10], "steps": [["split", 4, 2, 1]]},
    {"input": [2, 3, 10], "steps": [["split", 4, 2, 0], ["reshape", [2, 12]]]},
    {"input": [6, 4], "steps": [["split", 2, 0, 1], ["reshape", [8]]]},
    {"input": [2, 3, 12], "steps": [["split", 4, 2, 1], ["reshape", [2, 3, 2, 2]]]},
    {"input": [1, 4], "steps": [["expand", [3, 5, 4]]]},
    {"input": [1, 4], "steps": [["expand", [3, 5, 4]], ["reshape", [15, 4]]]},
    {"input": [3, 1], "steps": [["expand", [3, 4]], ["relu"]]},
    {"input": [2, 3, 4], "steps": [["transpose", 1, 2], ["add", {"input": [2, 4, 3], "steps": []}]]},
    {"input": [2, 3, 4], "steps": [["transpose", 1, 2], ["add", {"input": [2, 3, 4], "steps": [["transpose", 1, 2]]}]]},
    {"input": [2, 3, 4], "steps": [["transpose", 1, 2], ["add", {"input": [3], "steps": []}]]},
    {"input": [2, 3, 4], "steps": [["transpose", 0, 2], ["add", {"input": [4, 1, 1], "steps": []}]]},
    {"input": [4, 6], "steps": [["transpose", 0, 1], ["add", {"input": [1, 6], "steps": [["transpose", 0, 1]]}]]},
]


def build(case):
    x = torch.randn(case["input"])
    results = []
    for step in case["steps"]:
        x, record = apply(x, step)
        results.append(record)
    return x, results


def apply(x, step):
    op = step[0]
    if op == "transpose":
        y = x.transpose(step[1], step[2])
    elif op == "permute":
        y = x.permute(*step[1])
    elif op == "slice":
        dim, start, end, step_size = step[1:]
        index = [slice(None)] * x.dim()
        index[dim] = slice(start, end, step_size)
        y = x[tuple(index)]
    elif op == "select":
        y = x.select(step[1], step[2])
    elif op == "split":
        y = x.split(step[1], step[2])[step[3]]
    elif op == "expand":
        y = x.expand(*step[1])
    elif op == "reshape":
        y = x.reshape(*step[1])
    elif op == "flatten":
        y = x.flatten(step[1], step[2])
    elif op == "contiguous":
        y = x.contiguous()
    elif op == "relu":
        y = torch.relu(x)
    elif op == "mul":
        y = x * step[1]
    elif op == "add":
        other, _ = build(step[1])
        y = x + other
    else:
        raise SystemExit("unknown step %r" % (op,))
    shares = y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    return y, {"shape": list(y.shape), "strides": list(y.stride()), "contiguous": y.is_contiguous(),
               "shares_input_storage": shares}


def main():
    cases = []
    for case in CASES:
        _, results = build(case)
        cases.append({"input": case["input"], "steps": case["steps"], "results": results})
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote %s (%d cases)" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
