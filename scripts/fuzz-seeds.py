#!/usr/bin/env python3
"""Writes the seed inputs of the libFuzzer targets (README, "Fuzzing") into
Fuzz/corpus/TARGET/, one file each, named after where it comes from:

  spec      the zoo (specs/*.spec), the README's spec examples, the spec reproducers of
            the fuzz runs so far (issue tracker: traps, stack overflows, hangs, memory
            blow-ups)
  onnx      the hand-made ONNX fixtures and the small torchvision exports
  hf        every Hugging Face config fixture
  hardware  the README's hardware file, the test suite's and hostile figures
  cli       every command line of the README and of CLIExperienceTests, and the flag
            reproducers (one word per line)
  and, for each, what the libFuzzer runs found: Fuzz/reproducers/TARGET/* (each one a
  regression test in Tests/NNFlopsTests/FuzzRegressionTests.swift)

Then `FUZZ_MERGE=1 bash scripts/fuzz.sh TARGET 0 -runs=0` keeps only the seeds that add
coverage (libFuzzer -merge=1, file names become content hashes). Usage, from the
repository root: python3 scripts/fuzz-seeds.py
"""
import glob
import os
import re
import shlex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)


def write(target, name, data):
    directory = os.path.join("Fuzz", "corpus", target)
    os.makedirs(directory, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name)[:80]
    with open(os.path.join(directory, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


readme = open("README.md", encoding="utf-8").read()
parts = readme.split("```")
blocks = [parts[i] for i in range(1, len(parts), 2)]

# spec
for path in sorted(glob.glob("specs/*.spec")):
    write("spec", os.path.basename(path), open(path, "rb").read())
for n, block in enumerate(blocks):
    body = block.split("\n", 1)[1] if "\n" in block else ""
    if re.search(r"^\s*(input|model|param|block)\b", body, re.M) and not block.startswith(("json", "swift", "sh")):
        write("spec", f"readme-{n}.spec", body)
spec_reproducers = {
    "default-recursion": "input x: [1, 4]\nblock f(a = f()):\n    return a\nq = f()\ny = relu(x)\n",
    "exponential-calls": "input x: [1, 4]\nblock f(n):\n    if n == 0:\n        return 1\n    return f(n - 1) + f(n - 1)\nq = f(40)\ny = relu(x)\n",
    "list-doubling": "input x: [1, 4]\nxs = [1]\nrepeat 40:\n    xs = xs + xs\ny = relu(x)\n",
    "string-doubling": "input x: [1, 4]\ns = \"ab\"\nrepeat 40:\n    s = s + s\ny = relu(x)\n",
    "long-loop": "input x: [8, 64]\nrepeat 4999999:\n    x = relu(x)\n",
    "huge-repeat": "input x: [8, 64]\nrepeat 10**12:\n    x = relu(x)\n",
    "huge-budget": "input x: [1, 4]\ny = linear(x, 4)\nbudget peak_memory <= 1e308\nbudget params <= 1e19\n",
    "flat-chain": "input x: [1, 4]\ny = " + " + ".join(["x"] * 101) + "\n",
    "len-of-tensor": "input x: [2, 3]\nn = len(x)\ny = linear(x, n)\n",
    "huge-input": "input x: [1, 3, 100000, 100000]\ny = conv2d(x, 8, kernel = 3)\n",
    "cr-line-endings": "model cr\rinput x: [1, 4]\ry = relu(x)\r",
}
for name, text in spec_reproducers.items():
    write("spec", f"reproducer-{name}.spec", text)

# onnx
for path in sorted(glob.glob("Tests/Fixtures/onnx/hand/*.onnx")):
    write("onnx", os.path.basename(path), open(path, "rb").read())
for path in sorted(glob.glob("Tests/Fixtures/onnx/torchvision/*.onnx")):
    if os.path.getsize(path) <= 64 * 1024:
        write("onnx", os.path.basename(path), open(path, "rb").read())

# hf
for path in sorted(glob.glob("Tests/Fixtures/hf/configs/*.json")):
    write("hf", os.path.basename(path), open(path, "rb").read())

# hardware
for n, block in enumerate(blocks):
    if block.startswith("json") and '"tflops"' in block:
        write("hardware", f"readme-{n}.json", block[len("json"):])
base = '"id": "mine", "name": "Mine", "memory_gb": 24, "bandwidth_gb_s": 1000'
hardware = {
    "minimal": '{' + base + ', "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}',
    "every-key": '{"id": "rtx-4090", "name": "NVIDIA GeForce RTX 4090 24GB", "source": "whitepaper", "form_factor": "PCIe", '
                 '"memory_type": "GDDR6X", "memory_gb": 24, "reported_memory_bytes": 25393692672, "bandwidth_gb_s": 1008, '
                 '"tflops": {"fp64": 1.29, "fp64_tensor": null, "fp32": 82.6, "tf32": 82.6, "fp16": 165.2, "bf16": 165.2, '
                 '"fp8": 330.3, "int8": 660.6, "fp16_non_tensor": 82.6}}',
    "memory-1e308": '{"id": "mine", "name": "Mine", "memory_gb": 1e308, "bandwidth_gb_s": 1000, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}',
    "peak-1e300": '{' + base + ', "tflops": {"fp64": 1, "fp32": 1e300, "fp16": 160}}',
    "bandwidth-1e20": '{"id": "mine", "name": "Mine", "memory_gb": 24, "bandwidth_gb_s": 1e20, "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}',
    "tiny-figures": '{"id": "mine", "name": "Mine", "memory_gb": 1e-300, "bandwidth_gb_s": 5e-324, "tflops": {"fp64": 1e-300, "fp32": 1e-300, "fp16": 1e-300}}',
    "long-source": '{' + base + ', "source": "' + "datasheet " * 2000 + '", "tflops": {"fp64": 1, "fp32": 80, "fp16": 160}}',
    "typo": '{' + base + ', "bandwith_gb_s": 1, "tflops": {"fp64": 1, "fp32": 10, "fp16": 20, "bf61": 3}}',
    "wrong-types": '{"id": 7, "name": true, "memory_gb": "24", "bandwidth_gb_s": [1], "tflops": []}',
    "builtin-id": '{"id": "h100-sxm", "name": "X", "memory_gb": 1, "bandwidth_gb_s": 1, "tflops": {}}',
}
for name, text in hardware.items():
    write("hardware", name + ".json", text)

# cli: one word per line
commands = set()
for n, block in enumerate(blocks):
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        if line.startswith("nnflops "):
            commands.add(line.split("#")[0].strip())
for span in re.findall(r"`(nnflops [^`]+)`", readme):
    commands.add(span)
tests = open("Tests/NNFlopsTests/CLIExperienceTests.swift", encoding="utf-8").read()
for words in re.findall(r"\[((?:\"[^\"\n]*\"(?:, )?)+)\]", tests):
    items = re.findall(r"\"([^\"\n]*)\"", words)
    if items and not any("\\(" in item for item in items):
        commands.add("nnflops " + " ".join(shlex.quote(i) for i in items))
commands |= {
    "nnflops check mlp --max-params 1e19",
    "nnflops plan --compute 1e21 --vocab 9223372036854775807 --gpu h100-sxm",
    "nnflops plan --compute 1e21 --seq 9223372036854775807 --gpu h100-sxm",
    "nnflops plan --compute 1e21 --micro-batch 9223372036854775807 --gpu h100-sxm",
    "nnflops validate mlp --set batch=16GiB",
    "nnflops mlp --batch -1",
    "nnflops mlp --batch 0x10",
    "nnflops fit mlp --memory 1e30",
    "nnflops roofline mlp --gpu h100-sxm --samples 1e300 --epochs 1e300 --gpus 9223372036854775807",
    "nnflops rooflin resnet50 --gpu h100-sxm",
    "nnflops help rooflin",
    "nnflops mlp --set batch=9223372036854775807",
    "nnflops mlp --micro-batch 3 --batch 7",
}
for n, command in enumerate(sorted(commands)):
    try:
        words = shlex.split(command)[1:]
    except ValueError:
        continue
    if any("<" in w or "SPEC" in w for w in words):
        continue
    write("cli", f"{n:03d}-" + "-".join(words)[:60], "\n".join(words) + "\n")
# what the fuzzers found (each also a regression test: FuzzRegressionTests)
for path in sorted(glob.glob("Fuzz/reproducers/*/*")):
    write(os.path.basename(os.path.dirname(path)), "found-" + os.path.basename(path), open(path, "rb").read())
for target in ("spec", "onnx", "hf", "hardware", "cli"):
    print(target, len(os.listdir(os.path.join("Fuzz", "corpus", target))), "seeds")
