#!/usr/bin/env bash
# Installs the Debian 12 packages rkv needs to build and test. Idempotent and
# quiet when everything is present; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  librocksdb-dev libabsl-dev libspdlog-dev prometheus-cpp-dev libcivetweb-dev libxxhash-dev
  libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  # tests/lint: clang-tidy's use-after-move check and clang's thread-safety analysis.
  clang-tidy
  python3-grpcio python3-protobuf prometheus
  # deploy/ checks in ctest (Python only; no Docker engine): compose config,
  # YAML lint, Kubernetes schema models.
  docker-compose yamllint python3-kubernetes
  # jepsen/ (its smoke run is part of make test): namespaces, nftables
  # partitions and loss, libfaketime clock faults, report plots.
  iproute2 nftables faketime python3-matplotlib
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "rkv: installing missing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "rkv: need root or sudo to install packages" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
