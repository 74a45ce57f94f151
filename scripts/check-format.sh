#!/usr/bin/env bash
# Checks that every tracked C++ file is formatted as .clang-format says (clang-format 14, Debian's); exits non-zero
# naming the files that are not. `--fix` formats them in place instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
if [[ "${1:-}" == --fix ]]; then
  clang-format-14 -i "${files[@]}"
  exit 0
fi
bad=$(clang-format-14 --dry-run "${files[@]}" 2>&1 | grep -oE '^[^:]+\.(cpp|hpp|h|cc):' | sort -u | tr -d ':' || true)
if [[ -n "$bad" ]]; then
  echo "check-format: not formatted as .clang-format says (run: bash scripts/check-format.sh --fix):" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
