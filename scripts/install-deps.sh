#!/usr/bin/env bash
# Installs the Debian 12 packages that build, test and run Enclave Notify. Idempotent; needs root.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libpoco-dev libyaml-cpp-dev libboost-dev libboost-filesystem-dev libboost-system-dev libssl-dev libcbor-dev libsqlite3-dev
  libhiredis-dev libcurl4-openssl-dev libnghttp2-dev prometheus-cpp-dev redis-server prometheus
  libgtest-dev libgmock-dev libbenchmark-dev python3 clang-format-14 clang-tidy-14
  linux-image-amd64 qemu-system-x86 busybox-static kmod cpio
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#packages[@]} packages present"
fi
