// CPU HyperLinear, AVX-512 path (compiled with -mavx512f/bw/dq/vl -mfma): vector index unpack,
// arithmetic lattice decode (16 weight pairs per step, no table), and a micro-kernel of
// 12 tokens x 32 rows (24 zmm accumulators) with explicit FMA intrinsics.
//
// The arithmetic decoders repeat decode.h's float32 operations lane by lane; the one scalar
// step they replace, fmodf, is emulated with floor/fma (exact whenever the quotient is right;
// the Corrected variant fixes the quotient, which makes it exact by construction). Which variant
// a weight uses is decided once per weight by comparing with the decode table over every index
// (chooseAvx512Decode), so the weights the kernel multiplies are decode.h's bit for bit.
#include "kernels/hyperlinear_tiles.h"

// GCC 12's AVX-512 headers seed unmasked results with a self-initialised "undefined" vector,
// which -W(maybe-)uninitialized misreports once inlined (GCC bug 105593, fixed in GCC 13).
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstring>

namespace birkhoff::kernels::detail {
namespace {

constexpr int kFast = 0;
constexpr int kCorrected = 1;
constexpr int kTable = 2;

/// Unpacks the 16 indices of one group column (2*bits bytes, MSB first, byte aligned):
/// a masked load of exactly those bytes, a dword permute that brings each 128-bit lane the
/// 16 bytes its four indices live in, a byte shuffle into big-endian dwords, and two shifts.
class ColumnUnpacker {
public:
    explicit ColumnUnpacker(unsigned bits) : bits_(bits)
    {
        alignas(64) std::int32_t dwordPerm[16];
        alignas(64) std::uint8_t bytePerm[64];
        alignas(64) std::int32_t shiftLeft[16];
        for (int lane = 0; lane < 4; ++lane) {
            const unsigned firstByte = (4 * lane * bits) >> 3;
            const unsigned baseDword = firstByte >> 2;
            for (int d = 0; d < 4; ++d)
                dwordPerm[4 * lane + d] = static_cast<std::int32_t>(baseDword + d < 16 ? baseDword + d : 15);
            for (int d = 0; d < 4; ++d) {
                const int i = 4 * lane + d;
                const unsigned bit = static_cast<unsigned>(i) * bits;
                const unsigned local = (bit >> 3) - 4 * baseDword;  // <= 12 for bits <= 23
                for (int b = 0; b < 4; ++b)
                    bytePerm[16 * lane + 4 * d + b] = static_cast<std::uint8_t>(local + 3 - b);
                shiftLeft[i] = static_cast<std::int32_t>(bit & 7);
            }
        }
        loadMask_ = (std::uint64_t{1} << (2 * bits)) - 1;
        dwordPerm_ = _mm512_load_si512(dwordPerm);
        bytePerm_ = _mm512_load_si512(bytePerm);
        shiftLeft_ = _mm512_load_si512(shiftLeft);
        shiftRight_ = _mm_cvtsi32_si128(static_cast<int>(32 - bits));
    }

    __m512i operator()(const std::uint8_t* column) const
    {
        const __m512i raw = _mm512_maskz_loadu_epi8(loadMask_, column);
        __m512i v = _mm512_permutexvar_epi32(dwordPerm_, raw);
        v = _mm512_shuffle_epi8(v, bytePerm_);
        v = _mm512_sllv_epi32(v, shiftLeft_);
        return _mm512_srl_epi32(v, shiftRight_);
    }

