// SAM predictor: encode once, decode prompts, official pre/post-processing.
#include "core/predict/predictor.h"

#include "core/predict/image_io.h"
#include "core/predict/pipeline.h"
#include "core/util/error.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <sstream>

namespace birkhoff::predict {
namespace {

double msSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string coordText(double x, double y)
{
    std::ostringstream s;
    s << "(" << x << ", " << y << ")";
    return s.str();
}

void checkInside(double x, double y, cv::Size size, const std::string& what)
{
    if (!std::isfinite(x) || !std::isfinite(y))
        throw Error(what + " has a non-finite coordinate");
    if (x < 0 || y < 0 || x > size.width || y > size.height)
        throw Error(what + " " + coordText(x, y) + " is outside the image (" + std::to_string(size.width) + "x" +
                    std::to_string(size.height) + " pixels)");
}

}  // namespace

std::size_t Prediction::bestIndex() const
{
    if (tokens.empty())
        throw Error("prediction has no masks");
    return static_cast<std::size_t>(iouPredictions.argmax().item<std::int64_t>());
}

cv::Mat Prediction::maskImage(std::size_t k) const
{
    if (k >= tokens.size())
        throw Error("mask index " + std::to_string(k) + " out of range (" + std::to_string(tokens.size()) + " masks)");
    const at::Tensor m = masks[static_cast<std::int64_t>(k)].to(at::kByte).mul(255).contiguous();
    return cv::Mat(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_8UC1, m.data_ptr<std::uint8_t>())
        .clone();
}

std::vector<int> selectMaskTokens(MaskOutput output, const at::Tensor& allIou, int sparseTokens)
{
    const int n = static_cast<int>(allIou.numel());
    std::vector<int> tokens;
    switch (output) {
    case MaskOutput::Multimask:
        for (int t = 1; t < n; ++t)
            tokens.push_back(t);
        break;
    case MaskOutput::Token0:
        tokens.push_back(0);
        break;
    case MaskOutput::AllTokens:
        for (int t = 0; t < n; ++t)
            tokens.push_back(t);
        break;
    case MaskOutput::OnnxSingle: {
        const at::Tensor iou = allIou.to(at::kFloat).contiguous();
        const float* v = iou.data_ptr<float>();
        int best = 0;
        float bestScore = 0;
        for (int t = 0; t < n; ++t) {
            const float score = v[t] + (t == 0 ? static_cast<float>((sparseTokens - 2.5) * 1000.0) : 0.0f);
            if (t == 0 || score > bestScore) {
                best = t;
                bestScore = score;
            }
        }
        tokens.push_back(best);
        break;
    }
    }
    return tokens;
}

MaskOutput defaultSingleMaskOutput(const models::SamConfig& config)
{
    return config.decoder == models::DecoderKind::Sam2 ? MaskOutput::Token0 : MaskOutput::OnnxSingle;
}

const char* maskOutputName(MaskOutput output)
{
    switch (output) {
    case MaskOutput::Multimask: return "multimask";
    case MaskOutput::Token0: return "token0";
    case MaskOutput::OnnxSingle: return "onnx";
    case MaskOutput::AllTokens: return "all";
    }
    return "?";
}

SamPredictor::SamPredictor(std::shared_ptr<const models::SamModel> model) : model_(std::move(model))
{
    if (!model_)
        throw Error("SamPredictor needs a model");
}

cv::Size SamPredictor::preprocessShape(cv::Size original, std::int64_t longSide)
{
    const double scale = static_cast<double>(longSide) / std::max(original.width, original.height);
    return {static_cast<int>(original.width * scale + 0.5), static_cast<int>(original.height * scale + 0.5)};
}

at::Tensor SamPredictor::preprocess(const cv::Mat& rgb8, cv::Size& inputSize) const
{
    return preprocessImage(rgb8, model_->config(), inputSize);
}

double stabilityScore(const at::Tensor& logits, double delta)
{
    const double intersection = logits.gt(delta).sum().item<double>();
    const double unionArea = logits.gt(-delta).sum().item<double>();
    return unionArea > 0 ? intersection / unionArea : 1.0;
}

std::shared_ptr<const ImageEmbedding> SamPredictor::encode(const cv::Mat& image) const
{
    const auto start = std::chrono::steady_clock::now();
    const cv::Mat rgb = toRgb8(image);
    auto result = std::make_shared<ImageEmbedding>();
    result->originalSize = rgb.size();
    const at::Tensor input = preprocess(rgb, result->inputSize);
    result->preprocessMs = msSince(start);
    const auto encodeStart = std::chrono::steady_clock::now();
    models::ImageFeatures features = model_->encodeFeatures(input);
    result->embedding = features.embedding;
    result->highResFeatures = std::move(features.highRes);
    result->decoderCache = std::make_shared<const models::DecoderImageCache>(model_->prepareDecoder(result->embedding));
    result->encoderMs = msSince(encodeStart);
    result->model = model_.get();
    return result;
}

std::shared_ptr<const ImageEmbedding> SamPredictor::setImage(const cv::Mat& image)
{
    auto embedding = encode(image);
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = embedding;
    return embedding;
}

std::shared_ptr<const ImageEmbedding> SamPredictor::currentEmbedding() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
}

