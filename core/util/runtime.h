// Process-wide runtime set-up shared by the CLI and the studio: thread counts for LibTorch and
// OpenMP, and a report of which BLAS, threads, ISA and devices are in use (--verbose).
#pragma once

#include <string>

namespace birkhoff {

/// The application version ("0.1.0"), identical for the CLI and the studio.
std::string versionString();

/// Configures glibc's allocator for tensor work: blocks below 1 GiB are served from the heap
/// and freed memory is kept for reuse (mmap and trim thresholds of 1 GiB) instead of being
/// returned to the system and faulted back in on every large temporary. Call once at start-up,
/// before any tensor is allocated. A threshold the user set through glibc's environment
/// variables (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) is left as it is.
void configureAllocator();

/// One line saying how the allocator is configured (for runtimeReport and benchmarks).
std::string allocatorReport();

/// Sets LibTorch's intra-op thread count (and OpenMP's) to `threads`, or to the machine's core
/// count when `threads` <= 0. LibTorch 1.13 reports 1 on some VMs otherwise (docs/toolchain.md).
void configureThreads(int threads = 0);

/// Multi-line description: version, LibTorch version, intra-op threads, OpenMP threads, the
/// BLAS library actually loaded (OpenBLAS-openmp, OpenBLAS-pthread or the slow reference BLAS),
/// CPU vector ISA used by the HyperLinear kernels, and CUDA availability with the reason when
/// it is not available.
std::string runtimeReport();

/// Name of the BLAS shared library loaded into this process, resolved through symlinks
/// (e.g. "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"), or "" if none.
std::string loadedBlasLibrary();

}  // namespace birkhoff
