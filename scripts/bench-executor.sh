#!/usr/bin/env bash
# Release-mode benchmark of the reference executor (README, "The reference executor" "Speed").
# Usage: scripts/bench-executor.sh [model] [extra validate args...]
#   scripts/bench-executor.sh resnet50              # the release build users run: -target-cpu native (Package.swift)
#   PORTABLE=1 scripts/bench-executor.sh resnet50   # NNFLOPS_PORTABLE=1: baseline ISA, no FMA, old GEMM loop
#   RUNS=3 scripts/bench-executor.sh resnet50       # repeat (the machine is shared: quote the best run)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-resnet50}"; shift || true
if [[ "${PORTABLE:-0}" == 1 ]]; then
    export NNFLOPS_PORTABLE=1; scratch=.build-exec-portable
else
    scratch=.build-exec-release
fi
swift build -c release --scratch-path "$scratch" >/dev/null
bin="$scratch/release/nnflops"
for _ in $(seq "${RUNS:-1}"); do
    /usr/bin/time -f "wall %e s, max RSS %M KiB" "$bin" validate "$model" --batch 1 --peak --mismatches-only "$@"
done
