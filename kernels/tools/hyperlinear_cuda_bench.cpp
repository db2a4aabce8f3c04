// hyperlinear_cuda_bench: the CUDA HyperLinear kernel against cuBLAS on one GPU, side by side
// in one run on the same inputs (built with the `cuda` preset; run by scripts/gpu_check.sh).
// For the SAM ViT-B and MobileSAM Linear shapes and 1, 16, 256, 4096 tokens it times
//   cuBLAS SGEMM (FP32), cuBLAS TF32 and BF16 GEMMs on the dense weight, and
//   HyperLinear FP32 / TF32 / BF16 on the index stream,
// checks each HyperLinear result against the CPU reference (FP32 <= 1e-5, TF32/BF16 <= 1e-2
// relative error; edge-case shapes and bit-exact decoded weights first) and prints a table (or
// JSON with --json). Exit code 1 if a check fails, 2 without a usable device.
#include "kernels/hyperlinear.h"
#include "kernels/hyperlinear_cuda.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace birkhoff::kernels;

namespace {

void check(cudaError_t status, const char* what)
{
    if (status != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

void check(cublasStatus_t status, const char* what)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(status)));
}

/// Median milliseconds of `runs` launches of `fn` after `warmup` launches (CUDA events).
double timeMs(const std::function<void()>& fn, int warmup = 3, int runs = 20)
{
    for (int i = 0; i < warmup; ++i)
        fn();
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
    std::vector<float> samples;
    for (int i = 0; i < runs; ++i) {
        check(cudaEventRecord(start), "cudaEventRecord");
        fn();
        check(cudaEventRecord(stop), "cudaEventRecord");
        check(cudaEventSynchronize(stop), "cudaEventSynchronize");
        float ms = 0.f;
        check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
        samples.push_back(ms);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

template <class T>
T* upload(const std::vector<T>& host)
{
    T* p = static_cast<T*>(cudaAllocate(host.size() * sizeof(T), 0));
    cudaCopyToDevice(p, host.data(), host.size() * sizeof(T));
    return p;
}

double relativeError(const std::vector<float>& y, const std::vector<float>& ref)
{
    double maxDiff = 0.0, maxRef = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i]))
            return INFINITY;
        maxDiff = std::max(maxDiff, std::abs(double(y[i]) - double(ref[i])));
        maxRef = std::max(maxRef, std::abs(double(ref[i])));
    }
    return maxDiff / maxRef;
}

struct Shape {
    const char* model;
    std::int64_t out, in;
};

/// y = x W^T + b in double from the bit-exact dense decode, OpenMP-parallel over tokens.
std::vector<float> reference(const HyperLinearWeight& weight, const std::vector<float>& dense,
                             const std::vector<float>& x, std::int64_t tokens, const float* bias)
{
    const std::int64_t out = weight.outFeatures(), in = weight.inFeatures();
    std::vector<float> y(static_cast<std::size_t>(tokens * out));
#pragma omp parallel for schedule(static)
    for (std::int64_t t = 0; t < tokens; ++t) {
        for (std::int64_t o = 0; o < out; ++o) {
            double sum = bias ? bias[o] : 0.0;
            for (std::int64_t k = 0; k < in; ++k)
                sum += double(x[t * in + k]) * double(dense[o * in + k]);
            y[t * out + o] = static_cast<float>(sum);
        }
    }
    return y;
}

