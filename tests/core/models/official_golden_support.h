// Golden folders of ../shared/golden that hold official outputs in a generic manifest layout,
// found by their layout (not by name), so that a new folder laid out like an existing one is
// tested without new test code; and the checks their tests share: the official prompt cases in
// one form, mask comparison with the SAM v1 golden tolerance, and the compressed-vs-original
// mask agreement of a model compressed in memory with the codec's paper defaults.
#pragma once

#include "core/models/sam_model.h"
#include "core/predict/predictor.h"

#include <QString>

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::test {

/// Manifest layouts of official-output folders.
enum class GoldenLayout {
    /// "image_tensors" (names in image_tensors.safetensors: input_image, enc_patch_embed,
    /// enc_block<i>, image_embeddings, dense_pe) and "cases": {name: {points, labels,
    /// iou_predictions, best_candidate, mask_pixels}} with case_<name>/tensors.safetensors
    /// (low_res_logits, iou_predictions, mask_logits) and case_<name>/mask_<k>.png
    /// (efficient_sam_tiny: the official EfficientSam.forward, 3 candidates).
    TensorCases,
    /// "cases": {name: {predict_args: {point_coords, point_labels, box, multimask_output,
    /// hq_token_only}, iou_predictions, mask_pixels, mask}}: SamPredictor.predict arguments and
    /// the one returned mask as a PNG (samhq_tiny).
    PredictArgsMasks,
    /// "cases": {name: {point_coords, point_labels, box, num_multimask_outputs, iou_predictions,
    /// best, mask_pixels, mask}}: 1 output -> token 0, 3 -> tokens 1..3 and the PNG shows the
    /// best one (edge_sam_random).
    MultimaskCountMasks,
};

/// One golden folder and the files its manifest (or, where it names none, its contents) points to.
struct GoldenFolder {
    QString name;                 ///< folder name under ../shared/golden
    nlohmann::json manifest;
    QString checkpoint;           ///< path relative to ../shared/golden
    QString image;                ///< path relative to ../shared/golden
};

/// Every folder of ../shared/golden whose manifest.json has `layout`, sorted by name; empty when
/// ../shared/golden is absent or holds none.
std::vector<GoldenFolder> goldenFoldersWithLayout(GoldenLayout layout);

/// The folder `name` if it has `layout`.
std::optional<GoldenFolder> goldenFolderNamed(GoldenLayout layout, const QString& name);

/// Adds a QString column "folder" with one row per folder of `layout`, or one row with an empty
/// name when there is none (the test then skips loudly with noGoldenFolderMessage).
void addGoldenFolderRows(GoldenLayout layout);

/// Why a test of `layout` did not run (no such folder), for BIRKHOFF_SKIP.
QString noGoldenFolderMessage(GoldenLayout layout);

/// One official prompt case in a common form.
struct GoldenCase {
    std::string name;
    predict::Prompt prompt;
    predict::PredictOptions options;      ///< output rule (and hq_token_only); keepLogits set
    std::vector<double> iouPredictions;   ///< official IoU of every returned mask
    std::size_t shownMask = 0;            ///< which returned mask the case's PNG shows (mask PNG layouts)
    QString maskPng;                      ///< relative to ../shared/golden (mask PNG layouts)
};

/// The cases of a folder of `layout`, in the manifest's order.
std::vector<GoldenCase> goldenCases(const GoldenFolder& folder, GoldenLayout layout);

/// The folder's config.json as loadSamModel should read it. The official config of a folder may
/// state the mask decoder's head count only in prose ("note": "... decoder: ..., 2 heads, ...");
/// that count is then passed as "transformer_num_heads". Null when the folder has no config.json.
std::optional<nlohmann::json> goldenModelConfig(const GoldenFolder& folder);

/// loadSamModel on the folder's checkpoint with goldenModelConfig (written to a scratch file).
std::shared_ptr<models::SamModel> loadGoldenModel(const GoldenFolder& folder);

/// The folder's checkpoint compressed in memory with the codec's paper defaults (tensor roles
/// from the detected family), built as loadSamModel builds compressed files with the same config
/// as loadGoldenModel: `hyper` runs the Linear weights stored as index matrices on HyperLinear
/// (the default), `dense` runs them decoded to dense weights (the same numbers, another path).
struct CompressedGoldenModel {
    std::shared_ptr<models::SamModel> hyper;
    std::shared_ptr<models::SamModel> dense;
    double ratio = 0;
};
CompressedGoldenModel compressGoldenModel(const GoldenFolder& folder);

/// Checks a binary mask against the official one: pixels may differ only where |logit| is
/// within 1e-4 x max(1, max |logit|) of the threshold 0 (`logits` are the official ones where
/// they exist, else ours). Prints the count and the mask IoU; fails the running test otherwise.
void expectSameMask(const at::Tensor& ours, const cv::Mat& official, const at::Tensor& logits, const QString& where);

/// Runs every case on `original` and on both paths of `compressed`: the HyperLinear model's
/// low-res logits and IoU must equal the dense-decoded model's within 1e-4 (scaled; a different
/// summation order in every Linear layer), and each of its masks must overlap the original
/// model's with IoU >= minIou. Prints every IoU, their minimum and mean.
void expectCompressedMasksAgree(const std::shared_ptr<const models::SamModel>& original,
                                const CompressedGoldenModel& compressed, const cv::Mat& image,
                                const std::vector<GoldenCase>& cases, double minIou, const QString& where);

}  // namespace birkhoff::test
