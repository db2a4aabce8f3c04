// Whole-checkpoint compression: settings per tensor, parallel encoding, model and report.
#include "core/codec/compressor.h"

#include "core/format/compressed_writer.h"
#include "core/util/error.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

namespace birkhoff::codec {

const std::vector<std::uint32_t> kTargetUCandidates = {64, 144, 256, 576, 1024, 1225, 1600, 2304, 4096, 9216, 16384};

namespace {

// Tensors at least this large are encoded one at a time with chunk parallelism; smaller ones are
// spread over the threads whole.
constexpr std::int64_t kLargeTensorElements = 1 << 17;

using Clock = std::chrono::steady_clock;

// Encodes tensors `which` with settings[i], in parallel, reporting progress per tensor.
std::vector<TensorEncoding> encodeAll(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                      const std::vector<TensorSettings>& settings,
                                      const std::vector<std::size_t>& which, const Progress& progress,
                                      double progressBase, double progressSpan)
{
    const auto& entries = checkpoint.entries();
    std::vector<TensorEncoding> out(entries.size());
    std::int64_t totalElements = 0;
    for (std::size_t i : which)
        totalElements += entries[i].tensor.numel();
    std::atomic<std::int64_t> doneElements{0};
    std::mutex reportMutex;
    auto encodeOne = [&](std::size_t i) {
        progress.checkCancelled();
        const auto& e = entries[i];
        out[i] = encodeTensor(e.name, e.tensor, roles[i], settings[i], {}, progress.cancel);
        const std::int64_t done = doneElements += e.tensor.numel();
        std::lock_guard<std::mutex> lock(reportMutex);
        progress.report(progressBase + progressSpan * static_cast<double>(done)
                                           / static_cast<double>(std::max<std::int64_t>(1, totalElements)),
                        e.name);
    };

    std::vector<std::size_t> small, large;
    for (std::size_t i : which)
        (entries[i].tensor.numel() >= kLargeTensorElements ? large : small).push_back(i);

    // Small tensors: whole tensors handed out dynamically to the threads.
    std::atomic<std::size_t> next{0};
    const int threads = std::max(1, at::get_num_threads());
    at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
        for (std::size_t k = next++; k < small.size(); k = next++)
            encodeOne(small[k]);
    });
    // Large tensors: one at a time, chunks in parallel.
    for (std::size_t i : large)
        encodeOne(i);
    return out;
}

bool isCandidate(const at::Tensor& t, TensorRole role)
{
    return role != TensorRole::Buffer && t.numel() >= kMinEncodedElements && at::isFloatingType(t.scalar_type());
}

struct Candidate {
    TensorSettings settings;
    double mae = 0;             // restored MAE (0 for raw)
    std::uint64_t bytes = 0;    // stored bytes
    bool raw = false;
};

std::uint64_t storedBytesOf(const TensorEncoding& e, float globalL)
{
    return format::storedTensorBytes(e.tensor, e.tensor.isEncoded() && e.tensor.l != globalL);
}

