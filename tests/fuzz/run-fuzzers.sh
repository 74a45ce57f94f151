#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) in build-fuzz/ and runs each for FUZZ_SECONDS (default 30),
# starting from a copy of its corpus in tests/fuzz/corpus/. A crash, leak or timeout fails the run and leaves the
# reproducer in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-30}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DNOTIFY_BUILD_FUZZ=ON \
  -DNOTIFY_BUILD_TESTS=ON -DNOTIFY_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz --target link_frame_fuzz cose_fuzz cms_fuzz -j"$(nproc)"
mkdir -p build-fuzz/artifacts
for target in link_frame_fuzz:link_frame cose_fuzz:cose cms_fuzz:cms; do
  name=${target%%:*}
  corpus=${target##*:}
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$corpus"/* "$work"/
  echo "== $name for ${seconds}s (corpus: $(ls "$work" | wc -l) seeds)"
  ASAN_OPTIONS=detect_leaks=1 "build-fuzz/tests/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/artifacts/"$name"- -print_final_stats=1 "$work" 2>&1 | grep -E "^(#|Done|stat::number_of_executed_units|==|INFO: -max_total)" | tail -4
  rc=${PIPESTATUS[0]}
  rm -rf "$work"
  if [[ $rc -ne 0 ]]; then
    echo "$name FAILED (exit $rc); reproducer in build-fuzz/artifacts/" >&2
    exit 1
  fi
done
