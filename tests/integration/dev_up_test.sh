#!/usr/bin/env bash
# The README's first command, as a newcomer runs it: `DEMO_COUNT=1 bash scripts/dev-up.sh` must print the seed's log
# lines, return by itself with status 0, and leave no notify-host (or filter) running. Uses the dev configs' fixed
# ports (5000, 8088; below the ephemeral range), so CTest runs it alone (RUN_SERIAL).
#   dev_up_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
build=$2
out=$(mktemp)
db=$(mktemp -u /tmp/dev-up-test-XXXXXX.db)
trap 'rm -f "$out" "$db" "$db"-wal "$db"-shm' EXIT
cd "$src"
DEMO_COUNT=1 DEMO_INTERVAL=1s NOTIFY_QUEUE_PATH=$db DEV_UP_SKIP_BUILD=1 DEV_UP_BUILD_DIR=$build \
  timeout 60 bash scripts/dev-up.sh >"$out" 2>&1 </dev/null
status=$?
fail=0
if ((status != 0)); then echo "FAIL: dev-up.sh exited with $status (124 = did not return within 60 s)"; fail=1; fi
for line in "Starting Enclave Worker" "Enclave initialized successfully" "Health check passed" \
            "Notification sent successfully"; do
  grep -q "$line" "$out" || { echo "FAIL: no line '$line'"; fail=1; }
done
sleep 0.5
if pgrep -f "$build/hosts/notify-host/notify-host --config config/dev/" >/dev/null; then
  echo "FAIL: a notify-host is still running:"; pgrep -af "notify-host --config config/dev/"; fail=1
  pkill -f "$build/hosts/notify-host/notify-host --config config/dev/"
fi
if ((fail)); then echo "--- dev-up.sh output:"; cat "$out"; exit 1; fi
echo "dev-up.sh returned by itself, printed the seed's lines, left nothing running"