    unsigned bits() const { return bits_; }

private:
    unsigned bits_;
    __mmask64 loadMask_;
    __m512i dwordPerm_;
    __m512i bytePerm_;
    __m512i shiftLeft_;
    __m128i shiftRight_;
};

/// The lattice parameters broadcast to vectors.
struct LatticeVectors {
    explicit LatticeVectors(const LatticeParams& p, const float* ringFactors, const float* decodeTable)
        : a0(_mm512_set1_ps(p.aJump[0])), a1(_mm512_set1_ps(p.aJump[1])), ld0(_mm512_set1_ps(p.nodeLd[0])),
          ld1(_mm512_set1_ps(p.nodeLd[1])), l(_mm512_set1_ps(p.l)), invL(_mm512_set1_ps(1.f / p.l)),
          c0(_mm512_set1_ps(p.center[0])), c1(_mm512_set1_ps(p.center[1])),
          u(_mm512_set1_ps(static_cast<float>(p.U))), invU(_mm512_set1_ps(1.f / static_cast<float>(p.U))),
          rings(static_cast<int>(p.K)), factors(ringFactors), table(decodeTable)
    {
        alignas(64) float lowFactors[32] = {};
        alignas(64) float lowReciprocals[32] = {};
        for (int j = 0; j <= rings && j < 32; ++j) {
            lowFactors[j] = ringFactors[j];
            lowReciprocals[j] = 1.f / ringFactors[j];
        }
        ring0 = _mm512_load_ps(lowFactors);
        ring1 = _mm512_load_ps(lowFactors + 16);
        reciprocal0 = _mm512_load_ps(lowReciprocals);
        reciprocal1 = _mm512_load_ps(lowReciprocals + 16);
        scaleAll = rings > 0 && ringFactors[0] != 1.f;
    }

