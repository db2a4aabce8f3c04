// Per-tensor search and encoding (see tensor_encoder.h for the rules reproduced here).
#include "core/codec/tensor_encoder.h"

#include "core/codec/lattice_nearest.h"
#include "core/format/index_packing.h"
#include "core/util/error.h"
#include "kernels/bitpack.h"
#include "kernels/decode.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>

namespace birkhoff::codec {

namespace {

constexpr std::int64_t kChunkPairs = 16384;

std::int64_t chunkCount(std::int64_t n)
{
    return (n + kChunkPairs - 1) / kChunkPairs;
}

// Runs body(chunk, firstPair, endPair) for every chunk of n pairs in parallel; per-chunk results
// go to caller arrays indexed by chunk, so sums are combined in a fixed order (deterministic for
// any thread count). Stops early and throws CancelledError when `cancel` fires.
template <typename Body>
void forEachChunk(std::int64_t n, const CancelToken* cancel, Body&& body)
{
    std::atomic<bool> cancelled{false};
    at::parallel_for(0, chunkCount(n), 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t c = begin; c < end; ++c) {
            if (cancelled.load(std::memory_order_relaxed))
                return;
            if (cancel != nullptr && cancel->isCancelled()) {
                cancelled = true;
                return;
            }
            const std::int64_t first = c * kChunkPairs;
            body(c, first, std::min(n, first + kChunkPairs));
        }
    });
    if (cancelled.load())
        throw CancelledError();
}

std::string formatFloat(double v)
{
    std::ostringstream s;
    s.precision(6);
    s << v;
    return s.str();
}

// The padded pair array of a tensor: aliases the float32 data when no pad is needed.
struct Pairs {
    const float* data = nullptr;   // 2*n floats
    std::int64_t n = 0;
    std::int64_t cols = 0;         // pairs per row (LinearMatrix) or n (Pairs)
    bool padded = false;
    at::Tensor storage;            // keeps `data` alive
};

// Runs `fn` inside a one-thread parallel region: ATen reductions called there run serially, so
// their float32 summation order (and result) does not depend on the thread count.
template <typename Fn>
void serially(Fn&& fn)
{
    at::parallel_for(0, 1, 1, [&](std::int64_t, std::int64_t) { fn(); });
}

// torch.mean of a float32 tensor (the authors' centroid and pad values are float32 torch means;
// ATen's cascade sum reproduces them bit for bit on the same CPU capability).
float torchMean(const at::Tensor& t)
{
    float v = 0.f;
    serially([&] { v = t.mean().item<float>(); });
    return v;
}

// The value the authors pad with: the mean of the second coordinates of the flattened tensor
// without its last element (Pairs), or of W[:, :-1] (Linear). A Linear layer with one input has
// no such coordinate; it pads with the mean of its weights.
float padMean(const at::Tensor& w32, bool linear)
{
    if (linear) {
        const std::int64_t width = w32.size(1);
        if (width < 2)
            return torchMean(w32);
        return torchMean(w32.narrow(1, 0, width - 1).flatten().reshape({-1, 2}).select(1, 1));
    }
    const at::Tensor flat = w32.flatten();
    return torchMean(flat.narrow(0, 0, flat.numel() - 1).reshape({-1, 2}).select(1, 1));
}

