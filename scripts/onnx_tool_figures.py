#!/usr/bin/env python3
"""Runs onnx-tool (https://github.com/ThanatosShinji/onnx-tool, `pip install onnx-tool`) on
the committed torchvision exports (Tests/Fixtures/onnx/torchvision/) and writes what it
reports to Tests/Fixtures/onnx/onnx_tool.json, which ONNXToolComparisonTests reads.

onnx-tool loads the weights, and the committed files are graph-only (their weights point
at a file that is never written). Each file is therefore completed here, in a temporary
directory, with zero-filled weights of the recorded shapes: the same graph, the same
shapes, so the same counts (MACs and parameter counts depend on shapes only). Nothing
with weights is written into the repository.

Per export the fixture records, at batch 1 (input [1, 3, 224, 224]):
- macs: onnx-tool's total (Graph.macs[0]) and macs_by_op: the sum per ONNX op type;
- bias_adds: for every Conv, ConvTranspose and Gemm node with a bias input, its output
  elements; onnx-tool counts the bias add as one MAC per output (ConvNode.profile,
  GemmNode.profile), nnflops as a FLOP that is not a MAC;
- params: onnx-tool's parameter count (Graph.params: the elements of every initializer
  a node reads, after its constant folding), and the same split by the script into
  running_statistics (BatchNormalization's inputs 3 and 4: buffers, not parameters) and
  other_constants (integer shape tensors, exporter-made scalars, folded constants);
  learned = params - running_statistics - other_constants.

    /work/venv-torch/bin/pip install onnx-tool
    /work/venv-torch/bin/python scripts/onnx_tool_figures.py
"""
import collections
import contextlib
import glob
import io
import json
import os
import sys
import tempfile
from importlib import metadata

import numpy as np
import onnx
from onnx import helper, numpy_helper

import onnx_tool
from onnx_tool.tensor import volume as tool_volume

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "onnx")


def completed(path, directory):
    """The export with zero-filled weights, saved in `directory`."""
    model = onnx.load(path, load_external_data=False)
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            zeros = np.zeros(tuple(tensor.dims), dtype=helper.tensor_dtype_to_np_dtype(tensor.data_type))
            tensor.CopyFrom(numpy_helper.from_array(zeros, tensor.name))
    target = os.path.join(directory, os.path.basename(path))
    onnx.save(model, target)
    return target


def volume(shape):
    count = 1
    for d in shape:
        count *= int(d)
    return count


def profile(path):
    with contextlib.redirect_stdout(io.StringIO()):
        model = onnx_tool.Model(path, {"constant_folding": True})
        graph = model.graph
        graph.shape_infer({"input": np.zeros((1, 3, 224, 224), dtype=np.float32)})
        graph.profile()
    by_op = collections.Counter()
    bias_adds = 0
    running = set()
    for node in graph.nodemap.values():
        by_op[node.op_type] += int(node.macs[0])
        if node.op_type in ("Conv", "ConvTranspose", "Gemm") and len(node.input) >= 3 and node.input[2]:
            bias_adds += volume(graph.tensormap[node.output[0]].get_shape())
        if node.op_type == "BatchNormalization":
            running.update(name for name in node.input[3:5] if name in graph.initials)
    read = set()
    for node in graph.nodemap.values():
        read.update(name for name in node.input if name in graph.initials)
    learned_names = {name for name in read if name not in running
                     and graph.tensormap[name].numpy is not None
                     and np.issubdtype(graph.tensormap[name].numpy.dtype, np.floating)
                     and volume(graph.tensormap[name].get_shape()) > 1}
    # onnx-tool's own volume, which is 0 for a scalar (shape []): it counts a one-value
    # initializer as no parameter.
    elements = {name: tool_volume(graph.tensormap[name].get_shape()) for name in read}
    running_elements = sum(elements[name] for name in running)
    learned = sum(elements[name] for name in learned_names)
    other = sum(elements.values()) - running_elements - learned
    params = int(graph.params)
    assert params == sum(elements.values()), (path, params, sum(elements.values()))
    return {
        "macs": int(graph.macs[0]),
        "macs_by_op": dict(sorted(by_op.items())),
        "bias_adds": bias_adds,
        "params": params,
        "running_statistics": running_elements,
        "other_constants": other,
    }


def main():
    figures = {"onnx_tool_version": metadata.version("onnx-tool"), "batch": 1, "exports": {}}
    with tempfile.TemporaryDirectory() as directory:
        for path in sorted(glob.glob(os.path.join(ROOT, "torchvision", "*.onnx"))):
            name = os.path.basename(path)[:-5]
            figures["exports"][name] = profile(completed(path, directory))
            print(name, figures["exports"][name]["macs"], file=sys.stderr)
    with open(os.path.join(ROOT, "onnx_tool.json"), "w") as f:
        json.dump(figures, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
