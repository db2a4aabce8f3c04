// Baseline codecs (round-to-nearest and HQQ integer quantization) and their file format; see
// baseline_quant.h.
#include "core/codec/baseline_quant.h"

#include "core/util/error.h"
#include "core/util/runtime.h"
#include "kernels/bitpack.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Half.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace birkhoff::codec {

namespace {

/// Number of groups handed to one worker at a time.
constexpr std::int64_t kGroupGrain = 64;

/// The float16 value nearest to `value`.
c10::Half nearestHalf(float value)
{
    return c10::Half(value);
}

/// The smallest float16 value >= `value` (value finite and >= 0).
c10::Half halfAtLeast(float value)
{
    c10::Half h(value);
    if (static_cast<float>(h) < value)
        h = c10::Half(static_cast<std::uint16_t>(h.x + 1), c10::Half::from_bits());
    return h;
}

std::int64_t product(const std::vector<std::int64_t>& shape)
{
    std::int64_t n = 1;
    for (const std::int64_t d : shape)
        n *= d;
    return n;
}

std::int64_t rowLengthOf(const std::vector<std::int64_t>& shape)
{
    const std::int64_t n = product(shape);
    if (shape.size() < 2 || shape[0] == 0)
        return n;
    return n / shape[0];
}

/// Generalised soft-threshold of HQQ's l_p proximal step: sign(x) max(|x| - |x|^(p-1) / beta, 0).
double shrinkLp(double x, double beta)
{
    const double a = std::fabs(x);
    if (a == 0.0)
        return 0.0;
    const double kept = a - std::pow(a, kHqqP - 1.0) / beta;
    return kept > 0.0 ? std::copysign(kept, x) : 0.0;
}

/// sum |w - (clamp(round(w / s + z), 0, qmax) - z) s|^p over one group.
double hqqLoss(const float* w, std::int64_t n, float s, float z, int qmax)
{
    double loss = 0.0;
    for (std::int64_t i = 0; i < n; ++i) {
        const float q = std::clamp(std::nearbyint(w[i] / s + z), 0.0f, static_cast<float>(qmax));
        loss += std::pow(std::fabs(static_cast<double>(w[i]) - static_cast<double>((q - z) * s)), kHqqP);
    }
    return loss;
}

/// RTN of one group: fp16 scale (rounded up) and codes q + qmax.
void quantizeGroupRtn(const float* w, std::int64_t n, int qmax, c10::Half& scale, std::uint32_t* codes)
{
    float absmax = 0.0f;
    for (std::int64_t i = 0; i < n; ++i)
        absmax = std::max(absmax, std::fabs(w[i]));
    scale = halfAtLeast(absmax / static_cast<float>(qmax));
    const float s = static_cast<float>(scale);
    for (std::int64_t i = 0; i < n; ++i) {
        const float q = s > 0.0f ? std::clamp(std::nearbyint(w[i] / s), static_cast<float>(-qmax), static_cast<float>(qmax))
                                 : 0.0f;
        codes[i] = static_cast<std::uint32_t>(static_cast<int>(q) + qmax);
    }
}

/// HQQ of one group: fp16 scale from min/max, zero from the half-quadratic solver, codes q.
void quantizeGroupHqq(const float* w, std::int64_t n, int qmax, c10::Half& scale, c10::Half& zero, std::uint32_t* codes)
{
    float lo = w[0], hi = w[0];
    for (std::int64_t i = 1; i < n; ++i) {
        lo = std::min(lo, w[i]);
        hi = std::max(hi, w[i]);
    }
    if (hi == lo) {
        // A constant group: q = mid +- 1 (or mid for 0) reproduces it up to the fp16 scale.
        scale = halfAtLeast(lo == 0.0f ? 1.0f : std::fabs(lo));
        zero = c10::Half(static_cast<float>((qmax + 1) / 2));
    } else {
        scale = nearestHalf((hi - lo) / static_cast<float>(qmax));
        if (static_cast<float>(scale) == 0.0f)
            scale = halfAtLeast(std::numeric_limits<float>::denorm_min());
        const float s = static_cast<float>(scale);
        float z = -lo / s;
        zero = nearestHalf(z);
        double best = hqqLoss(w, n, s, static_cast<float>(zero), qmax);
        double beta = kHqqBeta;
        for (int it = 0; it < kHqqIterations; ++it) {
            double sum = 0.0;
            for (std::int64_t i = 0; i < n; ++i) {
                const float q = std::clamp(std::nearbyint(w[i] / s + z), 0.0f, static_cast<float>(qmax));
                const double restored = static_cast<double>((q - z) * s);
                const double error = shrinkLp(static_cast<double>(w[i]) - restored, beta);
                sum += q - (static_cast<double>(w[i]) - error) / s;
            }
            z = static_cast<float>(sum / static_cast<double>(n));
            beta *= kHqqKappa;
            const c10::Half candidate = nearestHalf(z);
            const double loss = hqqLoss(w, n, s, static_cast<float>(candidate), qmax);
            if (!(loss < best))
                break;
            best = loss;
            zero = candidate;
        }
    }
    const float s = static_cast<float>(scale), z = static_cast<float>(zero);
    for (std::int64_t i = 0; i < n; ++i)
        codes[i] = static_cast<std::uint32_t>(std::clamp(std::nearbyint(w[i] / s + z), 0.0f, static_cast<float>(qmax)));
}

std::string shapeText(const std::vector<std::int64_t>& shape)
{
    std::string s;
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? "x" : "") + std::to_string(shape[i]);
    return s.empty() ? "scalar" : s;
}

}  // namespace

