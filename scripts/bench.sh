#!/usr/bin/env bash
# Speed benchmark: release-build wall time of `nnflops` on every zoo model and on
# generated specs of 25k, 50k and 100k operators (time must grow linearly).
# Usage: bash scripts/bench.sh   (builds the release binary if needed)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
bin=.build/release/nnflops
swift build -c release > /dev/null

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

echo "zoo model            wall ms (best of 5, table output)"
for spec in specs/*.spec; do
  name=$(basename "$spec" .spec)
  printf '%-20s %6s\n' "$name" "$(best_ms "$bin" "$name")"
done

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
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
