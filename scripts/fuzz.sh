#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer (README, "Fuzzing").
#
# Usage: bash scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#        bash scripts/fuzz.sh all SECONDS       (each target in turn)
#   TARGET  spec      the spec language: lexer, parser, elaborator, then every analysis
#                     and renderer of the graph (Fuzz/Spec.swift, Fuzz/Downstream.swift)
#           onnx      the ONNX reader (Import/ONNX), then the same downstream
#           hf        the Hugging Face config.json reader (Import/HuggingFace), the same
#           hardware  the hardware-file reader (Hardware/UserProfiles.swift), roofline
#           cli       the command line: every subcommand's parsing, cheap commands run
#   SECONDS  how long to fuzz (libFuzzer's -max_total_time); 0: no time limit (give
#            -runs=N instead, e.g. `bash scripts/fuzz.sh spec 0 -runs=1000000`)
#
# Each target is built under .build/fuzz/ from the sources with
# `swiftc -sanitize=fuzzer,address`, outside `swift build`'s graph (libFuzzer brings its
# own main). The library is compiled once for all targets and again only when a source
# changes. A run reads the committed seeds in Fuzz/corpus/TARGET and writes what it
# learns to .build/fuzz/corpus/TARGET; a crash, trap, sanitizer report, timeout (-timeout,
# 5 s) or memory blow-up (-rss_limit_mb, 2 GiB) stops it with the reproducer under
# .build/fuzz/findings/TARGET and exit status 1. FUZZ_MERGE=1 afterwards minimises the
# committed seeds (-merge=1: only inputs that add coverage are kept).
# Environment: FUZZ_JOBS (parallel jobs, default 1: one process), FUZZ_OPT (swiftc
# optimisation, default -O).
set -euo pipefail
# The whole script is one group, read before it runs: bash reads a script as it goes, so
# editing it during an hour-long run would otherwise change what the run does next.
{
cd "$(dirname "$0")/.."

targets=(spec onnx hf hardware cli)
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...] (TARGET: ${targets[*]} or all)}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]}
shift 2
if [ "$target" = all ]; then
  # Every target runs even after one finds something; then exit 1 if any did.
  failed=()
  for t in "${targets[@]}"; do bash "$0" "$t" "$seconds" "$@" || failed+=("$t"); done
  [ ${#failed[@]} -eq 0 ] || { echo "== fuzz: findings (or a failed build) in: ${failed[*]}" >&2; exit 1; }
  exit 0
fi
case " ${targets[*]} " in *" $target "*) ;; *) echo "unknown target '$target'; targets: ${targets[*]}" >&2; exit 2 ;; esac

build=.build/fuzz
mkdir -p "$build"
opt=${FUZZ_OPT:--O}
flags=(-sanitize=fuzzer,address -parse-as-library -swift-version 6 "$opt" -g -num-threads 2)

