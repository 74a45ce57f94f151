#!/usr/bin/env bash
# Builds the enclave image and the EIF, and prints the PCRs to pin in notify-ctl's attestation policy.
#   KMS_KEY_ID=arn:aws:kms:REGION:ACCOUNT:key/ID [AWS_REGION=REGION] deploy/build-eif.sh [output.eif]
#   (on an EC2 instance with docker and aws-nitro-enclaves-cli). The key id and region are baked into the image,
#   and so are, when set, the providers' settings config/enclave.yaml reads (they change the PCRs):
#   BRAZE_API_ENDPOINT, FCM_ENABLED / APNS_ENABLED / WEBHOOK_ENABLED (true turns that push provider on),
#   APNS_ENDPOINT, APNS_KEY_ID, APNS_TEAM_ID, APNS_TOPIC, FCM_ENDPOINT, WEBHOOK_URL.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-enclave-notify.eif}
tag=${NOTIFY_IMAGE_TAG:-enclave-notify:latest}
command -v docker >/dev/null || { echo "build-eif: docker not found" >&2; exit 1; }
command -v nitro-cli >/dev/null || { echo "build-eif: nitro-cli not found (aws-nitro-enclaves-cli)" >&2; exit 1; }
command -v jq >/dev/null || { echo "build-eif: jq not found" >&2; exit 1; }
[[ -n "${KMS_KEY_ID:-}" ]] || { echo "build-eif: set KMS_KEY_ID to the key ARN the enclave fetches its secrets with" >&2; exit 1; }
args=(--build-arg KMS_KEY_ID="$KMS_KEY_ID" --build-arg AWS_REGION="${AWS_REGION:-us-east-1}")
for v in BRAZE_API_ENDPOINT FCM_ENABLED APNS_ENABLED WEBHOOK_ENABLED APNS_ENDPOINT APNS_KEY_ID APNS_TEAM_ID \
  APNS_TOPIC FCM_ENDPOINT WEBHOOK_URL; do
  args+=(--build-arg "$v=${!v:-}")
done
docker build -f "$here/deploy/Dockerfile.enclave" "${args[@]}" -t "$tag" "$here"
json=$(nitro-cli build-enclave --docker-uri "$tag" --output-file "$out")
echo "$json"
for pcr in PCR0 PCR1 PCR2; do
  printf '%s %s\n' "$pcr" "$(jq -r ".Measurements.$pcr" <<<"$json")"
done
echo "EIF: $out"
