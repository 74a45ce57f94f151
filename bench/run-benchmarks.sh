#!/usr/bin/env bash
# Runs the benchmarks in build/ and prints each result as a ratio against the baseline measured in the same run,
# plus the enclave host's RSS at idle. Usage: bench/run-benchmarks.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# First the path users get: ingress → queue → dispatcher → link → enclave → Braze plugin → fake Braze, against the
# ceiling Braze and the pool allow.
if [[ -x "$build/bench/real-path-load" ]]; then
  NOTIFY_PLUGIN_PATH="$build/plugins" "$build/bench/real-path-load" --notifications 10000 --latency-ms 50,200
fi

"$build/bench/bench_link" --benchmark_min_time=1 --benchmark_format=json >"$out/link.json" 2>/dev/null
python3 - "$out/link.json" <<'PY'
import json, sys
runs = {b["name"].split("/")[0]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
def us(name): return runs[name]["real_time"] / 1000.0 if runs[name]["time_unit"] == "ns" else runs[name]["real_time"]
def rate(name): return runs[name]["items_per_second"]
print("link round trip, one ~300-byte notification:")
print(f"  raw TCP ping-pong (300 B)   {us('BM_RawPingPong'):8.1f} us")
print(f"  link deliver round trip     {us('BM_LinkRoundTrip'):8.1f} us   ratio {us('BM_LinkRoundTrip')/us('BM_RawPingPong'):.2f}x raw (aim <= 1.3x)")
print("pipelined on one connection:")
print(f"  raw one-way stream (300 B)  {rate('BM_RawStream'):12,.0f} msg/s")
print(f"  link, 32 callers, 1/frame   {rate('BM_LinkPipelined'):12,.0f} notifications/s   ratio {rate('BM_LinkPipelined')/rate('BM_RawStream'):.3f} of raw (aim >= 0.5)")
print(f"  link, 8 callers, 50/frame   {rate('BM_LinkPipelinedBatch50'):12,.0f} notifications/s   ratio {rate('BM_LinkPipelinedBatch50')/rate('BM_RawStream'):.3f} of raw")
PY

# Idle RSS of an enclave host serving the link with the log provider.
cfg="$out/enclave.yaml"
cat >"$cfg" <<YAML
node: bench-enclave
providers: [{plugin: log, config: {output: /dev/null}}]
serve: {transport: tcp, listen: "127.0.0.1:0"}
YAML
NOTIFY_PLUGIN_PATH="$build/plugins" "$build/hosts/notify-host/notify-host" --config "$cfg" >"$out/enclave.log" 2>&1 &
pid=$!
sleep 2
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
kill "$pid"; wait "$pid" 2>/dev/null || true
echo "enclave host RSS at idle: $((rss / 1024)) MiB ($rss KiB)"

# The enclave and the Braze plugin alone (the link client posts straight to the enclave: no ingress, no queue).
if [[ -x "$build/bench/braze-load" ]]; then
  NOTIFY_PLUGIN_PATH="$build/plugins" "$build/bench/braze-load" --seconds 5
fi

# Parent ingress per queue backend, against the same HTTP service storing nothing.
if [[ -x "$build/bench/ingress-load" ]]; then
  NOTIFY_PLUGIN_PATH="$build/plugins" "$build/bench/ingress-load" --seconds 3 --clients 8 --per-request 1
  NOTIFY_PLUGIN_PATH="$build/plugins" "$build/bench/ingress-load" --seconds 3 --clients 8 --per-request 50
fi
