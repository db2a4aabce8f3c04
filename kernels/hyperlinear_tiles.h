// Internal to the CPU HyperLinear kernel: the problem description passed from the generic
// translation unit (hyperlinear.cpp) to the instruction-set specific ones
// (hyperlinear_{portable,avx2,avx512}.cpp), and the tile driver they all instantiate.
//
// The ISA translation units are compiled with their own -m flags. Everything they share through
// this header is therefore either plain data or has internal linkage (anonymous namespace), so
// no function compiled for AVX-512 can be picked by the linker for a caller on another CPU.
#pragma once

#include "kernels/decode.h"

#include <cstddef>
#include <cstdint>

namespace birkhoff::kernels::detail {

/// Blocking of one instruction set: a micro-kernel of up to mr tokens x nv row groups; panels
/// of kc input columns when a work item has more tokens than one micro-kernel call takes (the
/// panel of the whole item is decoded once and stays in L2), and of kcFew columns otherwise
/// (each micro-kernel's panel is decoded right before it runs and stays in L1); at most
/// maxGroups row groups (16 rows each) per work item.
struct IsaBlocking {
    int kc;
    int kcFew;
    int mr;
    int nv;
    int maxGroups;
};

constexpr IsaBlocking kPortableBlocking{256, 128, 4, 1, 8};
constexpr IsaBlocking kAvx2Blocking{768, 128, 6, 1, 8};
constexpr IsaBlocking kAvx512Blocking{768, 128, 12, 2, 8};

/// Work split of one forward call: rowBlocks x tokenRanges items, run by `threads` threads.
struct TilePlan {
    std::int64_t groupsPerBlock = 1;
    std::int64_t rowBlocks = 1;
    std::int64_t tokensPerRange = 1;
    std::int64_t tokenRanges = 1;
    int threads = 1;
};

/// Everything one forward call needs, as plain data.
struct TileProblem {
    const std::uint8_t* grouped = nullptr;  ///< run-time index stream (row-group layout)
    unsigned bits = 1;
    std::int64_t out = 0;
    std::int64_t in = 0;
    std::int64_t pairs = 0;   ///< ceil(in / 2)
    std::int64_t groups = 0;  ///< ceil(out / 16)
    LatticeParams lattice;
    const float* ringFactors = nullptr;  ///< K + 1 entries
    const float* table = nullptr;        ///< decode table, null unless the decoder needs it
    int decodeMode = 0;                  ///< VectorDecode of the AVX-512 path
    const float* x = nullptr;
    std::int64_t tokens = 0;
    const float* bias = nullptr;
    float* y = nullptr;
    /// Per-output-row scale (out entries) applied to every decoded weight, or null (no scale).
    const float* rowScale = nullptr;
    TilePlan plan;
};

/// 64-byte aligned scratch of at least `floats` floats owned by the calling thread and kept
/// between calls (OpenMP worker threads persist), so forward calls do not allocate.
float* threadScratch(std::size_t floats);

void runPortable(const TileProblem& problem);
void runAvx2(const TileProblem& problem);
void runAvx512(const TileProblem& problem);
/// The whole weight into dense[out, in] (problem.plan.threads threads; x, y unused).
void decodeDensePortable(const TileProblem& problem, float* dense);
void decodeDenseAvx2(const TileProblem& problem, float* dense);
void decodeDenseAvx512(const TileProblem& problem, float* dense);
/// The fastest VectorDecode (as int) whose AVX-512 decoder reproduces `referenceTable`
/// (buildDecodeTable) bit for bit for every t < U*(K+1). AVX-512 CPUs only.
int chooseAvx512Decode(const LatticeParams& lattice, const float* ringFactors, const float* referenceTable);

namespace {

inline std::int64_t minOf(std::int64_t a, std::int64_t b)
{
    return a < b ? a : b;
}

/// Unpacks the 16 indices of one group column (2*bits bytes, MSB first) into out[16], reading
/// exactly those bytes.
inline void unpackGroupColumn(const std::uint8_t* column, unsigned bits, std::uint32_t out[16])
{
    std::uint64_t buffer = 0;
    unsigned held = 0;
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    for (int r = 0; r < 16; ++r) {
        while (held < bits) {
            buffer = (buffer << 8) | *column++;
            held += 8;
        }
        held -= bits;
        out[r] = static_cast<std::uint32_t>((buffer >> held) & mask);
    }
}

/// Decodes `pairCount` index columns from column `pair0` of row group `group` through the decode
/// table into panel[k * 16 + r] (k = 2 * (pair - pair0) + coordinate, r = row in the group).
inline void decodeGroupFromTable(const TileProblem& pr, std::int64_t group, std::int64_t pair0,
                                 int pairCount, float* panel)
{
    const std::size_t columnBytes = 2 * static_cast<std::size_t>(pr.bits);
    const std::uint8_t* column =
        pr.grouped + (static_cast<std::size_t>(group) * pr.pairs + pair0) * columnBytes;
    std::uint32_t idx[16];
    for (int p = 0; p < pairCount; ++p, column += columnBytes, panel += 32) {
        unpackGroupColumn(column, pr.bits, idx);
        for (int r = 0; r < 16; ++r) {
            const float* w = pr.table + 2 * static_cast<std::size_t>(idx[r]);
            panel[r] = w[0];
            panel[16 + r] = w[1];
        }
    }
}

/// Multiplies the decoded weights panel[k * 16 + r] (k < count) of row group `group` by the
/// problem's row scale, if it has one: the weight of row i is fl(decoded * rowScale[i]).
inline void scaleGroupPanel(const TileProblem& pr, std::int64_t group, int count, float* panel)
{
    if (pr.rowScale == nullptr)
        return;
    float scale[16];
    for (int r = 0; r < 16; ++r) {
        const std::int64_t row = group * 16 + r;
        scale[r] = row < pr.out ? pr.rowScale[row] : 0.f;
    }
    for (int k = 0; k < count; ++k)
        for (int r = 0; r < 16; ++r)
            panel[k * 16 + r] *= scale[r];
}

/// Runs one forward call. A work item is a block of row groups x a token range; its tokens are
/// cut into near-equal slices of at most Kernel::kBlocking.mr. With several slices, the item's
/// panel over kc input columns is decoded once and every slice runs over it; with a single
/// slice, each micro-kernel's own panel (nv groups x kcFew columns) is decoded just before use.
/// `kernel` (shared read-only by all threads) provides
///   decodeGroup(problem, group, pair0, pairCount, panel): panel[k * 16 + r] = weight of row
///       16 * group + r, input column 2 * pair0 + k, for k < 2 * pairCount;
///   microKernel(mr, nv, x, ldx, panel, panelStride, kc, y, ldy, rows, bias, accumulate):
///       y[m, r] (+)= sum_k x[m * ldx + k] * panel[k * 16 + r] for mr tokens and nv row groups
///       (`rows` of them valid; group v's panel at panel + v * panelStride), adding y's previous
///       value when `accumulate` and bias[r] when `bias` is not null.
template <class Kernel>
void runTiles(const Kernel& kernel, const TileProblem& pr)
{
    constexpr IsaBlocking b = Kernel::kBlocking;
    const TilePlan& plan = pr.plan;
    const std::int64_t items = plan.rowBlocks * plan.tokenRanges;
#pragma omp parallel for schedule(dynamic, 1) num_threads(plan.threads)
    for (std::int64_t item = 0; item < items; ++item) {
        const std::int64_t tokenRange = item / plan.rowBlocks;  // token-range major: see makePlan
        const std::int64_t rowBlock = item % plan.rowBlocks;
        const std::int64_t g0 = rowBlock * plan.groupsPerBlock;
        const std::int64_t groupCount = minOf(plan.groupsPerBlock, pr.groups - g0);
        const std::int64_t t0 = tokenRange * plan.tokensPerRange;
        const std::int64_t tEnd = minOf(t0 + plan.tokensPerRange, pr.tokens);
        if (groupCount <= 0 || t0 >= tEnd)
            continue;
        const std::int64_t slices = (tEnd - t0 + b.mr - 1) / b.mr;
        const bool fewTokens = slices == 1;
        const int kcMax = fewTokens ? b.kcFew : b.kc;
        const std::int64_t panelStride = static_cast<std::int64_t>(kcMax) * 16;
        const std::int64_t panelGroups = fewTokens ? b.nv : plan.groupsPerBlock;
        float* panel = threadScratch(static_cast<std::size_t>(panelGroups * panelStride));
        for (std::int64_t k0 = 0; k0 < pr.in; k0 += kcMax) {
            const int kc = static_cast<int>(minOf(kcMax, pr.in - k0));
            const std::int64_t pair0 = k0 / 2;
            const int pairCount = (kc + 1) / 2;
            const bool accumulate = k0 > 0;
            const bool last = k0 + kc >= pr.in;
            auto run = [&](std::int64_t g, const float* groupPanel, std::int64_t t, int mr) {
                const int nv = static_cast<int>(minOf(b.nv, groupCount - g));
                const std::int64_t row0 = (g0 + g) * 16;
                const int rows = static_cast<int>(minOf(16 * nv, pr.out - row0));
                kernel.microKernel(mr, nv, pr.x + t * pr.in + k0, pr.in, groupPanel, panelStride, kc,
                                   pr.y + t * pr.out + row0, pr.out, rows, last && pr.bias ? pr.bias + row0 : nullptr,
                                   accumulate);
            };
            if (fewTokens) {
                for (std::int64_t g = 0; g < groupCount; g += b.nv) {
                    for (std::int64_t v = 0; v < b.nv && g + v < groupCount; ++v) {
                        kernel.decodeGroup(pr, g0 + g + v, pair0, pairCount, panel + v * panelStride);
                        scaleGroupPanel(pr, g0 + g + v, 2 * pairCount, panel + v * panelStride);
                    }
                    run(g, panel, t0, static_cast<int>(tEnd - t0));
                }
                continue;
            }
            for (std::int64_t g = 0; g < groupCount; ++g) {
                kernel.decodeGroup(pr, g0 + g, pair0, pairCount, panel + g * panelStride);
                scaleGroupPanel(pr, g0 + g, 2 * pairCount, panel + g * panelStride);
            }
            std::int64_t t = t0;
            for (std::int64_t s = 0; s < slices; ++s) {
                const std::int64_t sliceEnd = t0 + (tEnd - t0) * (s + 1) / slices;
                for (std::int64_t g = 0; g < groupCount; g += b.nv)
                    run(g, panel + g * panelStride, t, static_cast<int>(sliceEnd - t));
                t = sliceEnd;
            }
        }
    }
}

/// Copies panel[k * 16 + r] to rows[r * ldRows + k] for r < rows, k < count (a transpose).
inline void copyPanelToRows(const float* panel, int rows, int count, float* dst, std::int64_t ldRows)
{
    for (int r = 0; r < rows; ++r)
        for (int k = 0; k < count; ++k)
            dst[r * ldRows + k] = panel[k * 16 + r];
}

/// decodeDense*: each row group is decoded panel by panel (kcFew columns, L1-resident) and
/// copied into its rows with kernel.copyPanelToRows (same contract as the function above).
template <class Kernel>
void decodeDenseTiles(const Kernel& kernel, const TileProblem& pr, float* dense)
{
    constexpr int kc = Kernel::kBlocking.kcFew;
#pragma omp parallel for schedule(static) num_threads(pr.plan.threads)
    for (std::int64_t g = 0; g < pr.groups; ++g) {
        float* panel = threadScratch(static_cast<std::size_t>(kc) * 16);
        const int rows = static_cast<int>(minOf(16, pr.out - g * 16));
        for (std::int64_t k0 = 0; k0 < pr.in; k0 += kc) {
            const int count = static_cast<int>(minOf(kc, pr.in - k0));
            kernel.decodeGroup(pr, g, k0 / 2, (count + 1) / 2, panel);
            scaleGroupPanel(pr, g, count, panel);
            kernel.copyPanelToRows(panel, rows, count, dense + g * 16 * pr.in + k0, pr.in);
        }
    }
}

}  // namespace
}  // namespace birkhoff::kernels::detail
