#!/usr/bin/env bash
# Release-mode benchmark of the reference executor (docs/executor.md "Speed").
# Usage: scripts/bench-executor.sh [model] [extra validate args...]
#   NATIVE=1 scripts/bench-executor.sh resnet50   # build for this CPU (AVX2/AVX-512 + FMA)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-resnet50}"; shift || true
if [[ "${NATIVE:-0}" == 1 ]]; then
    scratch=.build-exec-native; flags=(-Xswiftc -target-cpu -Xswiftc native)
else
    scratch=.build-exec-release; flags=()
fi
swift build -c release --scratch-path "$scratch" "${flags[@]}" >/dev/null
bin="$scratch/release/nnflops"
/usr/bin/time -f "wall %e s, max RSS %M KiB" "$bin" validate "$model" --batch 1 --peak --mismatches-only "$@"
