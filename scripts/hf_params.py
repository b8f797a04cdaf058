"""Parameter counts (and, for the tiny configs, parameter names and forward FLOPs) of
Hugging Face transformers models built from the config.json files in
Tests/Fixtures/hf/configs/, written to Tests/Fixtures/hf/params.json for
Tests/NNFlopsTests/HuggingFaceTests.swift.

Run with the dev venv (transformers 5.x, torch 2.x):

    /work/venv-torch/bin/python scripts/hf_params.py

For every config the model is built as nnflops's importer builds it: decoder-only
families as AutoModelForCausalLM (LlamaForCausalLM, ..., GPT2LMHeadModel,
GPTNeoXForCausalLM), bert as BertModel (with its pooler). Models are instantiated on the
meta device (no memory, no weights) and counted with sum(p.numel() for p in
model.parameters()), which yields a tied parameter once.

Configs whose file name starts with "tiny-" are also run on the CPU (batch 2, seq 16,
eager attention and experts, no_grad) under torch.utils.flop_counter.FlopCounterMode, which counts
matmul-type kernels only (2 FLOPs per multiply-accumulate): nnflops's forward MACs x 2
under the dense attention convention. Their parameter names and element counts are
recorded too, so the test can hold nnflops's names to transformers' module names.
"""

import json
import pathlib
import sys

import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoConfig, AutoModelForCausalLM, BertModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "Tests" / "Fixtures" / "hf" / "configs"
OUT = ROOT / "Tests" / "Fixtures" / "hf" / "params.json"

BATCH = 2
SEQ = 16


def build(config_dict, device):
    config = AutoConfig.for_model(**config_dict)
    with torch.device(device):
        if config.model_type == "bert":
            return BertModel(config)
        return AutoModelForCausalLM.from_config(config)


def forward_flops(config_dict):
    config_dict = dict(config_dict, attn_implementation="eager")
    if config_dict["model_type"] in ("mixtral", "qwen2_moe"):
        # The default experts path (grouped matmuls) is invisible to FlopCounterMode; the
        # eager one loops over the experts with F.linear, which it counts.
        config_dict["experts_implementation"] = "eager"
    torch.manual_seed(0)
    model = build(config_dict, "cpu").eval()
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (BATCH, SEQ))
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(input_ids=ids)
    return counter.get_total_flops()


def main():
    entries = {}
    for path in sorted(CONFIGS.glob("*.json")):
        config_dict = json.loads(path.read_text())
        model = build(config_dict, "meta")
        entry = {
            "class": type(model).__name__,
            "params": sum(p.numel() for p in model.parameters()),
        }
        if path.stem.startswith("tiny-"):
            entry["names"] = {name: p.numel() for name, p in model.named_parameters()}
            entry["batch"] = BATCH
            entry["seq"] = SEQ
            entry["forward_flops"] = forward_flops(config_dict)
        entries[path.name] = entry
        print(f"{path.name:36} {entry['class']:24} {entry['params']:>16,}", file=sys.stderr)
    fixture = {
        "source": "scripts/hf_params.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__.split("+")[0],
        "configs": entries,
    }
    OUT.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
