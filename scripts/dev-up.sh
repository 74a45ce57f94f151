#!/usr/bin/env bash
# The dev topology on one machine: installs what is missing, builds, then runs the enclave host and the parent host
# over TCP on 127.0.0.1, exactly as the seed's "Testing Without Enclave" — but through the plugin framework.
# The parent's demo sends a test notification, then one every DEMO_INTERVAL (default 30s); the enclave's log
# provider prints each as a JSON line. Ctrl-C stops both. DEMO_COUNT=N stops after N periodic sends.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh build
export NOTIFY_PLUGIN_DIR=$PWD/build/plugins
export ENCLAVE_PORT=${ENCLAVE_PORT:-5000}
enclave_cfg=${ENCLAVE_CONFIG:-config/dev/enclave.yaml}
for cfg in "$enclave_cfg" config/dev/parent.yaml; do
  if ! out=$(build/hosts/notify-host/notify-host --check-config "$cfg" 2>&1); then
    echo "$out" >&2
    exit 78
  fi
done

build/hosts/notify-host/notify-host --config "$enclave_cfg" 2>&1 | sed -u 's/^/[enclave] /' &
enclave=$!
parent=
cleanup() {
  [[ -n "$parent" ]] && kill "$parent" 2>/dev/null || true
  kill "$enclave" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
build/hosts/notify-host/notify-host --config config/dev/parent.yaml 2>&1 | sed -u 's/^/[parent]  /' &
parent=$!
# With DEMO_COUNT=N the parent exits after its last test notification (demo.exit_when_done); otherwise it runs
# until Ctrl-C.
wait "$parent"
