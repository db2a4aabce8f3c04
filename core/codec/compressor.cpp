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
#include <cstdio>
#include <limits>
#include <mutex>

namespace birkhoff::codec {

const std::vector<std::uint32_t> kTargetUCandidates = {64, 144, 256, 576, 1024, 1225, 1600, 2304, 4096, 9216, 16384};

namespace {

// A tensor holding more than this share of the work is encoded alone with its chunks spread
// over the threads; all others are handed out whole, largest first, in one parallel region
// (threads never wait between tensors, and a model of many mid-sized tensors like SAM's keeps
// every core busy).
constexpr std::int64_t kSharedTensorDivisor = 8;

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
    std::int64_t doneElements = 0;  // guarded by reportMutex
    std::mutex reportMutex;
    auto encodeOne = [&](std::size_t i) {
        progress.checkCancelled();
        const auto& e = entries[i];
        out[i] = encodeTensor(e.name, e.tensor, roles[i], settings[i], {}, progress.cancel);
        std::lock_guard<std::mutex> lock(reportMutex);  // fractions reach the callback in order
        const std::int64_t done = doneElements += e.tensor.numel();
        progress.report(progressBase + progressSpan * static_cast<double>(done)
                                           / static_cast<double>(std::max<std::int64_t>(1, totalElements)),
                        e.name);
    };

    std::vector<std::size_t> whole, alone;
    for (std::size_t i : which)
        (entries[i].tensor.numel() * kSharedTensorDivisor > totalElements && totalElements > (1 << 16) ? alone : whole)
            .push_back(i);
    std::stable_sort(whole.begin(), whole.end(), [&](std::size_t a, std::size_t b) {
        return entries[a].tensor.numel() > entries[b].tensor.numel();
    });

    // Dominant tensors: one at a time, chunks in parallel.
    for (std::size_t i : alone)
        encodeOne(i);
    // The rest: whole tensors handed out dynamically, largest first.
    std::atomic<std::size_t> next{0};
    const int threads = std::max(1, at::get_num_threads());
    at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
        for (std::size_t k = next++; k < whole.size(); k = next++)
            encodeOne(whole[k]);
    });
    return out;
}

bool isCandidate(const at::Tensor& t, TensorRole role)
{
    return role != TensorRole::Buffer && t.numel() >= kMinEncodedElements && at::isFloatingType(t.scalar_type());
}

struct Candidate {
    TensorSettings settings;
    double mae = 0;             // restored MAE (0 for raw)
    double bytes = 0;           // stored bytes plus the estimated header bytes of its keys
};

// Approximate header bytes of one tensor's keys: a JSON record of about 55 characters plus the
// key per key (10 keys for an encoded tensor, 2 for a raw one).
double headerBytes(const std::string& name, bool encoded)
{
    return (encoded ? 10.0 : 2.0) * (static_cast<double>(name.size()) + 68.0);
}

double candidateBytes(const std::string& name, const TensorEncoding& e, float globalL)
{
    const bool ownL = e.tensor.isEncoded() && e.tensor.l != globalL;
    return static_cast<double>(format::storedTensorBytes(e.tensor, ownL)) + headerBytes(name, e.tensor.isEncoded());
}

// Target modes: the candidate encodings of every searched tensor.
struct TargetCandidates {
    std::vector<std::size_t> which;                  // searched tensors
    std::vector<std::vector<Candidate>> perTensor;   // indexed by tensor
};

TargetCandidates evaluateCandidates(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                    const std::vector<TensorSettings>& base, const std::vector<std::size_t>& which,
                                    const CompressOptions& options, const Progress& progress)
{
    const auto& entries = checkpoint.entries();
    const std::size_t n = entries.size();
    TargetCandidates c;
    c.which = which;
    c.perTensor.resize(n);
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
            encodeAll(checkpoint, roles, s, which, progress, 0.05 + 0.8 * u / nu, 0.8 / nu);
        for (std::size_t i : which)
            c.perTensor[i].push_back({s[i], enc[i].mae, candidateBytes(entries[i].name, enc[i], options.defaults.l)});
    }
    for (std::size_t i : which) {
        Candidate raw;
        raw.settings = base[i];
        raw.settings.keepRaw = true;
        raw.bytes = static_cast<double>(entries[i].tensor.numel()) * entries[i].tensor.element_size() + 1
                    + headerBytes(entries[i].name, false);
        c.perTensor[i].push_back(raw);
    }
    return c;
}

// Target MAE: per tensor the smallest candidate whose MAE meets the target (raw always does).
void pickForMae(const TargetCandidates& c, double target, std::vector<TensorSettings>& chosen)
{
    for (std::size_t i : c.which) {
        const Candidate* best = nullptr;
        for (const Candidate& k : c.perTensor[i])
            if (k.mae <= target && (best == nullptr || k.bytes < best->bytes))
                best = &k;
        chosen[i] = best->settings;
    }
}

