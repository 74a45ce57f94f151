#!/usr/bin/env bash
# The README's first command, as a newcomer runs it: `DEMO_COUNT=1 bash scripts/dev-up.sh` must print the seed's log
# lines, return by itself with status 0, and leave no notify-host (or filter) running. Uses the dev configs' fixed
# ports (5000, 8088; below the ephemeral range), so CTest runs it alone (RUN_SERIAL).
# With SCRIPT=dev-kms.sh, the same for the KMS flow, which must also show the key fetched from (fake) KMS.
#   dev_up_test.sh SOURCE_DIR BUILD_DIR [SCRIPT]
set -uo pipefail
src=$1
build=$2
script=${3:-dev-up.sh}
out=$(mktemp)
db=$(mktemp -u /tmp/dev-up-test-XXXXXX.db)
trap 'rm -f "$out" "$db" "$db"-wal "$db"-shm' EXIT
cd "$src"
DEMO_COUNT=1 DEMO_INTERVAL=1s NOTIFY_QUEUE_PATH=$db DEV_UP_SKIP_BUILD=1 DEV_UP_BUILD_DIR=$build \
  timeout 60 bash "scripts/$script" >"$out" 2>&1 </dev/null
status=$?
fail=0
if ((status != 0)); then echo "FAIL: $script exited with $status (124 = did not return within 60 s)"; fail=1; fi
lines=("Starting Enclave Worker" "Enclave initialized successfully" "Health check passed"
       "Notification sent successfully")
if [[ $script == dev-kms.sh ]]; then
  lines+=("installed from AWS KMS" "Enclave initialized: true")
fi
for line in "${lines[@]}"; do
  grep -q "$line" "$out" || { echo "FAIL: no line '$line'"; fail=1; }
done
# The script has stopped its processes; give the kernel up to 2 s to finish reaping them (polled, not slept).
for pattern in "$build/hosts/notify-host/notify-host --config config/dev/" "$build/tests/fakes/fake-"; do
  for _ in {1..20}; do pgrep -f "$pattern" >/dev/null || break; sleep 0.1; done
  if pgrep -f "$pattern" >/dev/null; then
    echo "FAIL: still running:"; pgrep -af "$pattern"; fail=1
    pkill -f "$pattern"
  fi
done
if ((fail)); then echo "--- $script output:"; cat "$out"; exit 1; fi
echo "$script returned by itself, printed the seed's lines, left nothing running"