/// Edge-case correctness on the device: tile remainders, odd `in`, K = 0..3, 1..4096 tokens,
/// and bit-exact weights on the FP32 path (x = identity). Prints one line per case to stderr.
bool checkEdgeCases()
{
    struct Case {
        std::int64_t out, in, tokens;
        std::uint32_t U, K;
    };
    const Case cases[] = {{17, 5, 3, 225, 1},      {100, 97, 70, 225, 0},   {130, 161, 4096, 1600, 2},
                          {64, 768, 1, 1225, 1},   {2304, 768, 17, 1225, 3}, {768, 3072, 65, 1600, 3}};
    std::mt19937 rng(7);
    bool ok = true;
    for (const Case& c : cases) {
        const float centre[2] = {0.002f, -0.001f}, far[2] = {0.3f, 0.1f};
        const LatticeParams lattice = makeLatticeParams(0.1f, c.U, c.K, centre, far);
        std::vector<std::uint32_t> indices(static_cast<std::size_t>(c.out * ((c.in + 1) / 2)));
        std::uniform_int_distribution<std::uint32_t> pick(0, c.U * (c.K + 1) - 1);
        for (auto& t : indices)
            t = pick(rng);
        const HyperLinearWeight weight = HyperLinearWeight::fromIndices(indices.data(), c.out, c.in, lattice);
        std::vector<float> dense(static_cast<std::size_t>(c.out * c.in));
        decodeDenseWeight(weight, dense.data());
        const CudaHyperLinearWeight device(weight, 0);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> x(static_cast<std::size_t>(c.tokens * c.in)), bias(static_cast<std::size_t>(c.out));
        for (auto& v : x)
            v = normal(rng);
        for (auto& v : bias)
            v = 0.1f * normal(rng);
        const std::vector<float> ref = reference(weight, dense, x, c.tokens, bias.data());
        float* dX = upload(x);
        float* dBias = upload(bias);
        float* dY = static_cast<float*>(cudaAllocate(ref.size() * sizeof(float), 0));
        std::fprintf(stderr, "check %lldx%lld T=%lld U=%u K=%u:", static_cast<long long>(c.out), static_cast<long long>(c.in),
                    static_cast<long long>(c.tokens), c.U, c.K);
        for (CudaMath math : {CudaMath::Fp32, CudaMath::Tf32, CudaMath::Bf16}) {
            hyperLinearForwardCuda(device, dX, c.tokens, dBias, dY, math);
            cudaSynchronizeDevice(0);
            std::vector<float> y(ref.size());
            cudaCopyToHost(y.data(), dY, y.size() * sizeof(float));
            const double error = relativeError(y, ref);
            const bool pass = error <= (math == CudaMath::Fp32 ? 1e-5 : 1e-2);
            ok = ok && pass;
            std::fprintf(stderr, " %s %.2e %s", cudaMathName(math), error, pass ? "ok" : "FAILED");
        }
        // x = identity: y[t, o] = W[o, t] exactly on the FP32 path.
        std::vector<float> identity(static_cast<std::size_t>(c.in * c.in), 0.f);
        for (std::int64_t t = 0; t < c.in; ++t)
            identity[t * c.in + t] = 1.f;
        float* dI = upload(identity);
        float* dW = static_cast<float*>(cudaAllocate(dense.size() * sizeof(float), 0));
        hyperLinearForwardCuda(device, dI, c.in, nullptr, dW, CudaMath::Fp32);
        cudaSynchronizeDevice(0);
        std::vector<float> w(dense.size());
        cudaCopyToHost(w.data(), dW, w.size() * sizeof(float));
        std::int64_t mismatches = 0;
        for (std::int64_t o = 0; o < c.out; ++o)
            for (std::int64_t k = 0; k < c.in; ++k)
                mismatches += std::memcmp(&w[k * c.out + o], &dense[o * c.in + k], sizeof(float)) != 0;
        ok = ok && mismatches == 0;
        std::fprintf(stderr, " | decoded weights: %lld of %lld differ %s\n", static_cast<long long>(mismatches),
                    static_cast<long long>(dense.size()), mismatches == 0 ? "ok" : "FAILED");
        for (float* p : {dX, dBias, dY, dI, dW})
            cudaRelease(p);
    }
    return ok;
}

}  // namespace