    __m512 a0, a1, ld0, ld1, l, invL, c0, c1, u, invU;
    __m512 ring0, ring1;              ///< f_j for j < 32
    __m512 reciprocal0, reciprocal1;  ///< fl(1 / f_j) for j < 32
    int rings;
    bool scaleAll;
    const float* factors;
    const float* table;
};

inline __m512 floorPs(__m512 v)
{
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}

/// fmodf(v, l) for v >= 0 when floor(v / l) comes out right (verified per weight).
inline __m512 fmodFast(__m512 v, const LatticeVectors& L)
{
    const __m512 q = floorPs(_mm512_mul_ps(v, L.invL));
    return _mm512_fnmadd_ps(q, L.l, v);
}

/// fmodf(v, l) for v >= 0, exact: the quotient estimate is off by at most one and is corrected
/// by the sign of the remainder; with the right quotient the fma is exact (an fmod result is
/// always representable).
inline __m512 fmodExact(__m512 v, const LatticeVectors& L)
{
    const __m512 one = _mm512_set1_ps(1.f);
    __m512 q = floorPs(_mm512_mul_ps(v, L.invL));
    __m512 r = _mm512_fnmadd_ps(q, L.l, v);
    const __mmask16 tooBig = _mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_LT_OQ);
    q = _mm512_mask_sub_ps(q, tooBig, q, one);
    r = _mm512_fnmadd_ps(q, L.l, v);
    const __mmask16 tooSmall = _mm512_cmp_ps_mask(r, L.l, _CMP_GE_OQ);
    q = _mm512_mask_add_ps(q, tooSmall, q, one);
    return _mm512_fnmadd_ps(q, L.l, v);
}

inline __m512 ringFactorOf(const LatticeVectors& L, __m512 jf, __mmask16 lanes)
{
    const __m512i j = _mm512_cvttps_epi32(jf);
    if (L.rings < 16)
        return _mm512_permutexvar_ps(j, L.ring0);
    if (L.rings < 32)
        return _mm512_permutex2var_ps(L.ring0, j, L.ring1);
    return _mm512_mask_i32gather_ps(_mm512_set1_ps(1.f), lanes, j, L.factors, 4);
}

/// d / f_j without a division, for K < 32: q = d * fl(1/f), then one fma residual step.
/// Not always the correctly rounded quotient, hence only in the Fast decoder, whose use is
/// verified per weight over every (k, j) it can meet.
inline __m512 divideByRingFast(const LatticeVectors& L, __m512 d, __m512 f, __m512i j)
{
    const __m512 g = L.rings < 16 ? _mm512_permutexvar_ps(j, L.reciprocal0)
                                  : _mm512_permutex2var_ps(L.reciprocal0, j, L.reciprocal1);
    const __m512 q = _mm512_mul_ps(d, g);
    const __m512 r = _mm512_fnmadd_ps(q, f, d);
    return _mm512_fmadd_ps(r, g, q);
}

/// decodeIndex for 16 indices: w0/w1 receive the first/second coordinate of each pair.
template <int Mode>
inline void decode16(const LatticeVectors& L, __m512i t, __m512& w0, __m512& w1)
{
    if constexpr (Mode == kTable) {
        w0 = _mm512_i32gather_ps(t, L.table, 8);
        w1 = _mm512_i32gather_ps(t, L.table + 1, 8);
    } else {
        const __m512 tf = _mm512_cvtepi32_ps(t);
        __m512 kf = tf;
        __m512 jf = _mm512_setzero_ps();
        if (L.rings > 0) {
            jf = floorPs(_mm512_mul_ps(tf, L.invU));
            kf = _mm512_fnmadd_ps(jf, L.u, tf);
            if constexpr (Mode == kCorrected) {
                const __m512 one = _mm512_set1_ps(1.f);
                const __mmask16 low = _mm512_cmp_ps_mask(kf, _mm512_setzero_ps(), _CMP_LT_OQ);
                jf = _mm512_mask_sub_ps(jf, low, jf, one);
                kf = _mm512_mask_add_ps(kf, low, kf, L.u);
                const __mmask16 high = _mm512_cmp_ps_mask(kf, L.u, _CMP_GE_OQ);
                jf = _mm512_mask_add_ps(jf, high, jf, one);
                kf = _mm512_mask_sub_ps(kf, high, kf, L.u);
            }
        }
        __m512 vx = _mm512_mul_ps(kf, L.a0);
        __m512 vy = _mm512_mul_ps(kf, L.a1);
        if constexpr (Mode == kCorrected) {
            vx = fmodExact(vx, L);
            vy = fmodExact(vy, L);
        } else {
            vy = fmodFast(vy, L);
        }
        const __m512 bx = _mm512_add_ps(vx, L.ld0);
        const __m512 by = _mm512_add_ps(vy, L.ld1);
        if (L.rings == 0) {
            w0 = bx;
            w1 = by;
            return;
        }
        __m512 d0 = _mm512_sub_ps(bx, L.c0);
        __m512 d1 = _mm512_sub_ps(by, L.c1);
        if (Mode == kFast && L.rings < 32) {
            // Branch-free: ring 0 has f = 1/f = 1, for which the residual step is exact.
            const __m512i j = _mm512_cvttps_epi32(jf);
            const __m512 f = ringFactorOf(L, jf, __mmask16(0xFFFF));
            w0 = _mm512_add_ps(divideByRingFast(L, d0, f, j), L.c0);
            w1 = _mm512_add_ps(divideByRingFast(L, d1, f, j), L.c1);
            return;
        }
        const __mmask16 scaled =
            L.scaleAll ? __mmask16(0xFFFF) : _mm512_cmp_ps_mask(jf, _mm512_setzero_ps(), _CMP_GT_OQ);
        if (scaled) {
            const __m512 f = ringFactorOf(L, jf, scaled);
            d0 = _mm512_mask_div_ps(d0, scaled, d0, f);
            d1 = _mm512_mask_div_ps(d1, scaled, d1, f);
        }
        w0 = _mm512_add_ps(d0, L.c0);
        w1 = _mm512_add_ps(d1, L.c1);
    }
}

/// dst[r * ld + k] = src[k * 16 + r] for a 16 x 16 block (unpack, then 128-bit lane shuffles).
inline void transpose16x16(const float* src, float* dst, std::int64_t ld)
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; ++i)
        t[i] = _mm512_load_ps(src + i * 16);
    for (int i = 0; i < 16; i += 2) {
        u[i] = _mm512_unpacklo_ps(t[i], t[i + 1]);
        u[i + 1] = _mm512_unpackhi_ps(t[i], t[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        t[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[i]), _mm512_castps_pd(u[i + 2])));
        t[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[i]), _mm512_castps_pd(u[i + 2])));
        t[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(u[i + 1]), _mm512_castps_pd(u[i + 3])));
        t[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(u[i + 1]), _mm512_castps_pd(u[i + 3])));
    }
    // Now lane L (128 bits) of t[4q + c] holds element 4L + c of source rows 4q..4q+3; output
    // row 4L + c is lane L of t[c], t[4 + c], t[8 + c], t[12 + c]: a 4 x 4 transpose of lanes.
    for (int c = 0; c < 4; ++c) {
        const __m512 a = _mm512_shuffle_f32x4(t[c], t[4 + c], 0x88);
        const __m512 b = _mm512_shuffle_f32x4(t[8 + c], t[12 + c], 0x88);
        const __m512 e = _mm512_shuffle_f32x4(t[c], t[4 + c], 0xdd);
        const __m512 f = _mm512_shuffle_f32x4(t[8 + c], t[12 + c], 0xdd);
        u[c] = _mm512_shuffle_f32x4(a, b, 0x88);
        u[c + 8] = _mm512_shuffle_f32x4(a, b, 0xdd);
        u[c + 4] = _mm512_shuffle_f32x4(e, f, 0x88);
        u[c + 12] = _mm512_shuffle_f32x4(e, f, 0xdd);
    }
    for (int r = 0; r < 16; ++r)
        _mm512_storeu_ps(dst + r * ld, u[r]);
}

