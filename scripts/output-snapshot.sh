#!/usr/bin/env bash
# Writes the output of a binary over the whole zoo and the test fixtures, one file per
# command line (stdout, stderr and exit status), so that two binaries can be compared
# byte for byte: a speed change must not change one byte of output.
# Usage: bash scripts/output-snapshot.sh BINARY OUTDIR
#        diff -r OUTDIR-before OUTDIR-after
# Covers: analyze (table, json, csv, markdown, depth, memory, precision and checkpoint
# policies, inference, batchnorm folding), roofline (table, json, svg), fit, check, zoo,
# gpus, plan, the ONNX and Hugging Face fixtures, a 10,000-operator chain, and bad input.
set -uo pipefail
bin=$(realpath "$1")
mkdir -p "$2"
out=$(realpath "$2")
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

n=0
record() {
  # record NAME ARGS...: runs the binary, keeps stdout, stderr and the exit status.
  local name=$1; shift
  n=$((n + 1))
  (cd "$work" && "$bin" "$@" > "$work/stdout" 2> "$work/stderr"; echo "exit $?" > "$work/status")
  { cat "$work/status"; echo "--- stdout"; cat "$work/stdout"; echo "--- stderr"; cat "$work/stderr"; } > "$out/$name"
}

for spec in specs/*.spec; do
  m=$(basename "$spec" .spec)
  record "$m.table" "$m"
  record "$m.json" "$m" --format json
  record "$m.csv" "$m" --format csv
  record "$m.markdown" "$m" --format markdown
  record "$m.depth1" "$m" --depth 1
  record "$m.memory" "$m" --memory
  record "$m.memory.json" "$m" --memory --format json
  record "$m.bf16-sqrt.json" "$m" --precision amp-bf16 --checkpoint sqrt --optimizer adamw --grad-clip 1 --format json
  record "$m.fp16-segments" "$m" --precision amp-fp16 --checkpoint segments=4 --micro-batch 1 --memory
  record "$m.inference" "$m" --inference --fold-bn --memory
  record "$m.inference.json" "$m" --inference --weight-precision bf16 --format json
  record "$m.roofline" roofline "$m" --gpu h100-sxm
  record "$m.roofline.json" roofline "$m" --gpu a100-sxm-80gb --precision amp-bf16 --format json
  record "$m.roofline-run" roofline "$m" --gpu v100-sxm2 --precision amp-fp16 --samples 1.28M --epochs 2 --gpus 8
  record "$m.roofline.svg" roofline "$m" --gpu h100-sxm --svg "$work/$m.svg"
  cp "$work/$m.svg" "$out/$m.svg" 2> /dev/null
  record "$m.fit" fit "$m" --gpu h100-sxm
  record "$m.fit.json" fit "$m" --memory 24GiB --optimizer sgd --format json
  record "$m.check.json" check "$m" --max-params 1e8 --format json
  record "$m.check" check "$m" --max-params 1e8 --max-peak-memory 16GiB --max-train-flops 1e15
done
record zoo zoo
record zoo.json zoo --format json
record gpus gpus
record gpus.json gpus --format json
record plan plan --compute 1e21
record plan.json plan --compute 1e21 --gpu h100-sxm --gpus 64 --format json
record plan.emit plan --compute 1e20 --emit-spec "$work/emitted.spec"
cp "$work/emitted.spec" "$out/plan.emitted.spec" 2> /dev/null
for f in Tests/Fixtures/onnx/hand/*.onnx Tests/Fixtures/onnx/torchvision/*.onnx; do
  name=onnx.$(basename "$f" .onnx)
  record "$name" "$(realpath "$f")"
  record "$name.json" "$(realpath "$f")" --memory --format json
done
for f in Tests/Fixtures/hf/configs/*.json; do
  name=hf.$(basename "$f" .json)
  record "$name" "$(realpath "$f")"
  record "$name.json" "$(realpath "$f")" --memory --format json
done
{ echo "model chain"; echo "input x: [8, 64]"; echo "repeat 10000:"; echo "  x = relu(x)"; } > "$work/chain.spec"
record chain10k.json "$work/chain.spec" --format json --memory
record chain10k.roofline.json roofline "$work/chain.spec" --gpu h100-sxm --format json
printf 'model broken\ninput x: [1, 4]\ny = lineer(x, 2)\n' > "$work/broken.spec"
record broken "$work/broken.spec"
record bad-flag mlp --batch x
record bad-gpu roofline mlp --gpu nope
echo "$n command lines recorded in $out"
