#!/usr/bin/env bash
# Runs the whole test suite from scratch: set-up (packages, build, default model), then every
# CTest test (labels unit, golden, gui, gpu, slow). Extra arguments go to ctest
# (e.g. -L unit, -LE slow, -R codec).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ctest --preset "${BIRKHOFF_PRESET:-default}" -j 2 "$@"
