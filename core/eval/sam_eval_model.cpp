// SAM predictor as an evaluation model.
#include "core/eval/sam_eval_model.h"

#include "core/models/sam_model.h"
#include "core/predict/predictor.h"
#include "core/util/error.h"

namespace birkhoff::eval {

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

}  // namespace

std::unique_ptr<PromptableModel> makeSamEvalModel(std::shared_ptr<const models::SamModel> model)
{
    return std::make_unique<SamEvalModel>(std::move(model));
}

std::unique_ptr<PromptableModel> loadSamEvalModel(const std::filesystem::path& path, double* loadSeconds)
{
    auto model = models::loadSamModel(path);
    if (loadSeconds)
        *loadSeconds = model->info.loadMs / 1000.0;
    return makeSamEvalModel(std::move(model));
}

}  // namespace birkhoff::eval
