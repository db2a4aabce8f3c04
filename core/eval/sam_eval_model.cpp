// SAM models for the evaluation: predictor adapter and loaders (dense, compressed file, in memory).
#include "core/eval/sam_eval_model.h"

#include "core/codec/compressor.h"
#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/models/family.h"
#include "core/models/sam_config.h"
#include "core/models/sam_model.h"
#include "core/predict/predictor.h"
#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace birkhoff::eval {

namespace fs = std::filesystem;

namespace {

class SamEvalModel : public PromptableModel {
public:
    explicit SamEvalModel(std::shared_ptr<const models::SamModel> model) : predictor_(std::move(model)) {}

    void setImage(const cv::Mat& rgb) override { embedding_ = predictor_.encode(rgb); }

    ModelAnswer predict(const ModelPrompt& prompt, MaskRule rule) override
    {
        if (!embedding_)
            throw Error("SamEvalModel: predict() before setImage()");
        if (rule == MaskRule::Auto)
            throw Error("SamEvalModel: the Auto mask rule must be resolved by the caller");
        predict::Prompt p;
        if (prompt.point)
            p.points.push_back({static_cast<double>((*prompt.point)[0]), static_cast<double>((*prompt.point)[1]), 1});
        if (prompt.box)
            p.box = predict::BoxPrompt{(*prompt.box)[0], (*prompt.box)[1], (*prompt.box)[2], (*prompt.box)[3]};
        predict::PredictOptions options;
        options.output = rule == MaskRule::Single ? predict::MaskOutput::Token0 : predict::MaskOutput::Multimask;
        const predict::Prediction prediction = predictor_.predict(*embedding_, p, options);
        const std::size_t k = rule == MaskRule::Single ? 0 : prediction.bestIndex();
        const at::Tensor mask = prediction.masks[static_cast<std::int64_t>(k)].to(at::kByte).contiguous();
        ModelAnswer answer;
        answer.mask = cv::Mat(static_cast<int>(mask.size(0)), static_cast<int>(mask.size(1)), CV_8UC1,
                              mask.data_ptr<std::uint8_t>())
                          .clone();
        answer.token = prediction.tokens[k];
        answer.predictedIou = prediction.iouPredictions[static_cast<std::int64_t>(k)].item<double>();
        return answer;
    }

private:
    predict::SamPredictor predictor_;
    std::shared_ptr<const predict::ImageEmbedding> embedding_;
};

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The model for `tensors` (original key names), configured from their shapes and a config.json
/// beside `source`.
std::shared_ptr<models::SamModel> buildModel(const io::StateDict& tensors, const fs::path& source)
{
    const std::optional<fs::path> configPath = models::configBesideCheckpoint(source);
    nlohmann::json overrides;
    if (configPath)
        overrides = models::readConfigFile(*configPath);
    const models::SamConfig config =
        models::inferSamConfig(models::shapesOf(tensors), configPath ? &overrides : nullptr, source.string());
    return models::buildSamModel(config, tensors, source.string());
}

bool isZip(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    char head[4] = {};
    in.read(head, sizeof head);
    return in.gcount() == 4 && std::memcmp(head, "PK\x03\x04", 4) == 0;
}

bool isCompressedLayout(const io::StateDict& tensors)
{
    for (const auto& name : tensors.names())
        if (name.size() > 10 && name.compare(name.size() - 10, 10, ".load_type") == 0)
            return true;
    return false;
}

std::string uListText(const std::vector<std::uint32_t>& uList)
{
    std::string s;
    for (std::size_t i = 0; i < uList.size(); ++i)
        s += (i ? "," : "") + std::to_string(uList[i]);
    return s;
}

}  // namespace

std::unique_ptr<PromptableModel> makeSamEvalModel(std::shared_ptr<const models::SamModel> model)
{
    if (!model)
        throw Error("makeSamEvalModel: no model");
    return std::make_unique<SamEvalModel>(std::move(model));
}

LoadedEvalModel loadSamEvalModel(const fs::path& path, const Progress& progress)
{
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        throw Error("model file " + path.string() + " does not exist");
    LoadedEvalModel loaded;
    if (!isZip(path)) {
        const io::SafetensorsContent content = io::readSafetensors(path);
        if (isCompressedLayout(content.tensors)) {
            const format::CompressedModel compressed = format::parseCompressedModel(content, path.string());
            loaded.model = makeSamEvalModel(buildModel(format::restoreDense(compressed, progress), path));
            loaded.description = "compressed file (l=" + std::to_string(compressed.l).substr(0, 6) + ", U="
                                 + uListText(compressed.uList) + "), decoded to dense weights";
            loaded.loadSeconds = secondsSince(start);
            return loaded;
        }
    }
    const io::Checkpoint checkpoint = io::loadCheckpoint(path, progress);
    loaded.model = makeSamEvalModel(buildModel(checkpoint.tensors, path));
    loaded.description = std::string(io::checkpointFormatName(checkpoint.format)) + " checkpoint";
    loaded.loadSeconds = secondsSince(start);
    return loaded;
}

std::string InMemoryCompression::text() const
{
    char l[32];
    std::snprintf(l, sizeof l, "%g", this->l);
    return std::string("l=") + l + " U=" + uListText(uList) + " M=" + std::to_string(maxRings);
}

LoadedEvalModel compressSamEvalModel(const fs::path& path, const InMemoryCompression& settings,
                                     const Progress& progress)
{
    const auto start = std::chrono::steady_clock::now();
    const io::Checkpoint checkpoint = io::loadCheckpoint(path, progress);
    const models::FamilyInfo family = models::detectFamily(checkpoint.tensors);
    std::vector<codec::TensorRole> roles;
    for (const auto& role : models::classifyAll(family, checkpoint.tensors)) {
        if (role.kind == models::TensorKind::LinearWeight)
            roles.push_back(codec::TensorRole::LinearWeight);
        else if (role.kind == models::TensorKind::Buffer)
            roles.push_back(codec::TensorRole::Buffer);
        else
            roles.push_back(codec::TensorRole::Parameter);
    }
    codec::CompressOptions options;
    options.defaults.l = static_cast<float>(settings.l);
    options.defaults.uList = settings.uList;
    options.defaults.maxRings = settings.maxRings;
    options.originalFileBytes = checkpoint.fileBytes;
    codec::validateOptions(options);
    const codec::CompressionResult result = codec::compressModel(checkpoint.tensors, roles, options, progress);
    const double compressSeconds = secondsSince(start);
    LoadedEvalModel loaded;
    loaded.model = makeSamEvalModel(buildModel(format::restoreDense(result.model, progress), path));
    char text[160];
    std::snprintf(text, sizeof text, "compressed in memory (%s): ratio %.3f, %.2f bits/weight, %.1f s",
                  settings.text().c_str(), result.report.ratio(), result.report.bitsPerWeight(), compressSeconds);
    loaded.description = text;
    loaded.loadSeconds = secondsSince(start);
    return loaded;
}

}  // namespace birkhoff::eval
