#!/usr/bin/env python3
"""Measure what PyTorch autograd keeps for backward, per module, and write fixtures.

Dev-time only (the Swift tests read the committed JSON and never run Python):

    /work/venv-torch/bin/python scripts/measure_saved.py --all          # every fixture
    /work/venv-torch/bin/python scripts/measure_saved.py --zoo resnet50 # one zoo model
    /work/venv-torch/bin/python scripts/measure_saved.py --hf llama     # one HF family
    /work/venv-torch/bin/python scripts/measure_saved.py --list

What is measured, for one training forward (model.train(), loss = output.float().sum(),
summed over every output the nnflops spec declares):

* Saved tensors: torch.autograd.graph.saved_tensors_hooks sees every tensor autograd packs.
  Tensors are deduplicated by storage (a storage's bytes, untyped_storage().nbytes(), count
  once however many nodes or views keep it). Parameters, buffers and the input batch are
  left out (their storages are known before forward). Storages are identified by their
  StorageImpl (untyped_storage()._cdata) held through a weak reference, which is data_ptr
  deduplication that also works for fake tensors and cannot confuse a freed storage with a
  new one at the same address.
* Attribution: each storage goes to the innermost module running (forward pre/post hooks
  push and pop the qualified module name) when it was first packed by a node reachable from
  the loss. Functional code inside a module's forward (Bottleneck's `out += identity`,
  GPT2Attention's scaled_dot_product_attention) is therefore attributed to that module.
* Node and attribute: a walk from loss.grad_fn over next_functions reads every `_saved_*`
  attribute; the unpack hook tells which pack event each attribute is, so every tensor is
  named by the node class and attribute that keeps it (ConvolutionBackward0.input). Other
  keepers of the same storage are listed under "also". A node autograd wraps without
  exposing it (an in-place op on a view lives inside CopySlices) cannot be walked: a packed
  storage still alive after forward is then named "CopySlices(<the aten op that packed
  it>).?" and counted; a packed storage that died (its node was dropped) is not.
* Live after forward: a TorchDispatchMode sees every tensor an aten op returns and tracks its
  storage by weak reference; after forward and loss (model output and loss still held) the
  storages still alive are summed (parameters, buffers, inputs excluded). This is
  torch.cuda.memory_allocated() after forward minus before, without the allocator's rounding.

Devices and variants. nnflops models PyTorch on CUDA GPUs, so fixtures record CUDA
behaviour. It is reproduced on this CPU-only machine with FakeTensorMode and fake CUDA
tensors (shapes, dtypes, strides, aliasing and autograd exactly as eager CUDA, no data):
* fp32: fake CUDA. The same forward also runs for real on the CPU ("cpu" section: its totals
  and every module whose bytes differ). Known CPU/CUDA differences: CPU `dropout` keeps a
  float noise tensor, CUDA's fused `native_dropout` a bool mask; CPU
  scaled_dot_product_attention runs the CPU flash kernel (or the math path with dropout),
  CUDA the kernel chosen below.
* amp-bf16: fake CUDA with CUDA's autocast rules (torch.set_autocast_enabled('cuda', True),
  autocast dtype bfloat16, the weight-cast cache cleared on exit, as torch.autocast does).
* scaled_dot_product_attention on fake CUDA: FakeTensorMode has no GPU to ask, and its
  backend choice falls back to the math path, so `cuda_sdpa` below re-implements the choice
  that torch 2.11 makes on an H100 (sm90, cuDNN 9.19, the +cu130 wheels; see
  aten/src/ATen/native/transformers/cuda/sdp_utils.cpp select_sdp_backend and attention.cpp
  scaled_dot_product_attention): priority cuDNN, flash, memory-efficient, math (cuDNN is put
  first on sm90 when cuDNN > 9.15, check_prefer_cudnn_attention);
    cuDNN: fp16/bf16, head dim <= 128 and a multiple of 8, equal heads (no GQA), kv length > 1;
    flash: fp16/bf16, no attn_mask, head dim <= 256, causal only with equal lengths, GQA ok;
    efficient: fp32/fp16/bf16, head dim a multiple of 4 (fp32) / 8 (half), equal heads;
    math: everything else (fp32 GQA with enable_gqa, for instance).
  The chosen kernel's aten op is called as attention.cpp does (boolean masks converted to
  additive ones; the efficient kernel's mask padded to a multiple of 16). Output layouts
  are the CUDA kernels' (their Meta functions allocate as the kernels do): efficient
  allocates [B, n, H, d] and returns it transposed; flash and cuDNN allocate like the query
  (empty_like / alloc_with_matching_layout follow the query's stride order). The layout
  decides whether a caller's later `.transpose(1, 2).contiguous()` or MHA's
  `.permute(2, 0, 1, 3).contiguous()` copies.
  Random-number state the fused kernels keep (philox seed/offset, flash's rng_state: scalars
  or two uint64, CPU tensors for the efficient kernel) is listed per module but not counted
  in bytes, saved or live ("rng_state_bytes" in totals gives what the fake run saw).

Fixture format (Tests/Fixtures/saved/<model>-<variant>.json and hf-<family>.json),
schema "nnflops.saved/1"; all byte counts are exact integers:

    {
      "schema": "nnflops.saved/1",
      "model": "resnet50",                      # zoo name or hf-<family>
      "reference": "torchvision.models.resnet50(weights=None)",
      "variant": "fp32" | "amp-bf16",           # hf fixtures: one entry per attention impl
      "device": "cuda (FakeTensorMode, torch 2.11 H100 rules)",
      "torch": "2.11.0+cu130", "torchvision": ..., "transformers": ...,
      "batch": 2,
      "nnflops_args": ["--batch", "2", ...],   # the same shapes for nnflops
      "inputs": [{"name", "shape", "dtype"}],
      "loss": "output.float().sum()",
      "params": 25557032,                       # sum(p.numel()), tied parameters once
      "notes": [...],                           # what this reference does that matters
      "sdpa": [{"module", "backend", "dtype", "q", "k", "dropout", "causal", "mask"}],
      "modules_called": ["conv1", "bn1", ...],  # every module that ran, first-call order
      "modules": [                              # modules that keep anything, first-pack order
        {"module": "bn1", "bytes": 6423040,
         "tensors": [{"node": "CudnnBatchNormBackward0", "attr": "input",
                      "shape": [2, 64, 112, 112], "dtype": "float32", "bytes": 6422528,
                      "also": ["ReluBackward0.result"]}]}],   # bytes = the storage's bytes
      "totals": {
        "saved_bytes": ...,                     # sum of "modules" bytes
        "live_after_forward_bytes": ...,        # every storage alive after forward + loss
        "output_bytes": ...,                    # model outputs and loss not also saved
        "live_other_bytes": ...,                # alive, neither saved nor an output
        "rng_state_bytes": ..., "unreached_saved_bytes": ...},
      "live_other": [{"module", "shape", "dtype", "bytes"}],
      "cpu": {"saved_bytes", "live_after_forward_bytes",
              "modules": [{"module", "bytes", "cuda_bytes", "tensors"}]}   # differing only
    }

HF fixtures (hf-<family>.json) hold {"model", "config" (the config dict), "params",
"variants": {"sdpa": {...}, "eager": {...}, "sdpa-amp-bf16": {...}}} where each variant has
the fields above (fp32 for sdpa and eager, each with its "cpu" section; "eager" and
"sdpa-amp-bf16" carry their own "nnflops_args": `--set attn_implementation=eager`,
`--precision amp-bf16`); the same config is written as a loadable Hugging Face
config.json to Tests/Fixtures/hf/.
"""
import argparse
import contextlib
import gc
import json
import math
import os
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch._subclasses.fake_tensor import FakeTensorMode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAVED_DIR = os.path.join(ROOT, "Tests", "Fixtures", "saved")
HF_DIR = os.path.join(ROOT, "Tests", "Fixtures", "hf")

