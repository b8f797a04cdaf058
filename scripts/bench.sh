#!/usr/bin/env bash
# Speed benchmark (README, "Speed"): release-build wall time of `nnflops` on every zoo
# model and on generated specs of 25k, 50k and 100k operators (time must grow linearly),
# then, where valgrind is installed, instructions executed under callgrind (repeatable
# on a loaded machine, unlike wall time) for start-up, resnet50 to JSON and a
# 10,000-operator chain.
# Usage: bash scripts/bench.sh   (builds the release binary, --static-swift-stdlib, if needed)
#        BENCH_ONLY=instructions bash scripts/bench.sh   (the callgrind counts alone, from the
#        portable build only)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
bin=.build/release/nnflops

# Best of N runs, in milliseconds.
best_ms() {
  local best=999999999
  for _ in 1 2 3 4 5; do
    local start end
    start=$(date +%s%N)
    "$@" > /dev/null || { echo "failed: $*" >&2; exit 1; }
    end=$(date +%s%N)
    local ms=$(( (end - start) / 1000000 ))
    (( ms < best )) && best=$ms
  done
  echo "$best"
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# Instructions executed by one command under callgrind (its "Collected" total). Swift
# seeds its hashing per process, so a dictionary's probes, and the count, vary by a few
# percent from run to run; SWIFT_DETERMINISTIC_HASHING=1 fixes the seed.
instructions() {
  SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" "$@" > /dev/null 2> "$dir/callgrind.err" \
    || { cat "$dir/callgrind.err" >&2; echo "failed under callgrind: $*" >&2; exit 1; }
  sed -n 's/^==[0-9]*== Collected : //p' "$dir/callgrind.err"
}

# repeat N: x = relu(x), one operator per iteration.
relu_chain() {
  printf 'model chain\ninput x: [8, 64]\nrepeat %d:\n  x = relu(x)\n' "$1" > "$dir/chain$1.spec"
  echo "$dir/chain$1.spec"
}

instruction_counts() {
  if ! command -v valgrind > /dev/null; then
    echo "(valgrind not installed: no instruction counts)"
    return
  fi
  # Valgrind does not decode AVX-512, which the default release build (-target-cpu
  # native, Package.swift) may contain: the counts are of the portable build of the same
  # sources, in its own build directory.
  NNFLOPS_PORTABLE=1 swift build -c release --static-swift-stdlib --scratch-path .build/portable > /dev/null
  local portable=.build/portable/release/nnflops chain
  chain=$(relu_chain 10000)
  echo "instructions under callgrind (portable build)         count   goal"
  printf '%-40s %13s %6s\n' "nnflops --version" "$(instructions "$portable" --version)" ""
  printf '%-40s %13s %6s\n' "nnflops resnet50 --format json" "$(instructions "$portable" resnet50 --format json)" "<= 10M"
  printf '%-40s %13s %6s\n' "10,000-op relu chain --format json" "$(instructions "$portable" "$chain" --format json)" "<= 50M"
  printf '%-40s %13s %6s\n' "10,000-op relu chain (table)" "$(instructions "$portable" "$chain")" ""
  printf '%-40s %13s %6s\n' "10,000-op chain --memory --format json" "$(instructions "$portable" "$chain" --memory --format json)" ""
}

if [ "${BENCH_ONLY:-}" = instructions ]; then
  instruction_counts
  exit 0
fi

# The wall times are of the build users make (the counts above build their own, portable
# one): built only here, so the counts alone cost no second release build.
swift build -c release --static-swift-stdlib > /dev/null

echo "zoo model            wall ms (best of 5, table output)"
for spec in specs/*.spec; do
  name=$(basename "$spec" .spec)
  printf '%-20s %6s\n' "$name" "$(best_ms "$bin" "$name")"
done

echo
echo "generated chain   operators   wall ms   ms per 1k ops"
for ops in 25000 50000 100000; do
  spec="$dir/chain$ops.spec"
  {
    echo "model chain$ops"
    echo "input x: [8, 64]"
    for ((i = 0; i < ops / 2; i++)); do echo "x = relu(linear(x, 64))"; done
  } > "$spec"
  ms=$(best_ms "$bin" "$spec" --format json)
  printf '%-17s %9d %9d %14s\n' "chain" "$ops" "$ms" "$(awk "BEGIN { printf \"%.2f\", $ms * 1000 / $ops }")"
done

echo
chain=$(relu_chain 100000)
printf '%-40s %6s\n' "100,000-op relu chain --format json, ms" "$(best_ms "$bin" "$chain" --format json)"
echo
instruction_counts
