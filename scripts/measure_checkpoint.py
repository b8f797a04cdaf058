#!/usr/bin/env python3
"""Measure what PyTorch keeps under activation checkpointing, and its peak, for fixtures.

Dev-time only (the Swift tests read the committed JSON and never run Python):

    /work/venv-torch/bin/python scripts/measure_checkpoint.py      # writes the fixture

Writes Tests/Fixtures/checkpoint/checkpoint.json (schema "nnflops.checkpoint/1"): for small
models, each run as PyTorch people call checkpointing, and the nnflops command line that
describes the same run:

* blocks (Tests/Fixtures/checkpoint/blocks.spec): `h`, an nn.Sequential of four MLP blocks
  (fc1 8->32, ReLU, fc2 32->8), batch 64, on the CPU:
  - torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False) around every block
    (`--checkpoint each=h.*`);
  - torch.utils.checkpoint.checkpoint_sequential(model.h, K, x, use_reentrant=False)
    (`--checkpoint segments=K --checkpoint-units h.*`).
* resnet18: torchvision resnet18(weights=None) at [2, 3, 64, 64], on the CPU (its CPU and
  CUDA saved sets are the same: Tests/Fixtures/saved/resnet18-fp32.json), with
  checkpoint_sequential over its 11 children (conv1 ... layer4, avgpool, a Flatten, fc:
  nn.Sequential(OrderedDict(...)) keeping the names; `--checkpoint segments=K
  --checkpoint-units depth=1`; K = 2 and 3: with K >= 4 a segment would start at the
  in-place ReLU, which modifies the checkpoint's stored input and autograd refuses), and
  checkpoint around every BasicBlock (`--checkpoint each=layer*.*`).
* hf-gpt2 and hf-bert: transformers models from the tiny configs Tests/Fixtures/hf/gpt2.json
  and bert.json with dropout off (see `hf_runs`) and `model.gradient_checkpointing_enable()`
  (transformers 5.x: non-reentrant checkpoint around every decoder / encoder layer; the KV
  cache is off under it), called as model(input_ids) (gpt2 with use_cache=False:
  `--use-cache false`), seq 64, batch 2, on the CPU (scaled_dot_product_attention runs
  the CPU flash kernel, which keeps what CUDA's fused kernels keep: q, k, v, the output and
  an fp32 log-sum-exp [B, heads, n]; `--checkpoint each=transformer.h.*`,
  `each=encoder.layer.*`).

Every run also runs without checkpointing ("none"). What is measured, over storages (a
TorchDispatchMode sees every tensor an aten op returns and tracks its storage by weak
reference; parameters, buffers and inputs exist before and are not tracked; only tensors on
the run's device count, so the fused attention's CPU RNG scalars do not):

* `saved_after_forward_bytes`: alive after forward and loss (`output.float().sum()` over the
  outputs), the 0-dim loss excluded: what autograd keeps plus the outputs, the figure
  nnflops calls saved activations.
* `peak_bytes`: the most alive at any aten op's return from the start of forward to the end
  of `loss.backward(seed)` (parameter gradients included; 0-dim tensors and the given
  one-element seed, whose expanded view is the outputs' first gradient, excluded):
  PyTorch's own allocation moments, finer than nnflops's per-operator ones (an operator's
  backward allocates its gradients one op at a time).
"""
import contextlib
import gc
import json
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.checkpoint import checkpoint, checkpoint_sequential
from torch._subclasses.fake_tensor import FakeTensorMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure_saved as ms  # noqa: E402  (CUDA's attention choice on fake tensors)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "checkpoint")


class LiveBytes(TorchDispatchMode):
    """Tracks every storage an aten op returns on `device`; records the most alive."""

    def __init__(self, device, exclude=()):
        super().__init__()
        self.device = device
        self.ids = ms.StorageIds()
        self.storages = {}
        self.peak = 0
        # Parameters, buffers and inputs (a view of a weight, W.t(), shares its storage).
        self.excluded = {self.ids.of(t) for t in exclude}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.device.type == self.device and t.dim() > 0:
                sid = self.ids.of(t)
                if sid not in self.storages and sid not in self.excluded:
                    storage = t.untyped_storage()
                    self.storages[sid] = (StorageWeakRef(storage), storage.nbytes())
        self.peak = max(self.peak, self.alive())
        return out

    def alive(self):
        dead = [sid for sid, (ref, _) in self.storages.items() if ref.expired()]
        for sid in dead:
            del self.storages[sid]
        return sum(n for _, n in self.storages.values())


