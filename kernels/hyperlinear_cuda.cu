// CUDA HyperLinear kernels (built with the `cuda` preset for sm_80 and sm_90): the tiled GEMM
// with the weight operand decoded during its load, in three arithmetic variants (FP32 CUDA
// cores, TF32 and BF16 tensor cores through WMMA), and the plain C++ API of hyperlinear_cuda.h.
// All index arithmetic is in hyperlinear_cuda_tiles.h, shared with the host emulation.
#include "kernels/hyperlinear_cuda.h"
#include "kernels/hyperlinear_cuda_tiles.h"

#include <cuda_runtime.h>
#include <mma.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace birkhoff::kernels {

namespace {

using namespace cudatiles;

void check(cudaError_t status, const char* call)
{
    if (status != cudaSuccess)
        throw std::runtime_error(std::string("CUDA ") + call + " failed: " + cudaGetErrorString(status));
}

/// Makes `device` current for its lifetime.
class DeviceScope {
public:
    explicit DeviceScope(int device)
    {
        check(cudaGetDevice(&previous_), "cudaGetDevice");
        if (device != previous_)
            check(cudaSetDevice(device), "cudaSetDevice");
        switched_ = device != previous_;
    }
    ~DeviceScope()
    {
        if (switched_)
            cudaSetDevice(previous_);
    }
    DeviceScope(const DeviceScope&) = delete;
    DeviceScope& operator=(const DeviceScope&) = delete;

private:
    int previous_ = 0;
    bool switched_ = false;
};

/// The block's multiply-accumulate: CUDA-core FMAs (Fp32Math) ...
template <class M, bool kTensorCores = M::kTensorCores>
struct BlockProduct {
    float acc[8][4];
    __device__ BlockProduct()
    {
        for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 4; ++j)
                acc[i][j] = 0.f;
    }
    __device__ void multiply(const typename M::Elem* As, const typename M::Elem* Bs, int thread)
    {
        multiplySimt<M>(As, Bs, acc, thread);
    }
    __device__ void store(float* Cs, int thread) const { storeSimtAccumulators(acc, Cs, thread); }
};

template <class M>
struct FragmentTypes;
template <>
struct FragmentTypes<Tf32Math> {
    using Input = nvcuda::wmma::precision::tf32;
};
template <>
struct FragmentTypes<Bf16Math> {
    using Input = __nv_bfloat16;
};

/// ... or tensor cores: each warp owns a 32 x 32 part of the C tile as 2 x 2 WMMA fragments.
template <class M>
struct BlockProduct<M, true> {
    using Input = typename FragmentTypes<M>::Input;
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, M::kMmaK, float> c[2][2];

    __device__ BlockProduct()
    {
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
                nvcuda::wmma::fill_fragment(c[i][j], 0.f);
    }
    __device__ void multiply(const typename M::Elem* As, const typename M::Elem* Bs, int thread)
    {
        using namespace nvcuda;
        const int warp = thread / 32;
        for (int kk = 0; kk < kBlockK; kk += M::kMmaK) {
            wmma::fragment<wmma::matrix_a, 16, 16, M::kMmaK, Input, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, M::kMmaK, Input, wmma::col_major> b[2];
            for (int i = 0; i < 2; ++i)
                wmma::load_matrix_sync(a[i], As + fragmentRow(warp, i) * M::kLd + kk, M::kLd);
            for (int j = 0; j < 2; ++j)
                wmma::load_matrix_sync(b[j], Bs + fragmentCol(warp, j) * M::kLd + kk, M::kLd);
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j)
                    wmma::mma_sync(c[i][j], a[i], b[j], c[i][j]);
        }
    }
    __device__ void store(float* Cs, int thread) const
    {
        const int warp = thread / 32;
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j)
                nvcuda::wmma::store_matrix_sync(Cs + fragmentRow(warp, i) * kLdC + fragmentCol(warp, j), c[i][j], kLdC,
                                                nvcuda::wmma::mem_row_major);
    }
};