BATCH = 2
TRANSFORMER_SEQ = 128
HF_SEQ = 64

DTYPE_NAMES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16",
               torch.int64: "int64", torch.int32: "int32", torch.bool: "bool",
               torch.uint8: "uint8", torch.uint64: "uint64", torch.float64: "float64"}


def dtype_name(dtype):
    return DTYPE_NAMES.get(dtype, str(dtype).replace("torch.", ""))


# ---------------------------------------------------------------------------------------
# Storage identity
# ---------------------------------------------------------------------------------------

class StorageIds:
    """A stable integer per storage for the whole run (weakly held, never reused)."""

    def __init__(self):
        self.by_cdata = {}
        self.next_id = 0

    def of(self, tensor):
        storage = tensor.untyped_storage()
        cdata = storage._cdata
        entry = self.by_cdata.get(cdata)
        if entry is not None and not entry[1].expired():
            return entry[0]
        self.next_id += 1
        self.by_cdata[cdata] = (self.next_id, StorageWeakRef(storage))
        return self.next_id


# ---------------------------------------------------------------------------------------
# CUDA's scaled_dot_product_attention, reproduced on fake CUDA tensors
# ---------------------------------------------------------------------------------------

_ORIGINAL_SDPA = F.scaled_dot_product_attention
_SDPA_LOG = []          # one entry per call: which backend and why
_MODULE_STACK = []      # qualified names of the modules running


def choose_cuda_sdpa_backend(q, k, v, mask, dropout_p, is_causal, enable_gqa):
    """torch 2.11 select_sdp_backend on an H100 (sm90, cuDNN 9.19): the first that fits."""
    half = q.dtype in (torch.float16, torch.bfloat16)
    dense = q.dim() == 4 and k.dim() == 4 and v.dim() == 4
    strides_ok = all(t.stride(-1) == 1 for t in (q, k, v))
    same_heads = q.size(1) == k.size(1) == v.size(1) if dense else False
    gqa_ok = dense and enable_gqa and k.size(1) == v.size(1) and q.size(1) % k.size(1) == 0
    d_qk, d_v = q.size(-1), v.size(-1)
    if not (dense and strides_ok):
        return "math"
    if (half and same_heads and d_qk <= 128 and d_v <= 128 and d_qk % 8 == 0
            and d_v % 8 == 0 and k.size(2) != 1 and not (dropout_p > 0 and q.size(2) == 1)):
        return "cudnn"
    if (half and mask is None and d_qk == k.size(-1) == d_v and d_qk <= 256
            and (same_heads or gqa_ok) and not (is_causal and q.size(2) != k.size(2))):
        return "flash"
    alignment = 8 if half else 4
    if (same_heads and d_qk == k.size(-1) and d_qk % alignment == 0 and d_v % alignment == 0):
        return "efficient"
    return "math"