Pairs makePairs(const at::Tensor& w32, bool linear, const EncodeHints& hints)
{
    Pairs p;
    const float* w = w32.data_ptr<float>();
    const std::int64_t numel = w32.numel();
    if (linear) {
        const std::int64_t rows = w32.size(0);
        const std::int64_t width = w32.size(1);
        p.cols = (width + 1) / 2;
        p.n = rows * p.cols;
        p.padded = width % 2 != 0;
        if (!p.padded) {
            p.data = w;
            p.storage = w32;
            return p;
        }
        const float pad = hints.hasPadValue ? hints.padValue : padMean(w32, true);
        p.storage = at::empty({rows, width + 1}, at::kFloat);
        float* dst = p.storage.data_ptr<float>();
        for (std::int64_t r = 0; r < rows; ++r) {
            std::memcpy(dst + r * (width + 1), w + r * width, static_cast<std::size_t>(width) * sizeof(float));
            dst[r * (width + 1) + width] = pad;
        }
        p.data = dst;
        return p;
    }
    p.n = (numel + 1) / 2;
    p.cols = p.n;
    p.padded = numel % 2 != 0;
    if (!p.padded) {
        p.data = w;
        p.storage = w32;
        return p;
    }
    const float pad = hints.hasPadValue ? hints.padValue : padMean(w32, false);
    p.storage = at::empty({numel + 1}, at::kFloat);
    float* dst = p.storage.data_ptr<float>();
    std::memcpy(dst, w, static_cast<std::size_t>(numel) * sizeof(float));
    dst[numel] = pad;
    p.data = dst;
    return p;
}

// Pair statistics the search needs (find_inner_outer_torch).
struct PairStats {
    float center[2] = {0.f, 0.f};
    bool finite = true;
    float farthestDist = 0.f;        // R = max |p - c| (torch 2-norm)
    std::int64_t farthestIndex = 0;  // first pair at distance R
    std::int64_t farthestCount = 0;  // m: pairs at distance exactly R
    std::vector<std::int64_t> outer; // pairs outside the square, ascending
};

// The authors' inner test: c - l/2 <= p <= c + l/2 per coordinate, float32 bounds.
struct Square {
    float lo[2], hi[2];
    Square(const float c[2], float halfL)
    {
        for (int a = 0; a < 2; ++a) {
            lo[a] = c[a] - halfL;
            hi[a] = c[a] + halfL;
        }
    }
    bool contains(const float* p) const
    {
        return p[0] >= lo[0] && p[0] <= hi[0] && p[1] >= lo[1] && p[1] <= hi[1];
    }
};

PairStats computeStats(const Pairs& pairs, float halfL, const EncodeHints& hints, const CancelToken* cancel)
{
    PairStats st;
    const std::int64_t chunks = chunkCount(pairs.n);
    const float* p = pairs.data;
    if (hints.hasCenter) {
        st.center[0] = hints.center[0];
        st.center[1] = hints.center[1];
    } else {
        const at::Tensor nodes = pairs.storage.view({-1, 2});
        st.center[0] = torchMean(nodes.select(1, 0));
        st.center[1] = torchMean(nodes.select(1, 1));
        if (!std::isfinite(st.center[0]) || !std::isfinite(st.center[1])) {
            st.finite = false;
            return st;
        }
    }

    struct ChunkStats {
        float maxDist = -1.f;
        std::int64_t first = 0, count = 0, outer = 0;
        bool finite = true;
    };
    std::vector<ChunkStats> cs(static_cast<std::size_t>(chunks));
    const Square sq(st.center, halfL);
    const float c0 = st.center[0], c1 = st.center[1];
    forEachChunk(pairs.n, cancel, [&](std::int64_t c, std::int64_t first, std::int64_t end) {
        ChunkStats s;
        for (std::int64_t i = first; i < end; ++i) {
            const float* q = p + 2 * i;
            const float d = kernels::norm2(q[0] - c0, q[1] - c1);
            if (!std::isfinite(d))
                s.finite = false;
            if (d > s.maxDist) {
                s.maxDist = d;
                s.first = i;
                s.count = 1;
            } else if (d == s.maxDist) {
                ++s.count;
            }
            s.outer += sq.contains(q) ? 0 : 1;
        }
        cs[static_cast<std::size_t>(c)] = s;
    });
    std::int64_t outerCount = 0;
    st.farthestDist = -1.f;
    for (const ChunkStats& s : cs) {
        st.finite = st.finite && s.finite;
        if (s.maxDist > st.farthestDist) {
            st.farthestDist = s.maxDist;
            st.farthestIndex = s.first;
            st.farthestCount = s.count;
        } else if (s.maxDist == st.farthestDist) {
            st.farthestCount += s.count;
        }
        outerCount += s.outer;
    }
    if (!st.finite)
        return st;
    st.outer.reserve(static_cast<std::size_t>(outerCount));
    for (std::int64_t i = 0; i < pairs.n; ++i)
        if (!sq.contains(p + 2 * i))
            st.outer.push_back(i);
    return st;
}

