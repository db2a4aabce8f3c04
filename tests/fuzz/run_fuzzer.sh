#!/usr/bin/env bash
# Builds one libFuzzer target from the LibTorch-free parser sources with clang
# (-fsanitize=fuzzer,address,undefined), generates its seed corpus and runs it for a bounded time.
# Exits non-zero if the fuzzer finds a crash, a sanitizer report or a broken invariant; prints
# the BIRKHOFF-SKIP marker (CTest then reports "skipped") when clang or its libFuzzer runtime
# is missing.
# Usage: run_fuzzer.sh TARGET SECONDS SOURCE_DIR WORK_DIR [SHARED_DIR]
set -euo pipefail
target=$1
seconds=$2
src=$3
work=$4
shared=${5:-}

skip() {
  echo "BIRKHOFF-SKIP: $*"
  exit 0
}

CXX=$(command -v clang++-14 || command -v clang++ || true)
[ -n "$CXX" ] || skip "clang++ is not installed, so the $target fuzzer did NOT run"
mkdir -p "$work"
cd "$work"
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' > probe.cpp
"$CXX" -fsanitize=fuzzer,address,undefined probe.cpp -o probe 2> probe.log \
  || skip "clang's libFuzzer/sanitizer runtime is missing (Debian package libclang-rt-14-dev), so the $target fuzzer did NOT run"

case $target in
  unpickler) sources=(core/io/pickle.cpp core/io/state_dict_pickle.cpp); libs=() ;;
  safetensors_header) sources=(core/io/safetensors_header.cpp); libs=() ;;
  zip_reader) sources=(core/io/zip_archive.cpp core/util/atomic_file.cpp); libs=(-lzip -lz) ;;
  index_stream) sources=(core/format/index_entropy_coder.cpp); libs=() ;;
  *) echo "run_fuzzer.sh: unknown target '$target'" >&2; exit 2 ;;
esac
common=(-std=c++17 -g -O1 -fno-omit-frame-pointer -I"$src")

echo "building fuzz_$target with $CXX"
"$CXX" "${common[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  "$src/tests/fuzz/fuzz_$target.cpp" "${sources[@]/#/$src/}" ${libs[@]+"${libs[@]}"} -o "fuzz_$target"
"$CXX" "${common[@]}" "$src/tests/fuzz/gen_fuzz_seeds.cpp" "$src/core/io/pickle.cpp" "$src/core/io/state_dict_pickle.cpp" \
  "$src/core/io/zip_archive.cpp" "$src/core/util/atomic_file.cpp" "$src/core/format/index_entropy_coder.cpp" \
  -lzip -lz -o gen_fuzz_seeds

rm -rf corpus
./gen_fuzz_seeds "$target" corpus "$shared"
# Leak detection stays on; -timeout catches hangs, -rss_limit_mb runaway allocations.
"./fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/crash-" corpus
echo "fuzz_$target: no crash, sanitizer report or broken invariant in ${seconds} s"