def _convert_boolean_mask(mask, dtype):
    if mask is None or mask.dtype != torch.bool:
        return mask
    return torch.zeros_like(mask, dtype=dtype).masked_fill_(mask.logical_not(), float("-inf"))


def _preprocess_mask_for_efficient(mask, q, k):
    mask = mask.expand(q.size(0), q.size(1), q.size(2), k.size(2))
    last = mask.size(-1)
    if last % 16 != 0:
        padded = F.pad(mask, (0, 16 - last % 16))
        return padded[..., :last]
    if mask.stride(0) % 16 or mask.stride(1) % 16 or mask.stride(2) % 16:
        return mask.contiguous()
    return mask


def cuda_sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
              enable_gqa=False):
    if query.device.type != "cuda":
        return _ORIGINAL_SDPA(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                              is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)
    if not torch.is_autocast_enabled("cuda"):
        return _cuda_sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    # aten::scaled_dot_product_attention is on CUDA autocast's lower-precision list: its
    # floating-point arguments are cast (q, k, v and a float mask) and the op then runs with
    # autocast excluded (autocast_mode.cpp, KERNEL_CUDA(scaled_dot_product_attention)).
    dtype = torch.get_autocast_dtype("cuda")

    def cast(t):
        return t.to(dtype) if t is not None and t.is_floating_point() else t

    torch.set_autocast_enabled("cuda", False)
    try:
        return _cuda_sdpa(cast(query), cast(key), cast(value), cast(attn_mask), dropout_p,
                          is_causal, scale, enable_gqa)
    finally:
        torch.set_autocast_enabled("cuda", True)


def _cuda_sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa):
    backend = choose_cuda_sdpa_backend(query, key, value, attn_mask, dropout_p, is_causal,
                                       enable_gqa)
    _SDPA_LOG.append({"module": _MODULE_STACK[-1] if _MODULE_STACK else "", "backend": backend,
                      "dtype": dtype_name(query.dtype), "q": list(query.shape),
                      "k": list(key.shape), "dropout": dropout_p, "causal": bool(is_causal),
                      "mask": None if attn_mask is None else
                      [dtype_name(attn_mask.dtype), list(attn_mask.shape)],
                      "enable_gqa": bool(enable_gqa)})
    needs_lse = query.requires_grad or key.requires_grad or value.requires_grad
    aten = torch.ops.aten
    if backend == "cudnn":
        mask = _convert_boolean_mask(attn_mask, query.dtype)
        return aten._scaled_dot_product_cudnn_attention(
            query, key, value, mask, needs_lse, dropout_p, is_causal, False, scale=scale)[0]
    if backend == "flash":
        head = query.size(-1)
        if head % 8:
            pad = 8 - head % 8
            query, key, value = (F.pad(t, (0, pad)) for t in (query, key, value))
        out = aten._scaled_dot_product_flash_attention(
            query, key, value, dropout_p, is_causal, False,
            scale=scale if scale is not None else 1.0 / math.sqrt(head))[0]
        return out[..., :head] if head % 8 else out
    if backend == "efficient":
        mask = _convert_boolean_mask(attn_mask, query.dtype)
        if mask is not None:
            mask = _preprocess_mask_for_efficient(mask, query, key)
        return aten._scaled_dot_product_efficient_attention(
            query, key, value, mask, needs_lse, dropout_p, is_causal, scale=scale)[0]
    # The math path is composite: FakeTensorMode runs it as CUDA does (its choice is math).
    return _ORIGINAL_SDPA(query, key, value, attn_mask=attn_mask, dropout_p=dropout_p,
                          is_causal=is_causal, scale=scale, enable_gqa=enable_gqa)


@contextlib.contextmanager
def cuda_autocast_bf16():
    """torch.autocast('cuda', torch.bfloat16) without a GPU (torch.autocast checks for one)."""
    previous = (torch.is_autocast_enabled("cuda"), torch.get_autocast_dtype("cuda"),
                torch.is_autocast_cache_enabled())
    torch.set_autocast_enabled("cuda", True)
    torch.set_autocast_dtype("cuda", torch.bfloat16)
    torch.set_autocast_cache_enabled(True)
    torch.autocast_increment_nesting()
    try:
        yield
    finally:
        if torch.autocast_decrement_nesting() == 0:
            torch.clear_autocast_cache()
        torch.set_autocast_enabled("cuda", previous[0])
        torch.set_autocast_dtype("cuda", previous[1])
        torch.set_autocast_cache_enabled(previous[2])


# ---------------------------------------------------------------------------------------
# The recorder: module attribution, saved tensors, live storages
# ---------------------------------------------------------------------------------------

RNG_ATTRS = {"philox_seed", "philox_offset", "rng_state", "unused"}