Prediction SamPredictor::predict(const Prompt& prompt, const PredictOptions& options) const
{
    const auto embedding = currentEmbedding();
    if (!embedding)
        throw Error("no image is set: call setImage() before predict()");
    return predict(*embedding, prompt, options);
}

models::PromptTensors SamPredictor::promptTensors(const ImageEmbedding& embedding, const Prompt& prompt) const
{
    const cv::Size original = embedding.originalSize;
    const double sx = static_cast<double>(embedding.inputSize.width) / original.width;
    const double sy = static_cast<double>(embedding.inputSize.height) / original.height;
    const std::int64_t g4 = 4 * model_->config().embeddingSize;

    if (prompt.points.empty() && !prompt.box && !prompt.maskInput.defined())
        throw Error("no prompt: give at least one point, a box or a mask input");

    const auto& config = model_->config();
    std::vector<float> pointCoords, pointLabels;
    for (std::size_t i = 0; i < prompt.points.size(); ++i) {
        const auto& p = prompt.points[i];
        const std::string what = "point " + std::to_string(i + 1);
        checkInside(p.x, p.y, original, what);
        if (p.label != 0 && p.label != 1)
            throw Error(what + " has label " + std::to_string(p.label) + "; use 1 (foreground) or 0 (background)");
        pointCoords.push_back(static_cast<float>(p.x * sx));
        pointCoords.push_back(static_cast<float>(p.y * sy));
        pointLabels.push_back(static_cast<float>(p.label));
    }
    std::vector<float> boxCoords, boxLabels;
    if (prompt.box) {
        const auto& b = *prompt.box;
        checkInside(b.x0, b.y0, original, "box corner (x0, y0)");
        checkInside(b.x1, b.y1, original, "box corner (x1, y1)");
        if (b.x1 <= b.x0 || b.y1 <= b.y0)
            throw Error("box " + coordText(b.x0, b.y0) + "-" + coordText(b.x1, b.y1) +
                        " is empty or inverted; give x0,y0 (top-left) then x1,y1 (bottom-right)");
        boxCoords = {static_cast<float>(b.x0 * sx), static_cast<float>(b.y0 * sy), static_cast<float>(b.x1 * sx),
                     static_cast<float>(b.y1 * sy)};
        boxLabels = {static_cast<float>(models::kBoxTopLeft), static_cast<float>(models::kBoxBottomRight)};
    }
    if (prompt.maskInput.defined() && config.decoder == models::DecoderKind::EfficientSam)
        throw Error("EfficientSAM has no mask input; prompt it with points or a box");

    // Sparse token order of each family: SAM: points, then the padding point (without a box) or
    // the box corners; SAM 2: box corners, points, then always the padding point; EfficientSAM:
    // points then box corners (the model pads to its fixed point count).
    std::vector<float> coords, labels;
    const auto append = [&](const std::vector<float>& c, const std::vector<float>& l) {
        coords.insert(coords.end(), c.begin(), c.end());
        labels.insert(labels.end(), l.begin(), l.end());
    };
    const std::vector<float> paddingCoords{0.0f, 0.0f}, paddingLabel{static_cast<float>(models::kPaddingPoint)};
    switch (config.decoder) {
    case models::DecoderKind::Sam2:
        if (!prompt.points.empty() || prompt.box) {
            append(boxCoords, boxLabels);
            append(pointCoords, pointLabels);
            append(paddingCoords, paddingLabel);
        }
        break;
    case models::DecoderKind::EfficientSam:
        append(pointCoords, pointLabels);
        append(boxCoords, boxLabels);
        break;
    case models::DecoderKind::Sam:
    case models::DecoderKind::SamHq:
        append(pointCoords, pointLabels);
        if (prompt.box)
            append(boxCoords, boxLabels);
        else if (!prompt.points.empty())
            append(paddingCoords, paddingLabel);
        break;
    }

    models::PromptTensors tensors;
    const auto n = static_cast<std::int64_t>(labels.size());
    tensors.coords = at::tensor(coords.empty() ? std::vector<float>{0.0f, 0.0f} : coords).view({1, -1, 2}).narrow(1, 0, n);
    tensors.labels = at::tensor(labels.empty() ? std::vector<float>{0.0f} : labels).view({1, -1}).narrow(1, 0, n);
    if (prompt.maskInput.defined()) {
        const at::Tensor& m = prompt.maskInput;
        const bool sizeOk = m.dim() >= 2 && m.dim() <= 4 && m.size(-1) == g4 && m.size(-2) == g4 && m.numel() == g4 * g4;
        if (!sizeOk)
            throw Error("mask input must be one low-res logit map of " + std::to_string(g4) + "x" +
                        std::to_string(g4) + " (a previous prediction's lowResLogits[k])");
        tensors.maskInput = m.reshape({1, 1, g4, g4}).to(at::kFloat);
    }
    return tensors;
}

