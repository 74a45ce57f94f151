#!/usr/bin/env bash
# The dev topology on one machine: installs what is missing, builds, then runs the enclave host and the parent host
# over TCP on 127.0.0.1, exactly as the seed's "Testing Without Enclave" — but through the plugin framework.
# The parent's demo sends a test notification, then one every DEMO_INTERVAL (default 30s); the enclave's log
# provider prints each as a JSON line. Ctrl-C stops both. DEMO_COUNT=N stops after N periodic sends, and the script
# returns by itself, leaving no process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
# DEV_UP_BUILD_DIR / DEV_UP_SKIP_BUILD=1 let the test suite run this script against the tree it already built.
build_dir=${DEV_UP_BUILD_DIR:-build}
if [[ "${DEV_UP_SKIP_BUILD:-0}" != 1 ]]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh "$build_dir"
fi
export NOTIFY_PLUGIN_DIR=$(cd "$build_dir" && pwd)/plugins
export ENCLAVE_PORT=${ENCLAVE_PORT:-5000}
enclave_cfg=${ENCLAVE_CONFIG:-config/dev/enclave.yaml}
host=$build_dir/hosts/notify-host/notify-host
for cfg in "$enclave_cfg" config/dev/parent.yaml; do
  if ! out=$("$host" --check-config "$cfg" 2>&1); then
    echo "$out" >&2
    exit 78
  fi
done

# Each host writes through a prefixing filter (process substitution), so $! is the host itself: cleanup signals the
# hosts, not their filters, and waits for exactly them.
enclave=
parent=
cleanup() {
  trap - EXIT INT TERM
  for pid in $parent $enclave; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $parent $enclave; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
"$host" --config "$enclave_cfg" > >(sed -u 's/^/[enclave] /') 2>&1 &
enclave=$!
"$host" --config config/dev/parent.yaml > >(sed -u 's/^/[parent]  /') 2>&1 &
parent=$!
# With DEMO_COUNT=N the parent exits after its last test notification (demo.exit_when_done); otherwise it runs
# until Ctrl-C. If the enclave dies first, stop too.
while kill -0 "$parent" 2>/dev/null && kill -0 "$enclave" 2>/dev/null; do
  wait -n "$parent" "$enclave" 2>/dev/null || true
done
status=0
if ! kill -0 "$parent" 2>/dev/null; then
  wait "$parent" 2>/dev/null || status=$?
else
  wait "$enclave" 2>/dev/null || status=$?
  echo "dev-up: the enclave host exited (status $status); stopping the parent" >&2
  if ((status == 0)); then status=1; fi
fi
exit "$status"
