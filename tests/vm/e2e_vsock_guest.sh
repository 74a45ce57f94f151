#!/bin/sh
# Runs inside the tests/vm VM: a real enclave notify-host serving the link on vsock, a parent notify-host forwarding
# to it over vsock CID 1, every demo notification (1 + count 5) delivered to the log provider. Exit 0 only if all arrived.
# Usage (guest): e2e_vsock_guest.sh <notify-host> <plugin dir>
set -u
host=$1 plugins=$2
cat > /tmp/enclave.yaml <<YAML
node: enclave
plugins: { path: ["$plugins"] }
secrets: { allow_plaintext: true }
providers:
  - { name: log, plugin: log, default: true, config: { output: stdout } }
serve: { transport: vsock, listen: "any:0", max_connections: 4, io_timeout: 30s }
YAML
"$host" --config=/tmp/enclave.yaml > /tmp/enclave.log 2>&1 &
enclave=$!
port=
for i in $(seq 1 300); do
  port=$(sed -n 's/.*listening on any:\([0-9]*\).*/\1/p' /tmp/enclave.log | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "E2E: enclave never listened"; cat /tmp/enclave.log; kill $enclave; exit 1; }
echo "E2E: enclave listening on vsock port $port"
cat > /tmp/parent.yaml <<YAML
node: parent
plugins: { path: ["$plugins"] }
forward: { transport: vsock, address: "local:$port", request_timeout: 30s }
demo: { enabled: true, interval: 100ms, count: 5, exit_when_done: true, external_user_id: vm-user }
YAML
timeout 120 "$host" --config=/tmp/parent.yaml > /tmp/parent.log 2>&1
prc=$?
sleep 1
kill $enclave 2>/dev/null; wait $enclave 2>/dev/null
# The log provider writes one JSON line per delivered notification; count distinct request ids for vm-user.
delivered=$(grep '^{"provider":"log"' /tmp/enclave.log | grep '"vm-user"' |
  sed -n 's/.*"request_id":"\([^"]*\)".*/\1/p' | sort -u | wc -l)
# The demo sends one notification at start and then `count` more; the parent says how many it sent.
sent=$(sed -n 's/.*demo finished after \([0-9]*\) test notifications.*/\1/p' /tmp/parent.log | head -1)
echo "E2E: parent exit $prc; parent sent ${sent:-?}; delivered to the log provider in the enclave: $delivered"
if [ "$prc" -ne 0 ] || [ -z "$sent" ] || [ "$sent" -lt 6 ] || [ "$delivered" -ne "$sent" ]; then
  echo "--- parent log"; tail -20 /tmp/parent.log; echo "--- enclave log"; tail -20 /tmp/enclave.log
  exit 1
fi
exit 0
