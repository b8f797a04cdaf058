#!/usr/bin/env python3
"""Hold nnflops's per-layer saved bytes against the fixtures of scripts/measure_saved.py.

    python3 scripts/compare_saved.py                     # every Tests/Fixtures/saved/*.json
    python3 scripts/compare_saved.py resnet50-fp32 gpt2-amp-bf16 --tensors

Runs `.build/debug/nnflops MODEL <fixture's nnflops_args> --optimizer sgd --format json`
(build first: swift build), maps nnflops layer names onto the PyTorch modules that ran,
and prints, per model, every module whose bytes differ and the totals.

Name mapping (nnflops names layers like PyTorch modules, but functional code inside a
module's forward has no module of its own in PyTorch):
  1. a component `X_k` (k a number) whose sibling `X` ran as a module and which did not run
     itself is `X`: one module called several times (torchvision's Bottleneck reuses `relu`);
  2. the layer then belongs to its longest dotted prefix that ran as a module (Bottleneck's
     `layer1.0.add` -> `layer1.0`, GPT-2's `h.0.attn.attention` -> `h.0.attn`); the root
     module is "";
  3. a name that only matches after a prefix the spec drops (`transformer.` for GPT-2) takes it.
Only the standard library is used; no torch needed.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "debug", "nnflops")
PREFIXES = ["transformer.", "model."]


def longest_module(name, called):
    parts = name.split(".")
    for i, part in enumerate(parts):
        match = re.match(r"^(.*)_(\d+)$", part)
        if match:
            parent = ".".join(parts[:i])
            here = (parent + "." if parent else "") + part
            base = (parent + "." if parent else "") + match.group(1)
            if here not in called and base in called:
                parts[i] = match.group(1)
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in called:
            return candidate, n
    return "", 0


def map_name(name, called):
    best, depth = longest_module(name, called)
    for prefix in PREFIXES:
        mapped, d = longest_module(prefix + name, called)
        if d > depth + 1 or (depth == 0 and d > 0):
            best, depth = mapped, d
    return best


def run_nnflops(model, args):
    cmd = [BINARY, model] + args + ["--optimizer", "sgd", "--format", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        first = (out.stderr.strip().splitlines() or [""])[0]
        raise SystemExit("nnflops exit %d: %s" % (out.returncode, first))
    return json.loads(out.stdout)


def compare(fixture, variant_data, show_tensors, hf_spec_dir=None):
    model = fixture["model"]
    args = variant_data.get("nnflops_args", fixture["nnflops_args"])
    target = model
    if model.startswith("hf-"):
        target = fixture["config_file"]
        if hf_spec_dir:
            target = os.path.join(hf_spec_dir, model + ".spec")
    report = run_nnflops(target, args)
    called = set(variant_data["modules_called"])
    ours = {}
    layers_of = {}
    for layer in report["layers"]:
        target = map_name(layer["name"], called)
        ours[target] = ours.get(target, 0) + layer.get("saved_bytes", 0)
        if layer.get("saved_bytes", 0):
            layers_of.setdefault(target, []).append((layer["name"], layer["saved_bytes"]))
    theirs = {m["module"]: m for m in variant_data["modules"]}
    rows = []
    for name in list(theirs) + [n for n in ours if n not in theirs]:
        a = ours.get(name, 0)
        b = theirs.get(name, {"bytes": 0})["bytes"]
        if a != b:
            rows.append((name, a, b))
    memory = report["totals"]["memory"]
    totals = variant_data["totals"]
    title = "%s %s" % (model, variant_data.get("variant", ""))
    if "attn_implementation" in variant_data:
        title += " attn=%s" % variant_data["attn_implementation"]
    print("### %s" % title)
    print("| module | nnflops | PyTorch | difference |")
    print("|---|---:|---:|---:|")
    for name, a, b in rows:
        print("| %s | %d | %d | %+d |" % (name or "(root)", a, b, a - b))
        if show_tensors:
            for t in theirs.get(name, {"tensors": []})["tensors"]:
                print("|  torch: %s.%s %s %s | | %d | |" % (
                    t["node"], t["attr"], t["shape"], t["dtype"], t["bytes"]))
            for lname, lbytes in layers_of.get(name, []):
                print("|  nnflops: %s | %d | | |" % (lname, lbytes))
    ours_saved = sum(ours.values())
    print("| **saved (sum of modules)** | %d | %d | %+d |" % (
        ours_saved, totals["saved_bytes"], ours_saved - totals["saved_bytes"]))
    print("| **live after forward** | %d | %d | %+d |" % (
        memory["saved_activations_bytes"], totals["live_after_forward_bytes"],
        memory["saved_activations_bytes"] - totals["live_after_forward_bytes"]))
    print()
    return len(rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("fixtures", nargs="*", help="fixture names (default: all)")
    parser.add_argument("--tensors", action="store_true", help="list the tensors of each row")
    parser.add_argument("--hf-spec-dir", help="read hf-<family>.spec from DIR instead of giving "
                        "nnflops the config.json (the specs HuggingFaceImporter.spec writes)")
    args = parser.parse_args()
    paths = sorted(glob.glob(os.path.join(ROOT, "Tests", "Fixtures", "saved", "*.json")))
    if args.fixtures:
        paths = [p for p in paths if os.path.basename(p)[:-5] in args.fixtures]
    for path in paths:
        fixture = json.load(open(path))
        if "variants" in fixture:
            for attn, data in fixture["variants"].items():
                try:
                    compare(fixture, data, args.tensors, args.hf_spec_dir)
                except SystemExit as e:
                    print("### %s %s: not compared (%s)\n" % (fixture["model"], attn, e))
        else:
            compare(fixture, fixture, args.tensors)


if __name__ == "__main__":
    main()
