// SAM models for the evaluation: predictor adapter and loaders (any model file through
// models::loadSamModel; a checkpoint compressed in memory, run on HyperLinear through
// models::compressedModelFile, as the studio runs it).
#include "core/eval/sam_eval_model.h"
#include "core/util/stopwatch.h"

#include "core/codec/compressor.h"
#include "core/models/model_file.h"
#include "core/models/sam_model.h"
#include "core/predict/predictor.h"
#include "core/util/error.h"

#include <chrono>
#include <cstdio>

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
    const std::shared_ptr<models::SamModel> model = models::loadSamModel(path, {}, progress);
    LoadedEvalModel loaded;
    loaded.description = model->info.format + " " + model->info.family;
    loaded.sam2 = model->config().decoder == models::DecoderKind::Sam2;
    if (model->info.compressedLinearLayers > 0)
        loaded.description += ", " + std::to_string(model->info.compressedLinearLayers) + " Linear layers on HyperLinear";
    loaded.model = makeSamEvalModel(model);
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
    models::OpenModelOptions open;
    open.buildModel = false;  // only the compressed model runs
    const models::ModelFile original = models::openModelFile(path, open, progress);
    if (original.kind == io::ModelFileKind::Compressed)
        throw Error(path.string() + " is already compressed: --compress needs the original checkpoint");
    codec::CompressOptions options;
    options.defaults.l = static_cast<float>(settings.l);
    options.defaults.uList = settings.uList;
    options.defaults.maxRings = settings.maxRings;
    options.originalFileBytes = original.fileBytes;
    codec::validateOptions(options);
    codec::CompressionResult result = codec::compressModel(original.tensors, original.roles.roles, options, progress);
    const double compressSeconds = secondsSince(start);
    const models::ModelFile compressed = models::compressedModelFile(original, std::move(result.model),
                                                                     result.report.compressedBytes, {}, progress);
    if (!compressed.model)
        throw Error(compressed.cannotRun);
    const std::shared_ptr<models::SamModel> model = compressed.model;
    LoadedEvalModel loaded;
    loaded.sam2 = model->config().decoder == models::DecoderKind::Sam2;
    loaded.model = makeSamEvalModel(model);
    char text[224];
    std::snprintf(text, sizeof text, "compressed in memory (%s): ratio %.3f, %.2f bits/weight, %.1f s, %lld Linear layers on HyperLinear",
                  settings.text().c_str(), result.report.ratio(), result.report.bitsPerWeight(), compressSeconds,
                  static_cast<long long>(model->info.compressedLinearLayers));
    loaded.description = text;
    loaded.loadSeconds = secondsSince(start);
    return loaded;
}

}  // namespace birkhoff::eval
