#!/usr/bin/env bash
# Installs the Debian 12 packages xbarsim needs, skipping those already installed (idempotent).
#   scripts/setup.sh          build and test dependencies
#   scripts/setup.sh --tools  also the Python packages of tools/ (PyTorch, ONNX, h5py, NumPy)
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config git
  libyaml-cpp-dev libprotobuf-dev protobuf-compiler libonnx-dev
  libopenblas-dev libopenblas0-openmp
  libgtest-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libssl-dev zlib1g-dev
  libpagmo-dev
)
tool_packages=(python3 python3-numpy python3-h5py python3-onnx python3-torch python3-matplotlib)

packages=("${build_packages[@]}")
if [[ "${1:-}" == "--tools" ]]; then
  packages+=("${tool_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