def run(build, inputs, call, outputs, device, fake):
    """One forward + loss + backward; returns saved-after-forward and peak bytes."""
    torch.manual_seed(0)
    mode = FakeTensorMode() if fake else contextlib.nullcontext()
    with mode:
        with torch.device(device):
            model = build()
            x = inputs(device)
        model.train()
        # The loss's gradient is given (created here, not tracked): backward starts from the
        # outputs' gradient, the expanded view of that one element.
        seed = torch.ones(())
        leaves = list(model.parameters()) + list(model.buffers()) + [seed]
        leaves += [t for t in tree_leaves(x) if isinstance(t, torch.Tensor)]
        tracker = LiveBytes(device, leaves)
        F.scaled_dot_product_attention = ms.cuda_sdpa
        try:
            with tracker:
                out = call(model, x)
                loss = sum(o.float().sum() for o in outputs(out))
                gc.collect()
                saved = tracker.alive()
                loss.backward(seed)
        finally:
            F.scaled_dot_product_attention = ms._ORIGINAL_SDPA
        result = {"saved_after_forward_bytes": saved, "peak_bytes": tracker.peak}
        del out, loss, model, x, tracker
    gc.collect()
    return result


# ---------------------------------------------------------------------------------------
# The blocks
# ---------------------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(32, 8)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.h = nn.Sequential(*[Block() for _ in range(4)])

    def forward(self, x):
        return self.h(x)


def blocks_runs():
    spec = os.path.relpath(os.path.join(OUT_DIR, "blocks.spec"), ROOT)
    base = [spec, "--set", "batch=64", "--optimizer", "sgd"]
    inputs = lambda device: torch.randn(64, 8, requires_grad=False)
    one = lambda out: [out]

    def each(model, x):
        for block in model.h:
            x = checkpoint(block, x, use_reentrant=False)
        return x

    def sequential(k):
        return lambda model, x: checkpoint_sequential(model.h, k, x, use_reentrant=False)

    cases = [("none", lambda m, x: m(x), []),
             ("torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False) for block in model.h",
              each, ["--checkpoint", "each=h.*"])]
    for k in (2, 4):
        cases.append(("checkpoint_sequential(model.h, %d, x, use_reentrant=False)" % k, sequential(k),
                      ["--checkpoint", "segments=%d" % k, "--checkpoint-units", "h.*"]))
    return [OrderedDict([("model", "blocks"), ("pytorch", name), ("device", "cpu"),
                         ("nnflops_args", base + args)])
            | run(Blocks, inputs, call, one, "cpu", False)
            for name, call, args in cases]


# ---------------------------------------------------------------------------------------
# resnet18
# ---------------------------------------------------------------------------------------

def resnet18_sequential():
    import torchvision
    m = torchvision.models.resnet18(weights=None)
    children = OrderedDict(m.named_children())
    fc = children.pop("fc")
    children["flatten"] = nn.Flatten()
    children["fc"] = fc
    return nn.Sequential(children)


def resnet18_runs():
    import torchvision
    base = ["resnet18", "--batch", "2", "--set", "image=64", "--optimizer", "sgd"]
    inputs = lambda device: torch.randn(2, 3, 64, 64)
    one = lambda out: [out]

    def each_block(model, x):
        for name, child in model.named_children():
            if name.startswith("layer"):
                for block in child:
                    x = checkpoint(block, x, use_reentrant=False)
            else:
                x = child(x)
        return x

    runs = []
    cases = [("none", lambda m, x: m(x), []),
             ("checkpoint(block, x, use_reentrant=False) for every BasicBlock", each_block,
              ["--checkpoint", "each=layer*.*"])]
    for k in (2, 3):
        cases.append(("checkpoint_sequential(nn.Sequential(conv1, ..., avgpool, Flatten(), fc), %d, x, "
                      "use_reentrant=False)" % k,
                      (lambda k: lambda m, x: checkpoint_sequential(m, k, x, use_reentrant=False))(k),
                      ["--checkpoint", "segments=%d" % k, "--checkpoint-units", "depth=1"]))
    for name, call, args in cases:
        runs.append(OrderedDict([("model", "resnet18"), ("pytorch", name), ("device", "cpu"),
                                 ("nnflops_args", base + args)])
                    | run(resnet18_sequential, inputs, call, one, "cpu", False))
    return runs


