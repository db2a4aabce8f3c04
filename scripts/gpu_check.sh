#!/usr/bin/env bash
# GPU check of the CUDA HyperLinear kernel, in one go, on a machine with an NVIDIA GPU (sm_80 or
# sm_90) and nvcc:
#   1. builds the kernels and the benchmark hyperlinear_cuda_bench: with the CMake preset `cuda`
#      when the whole project configures there (Qt, LibTorch, OpenCV present), otherwise
#      standalone with nvcc and g++ (kernels only; enough for the check);
#   2. with the CMake build, runs the CTest tests labelled gpu (and the CPU emulation of the
#      kernel's tiling);
#   3. runs the benchmark: edge-case correctness (FP32 <= 1e-5, TF32/BF16 <= 1e-2 relative error,
#      bit-exact decoded weights), then HyperLinear FP32/TF32/BF16 against cuBLAS SGEMM/TF32/BF16
#      for the SAM ViT-B and MobileSAM Linear shapes at 1, 16, 256 and 4096 tokens, as a table.
# Results also go to $OUT (gpu_check.log, gpu_bench.json) when OUT is set.
# Usage: scripts/gpu_check.sh [build-dir]     (default: build-gpu-check)
#        GPU_CHECK_STANDALONE=1 skips the CMake attempt.
# Exit code: 0 all checks passed, 1 a check failed, 2 no usable GPU or build failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${1:-build-gpu-check}
LOG=${OUT:+$OUT/gpu_check.log}
LOG=${LOG:-/dev/null}
JOBS=$(nproc 2>/dev/null || echo 4)

say() { echo "gpu_check: $*" | tee -a "$LOG"; }

NVCC=$(command -v nvcc || true)
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -z "$NVCC" ]; then say "nvcc not found"; exit 2; fi
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(readlink -f "$NVCC")")")}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$LOG" || true
say "nvcc: $("$NVCC" --version | tail -1)"

BENCH=""
mkdir -p "$BUILD"
if [ -z "${GPU_CHECK_STANDALONE:-}" ] \
   && cmake --preset cuda -B "$BUILD" -DCMAKE_CUDA_COMPILER="$NVCC" >"$BUILD/configure.log" 2>&1; then
  say "building with the cuda preset in $BUILD"
  cmake --build "$BUILD" -j"$JOBS" --target tests_kernels hyperlinear_cuda_bench 2>&1 | tail -3 | tee -a "$LOG"
  say "CTest: gpu tests and the tiling emulation"
  (cd "$BUILD" && ctest -R 'kernels\.hyperlinear' --output-on-failure 2>&1) | tee -a "$LOG" || { say "CTest failed"; exit 1; }
  BENCH="$BUILD/kernels/hyperlinear_cuda_bench"
else
  say "building the kernels standalone (the full project does not configure here, or GPU_CHECK_STANDALONE is set)"
  OBJ="$BUILD/standalone"
  mkdir -p "$OBJ"
  CXXFLAGS=(-O3 -std=c++17 -ffp-contract=off -fopenmp -I"$ROOT" -I"$CUDA_HOME/include" -DBIRKHOFF_HAVE_CUDA_KERNELS=1)
  "$NVCC" -O3 -std=c++17 -I"$ROOT" -DBIRKHOFF_HAVE_CUDA_KERNELS=1 \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -c kernels/hyperlinear_cuda.cu -o "$OBJ/hyperlinear_cuda.o" &
  g++ "${CXXFLAGS[@]}" -c kernels/cpu_features.cpp -o "$OBJ/cpu_features.o" &
  g++ "${CXXFLAGS[@]}" -c kernels/hyperlinear.cpp -o "$OBJ/hyperlinear.o" &
  g++ "${CXXFLAGS[@]}" -c kernels/hyperlinear_portable.cpp -o "$OBJ/hyperlinear_portable.o" &
  g++ "${CXXFLAGS[@]}" -mavx2 -mfma -c kernels/hyperlinear_avx2.cpp -o "$OBJ/hyperlinear_avx2.o" &
  g++ "${CXXFLAGS[@]}" -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma \
    -c kernels/hyperlinear_avx512.cpp -o "$OBJ/hyperlinear_avx512.o" &
  g++ "${CXXFLAGS[@]}" -c kernels/tools/hyperlinear_cuda_bench.cpp -o "$OBJ/bench.o" &
  wait
  CUBLAS_DIR=""
  for d in "$CUDA_HOME/lib64" "$CUDA_HOME/lib" $(python3 -c 'import nvidia.cublas, os; print(os.path.join(nvidia.cublas.__path__[0], "lib"))' 2>/dev/null || true); do
    if ls "$d"/libcublas.so* >/dev/null 2>&1; then CUBLAS_DIR=$d; break; fi
  done
  if [ -z "$CUBLAS_DIR" ]; then say "libcublas not found"; exit 2; fi
  CUBLAS_LIB=$(ls "$CUBLAS_DIR"/libcublas.so* | head -1)
  CUDART_DIR=$CUDA_HOME/lib64; [ -e "$CUDART_DIR/libcudart_static.a" ] || CUDART_DIR=$CUDA_HOME/lib
  g++ -fopenmp "$OBJ"/*.o -o "$OBJ/hyperlinear_cuda_bench" "$CUBLAS_LIB" -L"$CUDART_DIR" -lcudart_static \
    -ldl -lrt -lpthread -Wl,-rpath,"$CUBLAS_DIR"
  BENCH="$OBJ/hyperlinear_cuda_bench"
fi

say "benchmark: HyperLinear vs cuBLAS (median of 20 launches each)"
set +e
"$BENCH" 2>&1 | tee -a "$LOG"
status=${PIPESTATUS[0]}
if [ -n "${OUT:-}" ] && [ "$status" -ne 2 ]; then
  "$BENCH" --json >"$OUT/gpu_bench.json" 2>>"$LOG"
fi
set -e
case $status in
  0) say "all checks passed" ;;
  2) say "no usable GPU" ;;
  *) say "a check FAILED" ;;
esac
exit "$status"
