// Sampled compression estimate (see estimate.h).
#include "core/codec/estimate.h"

#include "core/format/compressed_writer.h"
#include "core/util/error.h"
#include "kernels/bitpack.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

namespace birkhoff::codec {

namespace {

// Pairs per block when sampling non-Linear parameters (flattened pairs).
constexpr std::int64_t kBlockPairs = 64;

bool encodable(const at::Tensor& t, TensorRole role)
{
    return role != TensorRole::Buffer && t.numel() >= kMinEncodedElements && at::isFloatingType(t.scalar_type());
}


/// Pair statistics of one tensor in one parallel pass per statistic over the raw float32 data:
/// the encoder's pairing (Linear: (W[r,2j], W[r,2j+1]) per row, a pad value closing an odd width;
/// other: consecutive elements, a pad element closing an odd count), the pad value (mean of the
/// second coordinates), the centroid (pad pairs included, as the encoder computes it) and the
/// unit (row or block) holding the pair farthest from it. `width` is 0 for non-Linear tensors.
template <typename Stats>
void computeStats(const float* w, std::int64_t numel, std::int64_t width, Stats& s, const CancelToken* cancel)
{
    s.linear = width > 0;
    std::int64_t pairs = 0;
    if (s.linear) {
        s.padded = width % 2 != 0;
        s.units = numel / width;
        s.pairsPerUnit = (width + 1) / 2;
        pairs = s.units * s.pairsPerUnit;
    } else {
        s.padded = numel % 2 != 0;
        pairs = (numel + 1) / 2;
        s.pairsPerUnit = kBlockPairs;
        s.units = (pairs + kBlockPairs - 1) / kBlockPairs;
    }
    const std::int64_t realPairs = s.linear ? s.units * (width / 2) : numel / 2;  // pairs without a pad coordinate
    const std::int64_t padPairs = pairs - realPairs;
    // Pair k of unit u -> its two coordinates; `hasSecond` false for a pad pair.
    const auto pairAt = [&](std::int64_t u, std::int64_t k, float& x, float& y, bool& hasSecond) {
        std::int64_t first;
        if (s.linear) {
            first = u * width + 2 * k;
            hasSecond = 2 * k + 1 < width;
        } else {
            first = 2 * (u * kBlockPairs + k);
            hasSecond = first + 1 < numel;
        }
        x = w[first];
        y = hasSecond ? w[first + 1] : 0.f;
    };
    const auto unitPairs = [&](std::int64_t u) {
        return s.linear ? s.pairsPerUnit : std::min(kBlockPairs, pairs - u * kBlockPairs);
    };
    const auto checkCancel = [cancel] {
        if (cancel != nullptr && cancel->isCancelled())
            throw CancelledError();
    };

    // Pass 1: coordinate sums (double; per-unit partial sums combined in a fixed order).
    std::vector<double> sumX(static_cast<std::size_t>(s.units)), sumY(static_cast<std::size_t>(s.units));
    at::parallel_for(0, s.units, 64, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t u = begin; u < end; ++u) {
            double sx = 0, sy = 0;
            for (std::int64_t k = 0, n = unitPairs(u); k < n; ++k) {
                float x, y;
                bool hasSecond;
                pairAt(u, k, x, y, hasSecond);
                sx += x;
                sy += y;
            }
            sumX[static_cast<std::size_t>(u)] = sx;
            sumY[static_cast<std::size_t>(u)] = sy;
        }
    });
    checkCancel();
    double totalX = 0, totalY = 0;
    for (std::int64_t u = 0; u < s.units; ++u) {
        totalX += sumX[static_cast<std::size_t>(u)];
        totalY += sumY[static_cast<std::size_t>(u)];
    }
    s.padValue = realPairs > 0 ? static_cast<float>(totalY / static_cast<double>(realPairs)) : 0.f;
    s.center[0] = static_cast<float>(totalX / static_cast<double>(pairs));
    s.center[1] = static_cast<float>((totalY + static_cast<double>(padPairs) * s.padValue) / static_cast<double>(pairs));

