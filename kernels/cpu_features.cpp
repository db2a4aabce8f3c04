// Run-time detection of the x86 vector extensions the CPU kernels dispatch on.
#include "kernels/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace birkhoff::kernels {

CpuIsa hardwareCpuIsa()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return CpuIsa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return CpuIsa::Avx2Fma;
#endif
    return CpuIsa::Portable;
}

CpuIsa detectCpuIsa()
{
    const CpuIsa hw = hardwareCpuIsa();
    const char* cap = std::getenv("BIRKHOFF_CPU_ISA");
    if (cap == nullptr)
        return hw;
    CpuIsa wanted = hw;
    if (std::strcmp(cap, "portable") == 0)
        wanted = CpuIsa::Portable;
    else if (std::strcmp(cap, "avx2") == 0)
        wanted = CpuIsa::Avx2Fma;
    else if (std::strcmp(cap, "avx512") == 0)
        wanted = CpuIsa::Avx512;
    return static_cast<int>(wanted) < static_cast<int>(hw) ? wanted : hw;
}

std::string cpuIsaName(CpuIsa isa)
{
    switch (isa) {
    case CpuIsa::Avx512:
        return "avx512";
    case CpuIsa::Avx2Fma:
        return "avx2+fma";
    case CpuIsa::Portable:
        break;
    }
    return "portable";
}

}  // namespace birkhoff::kernels