class LiveTracker(TorchDispatchMode):
    """Weakly tracks the storage of every tensor an aten op returns."""

    def __init__(self, ids, pending):
        super().__init__()
        self.ids = ids
        self.storages = {}
        self.pending = pending

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if self.pending:
            # Tensors an autograd kernel packs for its inputs are packed before the op
            # reaches this mode: the op seen next is the one that keeps them.
            for event in self.pending:
                event["next_op"] = func.name()
            self.pending.clear()
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                sid = self.ids.of(t)
                if sid not in self.storages:
                    storage = t.untyped_storage()
                    self.storages[sid] = (StorageWeakRef(storage), storage.nbytes(),
                                          t.device.type, dtype_name(t.dtype), list(t.shape),
                                          _MODULE_STACK[-1] if _MODULE_STACK else "")
        return out

    def alive(self):
        return {sid: entry for sid, entry in self.storages.items() if not entry[0].expired()}


class Recorder:
    def __init__(self, model, device_type):
        self.model = model
        self.device_type = device_type
        self.ids = StorageIds()
        self.names = {}
        for name, module in model.named_modules(remove_duplicate=False):
            self.names.setdefault(id(module), name)
        self.called = []
        self.called_set = set()
        self.events = []          # pack events: dict
        self.unpacked = []
        self.excluded = set()
        self.pending = []
        self.copy_slices = False

    # module hooks
    def _pre(self, module, args):
        name = self.names.get(id(module))
        if name is None:
            return
        _MODULE_STACK.append(name)
        if name not in self.called_set:
            self.called_set.add(name)
            self.called.append(name)

    def _post(self, module, args, output):
        if self.names.get(id(module)) is not None:
            _MODULE_STACK.pop()

    # saved tensor hooks
    def _pack(self, tensor):
        storage = tensor.untyped_storage()
        event = {"seq": len(self.events), "sid": self.ids.of(tensor),
                 "module": _MODULE_STACK[-1] if _MODULE_STACK else "",
                 "shape": list(tensor.shape), "dtype": dtype_name(tensor.dtype),
                 "device": tensor.device.type, "bytes": storage.nbytes(),
                 "keeper": None, "ref": StorageWeakRef(storage)}
        self.events.append(event)
        self.pending.append(event)
        return (event["seq"], tensor)

    def _unpack(self, packed):
        self.unpacked.append(packed[0])
        return packed[1]

    def exclude(self, tensors):
        for t in tensors:
            self.excluded.add(self.ids.of(t))

    @contextlib.contextmanager
    def recording(self):
        pre = torch.nn.modules.module.register_module_forward_pre_hook(self._pre)
        post = torch.nn.modules.module.register_module_forward_hook(self._post, always_call=True)
        self.tracker = LiveTracker(self.ids, self.pending)
        try:
            with torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack):
                with self.tracker:
                    yield
        finally:
            pre.remove()
            post.remove()
            _MODULE_STACK.clear()

    def walk(self, roots):
        """Name every pack event by the node and attribute that keeps it."""
        seen = set()
        stack = [r for r in roots if r is not None]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if type(node).__name__ == "CopySlices":
                self.copy_slices = True
            attrs = [a for a in dir(node) if a.startswith("_saved_")]
            if hasattr(node, "saved_tensors") and not attrs:
                attrs = ["saved_tensors"]
            for attr in attrs:
                before = len(self.unpacked)
                try:
                    getattr(node, attr)
                except Exception:
                    continue
                name = attr[len("_saved_"):] if attr.startswith("_saved_") else attr
                for seq in self.unpacked[before:]:
                    event = self.events[seq]
                    if event["keeper"] is None:
                        event["keeper"] = []
                    event["keeper"].append(type(node).__name__ + "." + name)
            for next_node, _ in node.next_functions:
                if next_node is not None:
                    stack.append(next_node)

    def report(self, held_tensors):
        """Per-module saved bytes (reachable storages, first reachable pack) and totals."""
        gc.collect()
        modules = OrderedDict()
        storages = {}
        unreached = {}
        rng = {}
        for event in self.events:
            sid = event["sid"]
            if sid in self.excluded or event["bytes"] == 0:
                continue
            if event["keeper"] is None:
                if event["ref"].expired():
                    unreached.setdefault(sid, event["bytes"])
                    continue
                # Alive after forward but not reachable by the walk: kept by a node that
                # autograd wraps and does not expose (an in-place op on a view is wrapped
                # in CopySlices). Named by the op that packed it.
                wrapper = "CopySlices" if self.copy_slices else "unexposed"
                event["keeper"] = ["%s(%s).?" % (wrapper, event.get("next_op", "?"))]
            attr = event["keeper"][0].split(".", 1)[1]
            if attr in RNG_ATTRS:
                rng.setdefault(sid, event["bytes"])
                continue
            if event["device"] != self.device_type:
                continue
            if sid in storages:
                storages[sid]["also"].extend(k for k in event["keeper"]
                                             if k not in storages[sid]["also"]
                                             and k != storages[sid]["node"] + "." + storages[sid]["attr"])
                continue
            node, attr = event["keeper"][0].split(".", 1)
            entry = {"node": node, "attr": attr, "shape": event["shape"], "dtype": event["dtype"],
                     "bytes": event["bytes"], "also": list(event["keeper"][1:])}
            storages[sid] = entry
            modules.setdefault(event["module"], []).append(entry)
        for sid in storages:
            unreached.pop(sid, None)
        module_list = []
        for name, tensors in modules.items():
            for t in tensors:
                if not t["also"]:
                    del t["also"]
            module_list.append({"module": name, "bytes": sum(t["bytes"] for t in tensors),
                                "tensors": tensors})
        saved = sum(e["bytes"] for e in storages.values())
        alive = self.tracker.alive()
        held = {self.ids.of(t) for t in held_tensors}
        live_total, output_bytes, other_bytes, other = 0, 0, 0, []
        for sid, (ref, nbytes, device, dtype, shape, module) in alive.items():
            if sid in self.excluded or sid in rng or device != self.device_type:
                continue
            live_total += nbytes
            if sid in storages:
                continue
            if sid in held:
                output_bytes += nbytes
            elif nbytes:
                other_bytes += nbytes
                other.append({"module": module, "shape": shape, "dtype": dtype, "bytes": nbytes})
        # Saved storages the tracker never saw made (none expected) still count as live.
        missing = [sid for sid in storages if sid not in alive]
        live_total += sum(storages[sid]["bytes"] for sid in missing)
        other.sort(key=lambda e: -e["bytes"])
        return {
            "modules": module_list,
            "totals": {"saved_bytes": saved, "live_after_forward_bytes": live_total,
                       "output_bytes": output_bytes, "live_other_bytes": other_bytes,
                       "rng_state_bytes": sum(rng.values()),
                       "unreached_saved_bytes": sum(unreached.values())},
            "live_other": other[:20],
            "modules_called": self.called,
        }


