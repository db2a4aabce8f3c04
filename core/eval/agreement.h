// Label-free fidelity of a compressed model: mask agreement (IoU between the original model's
// mask and the compressed model's mask for the same prompt) over a prompt set on any folder of
// images, or on a COCO / SA-1B dataset whose ground truth adds its boxes and centre points.
//
// Prompts per image (W x H pixels, grid G):
//   grid-point  G x G single positive points at x = floor((i + 0.5) W / G), y = floor((j + 0.5) H / G)
//               (the automatic mask generator's grid, snapped to the pixel holding it);
//               mask rule Best (highest predicted IoU of the three multimask tokens);
//   grid-box    for each grid point, the bounding box of the ORIGINAL model's grid-point mask as
//               a box prompt [x0, y0, x1 + 1, y1 + 1] (extents, like a COCO bbox), mask rule
//               Single; grid points whose original mask is empty give no box;
//   gt-box      (annotations) the box of every evaluable instance, as `birkhoff eval --prompt box`;
//   gt-point    (annotations) its centre point, as `birkhoff eval --prompt center-point`.
// The original model's answers are computed once (buildAgreementReference) and kept as RLEs, so
// a sweep compares many compressed models with one reference; each image is encoded once per
// model. IoU is maskOverlap().iou() (two empty masks agree: 1.0).
#pragma once

#include "core/eval/dataset.h"
#include "core/eval/rle.h"
#include "core/eval/runner.h"
#include "core/util/progress.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::eval {

/// Which grid prompts are used.
enum class AgreementPrompts { Points, Boxes, Both };

/// "points", "boxes", "both".
std::string agreementPromptsName(AgreementPrompts prompts);
/// Inverse of agreementPromptsName. @throws Error naming the accepted values.
AgreementPrompts parseAgreementPrompts(const std::string& name);

/// Where a prompt comes from (see the file comment).
enum class PromptSource { GridPoint, GridBox, GtBox, GtPoint };
constexpr int kPromptSourceCount = 4;

/// "grid-point", "grid-box", "gt-box", "gt-point".
std::string promptSourceName(PromptSource source);

constexpr int kDefaultAgreementGrid = 8;
constexpr int kMaxAgreementGrid = 64;

/// @throws Error unless 1 <= grid <= kMaxAgreementGrid.
void validateAgreementGrid(int grid);

/// The G x G grid points of a width x height image (row by row), see the file comment.
std::vector<std::array<int, 2>> gridPoints(int width, int height, int grid);

/// What the agreement is measured on.
struct AgreementOptions {
    int grid = kDefaultAgreementGrid;
    AgreementPrompts prompts = AgreementPrompts::Both;
    /// Images mode: every file of this folder that OpenCV decodes (name order, not recursive).
    /// Annotations mode: the folder the dataset's file names are relative to.
    std::filesystem::path imagesDir;
    /// Annotations mode: the dataset (ground-truth boxes and centre points, its images only).
    const Dataset* dataset = nullptr;
    /// At most this many images (0 = all).
    std::size_t limit = 0;
};

/// One prompt with the original model's answer.
struct ReferencePrompt {
    PromptSource source = PromptSource::GridPoint;
    ModelPrompt prompt;
    MaskRule rule = MaskRule::Single;
    Rle original;                    ///< the original model's mask
    std::optional<Rle> groundTruth;  ///< gt-box / gt-point: the instance's mask
    double originalGtIou = 0;        ///< gt prompts: IoU of the original's mask with the ground truth
};

struct ReferenceImage {
    std::filesystem::path file;
    std::string name;  ///< file name relative to the images folder
    int width = 0;
    int height = 0;
    std::vector<ReferencePrompt> prompts;
    std::size_t emptyGridMasks = 0;  ///< grid points whose original mask was empty (no grid box)
};

/// The prompt set with the original model's answers.
struct AgreementReference {
    int grid = kDefaultAgreementGrid;
    AgreementPrompts prompts = AgreementPrompts::Both;
    bool annotations = false;
    std::vector<ReferenceImage> images;
    std::vector<std::string> warnings;  ///< files that could not be read, skipped instances
    double seconds = 0;
    /// Number of prompts over all images.
    std::size_t promptCount() const;
};

/// Builds the prompt set and the original model's answers on it.
/// @throws Error for a grid out of range, a folder that does not exist or holds no readable
///         image, a dataset none of whose images can be read, or no prompt at all;
///         CancelledError.
AgreementReference buildAgreementReference(PromptableModel& original, const AgreementOptions& options,
                                           const Progress& progress = {});

/// Summary of a set of IoU values. Percentiles interpolate linearly between order statistics
/// (numpy's default): p = v[floor(r)] + (r - floor(r)) (v[floor(r)+1] - v[floor(r)]), r = q (n - 1).
struct AgreementStats {
    std::size_t count = 0;
    double mean = 0;
    double median = 0;
    double p5 = 0;
    double fractionAbove09 = 0;  ///< fraction of values >= 0.9
};

/// Stats of `values` (all zeros for an empty set).
AgreementStats agreementStats(std::vector<double> values);

struct ImageAgreement {
    std::string name;
    AgreementStats all;
    std::vector<double> ious;  ///< per prompt, in the reference's order
};

struct AgreementResult {
    AgreementStats overall;
    std::vector<std::pair<PromptSource, AgreementStats>> bySource;  ///< sources present, in enum order
    std::vector<ImageAgreement> images;
    /// gt-box prompts (annotations): mIoU with the ground truth of each model (nullopt without).
    std::optional<double> miouOriginal;
    std::optional<double> miouCompressed;
    double seconds = 0;
};

/// Prompts `compressed` with the reference's prompts (each image encoded once) and compares
/// its masks with the original's. @throws Error if an image cannot be read any more or a mask
/// has the wrong size; CancelledError.
AgreementResult measureAgreement(const AgreementReference& reference, PromptableModel& compressed,
                                 const Progress& progress = {});

/// {"count", "mean", "median", "p5", "fraction_iou_ge_0.9"}.
nlohmann::json agreementStatsToJson(const AgreementStats& stats);
/// {"grid", "prompts", "annotations", "overall", "by_source": {...}, "miou_original"?,
///  "miou_compressed"?, "images": [{"file", "prompts", stats...}], "warnings", "seconds"}.
nlohmann::json agreementToJson(const AgreementReference& reference, const AgreementResult& result);
/// A human-readable table (overall, per source, per image).
std::string agreementToText(const AgreementReference& reference, const AgreementResult& result);

/// The two models of an agreement run, loaded with models::loadSamModel.
struct AgreementModels {
    std::unique_ptr<PromptableModel> original;
    std::unique_ptr<PromptableModel> compressed;
    std::string originalDescription;
    std::string compressedDescription;
};

/// Loads both files and checks that they are the same family and layout (same tensor names and
/// shapes, ignoring the dense weights of Linear layers that run compressed).
/// @throws Error naming both files when they differ, or as models::loadSamModel.
AgreementModels loadAgreementModels(const std::filesystem::path& original, const std::filesystem::path& compressed,
                                    const Progress& progress = {});

}  // namespace birkhoff::eval
