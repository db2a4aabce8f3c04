// The rate-distortion codec: row scales, fixed-step lattices, entropy-coded indices and the
// base-step search of a target ratio (see the header).
#include "core/codec/rate_distortion.h"

#include "core/codec/compressor.h"
#include "core/codec/tensor_encoder.h"
#include "core/format/compressed_writer.h"
#include "core/util/error.h"
#include "core/util/stopwatch.h"

#include <ATen/Functions.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace birkhoff::codec {

namespace {

/// Size whose step factor is 1 (the base step applies to a tensor of 2^20 elements).
constexpr double kReferenceElements = 1048576.0;
/// Extra factor for the image stem and the encoder's neck.
constexpr double kEdgeFactor = 0.5;
constexpr double kMinFactor = 1.0 / 512;
/// Steps searched for a target ratio stay inside [kMinStep, kMaxStep] row deviations.
constexpr double kMinStep = 1e-3;
constexpr double kMaxStep = 64.0;
/// A target-ratio search stops when the file is within this share below the budget.
constexpr double kRatioTolerance = 0.02;
constexpr int kSearchRounds = 8;

bool contains(const std::string& s, const char* part)
{
    return s.find(part) != std::string::npos;
}

constexpr float kSmallestNormalHalf = 6.103515625e-05f;  // 2^-14

float toHalf(double v)
{
    return static_cast<float>(c10::Half(static_cast<float>(v)));
}

/// Float16 standard deviation of every row of `w` ([rows, perRow]); a row whose deviation is 0,
/// not finite or below float16's range gets the tensor's. A constant tensor (a norm's unit
/// weights, zero biases) gets the smallest normal float16, 2^-14: its values then sit far
/// inside the lattice's resolution (errors below 1e-5 of a unit value) instead of one step off.
std::vector<float> rowScales(const at::Tensor& w2d)
{
    const at::Tensor sd = w2d.to(at::kDouble).std(1, /*unbiased=*/false).to(at::kFloat).contiguous();
    const double whole = w2d.to(at::kDouble).std(/*unbiased=*/false).item<double>();
    float fallback = toHalf(whole);
    if (!(std::isfinite(fallback) && fallback >= kSmallestNormalHalf))
        fallback = kSmallestNormalHalf;
    std::vector<float> out(static_cast<std::size_t>(sd.numel()));
    const float* p = sd.data_ptr<float>();
    for (std::size_t r = 0; r < out.size(); ++r) {
        const float h = toHalf(p[r]);
        out[r] = std::isfinite(h) && h >= kSmallestNormalHalf ? h : fallback;
    }
    return out;
}

/// Largest distance of a coordinate pair from the pairs' centroid, over consecutive pairs of
/// the rows of `x` ([rows, perRow]; an odd last column is paired with its mean, as the encoder
/// pads it).
double largestPairDistance(const at::Tensor& x2d)
{
    const std::int64_t cols = x2d.size(1);
    const std::int64_t even = cols / 2 * 2;
    std::vector<at::Tensor> pairs;
    if (even > 0)
        pairs.push_back(x2d.narrow(1, 0, even).reshape({-1, 2}));
    if (cols != even) {
        const at::Tensor last = x2d.narrow(1, even, 1).reshape({-1});
        pairs.push_back(at::stack({last, at::full_like(last, last.mean().item<float>())}, 1));
    }
    const at::Tensor all = at::cat(pairs, 0).to(at::kDouble);
    const at::Tensor centroid = all.mean(0, /*keepdim=*/true);
    return (all - centroid).pow(2).sum(1).sqrt().max().item<double>();
}

struct TensorPlan {
    bool encode = false;           // false: stored raw (buffer, tiny, non-integer dtype)
    at::Tensor normalized;         // float32, original shape: w / row scale
    std::vector<float> scale;      // per row
    double largestDistance = 0;    // of the normalized pairs
    double factor = 1;             // sensitivityFactor
};

TensorPlan planTensor(const std::string& name, const at::Tensor& tensor, TensorRole role)
{
    TensorPlan p;
    if (role == TensorRole::Buffer || tensor.numel() < kMinEncodedElements || !at::isFloatingType(tensor.scalar_type()))
        return p;
    const at::Tensor w = tensor.to(at::kCPU).to(at::kFloat).contiguous();
    if (!at::isfinite(w).all().item<bool>())
        return p;  // stored raw, like the paper mode's non-finite fallback
    const std::int64_t rows = tensor.dim() >= 2 ? tensor.size(0) : 1;
    const at::Tensor w2d = w.view({rows, -1});
    p.scale = rowScales(w2d);
    const at::Tensor s = at::from_blob(p.scale.data(), {rows, 1}, at::kFloat);
    const at::Tensor x2d = w2d / s;
    p.normalized = x2d.view(w.sizes());
    p.largestDistance = largestPairDistance(role == TensorRole::LinearWeight ? x2d : x2d.reshape({1, -1}));
    p.factor = sensitivityFactor(name, tensor.numel());
    p.encode = std::isfinite(p.largestDistance);
    return p;
}

/// Encodes one planned tensor with lattice step `step` (row deviations).
TensorEncoding encodePlanned(const std::string& name, const at::Tensor& original, TensorRole role,
                             const TensorPlan& plan, double step, std::uint32_t maxRings, const CancelToken* cancel)
{
    TensorSettings s;
    s.rawFallback = false;
    s.lossHope = 0.f;  // try every K
    if (!plan.encode) {
        s.keepRaw = true;
        return encodeTensor(name, original, role, s, {}, cancel);
    }
    const double wanted = std::ceil(2.0 * plan.largestDistance * 1.001 / step + 1e-9);
    const auto side = static_cast<std::uint32_t>(std::clamp(wanted, 2.0, static_cast<double>(kMaxLatticeSide)));
    s.l = static_cast<float>(side * step);
    s.uList = {side * side};
    s.maxRings = wanted > kMaxLatticeSide ? maxRings : 1;
    TensorEncoding e = encodeTensor(name, plan.normalized, role, s, {}, cancel);
    if (!e.tensor.isEncoded())
        return e;
    e.tensor.rowScale = plan.scale;
    e.tensor.entropyCoded = true;
    // Errors in the original units, through the same decoder the model uses.
    const at::Tensor decoded = format::decodeTensor(e.tensor);
    const at::Tensor diff = (decoded - original.to(at::kCPU).to(at::kFloat)).abs().to(at::kDouble);
    e.mae = diff.mean().item<double>();
    e.maxAbsError = diff.max().item<double>();
    return e;
}

format::CompressedModel assemble(std::vector<TensorEncoding>& enc, const nlohmann::json& settings)
{
    format::CompressedModel model;
    model.l = 0.1f;
    for (TensorEncoding& e : enc) {
        format::EncodedTensor t = e.tensor;
        if (t.isEncoded()) {
            auto pos = std::find(model.uList.begin(), model.uList.end(), t.U);
            if (pos == model.uList.end()) {
                model.uList.push_back(t.U);
                pos = model.uList.end() - 1;
            }
            t.uPosition = static_cast<std::uint8_t>(pos - model.uList.begin());
        }
        model.tensors.push_back(std::move(t));
    }
    if (model.uList.empty())
        model.uList = {1225};
    model.extensions = {format::extension::kRateDistortion, format::extension::kPerTensorL};
    model.metadata.emplace_back(format::kMetaSettings, settings.dump());
    return model;
}

nlohmann::json settingsJson(const RateDistortionOptions& o, double step)
{
    nlohmann::json s = nlohmann::json::object();
    s["codec"] = "rate_distortion";
    s["step"] = step;
    s["target_ratio"] = o.targetRatio ? nlohmann::json(*o.targetRatio) : nlohmann::json(nullptr);
    s["M"] = o.maxRings;
    s["max_lattice_side"] = kMaxLatticeSide;
    s["step_factor"] = "sqrt(numel / 2^20), x0.5 for patch_embed and image_encoder.neck, >= 1/512";
    return s;
}

}  // namespace