def all_tensors(obj):
    """Every tensor in a model output (ModelOutput, tuple, cache objects)."""
    found = []
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        for v in obj.values():
            found += all_tensors(v)
        return found
    if isinstance(obj, (list, tuple)):
        for v in obj:
            found += all_tensors(v)
        return found
    layers = getattr(obj, "layers", None)          # transformers Cache
    if layers is not None:
        for layer in layers:
            for attr in ("keys", "values"):
                t = getattr(layer, attr, None)
                if isinstance(t, torch.Tensor):
                    found.append(t)
    return found


# ---------------------------------------------------------------------------------------
# One measurement
# ---------------------------------------------------------------------------------------

def measure(case, variant, device_type):
    """Run one training forward of `case` and return the report dict."""
    torch.manual_seed(0)
    fake = device_type == "cuda"
    _SDPA_LOG.clear()
    mode = FakeTensorMode() if fake else contextlib.nullcontext()
    with mode:
        device = torch.device("cuda" if fake else "cpu")
        with device:
            model = case["build"]()
            inputs = case["inputs"](device)
        model.train()
        recorder = Recorder(model, device_type)
        recorder.exclude(list(model.parameters()) + list(model.buffers()))
        recorder.exclude([t for t in inputs.values() if isinstance(t, torch.Tensor)])
        autocast = cuda_autocast_bf16() if variant == "amp-bf16" else contextlib.nullcontext()
        F.scaled_dot_product_attention = cuda_sdpa
        # transformers asks the device for its compute capability (MoE grouped_mm): an H100.
        capability = torch.cuda.get_device_capability
        if fake:
            torch.cuda.get_device_capability = lambda device=None: (9, 0)
        try:
            with recorder.recording():
                with autocast:
                    output = case["call"](model, inputs)
                    outs = case["outputs"](output)
                # The loss, as the calibration computed it, outside autocast.
                loss = sum(o.float().sum() for o in outs)
        finally:
            F.scaled_dot_product_attention = _ORIGINAL_SDPA
            torch.cuda.get_device_capability = capability
        held = all_tensors(output) + [loss]
        recorder.walk([t.grad_fn for t in held])
        result = recorder.report(held)
        result["sdpa"] = list(_SDPA_LOG)
        result["params"] = sum(p.numel() for p in model.parameters())
        result["inputs"] = [{"name": k, "shape": list(v.shape), "dtype": dtype_name(v.dtype)}
                            for k, v in inputs.items()]
        del output, outs, loss, held, recorder, model, inputs
    gc.collect()
    return result


def compare_cpu(cuda_result, cpu_result):
    cuda_by = {m["module"]: m for m in cuda_result["modules"]}
    cpu_by = {m["module"]: m for m in cpu_result["modules"]}
    differing = []
    for name in list(cuda_by) + [n for n in cpu_by if n not in cuda_by]:
        a = cuda_by.get(name, {"bytes": 0})
        b = cpu_by.get(name, {"bytes": 0, "tensors": []})
        if a["bytes"] != b["bytes"]:
            differing.append({"module": name, "bytes": b["bytes"], "cuda_bytes": a["bytes"],
                              "tensors": b.get("tensors", [])})
    return {"saved_bytes": cpu_result["totals"]["saved_bytes"],
            "live_after_forward_bytes": cpu_result["totals"]["live_after_forward_bytes"],
            "modules": differing}


