#!/usr/bin/env bash
# Lint: the rules this project enforces are no force unwraps, no force try, and lines of at
# most 200 characters (.swift-format). The sources are laid out by hand, not by swift-format's
# pretty printer, so the layout findings swift-format always prints alongside its rules
# (AddLines, Indentation, TrailingComma, ...; the configuration cannot switch them off) are
# ignored here: only findings of the enforced categories fail the lint.
set -uo pipefail
cd "$(dirname "$0")/.."

output=$(swift-format lint --configuration .swift-format -r Sources Tests Fuzz Package.swift 2>&1)
status=$?
findings=$(printf '%s\n' "$output" | grep -E '\[(NeverForceUnwrap|NeverUseForceTry|LineLength)\]')
if [ -n "$findings" ]; then
  printf '%s\n' "$findings"
  echo "lint: $(printf '%s\n' "$findings" | wc -l) finding(s) of the enforced rules"
  exit 1
fi
# swift-format itself failing (a file it cannot parse, a bad configuration) is not a finding
# of a layout rule: show it and fail.
if [ "$status" -ne 0 ] && ! printf '%s\n' "$output" | grep -qE '^[^ ]+:[0-9]+:[0-9]+: (warning|error): \['; then
  printf '%s\n' "$output"
  echo "lint: swift-format failed (exit $status)"
  exit 1
fi
echo "lint: no findings of the enforced rules"