/// One block computes the 64 x 64 output tile (blockIdx.y: tokens, blockIdx.x: output rows).
/// The phase order is mirrored by emulateHyperLinearCudaTiles() in hyperlinear_cuda_tiles.h.
template <class M>
__global__ void __launch_bounds__(kThreads) hyperLinearTileKernel(TileArgs a, int tableInShared)
{
    extern __shared__ __align__(128) unsigned char smem[];
    const SmemLayout layout =
        smemLayout<M>(tableInShared ? static_cast<std::size_t>(a.tableFloats) * sizeof(float) : 0);
    const int thread = static_cast<int>(threadIdx.x);
    const std::int64_t n0 = static_cast<std::int64_t>(blockIdx.x) * kBlockN;
    const std::int64_t m0 = static_cast<std::int64_t>(blockIdx.y) * kBlockM;
    const std::int64_t steps = kSteps(a);

    const float* table = a.table;
    if (tableInShared) {
        float* shared = reinterpret_cast<float*>(smem + layout.table);
        for (std::int64_t i = thread; i < a.tableFloats; i += kThreads)
            shared[i] = __ldg(a.table + i);
        table = shared;
    }
    copyIndexTile(a, n0, 0, indexTile(smem, layout, 0), thread);
    if (steps > 1)
        copyIndexTile(a, n0, kPairsPerTile, indexTile(smem, layout, 1), thread);
    __syncthreads();
    loadXTile<M>(a, m0, 0, stageA<M>(smem, layout, 0), thread);
    decodeWTile<M>(a, table, n0, 0, indexTile(smem, layout, 0), stageB<M>(smem, layout, 0), thread);
    __syncthreads();

    BlockProduct<M> product;
    for (std::int64_t kt = 0; kt < steps; ++kt) {
        const int stage = static_cast<int>(kt & 1);
        if (kt + 2 < steps)
            copyIndexTile(a, n0, (kt + 2) * kPairsPerTile, indexTile(smem, layout, static_cast<int>((kt + 2) % 3)),
                          thread);
        if (kt + 1 < steps) {
            loadXTile<M>(a, m0, (kt + 1) * kBlockK, stageA<M>(smem, layout, stage ^ 1), thread);
            decodeWTile<M>(a, table, n0, (kt + 1) * kPairsPerTile, indexTile(smem, layout, static_cast<int>((kt + 1) % 3)),
                           stageB<M>(smem, layout, stage ^ 1), thread);
        }
        product.multiply(stageA<M>(smem, layout, stage), stageB<M>(smem, layout, stage), thread);
        __syncthreads();
    }
    float* Cs = cTile(smem, layout);
    product.store(Cs, thread);
    __syncthreads();
    storeTile(a, m0, n0, Cs, thread);
}

/// Largest dynamic shared memory a block may use on `device` (opt-in limit), cached.
int sharedMemoryLimit(int device)
{
    static std::mutex mutex;
    static std::vector<int> limits;
    std::lock_guard<std::mutex> lock(mutex);
    if (device >= static_cast<int>(limits.size()))
        limits.resize(static_cast<std::size_t>(device) + 1, -1);
    if (limits[device] < 0) {
        int value = 0;
        check(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
              "cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)");
        limits[device] = value;
    }
    return limits[device];
}

template <class M>
void launch(const TileArgs& a, int device, cudaStream_t stream)
{
    const std::size_t tableBytes = static_cast<std::size_t>(a.tableFloats) * sizeof(float);
    const int limit = sharedMemoryLimit(device);
    const SmemLayout withTable = smemLayout<M>(tableBytes);
    const bool tableInShared = withTable.total <= static_cast<std::size_t>(limit);
    const SmemLayout layout = tableInShared ? withTable : smemLayout<M>(0);
    if (layout.total > static_cast<std::size_t>(limit))
        throw std::runtime_error("CUDA HyperLinear: the device offers " + std::to_string(limit)
                                 + " bytes of shared memory per block, the kernel needs " + std::to_string(layout.total));
    check(cudaFuncSetAttribute(hyperLinearTileKernel<M>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(layout.total)),
          "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    const std::int64_t gridN = (a.out + kBlockN - 1) / kBlockN;
    const std::int64_t gridM = (a.tokens + kBlockM - 1) / kBlockM;
    if (gridM > 65535 || gridN > 0x7fffffff)
        throw std::runtime_error("CUDA HyperLinear: " + std::to_string(a.tokens) + " tokens exceed the launch grid");
    const dim3 grid(static_cast<unsigned>(gridN), static_cast<unsigned>(gridM));
    hyperLinearTileKernel<M><<<grid, kThreads, layout.total, stream>>>(a, tableInShared ? 1 : 0);
    check(cudaGetLastError(), "kernel launch (HyperLinear)");
}

}  // namespace

int cudaDeviceCount(std::string* reason)
{
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        cudaGetLastError();  // clear the sticky error state of the runtime API
        if (reason)
            *reason = cudaGetErrorString(status);
        return 0;
    }
    if (count == 0 && reason)
        *reason = "no CUDA device found";
    return count;
}