// Target ratio: per tensor the candidate minimising numel * MAE + lambda * bytes, with the
// smallest lambda whose estimated bytes fit `budget`. Returns false when even the smallest
// candidates do not fit (they are chosen then).
bool pickForBudget(const io::StateDict& checkpoint, const TargetCandidates& c, double budget,
                   std::vector<TensorSettings>& chosen)
{
    const auto& entries = checkpoint.entries();
    std::vector<std::size_t> sel(entries.size(), 0);
    auto pick = [&](double lambda) {
        double bytes = 0;
        for (std::size_t i : c.which) {
            const auto& cs = c.perTensor[i];
            const double numel = static_cast<double>(entries[i].tensor.numel());
            double bestCost = std::numeric_limits<double>::infinity();
            for (std::size_t k = 0; k < cs.size(); ++k) {
                const double cost = numel * cs[k].mae + lambda * cs[k].bytes;
                if (cost < bestCost) {
                    bestCost = cost;
                    sel[i] = k;
                }
            }
            bytes += cs[sel[i]].bytes;
        }
        return bytes;
    };
    double lo = 0, hi = 1e-12;
    while (pick(hi) > budget && hi < 1e30)
        hi *= 4;
    const bool fits = pick(hi) <= budget;
    if (fits) {
        for (int it = 0; it < 200 && hi - lo > 1e-9 * hi; ++it) {
            const double mid = 0.5 * (lo + hi);
            if (pick(mid) <= budget)
                hi = mid;
            else
                lo = mid;
        }
    }
    pick(hi);
    for (std::size_t i : c.which)
        chosen[i] = c.perTensor[i][sel[i]].settings;
    return fits;
}

bool sameSettings(const TensorSettings& a, const TensorSettings& b)
{
    return a.l == b.l && a.uList == b.uList && a.maxRings == b.maxRings && a.keepRaw == b.keepRaw
           && a.lossHope == b.lossHope && a.lossMax == b.lossMax && a.rawFallback == b.rawFallback;
}

// The model from the encodings: global l and U list, plus any U an override or target brought in
// (positions assigned in order of first use), and the extensions used.
format::CompressedModel assembleModel(const std::vector<TensorEncoding>& enc, const CompressOptions& options,
                                      const std::vector<std::string>& extensions)
{
    format::CompressedModel model;
    model.l = options.defaults.l;
    model.uList = options.defaults.uList;
    for (const TensorEncoding& e : enc) {
        format::EncodedTensor t = e.tensor;
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
    model.extensions = extensions;
    if (std::any_of(model.tensors.begin(), model.tensors.end(),
                    [&](const format::EncodedTensor& t) { return t.isEncoded() && t.l != model.l; }))
        model.extensions.push_back(format::extension::kPerTensorL);
    model.metadata.emplace_back(format::kMetaSettings, compressionSettingsJson(options, model.extensions).dump());
    return model;
}

}  // namespace

