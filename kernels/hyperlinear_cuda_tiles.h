// Tiling of the CUDA HyperLinear kernel, written once for device and host: every index and
// offset computation of the kernel in hyperlinear_cuda.cu lives in the per-thread "phase"
// functions below, which the kernel runs between __syncthreads() and which
// emulateHyperLinearCudaTiles() (host only, at the end) runs thread by thread in the same order.
// Tests run that emulation on machines without a GPU, so the tiling (index tile copy, unpacking,
// table decode, edge masking, operand layouts, epilogue) is checked everywhere; only the
// tensor-core instructions themselves need a GPU.
//
// Block tile: kBlockM = 64 tokens x kBlockN = 64 output rows, kBlockK = 32 input columns per
// step (16 index columns of 4 row groups). Per step the block copies the 4 x 16 index columns
// (2*bits bytes each) of the tile once into shared memory, decodes them through the decode
// table (shared memory when it fits, else global) into the B operand, and multiplies. The
// loads of step kt+1 (and the index copy of step kt+2) overlap the multiply of step kt in a
// two-stage (index: three-stage) shared-memory pipeline with one barrier per step.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#define BIRKHOFF_TILE_HD __host__ __device__ inline
#else
#define BIRKHOFF_TILE_HD inline
#endif

namespace birkhoff::kernels::cudatiles {

constexpr int kBlockM = 64;
constexpr int kBlockN = 64;
constexpr int kBlockK = 32;
constexpr int kThreads = 128;
constexpr int kRowGroup = 16;                          ///< = kHyperRowGroup of the CPU layout
constexpr int kGroupsPerTile = kBlockN / kRowGroup;    ///< 4
constexpr int kPairsPerTile = kBlockK / 2;             ///< 16 index columns
constexpr int kLdC = kBlockN + 4;                      ///< row stride of the staged C tile (floats)
constexpr int kMaxIndexBits = 23;
constexpr int kIndexTileSlack = 8;                     ///< zero bytes after a tile: unpacking reads 4 at a time
constexpr int kIndexTileBytesMax = kGroupsPerTile * kPairsPerTile * 2 * kMaxIndexBits + kIndexTileSlack;

/// Everything a block needs (device pointers on the GPU, host pointers in the emulation).
struct TileArgs {
    const std::uint8_t* grouped = nullptr;  ///< row-group index stream (kernels/hyperlinear.h)
    unsigned bits = 1;
    std::int64_t out = 0;
    std::int64_t in = 0;
    std::int64_t pairs = 0;   ///< ceil(in / 2)
    std::int64_t groups = 0;  ///< ceil(out / 16)
    const float* table = nullptr;  ///< decode table: 2 floats per index value
    std::int64_t tableFloats = 0;
    const float* x = nullptr;      ///< [tokens, in]
    std::int64_t tokens = 0;
    const float* bias = nullptr;   ///< [out] or null
    float* y = nullptr;            ///< [tokens, out]
    const float* rowScale = nullptr;  ///< [out] or null: extension "row_scale" (weight of row i times rowScale[i])
};

// ---- element types of the A/B operands -------------------------------------------------------

#if defined(__CUDACC__)
using Bf16 = __nv_bfloat16;
BIRKHOFF_TILE_HD Bf16 toBf16(float v)
{
    return __float2bfloat16_rn(v);
}
BIRKHOFF_TILE_HD float fromBf16(Bf16 v)
{
    return __bfloat162float(v);
}
#else
/// Host stand-in for __nv_bfloat16 (same bits).
struct Bf16 {
    std::uint16_t bits;
};
/// float -> bfloat16, round to nearest even (as __float2bfloat16_rn).
inline Bf16 toBf16(float v)
{
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)
        return Bf16{static_cast<std::uint16_t>((u >> 16) | 0x40u)};  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return Bf16{static_cast<std::uint16_t>(u >> 16)};
}
inline float fromBf16(Bf16 v)
{
    const std::uint32_t u = static_cast<std::uint32_t>(v.bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
#endif

/// float -> TF32 (10-bit mantissa, kept in a float), round to nearest with ties away from zero,
/// as cvt.rna.tf32.f32.
BIRKHOFF_TILE_HD float toTf32(float v)
{
#if defined(__CUDA_ARCH__)
    std::uint32_t u;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(v));
    return __uint_as_float(u);
#else
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    if ((u & 0x7f800000u) != 0x7f800000u)  // finite: round the 13 dropped bits half away
        u += 0x1000u;
    u &= 0xffffe000u;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

// Each arithmetic fixes the operand type and the shared-memory row stride kLd of the A and B
// tiles (elements): odd for FP32 (conflict-free column reads of the CUDA-core multiply),
// 16-byte multiples for WMMA (36 floats, 40 bfloat16s), which also keeps every fragment
// pointer 32-byte aligned.

/// FP32 on CUDA cores (no tensor cores): the exact path, compared with 1e-5 tolerance.
struct Fp32Math {
    using Elem = float;
    static constexpr bool kTensorCores = false;
    static constexpr int kLd = kBlockK + 1;
    BIRKHOFF_TILE_HD static Elem convert(float v) { return v; }
    BIRKHOFF_TILE_HD static float widen(Elem v) { return v; }
};
/// TF32 tensor cores (m16n16k8), FP32 accumulation.
struct Tf32Math {
    using Elem = float;
    static constexpr bool kTensorCores = true;
    static constexpr int kLd = kBlockK + 4;
    static constexpr int kMmaK = 8;
    BIRKHOFF_TILE_HD static Elem convert(float v) { return toTf32(v); }
    BIRKHOFF_TILE_HD static float widen(Elem v) { return v; }
};
/// BF16 tensor cores (m16n16k16), FP32 accumulation.
struct Bf16Math {
    using Elem = Bf16;
    static constexpr bool kTensorCores = true;
    static constexpr int kLd = kBlockK + 8;
    static constexpr int kMmaK = 16;
    BIRKHOFF_TILE_HD static Elem convert(float v) { return toBf16(v); }
    BIRKHOFF_TILE_HD static float widen(Elem v) { return fromBf16(v); }
};

// ---- shared memory layout ---------------------------------------------------------------------

BIRKHOFF_TILE_HD std::size_t alignUp(std::size_t n, std::size_t a)
{
    return (n + a - 1) / a * a;
}

/// Byte offsets in the dynamic shared memory of one block. The C tile (epilogue) reuses the
/// operand stages once the last multiply is done.
struct SmemLayout {
    std::size_t table = 0;      ///< decode table copy (0 bytes when it is read from global)
    std::size_t stages = 0;     ///< 2 x (A tile, B tile); also the C tile in the epilogue
    std::size_t stageBytes = 0;
    std::size_t aBytes = 0;
    std::size_t index = 0;      ///< 3 index tiles
    std::size_t total = 0;
};

template <class M>
BIRKHOFF_TILE_HD SmemLayout smemLayout(std::size_t tableBytes)
{
    SmemLayout s;
    s.table = 0;
    s.stages = alignUp(tableBytes, 128);
    s.aBytes = alignUp(sizeof(typename M::Elem) * kBlockM * M::kLd, 128);
    s.stageBytes = s.aBytes + alignUp(sizeof(typename M::Elem) * kBlockN * M::kLd, 128);
    std::size_t stagesBytes = 2 * s.stageBytes;
    const std::size_t cBytes = sizeof(float) * kBlockM * kLdC;
    if (stagesBytes < cBytes)
        stagesBytes = alignUp(cBytes, 128);
    s.index = s.stages + stagesBytes;
    s.total = s.index + 3 * alignUp(kIndexTileBytesMax, 16);
    return s;
}

template <class M>
BIRKHOFF_TILE_HD typename M::Elem* stageA(unsigned char* smem, const SmemLayout& s, int stage)
{
    return reinterpret_cast<typename M::Elem*>(smem + s.stages + stage * s.stageBytes);
}
template <class M>
BIRKHOFF_TILE_HD typename M::Elem* stageB(unsigned char* smem, const SmemLayout& s, int stage)
{
    return reinterpret_cast<typename M::Elem*>(smem + s.stages + stage * s.stageBytes + s.aBytes);
}
BIRKHOFF_TILE_HD std::uint8_t* indexTile(unsigned char* smem, const SmemLayout& s, int slot)
{
    return smem + s.index + slot * alignUp(kIndexTileBytesMax, 16);
}
BIRKHOFF_TILE_HD float* cTile(unsigned char* smem, const SmemLayout& s)
{
    return reinterpret_cast<float*>(smem + s.stages);
}

// ---- per-thread phases --------------------------------------------------------------------------

BIRKHOFF_TILE_HD std::int64_t minOf(std::int64_t a, std::int64_t b)
{
    return a < b ? a : b;
}

/// Copies the index columns pair0..pair0+15 of the 4 row groups starting at output row n0 (each
/// group's 16 columns are 32*bits contiguous bytes of the stream) into `tile`; bytes past the
/// matrix and kIndexTileSlack trailing bytes are zero.
BIRKHOFF_TILE_HD void copyIndexTile(const TileArgs& a, std::int64_t n0, std::int64_t pair0, std::uint8_t* tile,
                                    int thread)
{
    const int columnBytes = 2 * static_cast<int>(a.bits);
    const int groupBytes = kPairsPerTile * columnBytes;
    const int total = kGroupsPerTile * groupBytes;
    const std::int64_t g0 = n0 / kRowGroup;
    const std::int64_t validBytes = minOf(kPairsPerTile, a.pairs - pair0) * columnBytes;
    for (int i = thread; i < total + kIndexTileSlack; i += kThreads) {
        std::uint8_t v = 0;
        const int gi = i / groupBytes;
        const int offset = i - gi * groupBytes;
        if (i < total && g0 + gi < a.groups && offset < validBytes)
            v = a.grouped[((g0 + gi) * a.pairs + pair0) * columnBytes + offset];
        tile[i] = v;
    }
}

/// Index of row r (0..15) of row group gi (0..3), index column p (0..15) of a copied tile.
BIRKHOFF_TILE_HD std::uint32_t unpackTileIndex(const std::uint8_t* tile, unsigned bits, int gi, int p, int r)
{
    const unsigned bit = static_cast<unsigned>((gi * kPairsPerTile + p) * kRowGroup + r) * bits;
    const std::uint8_t* b = tile + (bit >> 3);
    const std::uint32_t word = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8)
                               | std::uint32_t(b[3]);
    return (word << (bit & 7)) >> (32 - bits);
}

/// A tile: As[m * M::kLd + k] = x[m0 + m, k0 + k] (0 outside x), converted to the operand type.
template <class M>
BIRKHOFF_TILE_HD void loadXTile(const TileArgs& a, std::int64_t m0, std::int64_t k0, typename M::Elem* As, int thread)
{
    for (int i = thread; i < kBlockM * kBlockK; i += kThreads) {
        const int m = i / kBlockK;
        const int k = i - m * kBlockK;
        const std::int64_t t = m0 + m;
        const std::int64_t kk = k0 + k;
        const float v = (t < a.tokens && kk < a.in) ? a.x[t * a.in + kk] : 0.f;
        As[m * M::kLd + k] = M::convert(v);
    }
}

/// B tile: Bs[n * M::kLd + k] = W[n0 + n, 2 * pair0 + k] decoded through `table` and scaled by
/// the row scale when there is one (0 for the pad
/// column of an odd `in`, columns past `in` and rows past `out`).
template <class M>
BIRKHOFF_TILE_HD void decodeWTile(const TileArgs& a, const float* table, std::int64_t n0, std::int64_t pair0,
                                  const std::uint8_t* tile, typename M::Elem* Bs, int thread)
{
    for (int i = thread; i < kBlockN * kPairsPerTile; i += kThreads) {
        const int n = i / kPairsPerTile;
        const int p = i - n * kPairsPerTile;
        const std::uint32_t t = unpackTileIndex(tile, a.bits, n / kRowGroup, p, n % kRowGroup);
        const std::int64_t k = 2 * (pair0 + p);
        const bool row = n0 + n < a.out;
        const float scale = (row && a.rowScale) ? a.rowScale[n0 + n] : 1.f;
        const float w0 = (row && k < a.in) ? table[2 * static_cast<std::size_t>(t)] * scale : 0.f;
        const float w1 = (row && k + 1 < a.in) ? table[2 * static_cast<std::size_t>(t) + 1] * scale : 0.f;
        Bs[n * M::kLd + 2 * p] = M::convert(w0);
        Bs[n * M::kLd + 2 * p + 1] = M::convert(w1);
    }
}

/// CUDA-core multiply (Fp32Math): thread owns tokens 8*(thread/16)..+8 x rows 4*(thread%16)..+4.
template <class M>
BIRKHOFF_TILE_HD void multiplySimt(const typename M::Elem* As, const typename M::Elem* Bs, float acc[8][4], int thread)
{
    const int tm = (thread / 16) * 8;
    const int tn = (thread % 16) * 4;
    for (int k = 0; k < kBlockK; ++k) {
        float av[8], bv[4];
        for (int i = 0; i < 8; ++i)
            av[i] = M::widen(As[(tm + i) * M::kLd + k]);
        for (int j = 0; j < 4; ++j)
            bv[j] = M::widen(Bs[(tn + j) * M::kLd + k]);
        for (int i = 0; i < 8; ++i)
            for (int j = 0; j < 4; ++j)
                acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
}

BIRKHOFF_TILE_HD void storeSimtAccumulators(const float acc[8][4], float* Cs, int thread)
{
    const int tm = (thread / 16) * 8;
    const int tn = (thread % 16) * 4;
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 4; ++j)
            Cs[(tm + i) * kLdC + tn + j] = acc[i][j];
}

/// Tensor-core fragments: warp w computes C rows 32*(w/2)+16*i.. and columns 32*(w%2)+16*j..
/// (i, j in {0, 1}); its A fragment starts at As + fragmentRow * M::kLd + kk (row major), its B
/// fragment at Bs + fragmentCol * M::kLd + kk (column major: element (k, n) at n * M::kLd + k).
BIRKHOFF_TILE_HD int fragmentRow(int warp, int i)
{
    return 32 * (warp / 2) + 16 * i;
}
BIRKHOFF_TILE_HD int fragmentCol(int warp, int j)
{
    return 32 * (warp % 2) + 16 * j;
}

/// Epilogue: y[m0 + m, n0 + n] = C[m, n] + bias[n0 + n] inside the output.
BIRKHOFF_TILE_HD void storeTile(const TileArgs& a, std::int64_t m0, std::int64_t n0, const float* Cs, int thread)
{
    for (int i = thread; i < kBlockM * kBlockN; i += kThreads) {
        const int m = i / kBlockN;
        const int n = i - m * kBlockN;
        const std::int64_t t = m0 + m;
        const std::int64_t o = n0 + n;
        if (t < a.tokens && o < a.out)
            a.y[t * a.out + o] = Cs[m * kLdC + n] + (a.bias ? a.bias[o] : 0.f);
    }
}

BIRKHOFF_TILE_HD std::int64_t kSteps(const TileArgs& a)
{
    return (a.in + kBlockK - 1) / kBlockK;
}

}  // namespace birkhoff::kernels::cudatiles

