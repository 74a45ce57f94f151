#!/usr/bin/env bash
# The unattended KMS bootstrap on one machine, with no AWS account and no Braze account: a fake KMS and a fake Braze
# (tests/fakes, real HTTPS on 127.0.0.1), the enclave host with config/dev/enclave-kms.yaml (development attester;
# it calls KMS Decrypt itself with its attestation document as the Recipient), and the parent host with
# config/dev/parent.yaml holding only the ciphertext and AWS credentials (env). Same options as dev-up.sh
# (DEMO_COUNT, DEMO_INTERVAL, ENCLAVE_PORT, ...); it runs dev-up.sh for the two hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DEV_UP_BUILD_DIR:-build}
if [[ "${DEV_UP_SKIP_BUILD:-0}" != 1 ]]; then
  bash scripts/install-deps.sh
  bash scripts/build.sh "$build_dir"
fi
work=$(mktemp -d /tmp/enclave-notify-kms-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
wait_for_file() {
  for _ in $(seq 100); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  echo "dev-kms: $1 did not appear" >&2
  return 1
}

# Dev credentials: the fake KMS accepts exactly these, and the parent hands them to the enclave (aws_credentials: env).
export AWS_ACCESS_KEY_ID=AKIADEVKMS0EXAMPLE01
export AWS_SECRET_ACCESS_KEY=dev-kms-secret-access-key-not-for-production
export AWS_REGION=us-east-1
unset AWS_SESSION_TOKEN BRAZE_API_KEY

# The "trusted workstation" step: the Braze key exists in plaintext only here, long enough to be encrypted.
braze_key="dev-braze-key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
(umask 077 && printf '%s' "$braze_key" >"$work/braze.key")

"$build_dir/tests/fakes/fake-braze" --api-key "$braze_key" --url-file "$work/braze.url" >/dev/null 2>&1 &
pids+=($!)
"$build_dir/tests/fakes/fake-kms" --url-file "$work/kms.url" --context secret=braze.api_key \
  --encrypt "$work/braze.key=$work/braze.api_key.ciphertext" >/dev/null 2>&1 &
pids+=($!)
wait_for_file "$work/braze.url"
wait_for_file "$work/kms.url"
wait_for_file "$work/braze.api_key.ciphertext"
rm -f "$work/braze.key"
unset braze_key
echo "dev-kms: fake KMS at $(sed -n 1p "$work/kms.url") (key $(sed -n 3p "$work/kms.url")), fake Braze at $(sed -n 1p "$work/braze.url")"
echo "dev-kms: the parent holds only $work/braze.api_key.ciphertext and AWS credentials"

export KMS_ENDPOINT=$(sed -n 1p "$work/kms.url") KMS_CA_FILE=$(sed -n 2p "$work/kms.url") KMS_KEY_ID=$(sed -n 3p "$work/kms.url")
export BRAZE_API_ENDPOINT=$(sed -n 1p "$work/braze.url") BRAZE_CA_FILE=$(sed -n 2p "$work/braze.url")
export BRAZE_KEY_CIPHERTEXT_FILE=$work/braze.api_key.ciphertext
export ENCLAVE_CONFIG=config/dev/enclave-kms.yaml
DEV_UP_SKIP_BUILD=1 DEV_UP_BUILD_DIR="$build_dir" bash scripts/dev-up.sh
