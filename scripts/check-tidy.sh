#!/usr/bin/env bash
# Runs clang-tidy 14 (checks in .clang-tidy, warnings are errors) over the production sources — core, plugins,
# hosts — using the compile_commands.json of a configured build tree (default build/). Exits non-zero on any finding.
#   bash scripts/check-tidy.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
[[ -f "$dir/compile_commands.json" ]] || { echo "check-tidy: $dir/compile_commands.json missing (build first)" >&2; exit 2; }
mapfile -t files < <(git ls-files 'core/*.cpp' 'plugins/*.cpp' 'hosts/*.cpp')
run-clang-tidy-14 -quiet -p "$dir" -j "$(nproc)" "${files[@]/#/$PWD/}" >"$dir/clang-tidy.log" 2>&1 || {
  grep -E "(warning|error):" "$dir/clang-tidy.log" | grep -v "warnings generated" | sort -u | head -50 >&2
  echo "check-tidy: clang-tidy found problems (full log: $dir/clang-tidy.log)" >&2
  exit 1
}
echo "check-tidy: ${#files[@]} files clean"