int main(int argc, char** argv)
{
    const bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
    std::string reason;
    if (cudaDeviceCount(&reason) == 0) {
        std::fprintf(stderr, "hyperlinear_cuda_bench: no usable CUDA device (%s)\n", reason.c_str());
        return 2;
    }
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
    cublasHandle_t blas;
    check(cublasCreate(&blas), "cublasCreate");

    bool allPassed = checkEdgeCases();
    const Shape shapes[] = {{"sam-vit-b", 2304, 768}, {"sam-vit-b", 768, 768},  {"sam-vit-b", 3072, 768},
                            {"sam-vit-b", 768, 3072}, {"mobilesam", 384, 128},  {"mobilesam", 480, 160},
                            {"mobilesam", 960, 320},  {"mobilesam", 1280, 320}, {"mobilesam", 320, 1280}};
    const std::int64_t tokenCounts[] = {1, 16, 256, 4096};
    std::mt19937 rng(2024);
    if (json)
        std::printf("[\n");
    else
        std::printf("GPU: %s (sm_%d%d)\n%-10s %-10s %6s | %9s %9s %9s | %9s %9s %9s | %8s %8s %8s | %s\n", prop.name,
                    prop.major, prop.minor, "model", "shape", "tokens", "sgemm_ms", "tf32_ms", "bf16_ms", "hyp_fp32",
                    "hyp_tf32", "hyp_bf16", "r_fp32", "r_tf32", "r_bf16", "rel.err fp32/tf32/bf16");
    bool firstRecord = true;
    for (const Shape& s : shapes) {
        // Weights as the paper's defaults store trained SAM weights: U = 1225, K = 1, about 3% of
        // the pairs in the outer ring.
        const float c[2] = {0.0004f, -0.0002f}, far[2] = {0.21f, -0.13f};
        const LatticeParams lattice = makeLatticeParams(0.1f, 1225, 1, c, far);
        const std::int64_t pairs = (s.in + 1) / 2;
        std::vector<std::uint32_t> indices(static_cast<std::size_t>(s.out * pairs));
        std::uniform_int_distribution<std::uint32_t> point(0, 1224);
        std::bernoulli_distribution outer(0.03);
        for (auto& t : indices)
            t = point(rng) + (outer(rng) ? 1225u : 0u);
        const HyperLinearWeight weight = HyperLinearWeight::fromIndices(indices.data(), s.out, s.in, lattice);
        const CudaHyperLinearWeight deviceWeight(weight, 0);
        std::vector<float> dense(static_cast<std::size_t>(s.out * s.in));
        decodeDenseWeight(weight, dense.data());
        std::vector<__nv_bfloat16> denseBf16(dense.size());
        for (std::size_t i = 0; i < dense.size(); ++i)
            denseBf16[i] = __float2bfloat16_rn(dense[i]);
        float* dW = upload(dense);
        __nv_bfloat16* dWb = upload(denseBf16);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> bias(static_cast<std::size_t>(s.out));
        for (auto& v : bias)
            v = 0.02f * normal(rng);
        float* dBias = upload(bias);
        for (const std::int64_t tokens : tokenCounts) {
            std::vector<float> x(static_cast<std::size_t>(tokens * s.in));
            for (auto& v : x)
                v = normal(rng);
            std::vector<__nv_bfloat16> xb(x.size());
            for (std::size_t i = 0; i < x.size(); ++i)
                xb[i] = __float2bfloat16_rn(x[i]);
            float* dX = upload(x);
            __nv_bfloat16* dXb = upload(xb);
            float* dY = static_cast<float*>(cudaAllocate(static_cast<std::size_t>(tokens * s.out) * sizeof(float), 0));
            const std::vector<float> ref = reference(weight, dense, x, tokens, bias.data());

            // cuBLAS is column major: Y^T [out, T] = W [out, in] (stored as W^T col-major) x X^T.
            const float one = 1.f, zero = 0.f;
            const int m = static_cast<int>(s.out), n = static_cast<int>(tokens), k = static_cast<int>(s.in);
            check(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
            const double sgemm = timeMs([&] {
                check(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, dW, k, dX, k, &zero, dY, m), "cublasSgemm");
            });
            const double tf32 = timeMs([&] {
                check(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, dW, CUDA_R_32F, k, dX, CUDA_R_32F, k,
                                   &zero, dY, CUDA_R_32F, m, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
                      "cublasGemmEx(TF32)");
            });
            const double bf16 = timeMs([&] {
                check(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, dWb, CUDA_R_16BF, k, dXb, CUDA_R_16BF, k,
                                   &zero, dY, CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                      "cublasGemmEx(BF16)");
            });
            double hyper[3], error[3];
            const CudaMath maths[3] = {CudaMath::Fp32, CudaMath::Tf32, CudaMath::Bf16};
            for (int i = 0; i < 3; ++i) {
                hyper[i] = timeMs([&] { hyperLinearForwardCuda(deviceWeight, dX, tokens, dBias, dY, maths[i]); });
                cudaSynchronizeDevice(0);
                std::vector<float> y(ref.size());
                cudaCopyToHost(y.data(), dY, y.size() * sizeof(float));
                error[i] = relativeError(y, ref);
                const double tolerance = i == 0 ? 1e-5 : 1e-2;
                allPassed = allPassed && error[i] <= tolerance;
            }
            const std::string shape = std::to_string(s.out) + "x" + std::to_string(s.in);
            if (json) {
                std::printf("%s  {\"gpu\": \"%s\", \"model\": \"%s\", \"shape\": \"%s\", \"tokens\": %lld, "
                            "\"cublas_sgemm_ms\": %.5f, \"cublas_tf32_ms\": %.5f, \"cublas_bf16_ms\": %.5f, "
                            "\"hyperlinear_fp32_ms\": %.5f, \"hyperlinear_tf32_ms\": %.5f, \"hyperlinear_bf16_ms\": %.5f, "
                            "\"rel_err_fp32\": %.3g, \"rel_err_tf32\": %.3g, \"rel_err_bf16\": %.3g, "
                            "\"dense_weight_bytes\": %lld, \"hyper_weight_bytes\": %zu}",
                            firstRecord ? "" : ",\n", prop.name, s.model, shape.c_str(), static_cast<long long>(tokens),
                            sgemm, tf32, bf16, hyper[0], hyper[1], hyper[2], error[0], error[1], error[2],
                            static_cast<long long>(dense.size() * sizeof(float)), deviceWeight.deviceBytes());
                firstRecord = false;
            } else {
                std::printf("%-10s %-10s %6lld | %9.4f %9.4f %9.4f | %9.4f %9.4f %9.4f | %8.2f %8.2f %8.2f | %.1e/%.1e/%.1e\n",
                            s.model, shape.c_str(), static_cast<long long>(tokens), sgemm, tf32, bf16, hyper[0],
                            hyper[1], hyper[2], hyper[0] / sgemm, hyper[1] / tf32, hyper[2] / bf16, error[0], error[1],
                            error[2]);
            }
            cudaRelease(dX);
            cudaRelease(dXb);
            cudaRelease(dY);
        }
        cudaRelease(dW);
        cudaRelease(dWb);
        cudaRelease(dBias);
    }
    if (json)
        std::printf("\n]\n");
    else
        std::printf("r_* = HyperLinear time / cuBLAS time at the same precision (below 1: HyperLinear faster).\n%s\n",
                    allPassed ? "all accuracy checks passed" : "ACCURACY CHECK FAILED");
    cublasDestroy(blas);
    return allPassed ? 0 : 1;
}