// The search's outer radius: torch.linalg.norm of the [m, 2] matrix of all farthest pairs
// (Frobenius, sqrt(m) * R). For m = 1 it is the 2-norm itself; for m >= 2 torch 1.13 sums the
// squares sequentially without FMA (checked for m = 2 and 4).
float searchOuterRadius(const PairStats& st, const float* far)
{
    if (st.farthestCount <= 1)
        return st.farthestDist;
    const float a0 = std::fabs(far[0] - st.center[0]);
    const float a1 = std::fabs(far[1] - st.center[1]);
    float acc = 0.f;
    for (std::int64_t i = 0; i < st.farthestCount; ++i) {
        acc = acc + a0 * a0;
        acc = acc + a1 * a1;
    }
    return std::sqrt(acc);
}

// Ring radii and scale factors for K rings, index 0..K (index 0 = the square, f_0 = 1).
struct Rings {
    std::uint32_t K = 0;
    std::vector<float> radius;
    std::vector<float> factor;
};

// test_ClassLoss_torch: radii (j*D + l/2) in double rounded to float for j < K, the Frobenius
// outer radius for j = K.
Rings searchRings(std::uint32_t K, float R, float searchOuter, float halfL)
{
    Rings r;
    r.K = K;
    r.radius.assign(K + 1, halfL);
    r.factor.assign(K + 1, 1.f);
    const float step = (R - halfL) / static_cast<float>(K);
    for (std::uint32_t j = 1; j < K; ++j)
        r.radius[j] = static_cast<float>(static_cast<double>(j) * static_cast<double>(step)
                                         + static_cast<double>(halfL));
    r.radius[K] = searchOuter;
    for (std::uint32_t j = 1; j <= K; ++j)
        r.factor[j] = halfL / r.radius[j];
    return r;
}

// The final encode's rings: r_j = fl(fl(j*D) + l/2), r_K = R.
Rings finalRings(std::uint32_t K, float R, float halfL)
{
    Rings r;
    r.K = K;
    r.radius.assign(K + 1, halfL);
    r.factor.assign(K + 1, 1.f);
    const float step = (R - halfL) / static_cast<float>(K);
    for (std::uint32_t j = 0; j < K; ++j)
        r.radius[j] = static_cast<float>(j) * step + halfL;
    r.radius[K] = R;
    for (std::uint32_t j = 0; j <= K; ++j)
        r.factor[j] = halfL / r.radius[j];
    return r;
}

// One U of the search: its codebook and, per pair, the index chosen for inner pairs.
struct UTrial {
    std::uint32_t U = 0;
    std::size_t position = 0;
    kernels::LatticeParams lattice;
    std::unique_ptr<LatticeNearest> nearest;
    double innerErrorSum = 0;            // sum |Try[k] - p| over inner pairs, both coordinates
    std::uint32_t bestK = 0;
    float bestMae = 0.f;
    std::vector<std::uint32_t> outerIndex[kernels::kMaxRings + 1];  // per K trial: k + U*class of each outer pair
    Rings rings[kernels::kMaxRings + 1];
};

class Encoder {
public:
    Encoder(const Pairs& pairs, const PairStats& st, const TensorSettings& s, const CancelToken* cancel)
        : pairs_(pairs), st_(st), s_(s), cancel_(cancel), halfL_(s.l / 2.f), square_(st.center, s.l / 2.f)
    {
        const float* far = pairs_.data + 2 * st_.farthestIndex;
        searchOuter_ = searchOuterRadius(st_, far);
        indices_.resize(static_cast<std::size_t>(pairs_.n));
    }