# Rebuilds $1 (a stamp file) when the hash of the files listed on stdin, and the flags,
# changed; the command follows the stamp.
stale() {
  local stamp=$1 hash
  hash=$( { printf '%s\n' "${flags[@]}"; xargs -d '\n' cat; } | sha1sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then return 1; fi
  echo "$hash" > "$stamp.new"
  return 0
}
stamped() { mv "$1.new" "$1"; }

# The zoo, embedded as `swift build` embeds it (Sources/ZooEmbedder).
if ls specs/*.spec Sources/ZooEmbedder/*.swift | stale "$build/zoo.stamp"; then
  echo "== fuzz: embedding the zoo"
  swiftc -O Sources/ZooEmbedder/*.swift -o "$build/ZooEmbedder"
  "$build/ZooEmbedder" "$build/EmbeddedZoo.swift" specs/*.spec
  stamped "$build/zoo.stamp"
fi

# The library, with coverage and AddressSanitizer, for every target.
library_sources=$(find Sources/NNFlops -name '*.swift' | sort)
if { echo "$library_sources"; echo "$build/EmbeddedZoo.swift"; } | stale "$build/NNFlops.stamp"; then
  echo "== fuzz: compiling the library (swiftc ${flags[*]})"
  # shellcheck disable=SC2086
  swiftc "${flags[@]}" -module-name NNFlops -enable-testing -wmo -emit-library -static \
    -emit-module -emit-module-path "$build/NNFlops.swiftmodule" -o "$build/libNNFlops.a" \
    $library_sources "$build/EmbeddedZoo.swift"
  stamped "$build/NNFlops.stamp"
fi

link=(-I "$build" -L "$build" -lNNFlops)
if [ "$target" = cli ]; then
  # ArgumentParser and the CLI's own sources; the CLI's @main is renamed, as swift build
  # does for test bundles, so that libFuzzer's main is the program's.
  [ -d .build/checkouts/swift-argument-parser ] || swift package resolve > /dev/null
  parser=.build/checkouts/swift-argument-parser/Sources
  if find "$parser/ArgumentParserToolInfo" "$parser/ArgumentParser" -name '*.swift' | sort | stale "$build/ArgumentParser.stamp"; then
    echo "== fuzz: compiling ArgumentParser"
    # One path per line: ArgumentParser's folders have spaces in their names ("Parsable Properties").
    mapfile -t toolinfo < <(find "$parser/ArgumentParserToolInfo" -name '*.swift' | sort)
    mapfile -t argparser < <(find "$parser/ArgumentParser" -name '*.swift' | sort)
    swiftc "${flags[@]}" -module-name ArgumentParserToolInfo -wmo -emit-library -static \
      -emit-module -emit-module-path "$build/ArgumentParserToolInfo.swiftmodule" -o "$build/libArgumentParserToolInfo.a" \
      "${toolinfo[@]}"
    swiftc "${flags[@]}" -module-name ArgumentParser -I "$build" -wmo -emit-library -static \
      -emit-module -emit-module-path "$build/ArgumentParser.swiftmodule" -o "$build/libArgumentParser.a" \
      "${argparser[@]}"
    stamped "$build/ArgumentParser.stamp"
  fi
  sources=(Sources/nnflops/*.swift Fuzz/CLI.swift)
  link+=(-lArgumentParser -lArgumentParserToolInfo -module-name nnflops -Xfrontend -entry-point-function-name -Xfrontend nnflops_main)
else
  case $target in
    spec) sources=(Fuzz/Spec.swift Fuzz/Downstream.swift) ;;
    onnx) sources=(Fuzz/ONNX.swift Fuzz/Downstream.swift) ;;
    hf) sources=(Fuzz/HuggingFace.swift Fuzz/Downstream.swift) ;;
    hardware) sources=(Fuzz/Hardware.swift) ;;
  esac
  link+=(-module-name "fuzz_$target")
fi
if { printf '%s\n' "${sources[@]}"; echo "$build/libNNFlops.a"; [ "$target" != cli ] || echo "$build/libArgumentParser.a"; } \
    | stale "$build/$target.stamp" || [ ! -x "$build/$target" ]; then
  echo "== fuzz: linking $target"
  swiftc "${flags[@]}" "${link[@]}" "${sources[@]}" -o "$build/$target"
  [ -f "$build/$target.stamp.new" ] && stamped "$build/$target.stamp"
fi

# Run: the committed seeds are read, new inputs are written to the work corpus.
corpus=$build/corpus/$target
findings=$build/findings/$target
mkdir -p "$corpus" "$findings" "$build/run/$target"
time_limit=()
[ "$seconds" -gt 0 ] && time_limit=(-max_total_time="$seconds")
dictionary=()
[ -f "Fuzz/$target.dict" ] && dictionary=(-dict="$(realpath "Fuzz/$target.dict")")
# The commands print as they run: their standard output and error are closed (libFuzzer
# keeps its own reports on a copy of standard error).
quiet=()
[ "$target" = cli ] && quiet=(-close_fd_mask=3)
# LeakSanitizer is off (per input and at exit): Swift stores enum tags in the spare bits of pointers, so objects
# reachable only through such a pointer (a static operator signature, built once on
# first use) look leaked. Memory blow-ups are caught by -rss_limit_mb / -malloc_limit_mb.
quiet+=(-detect_leaks=0)
# ASan's use-after-return detection moves locals to a fake stack on the heap; the
# elaborator's stack guard (Sources/NNFlops/Spec/StackGuard.swift) measures its depth by
# the addresses of locals on its own thread's stack, so with it every spec read as "nests
# too deeply" (and the targets' own setup, which elaborates mlp, trapped).
export ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
jobs=()
[ "${FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
echo "== fuzz: $target for ${seconds}s"
touch "$build/run/$target.started"
set +e
# The run directory is empty: the cli target runs commands that may read files named by
# relative paths, and libFuzzer writes its reproducers where -artifact_prefix says.
(cd "$build/run/$target" && "$OLDPWD/$build/$target" "${jobs[@]}" "${quiet[@]}" \
   -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=5 -print_final_stats=1 \
   -artifact_prefix="$OLDPWD/$findings/" "${dictionary[@]}" "${time_limit[@]}" "$@" \
   "$OLDPWD/$corpus" "$OLDPWD/Fuzz/corpus/$target")
status=$?
set -e
if [ "$status" -ne 0 ]; then
  # The reproducers, printed so that a finding in a CI log can be replayed without the
  # machine it ran on: `base64 -d > FILE`, then the command printed.
  find "$findings" -type f -newer "$build/run/$target.started" | while read -r reproducer; do
    echo "== fuzz: $target finding $reproducer ($(wc -c < "$reproducer") bytes), base64:"
    head -c 65536 "$reproducer" | base64
    echo "== fuzz: replay it with: ASAN_OPTIONS=$ASAN_OPTIONS $build/$target $reproducer"
  done
fi
if [ "${FUZZ_MERGE:-0}" = 1 ]; then
  echo "== fuzz: minimising Fuzz/corpus/$target"
  merged=$build/merged/$target
  rm -rf "$merged" && mkdir -p "$merged"
  (cd "$build/run/$target" && "$OLDPWD/$build/$target" -merge=1 -rss_limit_mb=2048 -timeout=5 \
     "$OLDPWD/$merged" "$OLDPWD/Fuzz/corpus/$target" "$OLDPWD/$corpus")
  rm -rf "Fuzz/corpus/$target" && mv "$merged" "Fuzz/corpus/$target"
fi
exit $status
}