# ---------------------------------------------------------------------------------------
# Hugging Face
# ---------------------------------------------------------------------------------------

DROPOUT_KEYS = ("attn_pdrop", "embd_pdrop", "resid_pdrop", "summary_first_dropout",
                "hidden_dropout_prob", "attention_probs_dropout_prob")


def hf_runs(family, pattern):
    """The tiny config of Tests/Fixtures/hf/<family>.json with dropout off, on the CPU: the
    autograd engine cannot run a backward over fake CUDA tensors, and with p = 0 the CPU's
    dropout (a float noise tensor) and CUDA's (a bool mask) both return their input. The
    config is written to Tests/Fixtures/checkpoint/<family>-no-dropout.json for nnflops."""
    import transformers
    with open(os.path.join(ROOT, "Tests", "Fixtures", "hf", family + ".json")) as f:
        raw = json.load(f)
    for key in DROPOUT_KEYS:
        if key in raw:
            raw[key] = 0.0
    path = os.path.join(OUT_DIR, family + "-no-dropout.json")
    with open(path, "w") as f:
        f.write(json.dumps(raw, indent=2, sort_keys=True) + "\n")
    config = transformers.AutoConfig.from_pretrained(path)
    config._attn_implementation = "sdpa"
    is_bert = config.model_type == "bert"
    seq = 64

    def build(checkpointing):
        def make():
            if is_bert:
                model = transformers.BertModel(config, add_pooling_layer=True)
            else:
                model = transformers.AutoModelForCausalLM.from_config(config)
            if checkpointing:
                with contextlib.redirect_stderr(open(os.devnull, "w")):
                    model.gradient_checkpointing_enable()
            return model
        return make

    # Called as people call it, model(input_ids): GPT2Model builds position_ids itself (an
    # int64 [1, seq] that wpe keeps) and BertModel gathers token_type_ids from its all-zero
    # buffer (a new int64 [1, seq]), as nnflops's Hugging Face import builds them.
    def inputs(device):
        return {"input_ids": torch.randint(0, config.vocab_size, (2, seq))}

    outputs = ((lambda out: [out.last_hidden_state, out.pooler_output]) if is_bert
               else (lambda out: [out.logits]))
    # use_cache=False (nnflops: --use-cache false): without it a decoder builds a KV cache in
    # training, whose concatenated keys and values the attention keeps; under gradient
    # checkpointing transformers turns the cache off itself.
    call = (lambda m, x: m(**x)) if is_bert else (lambda m, x: m(**x, use_cache=False))
    rel = os.path.relpath(path, ROOT)
    base = [rel, "--batch", "2", "--set", "seq=%d" % seq, "--optimizer", "sgd"]
    if not is_bert:
        base += ["--use-cache", "false"]
    runs = []
    for checkpointing in (False, True):
        name = "model.gradient_checkpointing_enable()" if checkpointing else "none"
        args = ["--checkpoint", "each=" + pattern] if checkpointing else []
        runs.append(OrderedDict([("model", "hf-" + family), ("pytorch", name),
                                 ("device", "cpu"), ("nnflops_args", base + args)])
                    | run(build(checkpointing), inputs, call, outputs, "cpu", False))
    return runs


def main():
    import torchvision
    import transformers
    torch.set_num_threads(2)
    runs = blocks_runs() + resnet18_runs() + hf_runs("gpt2", "transformer.h.*") + hf_runs("bert", "encoder.layer.*")
    data = OrderedDict([
        ("schema", "nnflops.checkpoint/1"),
        ("torch", torch.__version__), ("torchvision", torchvision.__version__),
        ("transformers", transformers.__version__),
        ("measured", "saved_after_forward_bytes: storages alive after forward and loss (0-dim "
                     "tensors, parameters, buffers and inputs excluded); peak_bytes: the most "
                     "alive at any aten op's return through loss.backward(); see "
                     "scripts/measure_checkpoint.py"),
        ("runs", runs)])
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "checkpoint.json")
    with open(path, "w") as f:
        f.write(json.dumps(data, indent=1) + "\n")
    for r in runs:
        print("%-10s %-60.60s saved %10d peak %10d" % (r["model"], r["pytorch"], r["saved_after_forward_bytes"], r["peak_bytes"]))
    print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