def versions():
    v = {"torch": torch.__version__}
    try:
        import torchvision
        v["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    try:
        import transformers
        v["transformers"] = transformers.__version__
    except ImportError:
        pass
    return v


DEVICE_NOTE = "cuda (FakeTensorMode, torch 2.11 H100 rules; see scripts/measure_saved.py)"


def fixture_fields(result):
    keys = ["inputs", "params", "sdpa", "modules_called", "modules", "totals", "live_other"]
    return OrderedDict((k, result[k]) for k in keys)


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(data, indent=1, ensure_ascii=True)
    # One tensor / module name per line keeps the files short and diffable.
    with open(path, "w") as f:
        f.write(compact(text) + "\n")


def compact(text):
    """Collapse innermost JSON arrays and small objects onto one line."""
    data = json.loads(text)

    def render(value, indent):
        pad = " " * indent
        if isinstance(value, dict):
            inner = json.dumps(value)
            if len(inner) <= 160 and not any(isinstance(v, (dict, list)) and v and
                                             isinstance(v, dict) for v in value.values()):
                return inner
            items = [pad + " " + json.dumps(k) + ": " + render(v, indent + 1)
                     for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(value, list):
            inner = json.dumps(value)
            if len(inner) <= 160:
                return inner
            items = [pad + " " + render(v, indent + 1) for v in value]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return json.dumps(value)

    return render(data, 0)


# ---------------------------------------------------------------------------------------
# The zoo
# ---------------------------------------------------------------------------------------

def image_inputs(device):
    return {"x": torch.randn(BATCH, 3, 224, 224, device=device)}


def positional(model, inputs):
    return model(inputs["x"])


def torchvision_case(name, notes=()):
    def build():
        import torchvision
        return getattr(torchvision.models, name)(weights=None)
    return {"reference": "torchvision.models.%s(weights=None)" % name, "build": build,
            "inputs": image_inputs, "call": positional, "outputs": lambda out: [out],
            "loss": "output.float().sum()",
            "nnflops_args": ["--batch", str(BATCH)], "notes": list(notes)}


def mlp_build():
    return nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("fc1", nn.Linear(784, 256)),
                                      ("relu", nn.ReLU()), ("fc2", nn.Linear(256, 10))]))


def keywords(model, inputs):
    return model(**inputs)


def gpt2_build():
    from transformers import GPT2Config, GPT2LMHeadModel
    return GPT2LMHeadModel(GPT2Config(attn_implementation="sdpa"))


def token_inputs(vocab, seq, token_types=False):
    def make(device):
        inputs = {"input_ids": torch.randint(0, vocab, (BATCH, seq), device=device)}
        if token_types:
            inputs["token_type_ids"] = torch.zeros(BATCH, seq, dtype=torch.long, device=device)
        inputs["position_ids"] = torch.arange(seq, device=device)[None]
        return inputs
    return make


def bert_build():
    from transformers import BertConfig, BertModel
    return BertModel(BertConfig(attn_implementation="sdpa"), add_pooling_layer=True)


ZOO = OrderedDict([
    ("mlp", {"reference": "nn.Sequential(flatten=nn.Flatten(), fc1=nn.Linear(784, 256), "
                          "relu=nn.ReLU(), fc2=nn.Linear(256, 10)) (the calibration's mlp, "
                          "children named as the spec names them)",
             "build": mlp_build,
             "inputs": lambda device: {"x": torch.randn(BATCH, 1, 28, 28, device=device)},
             "call": positional, "outputs": lambda out: [out], "loss": "output.float().sum()",
             "nnflops_args": ["--batch", str(BATCH)], "notes": []}),
    ("alexnet", torchvision_case("alexnet")),
    ("vgg16", torchvision_case("vgg16")),
    ("resnet18", torchvision_case("resnet18")),
    ("resnet34", torchvision_case("resnet34")),
    ("resnet50", torchvision_case("resnet50")),
    ("resnet101", torchvision_case("resnet101")),
    ("resnet152", torchvision_case("resnet152")),
    ("mobilenet_v2", torchvision_case("mobilenet_v2")),
    ("efficientnet_b0", torchvision_case("efficientnet_b0")),
    ("vit_b_16", torchvision_case("vit_b_16")),
    ("gpt2", {"reference": "transformers GPT2LMHeadModel(GPT2Config(attn_implementation=\"sdpa\"))"
                           " (use_cache left at its default, true)",
              "build": gpt2_build, "inputs": token_inputs(50257, TRANSFORMER_SEQ),
              "call": keywords, "outputs": lambda out: [out.logits],
              "loss": "output.logits.float().sum()",
              "nnflops_args": ["--batch", str(BATCH), "--set", "seq=%d" % TRANSFORMER_SEQ],
              "notes": ["position_ids passed explicitly as the spec's input (the default would "
                        "build arange(seq) inside the model: an int64 [1, seq] that wpe keeps)",
                        "PyTorch names carry the transformer. prefix that the spec drops"]}),
    ("bert-base", {"reference": "transformers BertModel(BertConfig(attn_implementation=\"sdpa\"),"
                                " add_pooling_layer=True)",
                   "build": bert_build, "inputs": token_inputs(30522, TRANSFORMER_SEQ, True),
                   "call": keywords,
                   "outputs": lambda out: [out.last_hidden_state, out.pooler_output],
                   "loss": "output.last_hidden_state.float().sum() + "
                           "output.pooler_output.float().sum()",
                   "nnflops_args": ["--batch", str(BATCH), "--set", "seq=%d" % TRANSFORMER_SEQ],
                   "notes": ["the loss sums both spec outputs",
                             "token_type_ids and position_ids passed explicitly as the spec's "
                             "inputs"]}),
])