    // Runs the search; leaves the chosen U's trial in trial_ and K in K_.
    void search(std::vector<SearchStep>& steps)
    {
        const std::size_t nU = s_.uList.size();
        for (std::size_t u = 0; u < nU; ++u) {
            trial_ = std::make_unique<UTrial>();
            UTrial& t = *trial_;
            t.U = s_.uList[u];
            t.position = u;
            t.lattice = kernels::makeLatticeParams(s_.l, t.U, 0, st_.center, st_.center);
            t.nearest = std::make_unique<LatticeNearest>(t.lattice);
            innerPass(t);
            float best;
            if (st_.outer.empty() || s_.maxRings == 0) {
                const double outerSum = st_.outer.empty() ? 0.0 : unscaledOuterPass(t);
                best = meanOf(t.innerErrorSum + outerSum);
                t.bestK = 0;
                steps.push_back({t.U, 0, best});
            } else {
                best = std::numeric_limits<float>::infinity();
                t.bestK = 1;  // kept if every trial's MAE is NaN (the authors' code crashes there)
                for (std::uint32_t K = 1; K <= s_.maxRings; ++K) {
                    const float mae = outerTrial(t, K);
                    steps.push_back({t.U, K, mae});
                    if (mae <= best) {
                        best = mae;
                        t.bestK = K;
                    }
                    if (mae <= s_.lossHope)
                        break;
                }
            }
            t.bestMae = best;
            if (best > s_.lossMax && u + 1 != nU)
                continue;
            break;
        }
    }

    // Final encode with the chosen (U, K): fills indices_ and returns the float32 MAE of the
    // encoder's reconstruction over the padded pairs.
    float encode()
    {
        UTrial& t = *trial_;
        K_ = t.bestK;
        if (K_ == 0)
            return t.bestMae;  // K = 0: indices_ already hold the codebook choice of every pair
        const Rings rings = finalRings(K_, st_.farthestDist, halfL_);
        const Rings& tried = t.rings[K_];
        const bool sameRings = tried.radius == rings.radius;
        const std::vector<std::uint32_t>& tryIdx = t.outerIndex[K_];
        const float c0 = st_.center[0], c1 = st_.center[1];
        const std::uint32_t U = t.U;
        const LatticeNearest& nn = *t.nearest;
        const float* p = pairs_.data;
        std::vector<double> sums(static_cast<std::size_t>(chunkCount(pairs_.n)));
        forEachChunk(pairs_.n, cancel_, [&](std::int64_t c, std::int64_t first, std::int64_t end) {
            auto outerPos = static_cast<std::size_t>(
                std::lower_bound(st_.outer.begin(), st_.outer.end(), first) - st_.outer.begin());
            double sum = 0;
            for (std::int64_t i = first; i < end; ++i) {
                const float* q = p + 2 * i;
                const bool isOuter = outerPos < st_.outer.size() && st_.outer[outerPos] == i;
                std::uint32_t cls = 0;
                if (isOuter) {
                    const float d = kernels::norm2(q[0] - c0, q[1] - c1);
                    for (std::uint32_t j = 0; j <= K_; ++j)
                        if (d <= rings.radius[j]) {
                            cls = j;
                            break;
                        }
                }
                const float f = rings.factor[cls];
                const float b0 = (q[0] - c0) * f + c0;
                const float b1 = (q[1] - c1) * f + c1;
                std::uint32_t k;
                if (!isOuter && b0 == q[0] && b1 == q[1]) {
                    k = indices_[static_cast<std::size_t>(i)];
                } else if (isOuter && sameRings && tryIdx[outerPos] / U == cls) {
                    k = tryIdx[outerPos] % U;
                } else {
                    k = nn.nearest(b0, b1);
                }
                if (isOuter)
                    ++outerPos;
                indices_[static_cast<std::size_t>(i)] = k + U * cls;
                const float* y = nn.point(k);
                const float r0 = (y[0] - c0) / f + c0;
                const float r1 = (y[1] - c1) / f + c1;
                sum += std::fabs(r0 - q[0]);
                sum += std::fabs(r1 - q[1]);
            }
            sums[static_cast<std::size_t>(c)] = sum;
        });
        double total = 0;
        for (double v : sums)
            total += v;
        return meanOf(total);
    }

