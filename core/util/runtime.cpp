// Process-wide runtime set-up and report.
#include "core/util/runtime.h"

#include "kernels/cpu_features.h"

#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <malloc.h>
#include <link.h>
#include <omp.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#ifndef BIRKHOFF_VERSION
#error "BIRKHOFF_VERSION must be defined by the build"
#endif

namespace birkhoff {

std::string versionString()
{
    return BIRKHOFF_VERSION;
}

namespace {

constexpr int kAllocatorThresholdBytes = 1 << 30;

struct AllocatorState {
    bool mmapThresholdSet = false;
    bool trimThresholdSet = false;
    bool fromEnvironment = false;
};

AllocatorState& allocatorState()
{
    static AllocatorState state;
    return state;
}

}  // namespace

void configureAllocator()
{
    AllocatorState& state = allocatorState();
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr) {
        state.fromEnvironment = true;
        return;
    }
    state.mmapThresholdSet = mallopt(M_MMAP_THRESHOLD, kAllocatorThresholdBytes) == 1;
    state.trimThresholdSet = mallopt(M_TRIM_THRESHOLD, kAllocatorThresholdBytes) == 1;
}

std::string allocatorReport()
{
    const AllocatorState& state = allocatorState();
    if (state.fromEnvironment)
        return "glibc malloc, thresholds from MALLOC_*_THRESHOLD_ environment variables";
    if (state.mmapThresholdSet && state.trimThresholdSet)
        return "glibc malloc, memory kept for reuse below 1 GiB (mmap and trim thresholds 1 GiB)";
    return "glibc malloc, default thresholds (large temporaries are returned to the system)";
}

void configureThreads(int threads)
{
    if (threads <= 0)
        threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0)
        threads = 1;
    omp_set_num_threads(threads);
    at::set_num_threads(threads);
}

namespace {

int collectBlas(struct dl_phdr_info* info, size_t, void* data)
{
    auto* out = static_cast<std::string*>(data);
    const std::string name = info->dlpi_name ? info->dlpi_name : "";
    if (name.find("libblas.so") != std::string::npos || name.find("libopenblas") != std::string::npos) {
        std::error_code ec;
        const auto resolved = std::filesystem::canonical(name, ec);
        *out = ec ? name : resolved.string();
        return 1;
    }
    return 0;
}

std::string describeBlas(const std::string& lib)
{
    if (lib.empty())
        return "none loaded yet";
    if (lib.find("openblas-openmp") != std::string::npos)
        return "OpenBLAS (OpenMP) " + lib;
    if (lib.find("openblas-pthread") != std::string::npos)
        return "OpenBLAS (pthreads; ignores thread settings, prefer libopenblas0-openmp) " + lib;
    if (lib.find("openblas") != std::string::npos)
        return "OpenBLAS " + lib;
    return "reference BLAS (about 40x slower: install libopenblas0-openmp) " + lib;
}

}  // namespace

std::string loadedBlasLibrary()
{
    std::string lib;
    dl_iterate_phdr(collectBlas, &lib);
    return lib;
}

std::string runtimeReport()
{
    std::ostringstream s;
    s << "Birkhoff Studio " << versionString() << '\n';
    s << "LibTorch " << TORCH_VERSION << '\n';
    s << "intra-op threads: " << at::get_num_threads() << " (cores: "
      << std::thread::hardware_concurrency() << ")\n";
    s << "OpenMP max threads: " << omp_get_max_threads() << '\n';
    int (*openblasThreads)() = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    s << "BLAS: " << describeBlas(loadedBlasLibrary());
    if (openblasThreads != nullptr)
        s << " (" << openblasThreads() << " threads)";
    s << '\n';
    s << "allocator: " << allocatorReport() << '\n';
    s << "CPU kernels ISA: " << kernels::cpuIsaName(kernels::detectCpuIsa()) << '\n';
    if (at::hasCUDA())
        s << "CUDA: available\n";
    else
        s << "CUDA: not available (this LibTorch build has no CUDA support)\n";
#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)
    s << "HyperLinear CUDA kernels: built (sm_80/sm_90)\n";
#else
    s << "HyperLinear CUDA kernels: not built (configure with the cuda preset)\n";
#endif
    return s.str();
}

}  // namespace birkhoff