template <int MR, int NV>
void microKernelAvx512(const float* x, std::int64_t ldx, const float* panel, std::int64_t panelStride, int kc,
                       float* y, std::int64_t ldy, int rows, const float* bias, bool accumulate)
{
    __m512 acc[MR][NV];
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m)
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v)
            acc[m][v] = _mm512_setzero_ps();
    for (int k = 0; k < kc; ++k) {
        __m512 w[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v)
            w[v] = _mm512_load_ps(panel + v * panelStride + k * 16);
#pragma GCC unroll 16
        for (int m = 0; m < MR; ++m) {
            const __m512 a = _mm512_set1_ps(x[m * ldx + k]);
#pragma GCC unroll 2
            for (int v = 0; v < NV; ++v)
                acc[m][v] = _mm512_fmadd_ps(a, w[v], acc[m][v]);
        }
    }
    __mmask16 mask[NV];
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
        const int n = rows - 16 * v;
        mask[v] = n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
        b[v] = bias ? _mm512_maskz_loadu_ps(mask[v], bias + 16 * v) : _mm512_setzero_ps();
    }
#pragma GCC unroll 16
    for (int m = 0; m < MR; ++m) {
        float* dst = y + m * ldy;
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) {
            __m512 r = acc[m][v];
            if (accumulate)
                r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(mask[v], dst + 16 * v));
            if (bias)
                r = _mm512_add_ps(r, b[v]);
            _mm512_mask_storeu_ps(dst + 16 * v, mask[v], r);
        }
    }
}

using MicroKernelFn = void (*)(const float*, std::int64_t, const float*, std::int64_t, int, float*, std::int64_t,
                               int, const float*, bool);

template <int MR>
struct MicroKernelRow {
    static constexpr MicroKernelFn nv1 = microKernelAvx512<MR, 1>;
    static constexpr MicroKernelFn nv2 = microKernelAvx512<MR, 2>;
};

constexpr MicroKernelFn kMicroKernels[12][2] = {
    {MicroKernelRow<1>::nv1, MicroKernelRow<1>::nv2},   {MicroKernelRow<2>::nv1, MicroKernelRow<2>::nv2},
    {MicroKernelRow<3>::nv1, MicroKernelRow<3>::nv2},   {MicroKernelRow<4>::nv1, MicroKernelRow<4>::nv2},
    {MicroKernelRow<5>::nv1, MicroKernelRow<5>::nv2},   {MicroKernelRow<6>::nv1, MicroKernelRow<6>::nv2},
    {MicroKernelRow<7>::nv1, MicroKernelRow<7>::nv2},   {MicroKernelRow<8>::nv1, MicroKernelRow<8>::nv2},
    {MicroKernelRow<9>::nv1, MicroKernelRow<9>::nv2},   {MicroKernelRow<10>::nv1, MicroKernelRow<10>::nv2},
    {MicroKernelRow<11>::nv1, MicroKernelRow<11>::nv2}, {MicroKernelRow<12>::nv1, MicroKernelRow<12>::nv2},
};
static_assert(kAvx512Blocking.mr == 12 && kAvx512Blocking.nv == 2);

template <int Mode>
class Avx512Kernel {
public:
    static constexpr IsaBlocking kBlocking = kAvx512Blocking;