const char* baselineCodecName(BaselineCodec codec)
{
    return codec == BaselineCodec::Hqq ? "hqq" : "rtn";
}

BaselineCodec parseBaselineCodec(const std::string& name)
{
    if (name == "rtn")
        return BaselineCodec::Rtn;
    if (name == "hqq")
        return BaselineCodec::Hqq;
    throw Error("unknown baseline codec '" + name + "' (expected rtn or hqq)");
}

std::string BaselineSettings::text() const
{
    return std::string(baselineCodecName(codec)) + " int" + std::to_string(bits) + " "
           + (groupSize > 0 ? "g" + std::to_string(groupSize) : std::string("per-channel"));
}

void validateBaselineSettings(const BaselineSettings& settings)
{
    if (settings.bits < kBaselineMinBits || settings.bits > kBaselineMaxBits)
        throw Error("baseline bits " + std::to_string(settings.bits) + " are outside " + std::to_string(kBaselineMinBits)
                    + ".." + std::to_string(kBaselineMaxBits));
    if (settings.groupSize < 0)
        throw Error("baseline group size " + std::to_string(settings.groupSize)
                    + " is negative (give a positive size, or 0 for per output channel)");
}

std::int64_t BaselineTensor::numel() const
{
    return quantized ? product(shape) : kept.numel();
}

std::int64_t BaselineTensor::rowLength() const
{
    return rowLengthOf(quantized ? shape : kept.sizes().vec());
}

std::int64_t BaselineModel::elementCount() const
{
    std::int64_t n = 0;
    for (const auto& t : tensors)
        n += t.numel();
    return n;
}

std::int64_t BaselineModel::quantizedElementCount() const
{
    std::int64_t n = 0;
    for (const auto& t : tensors)
        if (t.quantized)
            n += t.numel();
    return n;
}