    // Pass 2: the farthest pair (first of the largest distances), per unit then combined.
    std::vector<float> best(static_cast<std::size_t>(s.units), -1.f);
    const float cx = s.center[0], cy = s.center[1], pad = s.padValue;
    at::parallel_for(0, s.units, 64, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t u = begin; u < end; ++u) {
            float m = -1.f;
            for (std::int64_t k = 0, n = unitPairs(u); k < n; ++k) {
                float x, y;
                bool hasSecond;
                pairAt(u, k, x, y, hasSecond);
                const float dx = x - cx;
                const float dy = (hasSecond ? y : pad) - cy;
                m = std::max(m, dx * dx + dy * dy);
            }
            best[static_cast<std::size_t>(u)] = m;
        }
    });
    checkCancel();
    s.farthestUnit = 0;
    for (std::int64_t u = 1; u < s.units; ++u)
        if (best[static_cast<std::size_t>(u)] > best[static_cast<std::size_t>(s.farthestUnit)])
            s.farthestUnit = u;
    if (!std::isfinite(s.center[0]) || !std::isfinite(s.center[1]))
        s.encodable = false;  // encodeTensor stores it raw with a warning; encode it whole
}

}  // namespace

/// What one tensor's sampling needs, computed once over all its pairs.
struct CompressionEstimator::TensorStats {
    bool encodable = false;
    bool linear = false;          ///< sampled by rows ([out, in] Linear weight)
    bool padded = false;          ///< odd width (Linear) or odd element count
    float center[2] = {0.f, 0.f};
    float padValue = 0.f;
    std::int64_t units = 0;        ///< rows (Linear) or blocks of kBlockPairs pairs
    std::int64_t pairsPerUnit = 0; ///< pairs per row / per block
    std::int64_t farthestUnit = 0; ///< the unit holding the farthest pair
};

/// A sampled tensor ready for encodeTensor().
struct CompressionEstimator::Sample {
    at::Tensor tensor;  ///< [rows, in] (Linear) or 1-D with an even element count
    EncodeHints hints;
};

CompressionEstimator::CompressionEstimator(const io::StateDict& checkpoint, std::vector<TensorRole> roles,
                                           std::uint64_t originalFileBytes, const Progress& progress)
    : checkpoint_(checkpoint), roles_(std::move(roles)), originalFileBytes_(originalFileBytes)
{
    if (roles_.size() != checkpoint_.size())
        throw Error("compression estimate: " + std::to_string(roles_.size()) + " roles for "
                    + std::to_string(checkpoint_.size()) + " tensors");
    const auto& entries = checkpoint_.entries();
    stats_.resize(entries.size());
    std::int64_t total = 0;
    for (const auto& e : entries)
        total += e.tensor.numel();
    std::int64_t done = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        progress.checkCancelled();
        const at::Tensor& t = entries[i].tensor;
        TensorStats& s = stats_[i];
        s.encodable = encodable(t, roles_[i]) && !(roles_[i] == TensorRole::LinearWeight && t.dim() != 2);
        done += t.numel();
        if (!s.encodable)
            continue;
        rethrowAsError("estimating tensor '" + entries[i].name + "'", [&] {
            const at::Tensor w = t.to(at::kCPU).to(at::kFloat).contiguous();
            computeStats(w.data_ptr<float>(), w.numel(), roles_[i] == TensorRole::LinearWeight ? w.size(1) : 0, s,
                         progress.cancel);
        });
        progress.report(static_cast<double>(done) / static_cast<double>(std::max<std::int64_t>(1, total)),
                        entries[i].name);
    }
}

CompressionEstimator::~CompressionEstimator() = default;

bool CompressionEstimator::sampled(std::size_t index, const EstimateOptions& estimate) const
{
    const TensorStats& s = stats_[index];
    return s.encodable && estimate.sampleFraction < 1.0
           && checkpoint_.entries()[index].tensor.numel() > estimate.exactBelowElements;
}