// Target modes: evaluates every (auto l, U) candidate of the eligible tensors and picks one per
// tensor. Returns the settings to encode with.
std::vector<TensorSettings> chooseTargetSettings(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                                 const std::vector<TensorSettings>& base,
                                                 const std::vector<bool>& eligible, const CompressOptions& options,
                                                 const Progress& progress, std::vector<std::string>& warnings)
{
    const auto& entries = checkpoint.entries();
    const std::size_t n = entries.size();
    std::vector<std::vector<Candidate>> candidates(n);
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < n; ++i)
        if (eligible[i])
            which.push_back(i);

    const std::size_t nu = kTargetUCandidates.size();
    for (std::size_t u = 0; u < nu; ++u) {
        std::vector<TensorSettings> s(n);
        for (std::size_t i : which) {
            s[i] = base[i];
            s[i].uList = {kTargetUCandidates[u]};
            s[i].rawFallback = false;
            s[i].lossHope = 0.f;  // try every K: the candidate is the best this U can do
        }
        const std::vector<TensorEncoding> enc =
            encodeAll(checkpoint, roles, s, which, progress, 0.9 * u / nu, 0.9 / nu);
        for (std::size_t i : which)
            candidates[i].push_back({s[i], enc[i].mae, storedBytesOf(enc[i], options.defaults.l), false});
    }
    for (std::size_t i : which) {
        Candidate raw;
        raw.settings = base[i];
        raw.settings.keepRaw = true;
        raw.raw = true;
        raw.bytes = static_cast<std::uint64_t>(entries[i].tensor.numel()) * entries[i].tensor.element_size() + 1;
        candidates[i].push_back(raw);
    }

    std::vector<TensorSettings> chosen = base;
    if (options.targetMae) {
        for (std::size_t i : which) {
            const Candidate* best = nullptr;
            for (const Candidate& c : candidates[i])
                if (c.mae <= *options.targetMae && (best == nullptr || c.bytes < best->bytes))
                    best = &c;
            chosen[i] = best->settings;  // the raw candidate always qualifies
        }
        return chosen;
    }

    // Target ratio: Lagrangian choice sum(numel * mae) + lambda * bytes, lambda bisected.
    std::uint64_t fixedBytes = 0;  // tensors outside the search, stored as the base settings say
    for (std::size_t i = 0; i < n; ++i)
        if (!eligible[i])
            fixedBytes += static_cast<std::uint64_t>(entries[i].tensor.numel()) * entries[i].tensor.element_size();
    const double original = static_cast<double>(options.originalFileBytes);
    // Header, metadata and global keys: about 200 bytes per tensor (key names and JSON records).
    const double overhead = 1024.0 + 200.0 * static_cast<double>(n);
    const double budget = original / *options.targetRatio - overhead - static_cast<double>(fixedBytes);
    auto pick = [&](double lambda, std::vector<std::size_t>& sel) {
        double bytes = 0;
        for (std::size_t i : which) {
            const auto& cs = candidates[i];
            const double numel = static_cast<double>(entries[i].tensor.numel());
            std::size_t best = 0;
            double bestCost = std::numeric_limits<double>::infinity();
            for (std::size_t k = 0; k < cs.size(); ++k) {
                const double cost = numel * cs[k].mae + lambda * static_cast<double>(cs[k].bytes);
                if (cost < bestCost) {
                    bestCost = cost;
                    best = k;
                }
            }
            sel[i] = best;
            bytes += static_cast<double>(cs[best].bytes);
        }
        return bytes;
    };
    std::vector<std::size_t> sel(n, 0);
    double lo = 0, hi = 1;
    while (pick(hi, sel) > budget && hi < 1e30)
        hi *= 4;
    if (pick(hi, sel) > budget)
        warnings.push_back("target ratio " + std::to_string(*options.targetRatio)
                           + " is not reachable with the candidate settings; using the smallest encoding");
    for (int it = 0; it < 100 && hi > lo * (1 + 1e-9); ++it) {
        const double mid = lo == 0 ? hi / 1024 : std::sqrt(lo * hi);
        if (pick(mid, sel) <= budget)
            hi = mid;
        else
            lo = mid;
        if (lo == 0 && mid < 1e-30)
            break;
    }
    pick(hi, sel);
    for (std::size_t i : which)
        chosen[i] = candidates[i][sel[i]].settings;
    return chosen;
}

nlohmann::json settingsJson(const CompressOptions& o, const std::vector<std::string>& extensions)
{
    nlohmann::json s = nlohmann::json::object();
    s["l"] = o.defaults.l;
    s["U"] = o.defaults.uList;
    s["M"] = o.defaults.maxRings;
    s["loss_hope"] = o.defaults.lossHope;
    s["loss_max"] = o.defaults.lossMax;
    s["raw_fallback_mae"] = o.defaults.rawFallback ? nlohmann::json(o.defaults.rawFallbackMae) : nlohmann::json(nullptr);
    s["auto_l"] = o.autoL;
    s["target_mae"] = o.targetMae ? nlohmann::json(*o.targetMae) : nlohmann::json(nullptr);
    s["target_ratio"] = o.targetRatio ? nlohmann::json(*o.targetRatio) : nlohmann::json(nullptr);
    s["override_rules"] = o.overrides.size();
    s["extensions"] = extensions;
    return s;
}

}  // namespace

void validateOptions(const CompressOptions& o)
{
    validateSettings(o.defaults, "settings");
    if (o.targetMae && o.targetRatio)
        throw Error("--target-mae and --target-ratio cannot be combined");
    if (o.targetMae && !(std::isfinite(*o.targetMae) && *o.targetMae > 0))
        throw Error("--target-mae must be a finite number > 0");
    if (o.targetRatio && !(std::isfinite(*o.targetRatio) && *o.targetRatio > 0))
        throw Error("--target-ratio must be a finite number > 0");
}

float autoL(const at::Tensor& tensor, TensorRole role, float fallback)
{
    if (!isCandidate(tensor, role))
        return fallback;
    const at::Tensor flat = tensor.to(at::kCPU).to(at::kFloat).contiguous().view({-1});
    const std::int64_t even = flat.numel() / 2 * 2;
    const at::Tensor pairs = flat.narrow(0, 0, even).view({-1, 2});
    // Pooled variance of the two pair coordinates around their own means (double accumulation).
    const at::Tensor var = pairs.to(at::kDouble).var(0, /*unbiased=*/false);
    const double sigma = std::sqrt(var.mean().item<double>());
    const auto l = static_cast<float>(kAutoLSigmas * sigma);
    if (!std::isfinite(l) || !(l > 0.f))
        return fallback;
    return l;
}