    const UTrial& chosen() const { return *trial_; }
    std::uint32_t K() const { return K_; }
    std::vector<std::uint32_t>& indices() { return indices_; }

private:
    float meanOf(double sum) const { return static_cast<float>(sum / (2.0 * static_cast<double>(pairs_.n))); }

    void innerPass(UTrial& t)
    {
        const LatticeNearest& nn = *t.nearest;
        const float* p = pairs_.data;
        std::vector<double> sums(static_cast<std::size_t>(chunkCount(pairs_.n)));
        forEachChunk(pairs_.n, cancel_, [&](std::int64_t c, std::int64_t first, std::int64_t end) {
            std::vector<std::int64_t> which;
            std::vector<float> points;
            which.reserve(static_cast<std::size_t>(end - first));
            points.reserve(2 * static_cast<std::size_t>(end - first));
            for (std::int64_t i = first; i < end; ++i) {
                const float* q = p + 2 * i;
                if (square_.contains(q)) {
                    which.push_back(i);
                    points.push_back(q[0]);
                    points.push_back(q[1]);
                }
            }
            std::vector<std::uint32_t> ks(which.size());
            nn.nearestBatch(points.data(), which.size(), ks.data());
            double sum = 0;
            for (std::size_t w = 0; w < which.size(); ++w) {
                const float* q = points.data() + 2 * w;
                const std::uint32_t k = ks[w];
                indices_[static_cast<std::size_t>(which[w])] = k;
                const float* y = nn.point(k);
                sum += std::fabs(y[0] - q[0]);
                sum += std::fabs(y[1] - q[1]);
            }
            sums[static_cast<std::size_t>(c)] = sum;
        });
        t.innerErrorSum = 0;
        for (double v : sums)
            t.innerErrorSum += v;
    }

    // M = 0 with outer pairs: every pair takes its nearest codebook point unscaled.
    double unscaledOuterPass(UTrial& t)
    {
        double sum = 0;
        for (std::int64_t i : st_.outer) {
            const float* q = pairs_.data + 2 * i;
            const std::uint32_t k = t.nearest->nearest(q[0], q[1]);
            indices_[static_cast<std::size_t>(i)] = k;
            const float* y = t.nearest->point(k);
            sum += std::fabs(y[0] - q[0]);
            sum += std::fabs(y[1] - q[1]);
        }
        return sum;
    }

    // test_ClassLoss_torch for K rings: MAE over all pairs when the outer pairs are classified
    // with the search radii, scaled, quantized and scaled back.
    float outerTrial(UTrial& t, std::uint32_t K)
    {
        t.rings[K] = searchRings(K, st_.farthestDist, searchOuter_, halfL_);
        const Rings& rings = t.rings[K];
        std::vector<std::uint32_t>& out = t.outerIndex[K];
        const auto nOuter = static_cast<std::int64_t>(st_.outer.size());
        out.resize(static_cast<std::size_t>(nOuter));
        const float c0 = st_.center[0], c1 = st_.center[1];
        const LatticeNearest& nn = *t.nearest;
        const std::uint32_t U = t.U;
        std::vector<double> sums(static_cast<std::size_t>(chunkCount(nOuter)));
        forEachChunk(nOuter, cancel_, [&](std::int64_t c, std::int64_t first, std::int64_t end) {
            const auto m = static_cast<std::size_t>(end - first);
            std::vector<float> scaled(2 * m), factor(m);
            std::vector<std::uint32_t> cls(m), ks(m);
            for (std::size_t o = 0; o < m; ++o) {
                const float* q = pairs_.data + 2 * st_.outer[static_cast<std::size_t>(first) + o];
                const float d = kernels::norm2(q[0] - c0, q[1] - c1);
                std::uint32_t j = 1;
                for (std::uint32_t r = 1; r <= K; ++r)
                    if (d <= rings.radius[r]) {
                        j = r;
                        break;
                    }
                const float f = rings.factor[j];
                cls[o] = j;
                factor[o] = f;
                scaled[2 * o] = (q[0] - c0) * f + c0;
                scaled[2 * o + 1] = (q[1] - c1) * f + c1;
            }
            nn.nearestBatch(scaled.data(), m, ks.data());
            double sum = 0;
            for (std::size_t o = 0; o < m; ++o) {
                const float* q = pairs_.data + 2 * st_.outer[static_cast<std::size_t>(first) + o];
                const std::uint32_t k = ks[o];
                out[static_cast<std::size_t>(first) + o] = k + U * cls[o];
                const float* y = nn.point(k);
                const float f = factor[o];
                const float r0 = (y[0] - c0) / f + c0;
                const float r1 = (y[1] - c1) / f + c1;
                sum += std::fabs(r0 - q[0]);
                sum += std::fabs(r1 - q[1]);
            }
            sums[static_cast<std::size_t>(c)] = sum;
        });
        double total = t.innerErrorSum;
        for (double v : sums)
            total += v;
        return meanOf(total);
    }