std::shared_ptr<const CompressionEstimator::Sample> CompressionEstimator::sampleFor(std::size_t index,
                                                                                    const EstimateOptions& estimate) const
{
    const TensorStats& s = stats_[index];
    const std::int64_t minUnits = (estimate.minSamplePairs + s.pairsPerUnit - 1) / s.pairsPerUnit;
    const std::int64_t count = std::clamp<std::int64_t>(
        static_cast<std::int64_t>(std::ceil(static_cast<double>(s.units) * estimate.sampleFraction)), std::max<std::int64_t>(1, minUnits),
        s.units);
    const auto key = std::make_pair(index, count);
    {
        std::lock_guard<std::mutex> lock(cacheMutex_);
        const auto it = samples_.find(key);
        if (it != samples_.end())
            return it->second;
    }
    // Evenly spaced units plus the one holding the farthest pair (so R is the full tensor's).
    std::vector<std::int64_t> units;
    units.reserve(static_cast<std::size_t>(count) + 1);
    for (std::int64_t k = 0; k < count; ++k)
        units.push_back(static_cast<std::int64_t>((static_cast<double>(k) + 0.5) * static_cast<double>(s.units)
                                                  / static_cast<double>(count)));
    units.push_back(s.farthestUnit);
    std::sort(units.begin(), units.end());
    units.erase(std::unique(units.begin(), units.end()), units.end());

    auto sample = std::make_shared<Sample>();
    sample->hints.hasCenter = true;
    sample->hints.center[0] = s.center[0];
    sample->hints.center[1] = s.center[1];
    sample->hints.hasPadValue = s.padded;
    sample->hints.padValue = s.padValue;
    const at::Tensor w = checkpoint_.entries()[index].tensor.to(at::kCPU).to(at::kFloat).contiguous();
    if (s.linear) {
        const at::Tensor rows = at::from_blob(units.data(), {static_cast<std::int64_t>(units.size())}, at::kLong).clone();
        sample->tensor = w.index_select(0, rows).contiguous();
    } else {
        // Blocks of whole pairs; the pad element of an odd count is left out (the sample is even).
        const at::Tensor flat = w.view({-1});
        const std::int64_t even = flat.numel() / 2 * 2;
        std::vector<at::Tensor> pieces;
        for (std::int64_t u : units) {
            const std::int64_t begin = u * kBlockPairs * 2;
            const std::int64_t end = std::min(begin + kBlockPairs * 2, even);
            if (end > begin)
                pieces.push_back(flat.narrow(0, begin, end - begin));
        }
        sample->tensor = at::cat(pieces).contiguous();
        sample->hints.hasPadValue = false;
    }
    std::lock_guard<std::mutex> lock(cacheMutex_);
    samples_.emplace(key, sample);
    return sample;
}

std::int64_t CompressionEstimator::sampledElements(const EstimateOptions& estimate) const
{
    std::int64_t total = 0;
    const auto& entries = checkpoint_.entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (!sampled(i, estimate)) {
            total += stats_[i].encodable ? entries[i].tensor.numel() : 0;
            continue;
        }
        const TensorStats& s = stats_[i];
        const std::int64_t minUnits = (estimate.minSamplePairs + s.pairsPerUnit - 1) / s.pairsPerUnit;
        const std::int64_t count = std::clamp<std::int64_t>(
            static_cast<std::int64_t>(std::ceil(static_cast<double>(s.units) * estimate.sampleFraction)),
            std::max<std::int64_t>(1, minUnits), s.units);
        total += std::min(entries[i].tensor.numel(), (count + 1) * s.pairsPerUnit * 2);
    }
    return total;
}

