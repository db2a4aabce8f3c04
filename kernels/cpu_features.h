// Run-time detection of the x86 vector extensions the CPU kernels dispatch on.
#pragma once

#include <string>

namespace birkhoff::kernels {

/// Instruction-set levels the CPU kernels are built for, best last.
enum class CpuIsa { Portable, Avx2Fma, Avx512 };

/// The best level this CPU supports (AVX-512 means F+BW+VL+DQ; AVX2 requires FMA too),
/// ignoring BIRKHOFF_CPU_ISA.
CpuIsa hardwareCpuIsa();

/// The best level this CPU supports (AVX-512 means F+BW+VL+DQ; AVX2 requires FMA too).
/// The environment variable BIRKHOFF_CPU_ISA=portable|avx2|avx512 caps it (for tests and
/// side-by-side benchmarks); a value above what the CPU supports is ignored.
CpuIsa detectCpuIsa();

/// Human-readable name: "portable", "avx2+fma" or "avx512".
std::string cpuIsaName(CpuIsa isa);

}  // namespace birkhoff::kernels
