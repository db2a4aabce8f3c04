#!/usr/bin/env bash
# Proves the `cuda` preset configures and builds on a machine with nvcc but no GPU: configures
# the preset into a scratch directory, builds the kernels library (with the CUDA HyperLinear
# kernel) and the CUDA kernel benchmark, then checks that the kernel object carries machine code
# for both sm_80 and sm_90.
# Usage: cuda_preset.sh <source dir> <scratch build dir>
set -euo pipefail
src=$1
build=$2
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ ! -x "$nvcc" ]; then
  echo "BIRKHOFF-SKIP: nvcc is not installed, the cuda preset cannot be built here"
  exit 0
fi
rm -rf "$build"
cmake --preset cuda -S "$src" -B "$build" > "$build.configure.log" 2>&1 || { cat "$build.configure.log"; exit 1; }
grep -E "CMAKE_CUDA_ARCHITECTURES:" "$build/CMakeCache.txt"
cmake --build "$build" --target birkhoff_kernels hyperlinear_cuda_bench -j 2
object=$(find "$build/kernels" -name 'hyperlinear_cuda.cu.o' | head -n 1)
[ -n "$object" ] || { echo "FAIL: no hyperlinear_cuda.cu.o was built"; exit 1; }
# The fat binary lists its cubins: cuobjdump where the toolkit has it, otherwise the ptxas
# command line nvcc embeds with each cubin ("-arch sm_80 ...").
cuobjdump=$(dirname "$nvcc")/cuobjdump
if [ -x "$cuobjdump" ]; then
  listing=$("$cuobjdump" --list-elf "$object")
else
  listing=$(strings -a "$object" | grep -E -- '-arch sm_[0-9]+' || true)
fi
echo "$listing"
for arch in sm_80 sm_90; do
  grep -q "$arch" <<<"$listing" || { echo "FAIL: $object has no $arch code"; exit 1; }
done
echo "cuda preset: kernels built for sm_80 and sm_90"
rm -rf "$build" "$build.configure.log"