CompressionReport CompressionEstimator::estimate(const CompressOptions& options, const EstimateOptions& estimate,
                                                 const Progress& progress) const
{
    const auto start = std::chrono::steady_clock::now();
    validateOptions(options);
    if (options.rateDistortion)  // fast enough to run exactly
        return compressRateDistortion(checkpoint_, roles_, *options.rateDistortion, originalFileBytes_, progress).report;
    if (options.autoL || options.targetMae || options.targetRatio)
        throw Error("the compression estimate supports the global settings and overrides, not auto l or the target modes");
    if (!(estimate.sampleFraction > 0.0 && estimate.sampleFraction <= 1.0))
        throw Error("estimate sample fraction must be in (0, 1], got " + std::to_string(estimate.sampleFraction));
    const auto& entries = checkpoint_.entries();
    const std::size_t n = entries.size();

    std::vector<TensorSettings> settings(n);
    std::vector<bool> overridden(n, false);
    std::vector<bool> ruleUsed(options.overrides.size(), false);
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<bool> matched;
        settings[i] = applyOverrides(options.defaults, options.overrides, entries[i].name, &matched);
        for (std::size_t r = 0; r < matched.size(); ++r)
            if (matched[r]) {
                ruleUsed[r] = true;
                overridden[i] = true;
            }
    }

    // Encode (samples of) every tensor, spread over the threads, largest work first.
    std::vector<TensorEncoding> enc(n);
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return entries[a].tensor.numel() > entries[b].tensor.numel();
    });
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> finished{0};
    std::mutex reportMutex;
    const int threads = std::max(1, at::get_num_threads());
    at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
        for (std::size_t k = next++; k < n; k = next++) {
            if (progress.isCancelled())
                return;
            const std::size_t i = order[k];
            const auto& e = entries[i];
            if (sampled(i, estimate) && !settings[i].keepRaw) {
                const auto sample = sampleFor(i, estimate);
                enc[i] = encodeTensor(e.name, sample->tensor, roles_[i], settings[i], sample->hints, progress.cancel);
            } else {
                enc[i] = encodeTensor(e.name, e.tensor, roles_[i], settings[i], {}, progress.cancel);
            }
            const std::size_t done = ++finished;
            std::lock_guard<std::mutex> lock(reportMutex);
            progress.report(static_cast<double>(done) / static_cast<double>(n), e.name);
        }
    });
    progress.checkCancelled();

    // Full-size stored forms with the sample's choices, for the exact file size of those choices.
    format::CompressedModel model;
    model.l = options.defaults.l;
    model.uList = options.defaults.uList;
    CompressionReport report;
    for (std::size_t r = 0; r < options.overrides.size(); ++r)
        if (!ruleUsed[r])
            report.warnings.push_back("override rule '" + options.overrides[r].pattern + "' matched no tensor");
    for (std::size_t i = 0; i < n; ++i) {
        const at::Tensor& original = entries[i].tensor;
        format::EncodedTensor t = enc[i].tensor;
        t.name = entries[i].name;
        if (t.isEncoded()) {
            const TensorStats& s = stats_[i];
            if (sampled(i, estimate)) {
                t.shape = original.sizes().vec();
                t.padded = s.padded;
                // The sample may miss the largest index of the full tensor: assume the widest
                // index U and K allow (the common case for millions of pairs).
                t.bits = std::max(t.bits, kernels::bitWidthFor(t.U * (t.K + 1) - 1));
                const auto count = static_cast<std::size_t>(t.indexCount());
                t.packed = at::empty({static_cast<std::int64_t>(kernels::packedByteCount(count, t.bits))}, at::kByte);
                t.padBits = kernels::packedPaddingBits(count, t.bits);
            }
            auto pos = std::find(model.uList.begin(), model.uList.end(), t.U);
            if (pos == model.uList.end()) {
                model.uList.push_back(t.U);
                pos = model.uList.end() - 1;
            }
            t.uPosition = static_cast<std::uint8_t>(pos - model.uList.begin());
        } else {
            t.raw = original;
        }
        model.tensors.push_back(std::move(t));
    }

    // The same extensions and settings metadata compressModel() writes (they are part of the
    // file size; the fullSampleEqualsCompressor test keeps the two in step).
    const bool anyOverride = std::any_of(ruleUsed.begin(), ruleUsed.end(), [](bool used) { return used; });
    if (anyOverride)
        model.extensions.push_back(format::extension::kOverrides);
    if (std::any_of(model.tensors.begin(), model.tensors.end(),
                    [&](const format::EncodedTensor& t) { return t.isEncoded() && t.l != model.l; }))
        model.extensions.push_back(format::extension::kPerTensorL);
    report.settings = compressionSettingsJson(options, model.extensions);
    model.metadata.emplace_back(format::kMetaSettings, report.settings.dump());
    addTensorRows(report, model, checkpoint_, enc);
    if (originalFileBytes_ != 0)
        report.originalBytes = originalFileBytes_;
    report.compressedBytes = format::compressedFileSize(model);
    report.settings["estimate_sample_fraction"] = estimate.sampleFraction;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace birkhoff::codec