def run_zoo(name, variants):
    case = ZOO[name]
    for variant in variants:
        print("measuring %s %s" % (name, variant), flush=True)
        result = measure(case, variant, "cuda")
        data = OrderedDict([
            ("schema", "nnflops.saved/1"), ("model", name), ("reference", case["reference"]),
            ("variant", variant), ("device", DEVICE_NOTE)])
        data.update(versions())
        data["batch"] = BATCH
        data["nnflops_args"] = case["nnflops_args"] + (
            ["--precision", "amp-bf16"] if variant == "amp-bf16" else [])
        data["loss"] = case["loss"]
        data["notes"] = case["notes"]
        data.update(fixture_fields(result))
        if variant == "fp32":
            print("measuring %s fp32 on the CPU" % name, flush=True)
            data["cpu"] = compare_cpu(result, measure(case, variant, "cpu"))
        path = os.path.join(SAVED_DIR, "%s-%s.json" % (name, variant))
        write_json(path, data)
        t = data["totals"]
        print("  wrote %s: saved %d, live after forward %d" % (
            os.path.relpath(path, ROOT), t["saved_bytes"], t["live_after_forward_bytes"]))


# ---------------------------------------------------------------------------------------
# Small Hugging Face configs of the families nnflops reads
# ---------------------------------------------------------------------------------------

def hf_families():
    import transformers as tf
    small = dict(vocab_size=1000, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                 num_attention_heads=4, max_position_embeddings=256)
    return OrderedDict([
        ("llama", (tf.LlamaConfig, tf.LlamaForCausalLM,
                   dict(small, num_key_value_heads=2),
                   "grouped-query attention (4 query heads, 2 key/value heads), RMSNorm, rotary")),
        ("mistral", (tf.MistralConfig, tf.MistralForCausalLM,
                     dict(small, num_key_value_heads=2, sliding_window=32),
                     "sliding window 32 < seq 64: the mask is materialised")),
        ("qwen2", (tf.Qwen2Config, tf.Qwen2ForCausalLM,
                   dict(small, num_key_value_heads=2),
                   "q/k/v biases, grouped-query attention")),
        ("gemma", (tf.GemmaConfig, tf.GemmaForCausalLM,
                   dict(small, num_key_value_heads=1, head_dim=48),
                   "multi-query attention, head_dim 48 != hidden/heads, tied head, scaled embedding, "
                   "gelu_pytorch_tanh MLP")),
        ("phi3", (tf.Phi3Config, tf.Phi3ForCausalLM,
                  dict(small, num_key_value_heads=2, pad_token_id=0, bos_token_id=1,
                       eos_token_id=2),
                  "fused qkv_proj and gate_up_proj")),
        ("gpt_neox", (tf.GPTNeoXConfig, tf.GPTNeoXForCausalLM,
                      dict(vocab_size=1000, hidden_size=128, intermediate_size=512,
                           num_hidden_layers=2, num_attention_heads=4,
                           max_position_embeddings=256, rotary_pct=0.25,
                           use_parallel_residual=True, bos_token_id=0, eos_token_id=0),
                      "partial rotary (0.25), parallel residual, fused query_key_value")),
        ("gpt2", (tf.GPT2Config, tf.GPT2LMHeadModel,
                  dict(vocab_size=1000, n_embd=128, n_layer=2, n_head=4, n_positions=256,
                       bos_token_id=0, eos_token_id=0),
                  "dropout 0.1 on embeddings, attention and residuals (defaults)")),
        ("bert", (tf.BertConfig, tf.BertModel,
                  dict(vocab_size=1000, hidden_size=128, intermediate_size=512,
                       num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=256),
                  "encoder with pooler, dropout 0.1 (defaults)")),
        ("mixtral", (tf.MixtralConfig, tf.MixtralForCausalLM,
                     dict(small, num_key_value_heads=2, num_local_experts=4,
                          num_experts_per_tok=2),
                     "4 experts, top-2 routing, transformers' default experts implementation "
                     "(grouped_mm). Measured on the CPU only: routing makes shapes depend on "
                     "data, which FakeTensorMode cannot run (and fake CUDA grouped_mm accepts "
                     "only bf16); the per-expert token counts are those of torch.manual_seed(0)")),
    ])


CPU_ONLY_FAMILIES = {"mixtral"}


def hf_case(family, config_class, model_class, kwargs, attn):
    def build():
        config = config_class(**kwargs, attn_implementation=attn)
        if model_class.__name__ == "BertModel":
            return model_class(config, add_pooling_layer=True)
        return model_class(config)

    def inputs(device):
        made = {"input_ids": torch.randint(0, kwargs["vocab_size"], (BATCH, HF_SEQ), device=device)}
        return made

    if model_class.__name__ == "BertModel":
        outputs = lambda out: [out.last_hidden_state, out.pooler_output]
    else:
        outputs = lambda out: [out.logits]
    return {"build": build, "inputs": inputs, "call": keywords, "outputs": outputs}