    const Pairs& pairs_;
    const PairStats& st_;
    const TensorSettings& s_;
    const CancelToken* cancel_;
    float halfL_;
    Square square_;
    float searchOuter_ = 0.f;
    std::unique_ptr<UTrial> trial_;
    std::uint32_t K_ = 0;
    std::vector<std::uint32_t> indices_;
};

// Mean and max |decoded - original| over the original elements (pad excluded), decoding every
// index through kernels/decode.h exactly as format::decodeTensor does.
void measureDecoded(const Pairs& pairs, const std::vector<std::uint32_t>& indices,
                    const kernels::LatticeParams& lattice, std::int64_t numel, const CancelToken* cancel,
                    double& mae, double& maxAbs)
{
    std::vector<float> table(2 * kernels::decodeTableEntries(lattice));
    kernels::buildDecodeTable(lattice, table.data());
    const std::int64_t chunks = chunkCount(pairs.n);
    std::vector<double> sums(static_cast<std::size_t>(chunks)), maxima(static_cast<std::size_t>(chunks));
    forEachChunk(pairs.n, cancel, [&](std::int64_t c, std::int64_t first, std::int64_t end) {
        double sum = 0, mx = 0;
        std::int64_t col = first % pairs.cols;
        for (std::int64_t i = first; i < end; ++i) {
            const float* q = pairs.data + 2 * i;
            const float* dec = &table[2 * static_cast<std::size_t>(indices[static_cast<std::size_t>(i)])];
            const double e0 = std::fabs(static_cast<double>(dec[0]) - q[0]);
            sum += e0;
            mx = std::max(mx, e0);
            const bool padSlot = pairs.padded && col == pairs.cols - 1;
            if (!padSlot) {
                const double e1 = std::fabs(static_cast<double>(dec[1]) - q[1]);
                sum += e1;
                mx = std::max(mx, e1);
            }
            if (++col == pairs.cols)
                col = 0;
        }
        sums[static_cast<std::size_t>(c)] = sum;
        maxima[static_cast<std::size_t>(c)] = mx;
    });
    double total = 0;
    maxAbs = 0;
    for (std::int64_t c = 0; c < chunks; ++c) {
        total += sums[static_cast<std::size_t>(c)];
        maxAbs = std::max(maxAbs, maxima[static_cast<std::size_t>(c)]);
    }
    mae = total / static_cast<double>(numel);
}

TensorEncoding storeRaw(const std::string& name, const at::Tensor& tensor, StoragePath path, bool vectorLoadType)
{
    TensorEncoding r;
    r.path = path;
    r.tensor.name = name;
    r.tensor.loadType = format::LoadType::Raw;
    r.tensor.loadTypeIsVector = vectorLoadType;
    r.tensor.raw = tensor;
    return r;
}

}  // namespace

const char* storagePathName(StoragePath path)
{
    switch (path) {
    case StoragePath::Hyper:
        return "hyper";
    case StoragePath::Raw:
        return "raw";
    case StoragePath::Buffer:
        return "buffer";
    case StoragePath::Small:
        return "small";
    }
    return "?";
}