void addTensorRows(CompressionReport& report, const format::CompressedModel& model, const io::StateDict& checkpoint,
                   const std::vector<TensorEncoding>& encodings)
{
    const auto& entries = checkpoint.entries();
    for (std::size_t i = 0; i < model.tensors.size(); ++i) {
        const format::EncodedTensor& t = model.tensors[i];
        const TensorEncoding& e = encodings[i];
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
}

nlohmann::json compressionSettingsJson(const CompressOptions& o, const std::vector<std::string>& extensions)
{
    nlohmann::json s = nlohmann::json::object();
    s["l"] = shortestDecimal(o.defaults.l);
    s["U"] = o.defaults.uList;
    s["M"] = o.defaults.maxRings;
    s["loss_hope"] = shortestDecimal(o.defaults.lossHope);
    s["loss_max"] = shortestDecimal(o.defaults.lossMax);
    s["raw_fallback_mae"] = o.defaults.rawFallback ? nlohmann::json(shortestDecimal(o.defaults.rawFallbackMae)) : nlohmann::json(nullptr);
    s["auto_l"] = o.autoL;
    s["target_mae"] = o.targetMae ? nlohmann::json(*o.targetMae) : nlohmann::json(nullptr);
    s["target_ratio"] = o.targetRatio ? nlohmann::json(*o.targetRatio) : nlohmann::json(nullptr);
    s["override_rules"] = o.overrides.size();
    nlohmann::json rules = nlohmann::json::array();  // the overrides-file format (overrides.h)
    for (const OverrideRule& r : o.overrides) {
        nlohmann::json rule{{"pattern", r.pattern}};
        if (r.l)
            rule["l"] = shortestDecimal(*r.l);
        if (r.uList)
            rule["U"] = *r.uList;
        if (r.maxRings)
            rule["M"] = *r.maxRings;
        if (r.keepRaw)
            rule["keep_raw"] = *r.keepRaw;
        rules.push_back(std::move(rule));
    }
    s["overrides"] = std::move(rules);
    s["extensions"] = extensions;
    return s;
}

void validateOptions(const CompressOptions& o)
{
    validateSettings(o.defaults, "settings");
    if (o.targetMae && o.targetRatio)
        throw Error("--target-mae and --target-ratio cannot be combined");
    if (o.rateDistortion) {
        if (o.targetMae || o.targetRatio || o.autoL || !o.overrides.empty())
            throw Error("the rate-distortion codec (--rd) chooses every tensor's lattice itself: it cannot be combined "
                        "with --auto-l, --target-mae, --overrides or the paper mode's --target-ratio");
        validateRateDistortion(*o.rateDistortion);
    }
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
    if (options.rateDistortion) {
        RateDistortionResult rd =
            compressRateDistortion(checkpoint, roles, *options.rateDistortion, options.originalFileBytes, progress);
        return {std::move(rd.model), std::move(rd.report)};
    }
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

    std::vector<std::string> extensions;
    if (anyOverride)
        extensions.push_back(format::extension::kOverrides);
    if (options.autoL)
        extensions.push_back(format::extension::kAutoL);
    if (options.targetMae)
        extensions.push_back(format::extension::kTargetMae);
    if (options.targetRatio)
        extensions.push_back(format::extension::kTargetRatio);

    std::vector<TensorEncoding> enc;
    format::CompressedModel& model = result.model;
    if (options.targetMae || options.targetRatio) {
        // Tensors outside the search first (their size counts against a ratio target), then the
        // candidates of the others, then the chosen encodings.
        std::vector<std::size_t> fixedWhich, searched;
        for (std::size_t i = 0; i < n; ++i)
            (eligible[i] ? searched : fixedWhich).push_back(i);
        enc = encodeAll(checkpoint, roles, settings, fixedWhich, progress, 0.0, 0.05);
        const TargetCandidates candidates = evaluateCandidates(checkpoint, roles, settings, searched, options, progress);
        std::vector<TensorSettings> chosen = settings;
        if (options.targetMae) {
            pickForMae(candidates, *options.targetMae, chosen);
            std::vector<TensorEncoding> final = encodeAll(checkpoint, roles, chosen, searched, progress, 0.85, 0.15);
            for (std::size_t i : searched)
                enc[i] = std::move(final[i]);
            model = assembleModel(enc, options, extensions);
        } else {
            // The candidates' byte counts estimate the header; the exact size of the chosen
            // encoding corrects the budget (at most three times).
            const double target = static_cast<double>(options.originalFileBytes) / *options.targetRatio;
            double budget = target - 2048.0;
            for (std::size_t i = 0; i < n; ++i)
                budget -= static_cast<double>(entries[i].name.size()) + 3.0;  // tensor order metadata
            for (std::size_t i : fixedWhich)
                budget -= candidateBytes(entries[i].name, enc[i], options.defaults.l);
            std::vector<TensorSettings> encodedWith(n);
            std::vector<bool> encoded(n, false);
            for (int attempt = 0;; ++attempt) {
                const bool fits = pickForBudget(checkpoint, candidates, budget, chosen);
                std::vector<std::size_t> todo;
                for (std::size_t i : searched)
                    if (!encoded[i] || !sameSettings(encodedWith[i], chosen[i]))
                        todo.push_back(i);
                std::vector<TensorEncoding> final = encodeAll(checkpoint, roles, chosen, todo, progress, 0.85, 0.15);
                for (std::size_t i : todo) {
                    enc[i] = std::move(final[i]);
                    encodedWith[i] = chosen[i];
                    encoded[i] = true;
                }
                model = assembleModel(enc, options, extensions);
                const auto size = static_cast<double>(format::compressedFileSize(model));
                if (!fits)
                    throw Error("target ratio " + ratioText(*options.targetRatio)
                                + " is not reachable with the paper's lattice: the largest ratio it reaches on this "
                                  "checkpoint is "
                                + ratioText(static_cast<double>(options.originalFileBytes) / size)
                                + " (the rate-distortion codec, --rd, reaches higher ratios)");
                if (size <= target || attempt == 3)
                    break;
                budget -= (size - target) * 1.05 + 64.0;
            }
        }
        for (std::size_t i : searched)
            if (chosen[i].keepRaw)
                enc[i].warning = options.targetMae ? "no candidate setting meets the target MAE: stored raw"
                                                   : "stored raw: the best trade-off for the target ratio";
    } else {
        std::vector<std::size_t> all(n);
        for (std::size_t i = 0; i < n; ++i)
            all[i] = i;
        enc = encodeAll(checkpoint, roles, settings, all, progress, 0.0, 1.0);
        model = assembleModel(enc, options, extensions);
    }
    report.settings = compressionSettingsJson(options, model.extensions);

    addTensorRows(report, model, checkpoint, enc);
    if (options.originalFileBytes != 0)
        report.originalBytes = options.originalFileBytes;
    report.compressedBytes = format::compressedFileSize(model);
    if (options.targetRatio && report.ratio() < *options.targetRatio * 0.999)
        throw Error("target ratio " + ratioText(*options.targetRatio) + " was not reached: the closest encoding found is "
                    + ratioText(report.ratio()));
    report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    progress.report(1.0, "compressed");
    return result;
}

}  // namespace birkhoff::codec