    explicit Avx512Kernel(const TileProblem& pr)
        : unpack_(pr.bits), lattice_(pr.lattice, pr.ringFactors, pr.table)
    {
    }

    void decodeGroup(const TileProblem& pr, std::int64_t group, std::int64_t pair0, int pairCount,
                     float* panel) const
    {
        const std::size_t columnBytes = 2 * static_cast<std::size_t>(pr.bits);
        const std::uint8_t* column =
            pr.grouped + (static_cast<std::size_t>(group) * pr.pairs + pair0) * columnBytes;
        for (int p = 0; p < pairCount; ++p, column += columnBytes, panel += 32) {
            __m512 w0, w1;
            decode16<Mode>(lattice_, unpack_(column), w0, w1);
            _mm512_store_ps(panel, w0);
            _mm512_store_ps(panel + 16, w1);
        }
    }

    void copyPanelToRows(const float* panel, int rows, int count, float* dst, std::int64_t ldRows) const
    {
        int k = 0;
        if (rows == 16) {
            for (; k + 16 <= count; k += 16)
                transpose16x16(panel + k * 16, dst + k, ldRows);
        }
        detail::copyPanelToRows(panel + k * 16, rows, count - k, dst + k, ldRows);
    }

    void microKernel(int mr, int nv, const float* x, std::int64_t ldx, const float* panel, std::int64_t panelStride,
                     int kc, float* y, std::int64_t ldy, int rows, const float* bias, bool accumulate) const
    {
        kMicroKernels[mr - 1][nv - 1](x, ldx, panel, panelStride, kc, y, ldy, rows, bias, accumulate);
    }

private:
    ColumnUnpacker unpack_;
    LatticeVectors lattice_;
};

/// True if decode16<Mode> reproduces the reference table for every t < U*(K+1).
template <int Mode>
bool matchesTable(const LatticeParams& p, const float* ringFactors, const float* table)
{
    const LatticeVectors L(p, ringFactors, table);
    const std::uint32_t count = p.U * (p.K + 1);
    alignas(64) float w0[16], w1[16];
    alignas(64) std::int32_t t[16];
    for (std::uint32_t base = 0; base < count; base += 16) {
        for (int i = 0; i < 16; ++i)
            t[i] = static_cast<std::int32_t>(base + i < count ? base + i : count - 1);
        __m512 v0, v1;
        decode16<Mode>(L, _mm512_load_si512(t), v0, v1);
        _mm512_store_ps(w0, v0);
        _mm512_store_ps(w1, v1);
        for (int i = 0; i < 16; ++i) {
            const float* ref = table + 2 * static_cast<std::size_t>(t[i]);
            if (std::memcmp(&w0[i], &ref[0], sizeof(float)) != 0 || std::memcmp(&w1[i], &ref[1], sizeof(float)) != 0)
                return false;
        }
    }
    return true;
}

}  // namespace

void runAvx512(const TileProblem& problem)
{
    switch (problem.decodeMode) {
    case kFast:
        runTiles(Avx512Kernel<kFast>(problem), problem);
        break;
    case kCorrected:
        runTiles(Avx512Kernel<kCorrected>(problem), problem);
        break;
    default:
        runTiles(Avx512Kernel<kTable>(problem), problem);
        break;
    }
}

void decodeDenseAvx512(const TileProblem& problem, float* dense)
{
    switch (problem.decodeMode) {
    case kFast:
        decodeDenseTiles(Avx512Kernel<kFast>(problem), problem, dense);
        break;
    case kCorrected:
        decodeDenseTiles(Avx512Kernel<kCorrected>(problem), problem, dense);
        break;
    default:
        decodeDenseTiles(Avx512Kernel<kTable>(problem), problem, dense);
        break;
    }
}

int chooseAvx512Decode(const LatticeParams& lattice, const float* ringFactors, const float* referenceTable)
{
    if (matchesTable<kFast>(lattice, ringFactors, referenceTable))
        return kFast;
    if (matchesTable<kCorrected>(lattice, ringFactors, referenceTable))
        return kCorrected;
    return kTable;
}

}  // namespace birkhoff::kernels::detail