BaselineTensor quantizeTensor(const std::string& name, const at::Tensor& tensor, const BaselineSettings& settings)
{
    validateBaselineSettings(settings);
    if (!tensor.is_floating_point())
        throw Error(name + ": only floating-point tensors can be quantized");
    BaselineTensor out;
    out.name = name;
    out.quantized = true;
    out.shape = tensor.sizes().vec();
    const std::int64_t numel = tensor.numel();
    const std::int64_t rowLength = rowLengthOf(out.shape);
    if (numel == 0 || rowLength == 0)
        throw Error(name + ": an empty tensor cannot be quantized");
    out.groupSize = settings.groupSize > 0 ? settings.groupSize : rowLength;
    if (rowLength % out.groupSize != 0)
        throw Error(name + ": group size " + std::to_string(out.groupSize) + " does not divide the row of "
                    + std::to_string(rowLength) + " elements");
    const at::Tensor w = rethrowAsError(name, [&] { return tensor.to(at::kFloat).contiguous(); });
    if (!at::isfinite(w).all().item<bool>())
        throw Error(name + ": holds non-finite values (inf or nan); it cannot be quantized");
    const std::int64_t rows = numel / rowLength;
    const std::int64_t groups = numel / out.groupSize;
    out.scales = at::empty({rows, rowLength / out.groupSize}, at::kHalf);
    if (settings.codec == BaselineCodec::Hqq)
        out.zeros = at::empty({rows, rowLength / out.groupSize}, at::kHalf);
    std::vector<std::uint32_t> codes(static_cast<std::size_t>(numel));
    const float* data = w.data_ptr<float>();
    c10::Half* scales = out.scales.data_ptr<c10::Half>();
    c10::Half* zeros = out.zeros.defined() ? out.zeros.data_ptr<c10::Half>() : nullptr;
    const std::int64_t g = out.groupSize;
    const int bits = static_cast<int>(settings.bits);
    at::parallel_for(0, groups, kGroupGrain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t k = begin; k < end; ++k) {
            if (zeros)
                quantizeGroupHqq(data + k * g, g, (1 << bits) - 1, scales[k], zeros[k], codes.data() + k * g);
            else
                quantizeGroupRtn(data + k * g, g, (1 << (bits - 1)) - 1, scales[k], codes.data() + k * g);
        }
    });
    for (std::int64_t k = 0; k < groups; ++k)
        if (!std::isfinite(static_cast<float>(scales[k])))
            throw Error(name + ": weights too large for a float16 scale in group " + std::to_string(k));
    out.packed = at::empty({static_cast<std::int64_t>(kernels::packedByteCount(codes.size(), settings.bits))}, at::kByte);
    kernels::packIndices(codes.data(), codes.size(), settings.bits, out.packed.data_ptr<std::uint8_t>());
    return out;
}

at::Tensor dequantizeTensor(const BaselineTensor& tensor, const BaselineSettings& settings)
{
    if (!tensor.quantized)
        return tensor.kept;
    const std::int64_t numel = tensor.numel();
    const std::int64_t g = tensor.groupSize;
    if (g <= 0 || tensor.rowLength() % g != 0 || tensor.scales.numel() != numel / g
        || tensor.packed.numel() != static_cast<std::int64_t>(kernels::packedByteCount(numel, settings.bits))
        || (settings.codec == BaselineCodec::Hqq && (!tensor.zeros.defined() || tensor.zeros.numel() != numel / g)))
        throw Error(tensor.name + ": inconsistent quantized tensor (group size, scales or packed size)");
    const at::Tensor scales = tensor.scales.to(at::kFloat).contiguous();
    const at::Tensor zeros = settings.codec == BaselineCodec::Hqq ? tensor.zeros.to(at::kFloat).contiguous() : at::Tensor();
    at::Tensor out = at::empty({numel}, at::kFloat);
    const at::Tensor packedBytes = tensor.packed.contiguous();
    const std::uint8_t* packed = packedBytes.data_ptr<std::uint8_t>();
    const unsigned pad = kernels::packedPaddingBits(static_cast<std::size_t>(numel), settings.bits);
    const float* s = scales.data_ptr<float>();
    const float* z = zeros.defined() ? zeros.data_ptr<float>() : nullptr;
    const float offset = static_cast<float>((1 << (settings.bits - 1)) - 1);
    float* o = out.data_ptr<float>();
    at::parallel_for(0, numel / g, kGroupGrain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t k = begin; k < end; ++k) {
            const float zk = z ? z[k] : offset;
            for (std::int64_t i = k * g; i < (k + 1) * g; ++i) {
                const float code = static_cast<float>(kernels::packedIndexAt(packed, settings.bits, pad, i));
                o[i] = (code - zk) * s[k];
            }
        }
    });
    return out.reshape(tensor.shape);
}