CompressionResult compressModel(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                const CompressOptions& options, const Progress& progress)
{
    const auto start = Clock::now();
    validateOptions(options);
    if (roles.size() != checkpoint.size())
        throw Error("compressModel: " + std::to_string(roles.size()) + " roles for " + std::to_string(checkpoint.size())
                    + " tensors");
    if (options.targetRatio && options.originalFileBytes == 0)
        throw Error("--target-ratio needs the original checkpoint size");
    const auto& entries = checkpoint.entries();
    const std::size_t n = entries.size();

    // Settings per tensor: defaults, overrides, auto l.
    std::vector<TensorSettings> settings(n);
    std::vector<bool> overridden(n, false), eligible(n, false);
    std::vector<bool> ruleUsed(options.overrides.size(), false);
    bool anyOverride = false;
    for (std::size_t i = 0; i < n; ++i) {
        std::vector<bool> matched;
        settings[i] = applyOverrides(options.defaults, options.overrides, entries[i].name, &matched);
        for (std::size_t r = 0; r < matched.size(); ++r)
            if (matched[r]) {
                ruleUsed[r] = true;
                overridden[i] = true;
                anyOverride = true;
            }
        eligible[i] = !overridden[i] && isCandidate(entries[i].tensor, roles[i]);
        const bool ruleSetsL = std::any_of(options.overrides.begin(), options.overrides.end(), [&](const OverrideRule& r) {
            return r.l && globMatch(r.pattern, entries[i].name);
        });
        const bool targeted = (options.targetMae || options.targetRatio) && eligible[i];
        if ((options.autoL && !ruleSetsL) || targeted)
            settings[i].l = autoL(entries[i].tensor, roles[i], settings[i].l);
    }

    CompressionResult result;
    CompressionReport& report = result.report;
    for (std::size_t r = 0; r < options.overrides.size(); ++r)
        if (!ruleUsed[r])
            report.warnings.push_back("override rule '" + options.overrides[r].pattern + "' matched no tensor");

    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i)
        all[i] = i;
    std::vector<TensorEncoding> enc;
    if (options.targetMae || options.targetRatio) {
        const std::vector<TensorSettings> chosen =
            chooseTargetSettings(checkpoint, roles, settings, eligible, options, progress, report.warnings);
        enc = encodeAll(checkpoint, roles, chosen, all, progress, 0.9, 0.1);
    } else {
        enc = encodeAll(checkpoint, roles, settings, all, progress, 0.0, 1.0);
    }

    // The model: global l and U list, plus any U an override or target brought in.
    format::CompressedModel& model = result.model;
    model.l = options.defaults.l;
    model.uList = options.defaults.uList;
    for (std::size_t i = 0; i < n; ++i) {
        format::EncodedTensor t = std::move(enc[i].tensor);
        if (t.isEncoded()) {
            auto pos = std::find(model.uList.begin(), model.uList.end(), t.U);
            if (pos == model.uList.end()) {
                if (model.uList.size() >= 256)
                    throw Error("more than 256 distinct U values across tensors");
                model.uList.push_back(t.U);
                pos = model.uList.end() - 1;
            }
            t.uPosition = static_cast<std::uint8_t>(pos - model.uList.begin());
        }
        model.tensors.push_back(std::move(t));
    }
    if (anyOverride)
        model.extensions.push_back(format::extension::kOverrides);
    if (options.autoL)
        model.extensions.push_back(format::extension::kAutoL);
    if (options.targetMae)
        model.extensions.push_back(format::extension::kTargetMae);
    if (options.targetRatio)
        model.extensions.push_back(format::extension::kTargetRatio);
    if (std::any_of(model.tensors.begin(), model.tensors.end(),
                    [&](const format::EncodedTensor& t) { return t.isEncoded() && t.l != model.l; }))
        model.extensions.push_back(format::extension::kPerTensorL);
    report.settings = settingsJson(options, model.extensions);
    model.metadata.emplace_back(format::kMetaSettings, report.settings.dump());

    // The report.
    for (std::size_t i = 0; i < n; ++i) {
        const format::EncodedTensor& t = model.tensors[i];
        const TensorEncoding& e = enc[i];
        TensorReport row;
        row.name = t.name;
        row.shape = entries[i].tensor.sizes().vec();
        row.path = e.path;
        row.loadType = static_cast<int>(t.loadType);
        row.parameters = entries[i].tensor.numel();
        row.originalBytes = static_cast<std::uint64_t>(row.parameters) * entries[i].tensor.element_size();
        row.storedBytes = format::storedTensorBytes(t, t.isEncoded() && t.l != model.l);
        row.bitsPerWeight = row.parameters == 0 ? 0.0 : 8.0 * static_cast<double>(row.storedBytes) / row.parameters;
        if (t.isEncoded()) {
            row.l = t.l;
            row.U = t.U;
            row.K = t.K;
            row.bitsPerIndex = t.bits;
        }
        row.mae = e.mae;
        row.maxAbsError = e.maxAbsError;
        row.warning = e.warning;
        if (!e.warning.empty())
            report.warnings.push_back(t.name + ": " + e.warning);
        report.parameters += row.parameters;
        report.originalBytes += row.originalBytes;
        report.tensors.push_back(std::move(row));
    }
    if (options.originalFileBytes != 0)
        report.originalBytes = options.originalFileBytes;
    report.compressedBytes = format::compressedFileSize(model);
    if (options.targetRatio && report.ratio() < *options.targetRatio * 0.999)
        report.warnings.push_back("reached ratio " + std::to_string(report.ratio()) + ", below the target "
                                  + std::to_string(*options.targetRatio));
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    progress.report(1.0, "compressed");
    return result;
}

}  // namespace birkhoff::codec