def run_hf(family):
    config_class, model_class, kwargs, note = hf_families()[family]
    config = config_class(**kwargs)
    config.architectures = [model_class.__name__]
    config.dtype = "float32"
    config_dict = json.loads(config.to_json_string(use_diff=False))
    path = os.path.join(HF_DIR, "%s.json" % family)
    os.makedirs(HF_DIR, exist_ok=True)
    with open(path, "w") as f:
        f.write(config.to_json_string(use_diff=False))
    data = OrderedDict([("schema", "nnflops.saved/1"), ("model", "hf-" + family),
                        ("reference", "transformers %s(%s(**config))" % (
                            model_class.__name__, config_class.__name__)),
                        ("device", DEVICE_NOTE)])
    data.update(versions())
    data["batch"] = BATCH
    data["seq"] = HF_SEQ
    data["nnflops_args"] = ["--batch", str(BATCH), "--set", "seq=%d" % HF_SEQ]
    data["loss"] = ("last_hidden_state.float().sum() + pooler_output.float().sum()"
                    if model_class.__name__ == "BertModel" else "logits.float().sum()")
    if model_class.__name__ == "BertModel":
        cache_note = ("no KV cache: use_cache only matters for a decoder and BertModel is an "
                      "encoder (is_decoder false)")
    else:
        cache_note = ("use_cache left at the config default (%s): the model builds a "
                      "DynamicCache in training too; each layer's key and value are "
                      "concatenated onto empty tensors (DynamicLayer.update: torch.cat), so "
                      "the attention reads new [B, kv_heads, n, head_dim] tensors that the "
                      "returned cache also holds" % config.use_cache)
    data["notes"] = [note, cache_note]
    data["config_file"] = os.path.relpath(path, ROOT)
    data["config"] = config_dict
    data["variants"] = OrderedDict()
    cpu_only = family in CPU_ONLY_FAMILIES
    if cpu_only:
        data["device"] = "cpu (real tensors)"
    for attn in ("sdpa", "eager"):
        print("measuring hf-%s %s" % (family, attn), flush=True)
        case = hf_case(family, config_class, model_class, kwargs, attn)
        cpu = measure(case, "fp32", "cpu")
        result = cpu if cpu_only else measure(case, "fp32", "cuda")
        variant = OrderedDict([("variant", "fp32"), ("attn_implementation", attn)])
        if attn != "sdpa":
            # The imported spec's attn_implementation param (transformers' from_config argument).
            variant["nnflops_args"] = data["nnflops_args"] + ["--set", "attn_implementation=%s" % attn]
        variant.update(fixture_fields(result))
        data["params"] = result["params"]
        if not cpu_only:
            variant["cpu"] = compare_cpu(result, cpu)
        data["variants"][attn] = variant
        print("  %s: saved %d, live %d (cpu saved %d)" % (
            attn, result["totals"]["saved_bytes"], result["totals"]["live_after_forward_bytes"],
            cpu["totals"]["saved_bytes"]))
        if attn == "sdpa" and not cpu_only:
            amp = measure(case, "amp-bf16", "cuda")
            variant = OrderedDict([("variant", "amp-bf16"), ("attn_implementation", attn),
                                   ("nnflops_args", data["nnflops_args"] +
                                    ["--precision", "amp-bf16"])])
            variant.update(fixture_fields(amp))
            data["variants"]["sdpa-amp-bf16"] = variant
            print("  sdpa amp-bf16: saved %d, live %d" % (
                amp["totals"]["saved_bytes"], amp["totals"]["live_after_forward_bytes"]))
    out = os.path.join(SAVED_DIR, "hf-%s.json" % family)
    write_json(out, data)
    print("  wrote %s and %s" % (os.path.relpath(out, ROOT), os.path.relpath(path, ROOT)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="every zoo model and HF family")
    parser.add_argument("--zoo", nargs="*", help="zoo models (none given: all)")
    parser.add_argument("--hf", nargs="*", help="HF families (none given: all)")
    parser.add_argument("--variant", choices=["fp32", "amp-bf16"], action="append")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.list:
        print("zoo:", " ".join(ZOO))
        print("hf:", " ".join(hf_families()))
        return
    variants = args.variant or ["fp32", "amp-bf16"]
    zoo = list(ZOO) if args.all or args.zoo == [] else (args.zoo or [])
    hf = list(hf_families()) if args.all or args.hf == [] else (args.hf or [])
    if not zoo and not hf:
        parser.error("nothing to do: give --all, --zoo [NAME...] or --hf [FAMILY...]")
    for name in zoo:
        if name not in ZOO:
            parser.error("unknown zoo model %r (--list)" % name)
        run_zoo(name, variants)
    for family in hf:
        if family not in hf_families():
            parser.error("unknown HF family %r (--list)" % family)
        run_hf(family)


if __name__ == "__main__":
    main()