BaselineModel quantizeModel(const io::StateDict& checkpoint, const BaselineSettings& settings, const Progress& progress)
{
    validateBaselineSettings(settings);
    BaselineModel model;
    model.settings = settings;
    std::size_t index = 0;
    for (const auto& [name, tensor] : checkpoint) {
        progress.checkCancelled();
        progress.report(static_cast<double>(index++) / static_cast<double>(checkpoint.size()), name);
        if (!tensor.is_floating_point() || tensor.numel() < kBaselineMinElements) {
            BaselineTensor kept;
            kept.name = name;
            kept.kept = tensor;
            model.tensors.push_back(std::move(kept));
            continue;
        }
        BaselineSettings effective = settings;
        const std::int64_t rowLength = rowLengthOf(tensor.sizes().vec());
        if (settings.groupSize > 0 && rowLength % settings.groupSize != 0) {
            model.notes.push_back(name + ": its row of " + std::to_string(rowLength) + " elements is not a multiple of group size "
                                  + std::to_string(settings.groupSize) + ", so it is quantized per output channel");
            effective.groupSize = 0;
        }
        model.tensors.push_back(quantizeTensor(name, tensor, effective));
    }
    progress.report(1.0, "quantized");
    return model;
}

io::StateDict dequantizeModel(const BaselineModel& model, const Progress& progress)
{
    io::StateDict out;
    for (std::size_t i = 0; i < model.tensors.size(); ++i) {
        progress.checkCancelled();
        progress.report(static_cast<double>(i) / static_cast<double>(model.tensors.size()), model.tensors[i].name);
        out.insert(model.tensors[i].name, dequantizeTensor(model.tensors[i], model.settings));
    }
    return out;
}

bool isBaselineFile(const io::SafetensorsMetadata& metadata)
{
    for (const auto& [key, value] : metadata)
        if (key == kMetaBaselineFormat)
            return value == kBaselineFormatTag;
    return false;
}

namespace {

io::StateDict baselineFileTensors(const BaselineModel& model)
{
    io::StateDict out;
    for (const auto& t : model.tensors) {
        if (!t.quantized) {
            out.insert(t.name, t.kept);
            continue;
        }
        out.insert(t.name + ".qweight", t.packed);
        out.insert(t.name + ".scales", t.scales);
        if (model.settings.codec == BaselineCodec::Hqq)
            out.insert(t.name + ".zeros", t.zeros);
    }
    return out;
}

io::SafetensorsMetadata baselineFileMetadata(const BaselineModel& model)
{
    nlohmann::json layout = {{"codec", baselineCodecName(model.settings.codec)},
                             {"bits", model.settings.bits},
                             {"group_size", model.settings.groupSize},
                             {"min_elements", kBaselineMinElements}};
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& t : model.tensors) {
        nlohmann::json entry = {{"name", t.name}, {"quantized", t.quantized}};
        if (t.quantized) {
            entry["shape"] = t.shape;
            entry["group_size"] = t.groupSize;
        }
        tensors.push_back(std::move(entry));
    }
    layout["tensors"] = std::move(tensors);
    return {{kMetaBaselineFormat, kBaselineFormatTag},
            {"birkhoff.writer", "birkhoff-studio " + versionString()},
            {kMetaBaselineLayout, layout.dump()}};
}

}  // namespace