std::string ratioText(double ratio)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2fx", ratio);
    return buffer;
}

double sensitivityFactor(const std::string& name, std::int64_t numel)
{
    // Equal output distortion per tensor: the step grows with the square root of the size.
    double factor = std::sqrt(static_cast<double>(std::max<std::int64_t>(numel, 1)) / kReferenceElements);
    if (contains(name, "image_encoder.neck") || contains(name, "patch_embed"))
        factor *= kEdgeFactor;
    return std::max(factor, kMinFactor);
}

void validateRateDistortion(const RateDistortionOptions& o)
{
    if (!(std::isfinite(o.step) && o.step >= kMinStep && o.step <= kMaxStep))
        throw Error("--rd-step must be a number in [" + std::to_string(kMinStep) + ", " + std::to_string(kMaxStep)
                    + "] (lattice step in row standard deviations)");
    if (o.targetRatio && !(std::isfinite(*o.targetRatio) && *o.targetRatio > 1.0))
        throw Error("--target-ratio must be a finite number > 1");
    if (o.maxRings > kernels::kMaxRings)
        throw Error("M = " + std::to_string(o.maxRings) + " exceeds the supported " + std::to_string(kernels::kMaxRings)
                    + " rings");
}

RateDistortionResult compressRateDistortion(const io::StateDict& checkpoint, const std::vector<TensorRole>& roles,
                                            const RateDistortionOptions& options, std::uint64_t originalBytes,
                                            const Progress& progress)
{
    const auto start = std::chrono::steady_clock::now();
    validateRateDistortion(options);
    if (roles.size() != checkpoint.size())
        throw Error("compressRateDistortion: " + std::to_string(roles.size()) + " roles for "
                    + std::to_string(checkpoint.size()) + " tensors");
    const auto& entries = checkpoint.entries();
    const std::size_t n = entries.size();
    if (originalBytes == 0)
        for (const auto& e : entries)
            originalBytes += static_cast<std::uint64_t>(e.tensor.numel()) * e.tensor.element_size();

    std::vector<TensorPlan> plans(n);
    std::int64_t encodedElements = 0;
    for (std::size_t i = 0; i < n; ++i) {
        progress.checkCancelled();
        plans[i] = planTensor(entries[i].name, entries[i].tensor, roles[i]);
        if (plans[i].encode)
            encodedElements += entries[i].tensor.numel();
    }

    auto encodeAt = [&](double step, const Progress& p) {
        std::vector<TensorEncoding> enc(n);
        std::int64_t done = 0;
        for (std::size_t i = 0; i < n; ++i) {
            p.checkCancelled();
            enc[i] = encodePlanned(entries[i].name, entries[i].tensor, roles[i], plans[i], step * plans[i].factor,
                                   options.maxRings, p.cancel);
            done += plans[i].encode ? entries[i].tensor.numel() : 0;
            p.report(static_cast<double>(done) / static_cast<double>(std::max<std::int64_t>(1, encodedElements)),
                     entries[i].name);
        }
        return enc;
    };

    double step = options.step;
    std::vector<TensorEncoding> enc;
    format::CompressedModel model;
    std::uint64_t size = 0;
    if (!options.targetRatio) {
        enc = encodeAt(step, progress.scaled(0.0, 0.9));
        model = assemble(enc, settingsJson(options, step));
        size = format::compressedFileSize(model);
    } else {
        // Index bits per weight fall by about one per doubling of the step: secant steps on
        // log2(step) against the file size inside the bracket (largest step too big, smallest
        // step that fits], keeping the smallest step that fits (the most accurate file).
        const double budget = static_cast<double>(originalBytes) / *options.targetRatio;
        double bestStep = 0, tooBigStep = 0;
        std::vector<TensorEncoding> bestEnc;
        format::CompressedModel bestModel;
        std::uint64_t bestSize = 0;
        double lastStep = 0, lastSize = 0;
        for (int round = 0; round < kSearchRounds; ++round) {
            const Progress p = progress.scaled(0.9 * round / kSearchRounds, 0.9 / kSearchRounds);
            std::vector<TensorEncoding> e = encodeAt(step, p);
            format::CompressedModel m = assemble(e, settingsJson(options, step));
            const auto s = static_cast<double>(format::compressedFileSize(m));
            const bool fits = s <= budget;
            if (fits && (bestStep == 0 || step < bestStep)) {
                bestStep = step;
                bestEnc = std::move(e);
                bestModel = std::move(m);
                bestSize = static_cast<std::uint64_t>(s);
            }
            if (!fits)
                tooBigStep = std::max(tooBigStep, step);
            if (fits && s >= budget * (1.0 - kRatioTolerance))
                break;
            if (!fits && step >= kMaxStep)
                break;
            double slope = -static_cast<double>(encodedElements) / 8.0;  // bytes per doubling of the step
            if (lastStep > 0 && lastStep != step && lastSize != s)
                slope = (s - lastSize) / (std::log2(step) - std::log2(lastStep));
            if (!(slope < 0))
                slope = -static_cast<double>(encodedElements) / 8.0;
            lastStep = step;
            lastSize = s;
            double next = std::exp2(std::log2(step) + (budget * (1.0 - kRatioTolerance / 2) - s) / slope);
            const double hi = bestStep > 0 ? bestStep : kMaxStep;
            if (next >= hi || next <= tooBigStep) {
                if (bestStep > 0 && tooBigStep > 0)
                    next = std::sqrt(bestStep * tooBigStep);
                else
                    next = bestStep > 0 ? bestStep / 1.5 : std::max(tooBigStep, step) * 2.0;
            }
            step = std::clamp(next, kMinStep, kMaxStep);
        }
        if (bestStep == 0) {
            std::vector<TensorEncoding> coarsest = encodeAt(kMaxStep, progress.scaled(0.9, 0.05));
            const auto largest = format::compressedFileSize(assemble(coarsest, settingsJson(options, kMaxStep)));
            if (static_cast<double>(largest) > budget)
                throw Error("target ratio " + ratioText(*options.targetRatio) + " cannot be reached: the largest ratio "
                            "the rate-distortion codec reaches on this checkpoint is "
                            + ratioText(static_cast<double>(originalBytes) / static_cast<double>(largest)));
            throw Error("target ratio " + ratioText(*options.targetRatio) + " was not reached in "
                        + std::to_string(kSearchRounds) + " rounds of the step search (the coarsest step reaches "
                        + ratioText(static_cast<double>(originalBytes) / static_cast<double>(largest)) + ")");
        }
        step = bestStep;
        enc = std::move(bestEnc);
        model = std::move(bestModel);
        size = bestSize;
    }

    RateDistortionResult result;
    result.step = step;
    result.report.settings = settingsJson(options, step);
    result.report.settings["extensions"] = model.extensions;
    addTensorRows(result.report, model, checkpoint, enc);
    result.report.originalBytes = originalBytes;
    result.report.compressedBytes = size;
    result.report.seconds = secondsSince(start);
    result.model = std::move(model);
    progress.report(1.0, "compressed");
    return result;
}

}  // namespace birkhoff::codec
