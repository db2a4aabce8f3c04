#!/usr/bin/env bash
# Sets everything up (packages, build, default model) and starts Birkhoff Studio. Without a
# display it runs the command-line tool on the default model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec ./build/app/birkhoff-studio "$@"
fi
echo "studio: no display (DISPLAY/WAYLAND_DISPLAY unset): running the command-line tool instead" >&2
exec ./build/app/birkhoff info