void writeBaselineModel(const std::filesystem::path& path, const BaselineModel& model)
{
    io::writeSafetensors(path, baselineFileTensors(model), baselineFileMetadata(model));
}

std::uint64_t baselineFileSize(const BaselineModel& model)
{
    return io::safetensorsFileSize(baselineFileTensors(model), baselineFileMetadata(model));
}

BaselineModel parseBaselineModel(const io::SafetensorsContent& content, const std::string& source)
{
    if (!isBaselineFile(content.metadata))
        throw Error(source + ": not a baseline-quantized file (metadata " + kMetaBaselineFormat + " is not "
                    + kBaselineFormatTag + ")");
    std::string layoutText;
    for (const auto& [key, value] : content.metadata)
        if (key == kMetaBaselineLayout)
            layoutText = value;
    const auto fail = [&](const std::string& what) { return Error(source + ": " + what); };
    if (layoutText.empty())
        throw fail(std::string("metadata ") + kMetaBaselineLayout + " is missing");
    BaselineModel model;
    std::set<std::string> used;
    const auto take = [&](const std::string& key, c10::ScalarType type, std::int64_t numel) {
        const at::Tensor* t = content.tensors.find(key);
        if (!t)
            throw fail("tensor " + key + " is missing");
        if (t->scalar_type() != type || t->numel() != numel)
            throw fail("tensor " + key + " has " + std::string(c10::toString(t->scalar_type())) + " " + shapeText(t->sizes().vec())
                       + ", expected " + c10::toString(type) + " with " + std::to_string(numel) + " elements");
        used.insert(key);
        return *t;
    };
    try {
        const nlohmann::json layout = nlohmann::json::parse(layoutText);
        model.settings.codec = parseBaselineCodec(layout.at("codec").get<std::string>());
        model.settings.bits = layout.at("bits").get<unsigned>();
        model.settings.groupSize = layout.at("group_size").get<std::int64_t>();
        validateBaselineSettings(model.settings);
        for (const auto& entry : layout.at("tensors")) {
            BaselineTensor t;
            t.name = entry.at("name").get<std::string>();
            t.quantized = entry.at("quantized").get<bool>();
            if (!t.quantized) {
                const at::Tensor* kept = content.tensors.find(t.name);
                if (!kept)
                    throw fail("tensor " + t.name + " is missing");
                used.insert(t.name);
                t.kept = *kept;
                model.tensors.push_back(std::move(t));
                continue;
            }
            t.shape = entry.at("shape").get<std::vector<std::int64_t>>();
            t.groupSize = entry.at("group_size").get<std::int64_t>();
            const std::int64_t numel = product(t.shape);
            if (numel <= 0 || t.groupSize <= 0 || t.rowLength() % t.groupSize != 0)
                throw fail(t.name + ": group size " + std::to_string(t.groupSize) + " does not divide the row of shape "
                           + shapeText(t.shape));
            t.packed = take(t.name + ".qweight", at::kByte,
                            static_cast<std::int64_t>(kernels::packedByteCount(numel, model.settings.bits)));
            t.scales = take(t.name + ".scales", at::kHalf, numel / t.groupSize);
            if (model.settings.codec == BaselineCodec::Hqq)
                t.zeros = take(t.name + ".zeros", at::kHalf, numel / t.groupSize);
            model.tensors.push_back(std::move(t));
        }
    } catch (const nlohmann::json::exception& e) {
        throw fail(std::string("malformed metadata ") + kMetaBaselineLayout + ": " + e.what());
    } catch (const Error& e) {
        const std::string what = e.what();
        throw what.rfind(source, 0) == 0 ? e : fail(what);
    }
    for (const auto& [name, tensor] : content.tensors)
        if (!used.count(name))
            throw fail("unexpected tensor " + name + " (not in the " + kMetaBaselineLayout + " layout)");
    return model;
}

}  // namespace birkhoff::codec
