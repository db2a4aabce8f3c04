// CUDA HyperLinear: y[T, out] = x[T, in] * W^T + b on a GPU, straight from the row-group index
// stream of kernels/hyperlinear.h. Plain C++ API (no CUDA headers); the kernels live in
// hyperlinear_cuda.cu and are built only with the `cuda` preset (BIRKHOFF_WITH_CUDA), which
// defines BIRKHOFF_HAVE_CUDA_KERNELS for everything linking birkhoff_kernels.
//
// The kernel is a tiled GEMM (64 tokens x 64 outputs x 32 inputs per block step, 128 threads)
// whose B operand is decoded while it is loaded: each index tile is copied once into shared
// memory, unpacked and looked up in the decode table (shared memory when it fits the device,
// else read through the cache), and multiplied on tensor cores (TF32 or BF16, FP32 accumulation)
// or, for the exact path, with FP32 FMAs on CUDA cores. Tiling: kernels/hyperlinear_cuda_tiles.h.
#pragma once

#include "kernels/hyperlinear.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace birkhoff::kernels {

/// Arithmetic of the CUDA kernel.
enum class CudaMath {
    Fp32,  ///< FP32 FMAs on CUDA cores: agrees with the reference to float32 rounding
    Tf32,  ///< TF32 tensor cores (10-bit mantissa operands), FP32 accumulation
    Bf16,  ///< BF16 tensor cores (7-bit mantissa operands), FP32 accumulation
};

/// "fp32", "tf32" or "bf16".
const char* cudaMathName(CudaMath math);

#if defined(BIRKHOFF_HAVE_CUDA_KERNELS)

/// Number of usable CUDA devices. Any error of the CUDA runtime (no driver, driver too old,
/// no device) counts as 0 devices; `reason` (if given) then receives the runtime's message.
int cudaDeviceCount(std::string* reason = nullptr);

/// A HyperLinear weight resident on one CUDA device: the row-group index stream (the same
/// bytes as HyperLinearWeight::groupedIndices()) and the decode table (U*(K+1) float pairs,
/// built with buildDecodeTable on the host, so decoding is bit-identical to decodeIndex).
/// Move-only; frees its device memory.
class CudaHyperLinearWeight {
public:
    /// Uploads `weight` to CUDA device `device`.
    /// @throws std::runtime_error naming the failing CUDA call.
    CudaHyperLinearWeight(const HyperLinearWeight& weight, int device);
    CudaHyperLinearWeight(CudaHyperLinearWeight&& other) noexcept;
    CudaHyperLinearWeight& operator=(CudaHyperLinearWeight&& other) noexcept;
    CudaHyperLinearWeight(const CudaHyperLinearWeight&) = delete;
    CudaHyperLinearWeight& operator=(const CudaHyperLinearWeight&) = delete;
    ~CudaHyperLinearWeight();

    int device() const { return device_; }
    std::int64_t outFeatures() const { return out_; }
    std::int64_t inFeatures() const { return in_; }
    /// Device bytes held: index stream + decode table + row scale.
    std::size_t deviceBytes() const
    {
        return streamBytes_ + tableFloats_ * sizeof(float) + (rowScale_ ? static_cast<std::size_t>(out_) * sizeof(float) : 0);
    }

private:
    friend void hyperLinearForwardCuda(const CudaHyperLinearWeight&, const float*, std::int64_t, const float*,
                                       float*, CudaMath, void*);
    void release() noexcept;

    int device_ = -1;
    std::uint8_t* stream_ = nullptr;
    std::size_t streamBytes_ = 0;
    float* table_ = nullptr;
    std::size_t tableFloats_ = 0;
    float* rowScale_ = nullptr;  ///< [out] or null (extension "row_scale")
    unsigned bits_ = 1;
    std::int64_t out_ = 0;
    std::int64_t in_ = 0;
    std::int64_t pairs_ = 0;
    std::int64_t groups_ = 0;
};

/// y = x W^T + bias on the weight's device, asynchronously on `stream` (a cudaStream_t; null:
/// the default stream). x [tokens, in], bias [out] (or null) and y [tokens, out] are dense
/// row-major float32 device pointers on weight.device(). tokens == 0 launches nothing.
/// @throws std::runtime_error if the launch fails or tokens exceeds the grid (about 4.2 million).
void hyperLinearForwardCuda(const CudaHyperLinearWeight& weight, const float* x, std::int64_t tokens,
                            const float* bias, float* y, CudaMath math, void* stream = nullptr);

/// Device memory helpers for tests and benchmarks that do not use LibTorch. All throw
/// std::runtime_error naming the failing CUDA call.
void* cudaAllocate(std::size_t bytes, int device);
void cudaRelease(void* devicePointer) noexcept;
void cudaCopyToDevice(void* devicePointer, const void* host, std::size_t bytes);
void cudaCopyToHost(void* host, const void* devicePointer, std::size_t bytes);
void cudaSynchronizeDevice(int device);

#endif  // BIRKHOFF_HAVE_CUDA_KERNELS

}  // namespace birkhoff::kernels