#if !defined(__CUDACC__)
#include <algorithm>
#include <vector>

namespace birkhoff::kernels::cudatiles {

/// Host emulation of the whole CUDA grid, block by block, running the phases thread by thread
/// in the kernel's order (hyperLinearTileKernel in hyperlinear_cuda.cu). Tensor-core
/// multiplies are emulated from the same fragment offsets in float32, one mma step (kMmaK
/// columns) at a time. `tableInShared` selects the kernel's shared-memory table copy.
template <class M>
void emulateHyperLinearCudaTiles(const TileArgs& a, bool tableInShared)
{
    const std::size_t tableBytes = tableInShared ? static_cast<std::size_t>(a.tableFloats) * sizeof(float) : 0;
    const SmemLayout layout = smemLayout<M>(tableBytes);
    std::vector<unsigned char> smemBytes(layout.total + 128);
    unsigned char* smem = smemBytes.data();
    const std::int64_t gridN = (a.out + kBlockN - 1) / kBlockN;
    const std::int64_t gridM = (a.tokens + kBlockM - 1) / kBlockM;
    const std::int64_t steps = kSteps(a);
    std::vector<float> simt(static_cast<std::size_t>(kThreads) * 32);
    std::vector<float> fragments(static_cast<std::size_t>(kBlockM) * kBlockN);
    for (std::int64_t by = 0; by < gridM; ++by) {
        for (std::int64_t bx = 0; bx < gridN; ++bx) {
            const std::int64_t n0 = bx * kBlockN, m0 = by * kBlockM;
            const float* table = a.table;
            if (tableInShared) {
                float* shared = reinterpret_cast<float*>(smem + layout.table);
                for (std::int64_t i = 0; i < a.tableFloats; ++i)
                    shared[i] = a.table[i];
                table = shared;
            }
            std::fill(simt.begin(), simt.end(), 0.f);
            std::fill(fragments.begin(), fragments.end(), 0.f);
            for (int t = 0; t < kThreads; ++t) {
                copyIndexTile(a, n0, 0, indexTile(smem, layout, 0), t);
                if (steps > 1)
                    copyIndexTile(a, n0, kPairsPerTile, indexTile(smem, layout, 1), t);
            }
            for (int t = 0; t < kThreads; ++t) {
                loadXTile<M>(a, m0, 0, stageA<M>(smem, layout, 0), t);
                decodeWTile<M>(a, table, n0, 0, indexTile(smem, layout, 0), stageB<M>(smem, layout, 0), t);
            }
            for (std::int64_t kt = 0; kt < steps; ++kt) {
                const int stage = static_cast<int>(kt & 1);
                for (int t = 0; t < kThreads; ++t) {
                    if (kt + 2 < steps)
                        copyIndexTile(a, n0, (kt + 2) * kPairsPerTile, indexTile(smem, layout, int((kt + 2) % 3)), t);
                    if (kt + 1 < steps) {
                        loadXTile<M>(a, m0, (kt + 1) * kBlockK, stageA<M>(smem, layout, stage ^ 1), t);
                        decodeWTile<M>(a, table, n0, (kt + 1) * kPairsPerTile, indexTile(smem, layout, int((kt + 1) % 3)),
                                       stageB<M>(smem, layout, stage ^ 1), t);
                    }
                }
                const auto* As = stageA<M>(smem, layout, stage);
                const auto* Bs = stageB<M>(smem, layout, stage);
                if constexpr (M::kTensorCores) {
                    for (int warp = 0; warp < kThreads / 32; ++warp) {
                        for (int i = 0; i < 2; ++i) {
                            for (int j = 0; j < 2; ++j) {
                                const int row = fragmentRow(warp, i), col = fragmentCol(warp, j);
                                for (int kk = 0; kk < kBlockK; kk += M::kMmaK) {
                                    for (int m = 0; m < 16; ++m) {
                                        for (int n = 0; n < 16; ++n) {
                                            float sum = 0.f;
                                            for (int q = 0; q < M::kMmaK; ++q)
                                                sum += M::widen(As[(row + m) * M::kLd + kk + q])
                                                       * M::widen(Bs[(col + n) * M::kLd + kk + q]);
                                            fragments[(row + m) * kBlockN + col + n] += sum;
                                        }
                                    }
                                }
                            }
                        }
                    }
                } else {
                    for (int t = 0; t < kThreads; ++t)
                        multiplySimt<M>(As, Bs, reinterpret_cast<float(*)[4]>(simt.data() + 32 * t), t);
                }
            }
            float* Cs = cTile(smem, layout);
            if constexpr (M::kTensorCores) {
                for (int m = 0; m < kBlockM; ++m)
                    for (int n = 0; n < kBlockN; ++n)
                        Cs[m * kLdC + n] = fragments[m * kBlockN + n];
            } else {
                for (int t = 0; t < kThreads; ++t)
                    storeSimtAccumulators(reinterpret_cast<const float(*)[4]>(simt.data() + 32 * t), Cs, t);
            }
            for (int t = 0; t < kThreads; ++t)
                storeTile(a, m0, n0, Cs, t);
        }
    }
}

}  // namespace birkhoff::kernels::cudatiles
#endif