CudaHyperLinearWeight::CudaHyperLinearWeight(const HyperLinearWeight& weight, int device)
    : device_(device), bits_(weight.bits()), out_(weight.outFeatures()), in_(weight.inFeatures()),
      pairs_(weight.pairsPerRow()), groups_(weight.rowGroups())
{
    const std::vector<float> table = hostDecodeTable(weight.lattice());
    const auto& stream = weight.groupedIndices();
    try {
        stream_ = static_cast<std::uint8_t*>(cudaAllocate(stream.size(), device));
        streamBytes_ = stream.size();
        cudaCopyToDevice(stream_, stream.data(), stream.size());
        table_ = static_cast<float*>(cudaAllocate(table.size() * sizeof(float), device));
        tableFloats_ = table.size();
        cudaCopyToDevice(table_, table.data(), table.size() * sizeof(float));
        const auto& scale = weight.rowScale();
        if (!scale.empty()) {
            rowScale_ = static_cast<float*>(cudaAllocate(scale.size() * sizeof(float), device));
            cudaCopyToDevice(rowScale_, scale.data(), scale.size() * sizeof(float));
        }
    } catch (...) {
        release();
        throw;
    }
}

CudaHyperLinearWeight::CudaHyperLinearWeight(CudaHyperLinearWeight&& other) noexcept
{
    *this = std::move(other);
}

CudaHyperLinearWeight& CudaHyperLinearWeight::operator=(CudaHyperLinearWeight&& other) noexcept
{
    if (this != &other) {
        release();
        device_ = other.device_;
        stream_ = std::exchange(other.stream_, nullptr);
        streamBytes_ = std::exchange(other.streamBytes_, 0);
        table_ = std::exchange(other.table_, nullptr);
        tableFloats_ = std::exchange(other.tableFloats_, 0);
        rowScale_ = std::exchange(other.rowScale_, nullptr);
        bits_ = other.bits_;
        out_ = other.out_;
        in_ = other.in_;
        pairs_ = other.pairs_;
        groups_ = other.groups_;
    }
    return *this;
}

CudaHyperLinearWeight::~CudaHyperLinearWeight()
{
    release();
}

void CudaHyperLinearWeight::release() noexcept
{
    cudaRelease(stream_);
    cudaRelease(table_);
    cudaRelease(rowScale_);
    stream_ = nullptr;
    table_ = nullptr;
    rowScale_ = nullptr;
}

void hyperLinearForwardCuda(const CudaHyperLinearWeight& weight, const float* x, std::int64_t tokens,
                            const float* bias, float* y, CudaMath math, void* stream)
{
    if (tokens < 0)
        throw std::runtime_error("CUDA HyperLinear: negative token count " + std::to_string(tokens));
    if (tokens == 0)
        return;
    TileArgs a;
    a.grouped = weight.stream_;
    a.bits = weight.bits_;
    a.out = weight.out_;
    a.in = weight.in_;
    a.pairs = weight.pairs_;
    a.groups = weight.groups_;
    a.table = weight.table_;
    a.tableFloats = static_cast<std::int64_t>(weight.tableFloats_);
    a.x = x;
    a.tokens = tokens;
    a.bias = bias;
    a.y = y;
    a.rowScale = weight.rowScale_;
    DeviceScope scope(weight.device_);
    const auto s = static_cast<cudaStream_t>(stream);
    switch (math) {
    case CudaMath::Fp32:
        launch<Fp32Math>(a, weight.device_, s);
        break;
    case CudaMath::Tf32:
        launch<Tf32Math>(a, weight.device_, s);
        break;
    case CudaMath::Bf16:
        launch<Bf16Math>(a, weight.device_, s);
        break;
    }
}

void* cudaAllocate(std::size_t bytes, int device)
{
    DeviceScope scope(device);
    void* p = nullptr;
    check(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc");
    return p;
}

void cudaRelease(void* devicePointer) noexcept
{
    if (devicePointer)
        cudaFree(devicePointer);
}

void cudaCopyToDevice(void* devicePointer, const void* host, std::size_t bytes)
{
    check(cudaMemcpy(devicePointer, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (host to device)");
}

void cudaCopyToHost(void* host, const void* devicePointer, std::size_t bytes)
{
    check(cudaMemcpy(host, devicePointer, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (device to host)");
}

void cudaSynchronizeDevice(int device)
{
    DeviceScope scope(device);
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
}

}  // namespace birkhoff::kernels