Prediction SamPredictor::predict(const ImageEmbedding& embedding, const Prompt& prompt,
                                 const PredictOptions& options) const
{
    if (embedding.model != model_.get())
        throw Error("the image embedding was computed by another model");
    const models::PromptTensors tensors = promptTensors(embedding, prompt);
    const at::NoGradGuard noGrad;

    const auto start = std::chrono::steady_clock::now();
    const models::DecoderOutput out = model_->decode(models::ImageFeatures{embedding.embedding, embedding.highResFeatures},
                                                     tensors, embedding.decoderCache.get());
    Prediction result;
    result.decoderMs = msSince(start);

    const auto postStart = std::chrono::steady_clock::now();
    const auto& config = model_->config();
    result.sparseTokens = static_cast<int>(tensors.labels.size(1));
    result.allIouPredictions = out.iouPredictions[0].contiguous();
    result.tokens = selectMaskTokens(options.output, result.allIouPredictions, result.sparseTokens);
    const at::Tensor allLogits = out.lowResLogits[0];
    if (config.decoder == models::DecoderKind::Sam2 && config.head.sam2.dynamicMultimask &&
        options.output == MaskOutput::Token0 &&
        stabilityScore(allLogits[0], config.head.sam2.stabilityDelta) < config.head.sam2.stabilityThresh) {
        // _dynamic_multimask_via_stability: token 0 is unstable, take the best multimask token.
        result.tokens = {1 + static_cast<int>(result.allIouPredictions.slice(0, 1).argmax().item<std::int64_t>())};
    }
    if (config.decoder == models::DecoderKind::SamHq && options.output == MaskOutput::Multimask)
        result.tokens = {1 + static_cast<int>(result.allIouPredictions.slice(0, 1).argmax().item<std::int64_t>())};

    std::vector<std::int64_t> index(result.tokens.begin(), result.tokens.end());
    const at::Tensor tokenIndex = at::tensor(index, at::kLong);
    result.iouPredictions = result.allIouPredictions.index_select(0, tokenIndex);
    at::Tensor lowRes = allLogits.index_select(0, tokenIndex);
    if (config.decoder == models::DecoderKind::SamHq) {
        const at::Tensor hq = out.hqLogits[0];  // [1, h, w]
        lowRes = options.hqTokenOnly ? hq.expand_as(lowRes) : lowRes + hq;
    }
    lowRes = lowRes.contiguous();

    const at::Tensor scores = upscaleMasks(lowRes, config, embedding.inputSize, embedding.originalSize);
    result.masks = thresholdMasks(scores, config);
    result.lowResLogits = config.preprocess.pipeline == models::ImagePipeline::Sam2 ? at::clamp(lowRes, -32.0, 32.0)
                                                                                      : lowRes;
    if (options.keepLogits)
        result.maskLogits = scores;
    result.postprocessMs = msSince(postStart);
    return result;
}

}  // namespace birkhoff::predict
