// The evaluation run: for every image of the dataset (or of a shard) encode it once per model,
// prompt both models with a prompt derived from each ground-truth instance, score the chosen
// masks against the ground truth and against each other, write the rows to the CSV one image at
// a time, and summarise. Progress with ETA, cancellation between instances, --resume.
#pragma once

#include "core/eval/dataset.h"
#include "core/eval/prompts.h"
#include "core/eval/results.h"
#include "core/util/progress.h"

#include <opencv2/core/mat.hpp>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::eval {

/// A prompt in original-image pixel coordinates (the point, if any, has label 1).
struct ModelPrompt {
    std::optional<std::array<double, 4>> box;  ///< x0, y0, x1, y1
    std::optional<std::array<int, 2>> point;   ///< x, y
};

/// A model's answer for one prompt.
struct ModelAnswer {
    cv::Mat mask;              ///< CV_8UC1 at the original size, non-zero = inside
    int token = 0;             ///< mask token it came from
    double predictedIou = 0;   ///< the model's IoU prediction for it
};

/// What the evaluation needs from a segmentation model (implemented for SAM predictors by
/// SamEvalModel; tests use simple deterministic models).
class PromptableModel {
public:
    virtual ~PromptableModel() = default;
    /// Encodes `rgb` (CV_8UC3, R,G,B) and keeps its embedding for the following predict() calls.
    virtual void setImage(const cv::Mat& rgb) = 0;
    /// The mask for `prompt` on the current image chosen by `rule` (Single or Best; never Auto).
    virtual ModelAnswer predict(const ModelPrompt& prompt, MaskRule rule) = 0;
};

struct EvalOptions {
    PromptKind prompt = PromptKind::Box;
    MaskRule maskRule = MaskRule::Single;  ///< Auto is resolved per prompt kind
    std::optional<Shard> shard;
    std::size_t limit = 0;          ///< at most this many images of the shard (0 = all)
    std::uint64_t minArea = 0;      ///< skip instances with fewer ground-truth pixels
    std::filesystem::path imagesDir;
    std::filesystem::path csv;      ///< empty: no CSV
    bool resume = false;            ///< keep the CSV's complete images and skip them
    bool overwrite = false;         ///< replace an existing CSV
    std::string originalName;       ///< recorded in every row
    std::string compressedName;
};

struct EvalResult {
    std::vector<InstanceRow> rows;  ///< all rows (resumed ones included), canonical order
    EvalReport report;
    std::size_t entriesInShard = 0;   ///< image entries this run covers (after shard and limit)
    std::size_t entriesResumed = 0;   ///< of those, already complete in the CSV
    std::size_t imagesEncoded = 0;    ///< images encoded by this run
    std::vector<std::string> warnings;  ///< resume notes (dropped incomplete images, ...)
};

/// Runs the evaluation. Each entry's rows are appended to options.csv as soon as the entry is
/// done, so an interruption keeps every finished image.
/// @throws CancelledError when progress.cancel is triggered (finished images stay in the CSV);
///         Error for an existing CSV without resume/overwrite, a CSV of another run on resume
///         (different prompt, mask rule or models), or I/O failures. Bad annotations and missing
///         or unreadable images are not errors: they become skip rows.
EvalResult runEvaluation(const Dataset& dataset, PromptableModel& original, PromptableModel& compressed,
                         const EvalOptions& options, const Progress& progress = {});

/// The evaluation's view of one annotation: fills the annotation fields of `row` (ids, category,
/// crowd flag, bbox, area) and returns why it is skipped (a skip:: reason, with row.detail set),
/// or "" when it is evaluated; then `rle` holds its mask and row.bbox its box.
std::string describeAnnotation(const Annotation& a, const ImageEntry& entry, const Dataset& dataset,
                               const EvalOptions& options, InstanceRow& row, std::optional<Rle>& rle);

/// Reads an image for evaluation as 8-bit RGB in its stored orientation (EXIF orientation is NOT
/// applied: COCO and SA-1B annotations refer to the stored pixels, as Pillow loads them).
/// Returns an empty Mat if OpenCV cannot decode the file.
cv::Mat readEvalImage(const std::filesystem::path& path);

/// "12s", "3m05s", "2h10m".
std::string formatDuration(double seconds);

}  // namespace birkhoff::eval
