#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, checks formatting (clang-format 14), builds a release
# tree and runs clang-tidy 14 over the production sources, builds an ASan+UBSan tree, runs every CTest test in both,
# then a short libFuzzer run of each fuzz target. Any finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)

echo "== format"
bash scripts/check-format.sh

echo "== release build"
bash scripts/build.sh build -DNOTIFY_BUILD_BENCH=ON
echo "== clang-tidy"
bash scripts/check-tidy.sh build
echo "== release tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 600

echo "== ASan+UBSan build"
bash scripts/build.sh build-asan -DNOTIFY_SANITIZE=ON -DNOTIFY_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
echo "== ASan+UBSan tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900

if [[ -x tests/fuzz/run-fuzzers.sh ]]; then
  echo "== fuzzers"
  bash tests/fuzz/run-fuzzers.sh
fi