TensorEncoding encodeTensor(const std::string& name, const at::Tensor& tensor, TensorRole role,
                            const TensorSettings& settings, const EncodeHints& hints, const CancelToken* cancel)
{
    validateSettings(settings, "tensor '" + name + "'");
    if (role == TensorRole::Buffer)
        return storeRaw(name, tensor, StoragePath::Buffer, true);
    if (tensor.numel() < kMinEncodedElements)
        return storeRaw(name, tensor, StoragePath::Small, true);
    if (!at::isFloatingType(tensor.scalar_type())) {
        TensorEncoding r = storeRaw(name, tensor, StoragePath::Raw, false);
        r.warning = std::string("non-floating tensor (") + c10::toString(tensor.scalar_type()) + ") stored raw";
        return r;
    }
    if (settings.keepRaw) {
        TensorEncoding r = storeRaw(name, tensor, StoragePath::Raw, false);
        r.warning = "kept raw by an override";
        return r;
    }
    const bool linear = role == TensorRole::LinearWeight;
    if (linear && tensor.dim() != 2)
        throw Error("tensor '" + name + "' is marked as a Linear weight but has " + std::to_string(tensor.dim())
                    + " dimensions instead of 2");

    const at::Tensor w32 = rethrowAsError("tensor '" + name + "'", [&] {
        return tensor.to(at::kCPU).to(at::kFloat).contiguous();
    });
    const Pairs pairs = makePairs(w32, linear, hints);
    const float halfL = settings.l / 2.f;
    const PairStats st = computeStats(pairs, halfL, hints, cancel);
    if (!st.finite || !std::isfinite(st.farthestDist)) {
        TensorEncoding r = storeRaw(name, tensor, StoragePath::Raw, false);
        r.warning = "NaN or infinite values (or values whose float32 sum overflows): stored raw";
        return r;
    }

    TensorEncoding r;
    r.innerPairs = pairs.n - static_cast<std::int64_t>(st.outer.size());
    r.outerPairs = static_cast<std::int64_t>(st.outer.size());
    Encoder enc(pairs, st, settings, cancel);
    enc.search(r.search);
    r.officialMae = enc.encode();
    if (settings.rawFallback && !(r.officialMae <= settings.rawFallbackMae)) {
        TensorEncoding raw = storeRaw(name, tensor, StoragePath::Raw, false);
        raw.search = std::move(r.search);
        raw.officialMae = r.officialMae;
        raw.innerPairs = r.innerPairs;
        raw.outerPairs = r.outerPairs;
        raw.warning = "MAE " + formatFloat(r.officialMae) + " > " + formatFloat(settings.rawFallbackMae)
                      + ": stored raw";
        return raw;
    }

    const UTrial& chosen = enc.chosen();
    format::EncodedTensor& t = r.tensor;
    t.name = name;
    t.loadType = linear ? format::LoadType::LinearMatrix : format::LoadType::Pairs;
    t.shape = tensor.sizes().vec();
    t.padded = pairs.padded;
    t.center[0] = st.center[0];
    t.center[1] = st.center[1];
    const float* far = pairs.data + 2 * st.farthestIndex;
    t.farthest[0] = far[0];
    t.farthest[1] = far[1];
    t.l = settings.l;
    t.U = chosen.U;
    t.uPosition = static_cast<std::uint8_t>(chosen.position);
    t.K = enc.K();

    std::vector<std::uint32_t>& idx = enc.indices();
    const std::uint32_t maxIndex = *std::max_element(idx.begin(), idx.end());
    t.bits = kernels::bitWidthFor(maxIndex);
    t.packed = at::empty({static_cast<std::int64_t>(kernels::packedByteCount(idx.size(), t.bits))}, at::kByte);
    t.padBits = format::packIndexStream(idx.data(), idx.size(), t.bits, t.packed.data_ptr<std::uint8_t>());
    measureDecoded(pairs, idx, t.lattice(), tensor.numel(), cancel, r.mae, r.maxAbsError);
    r.path = StoragePath::Hyper;
    return r;
}

}  // namespace birkhoff::codec
