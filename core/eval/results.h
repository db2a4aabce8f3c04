// Evaluation results: the per-instance row, its CSV form (written per image, read back for
// --resume and eval-merge), and the report computed from rows alone, so that merging the CSVs
// of shards gives exactly the report of a single run.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace birkhoff::eval {

/// Status of an evaluated instance; any other status is the reason it was skipped.
inline constexpr const char* kStatusOk = "ok";

/// Reasons an instance (or, with annotationId = -1, a whole image entry) is skipped.
namespace skip {
inline constexpr const char* kCrowd = "iscrowd";
inline constexpr const char* kMalformedSegmentation = "malformed_segmentation";
inline constexpr const char* kEmptySegmentation = "empty_segmentation";
inline constexpr const char* kMalformedBbox = "malformed_bbox";
inline constexpr const char* kZeroAreaBox = "zero_area_box";
inline constexpr const char* kBelowMinArea = "below_min_area";
inline constexpr const char* kMissingImage = "missing_image";            ///< image id not in "images"
inline constexpr const char* kMissingImageFile = "missing_image_file";   ///< no such file
inline constexpr const char* kUnreadableImage = "unreadable_image";      ///< OpenCV cannot decode it
inline constexpr const char* kImageSizeMismatch = "image_size_mismatch"; ///< file size != annotated size
inline constexpr const char* kMalformedAnnotationFile = "malformed_annotation_file";  ///< SA-1B file
}  // namespace skip

/// What one model answered for one instance.
struct ModelResult {
    double iou = 0;            ///< vs the ground truth
    double predictedIou = 0;   ///< the model's own IoU estimate of the scored mask
    int token = 0;             ///< decoder mask token scored (0..3)
    std::uint64_t maskArea = 0;
    double encodeSeconds = 0;  ///< encoding this instance's image (same on every row of the image)
    double decodeMs = 0;       ///< prompt -> binary mask at original size
};

/// One CSV row: an annotation (evaluated or skipped) or, with annotationId = -1, an image entry
/// that could not be read at all.
struct InstanceRow {
    std::int64_t imageId = -1;
    std::string fileName;
    std::int64_t annotationId = -1;
    std::int64_t categoryId = -1;
    std::string category;
    int isThing = -1;  ///< 1, 0, or -1 unknown
    bool isCrowd = false;
    std::uint64_t area = 0;  ///< ground-truth mask pixels
    std::optional<std::array<double, 4>> bbox;   ///< [x, y, w, h]
    std::string prompt;                          ///< promptName()
    std::string maskRule;                        ///< maskRuleName() of the effective rule
    std::optional<std::array<double, 4>> box;    ///< box prompt [x0, y0, x1, y1]
    std::optional<std::array<int, 2>> point;     ///< point prompt (x, y), label 1
    std::string status = kStatusOk;              ///< kStatusOk or a skip:: reason
    std::string detail;                          ///< human-readable reason of a skip
    int imageRows = 0;                           ///< rows written for this image (resume check)
    std::string modelOriginal;
    std::string modelCompressed;
    std::optional<ModelResult> original;         ///< set when status is ok
    std::optional<ModelResult> compressed;
    double agreement = 0;                        ///< IoU between the two models' masks

    bool evaluated() const { return status == kStatusOk; }
};

/// The CSV header line (no newline).
std::string csvHeader();
/// One CSV line for `row` (no newline). Numbers are written in the shortest form that reads back
/// to the same double, so a report computed from read-back rows equals one computed in memory.
std::string csvLine(const InstanceRow& row);

/// Rows of a CSV written by csvHeader/csvLine, in file order.
struct CsvContents {
    std::vector<InstanceRow> rows;
    /// Images whose rows are incomplete (fewer than their image_rows, e.g. a run killed while
    /// writing); their rows are not in `rows`.
    std::vector<std::int64_t> incompleteImages;
    bool truncatedLastLine = false;  ///< the file ended inside a line (dropped)
};

/// Reads an evaluation CSV. Columns are found by name, so extra columns are ignored.
/// @throws Error naming the file and line for a missing column or an unparsable value.
CsvContents readResultsCsv(const std::filesystem::path& path);

/// Appends rows to an evaluation CSV one image at a time: each image's lines go out in a single
/// write() followed by fdatasync(), so the file always ends with whole images (a crash can at
/// worst cut the last block, which readResultsCsv detects through image_rows and drops).
class ResultsCsvWriter {
public:
    /// Starts `path`. resume = true keeps the complete images of an existing file (rewriting it
    /// atomically without an incomplete tail); otherwise a new file with just the header is
    /// created atomically, and an existing file is refused unless `overwrite`.
    /// @throws Error if the file exists and neither resume nor overwrite is set, or on I/O errors.
    ResultsCsvWriter(std::filesystem::path path, bool resume, bool overwrite);
    ~ResultsCsvWriter();
    ResultsCsvWriter(const ResultsCsvWriter&) = delete;
    ResultsCsvWriter& operator=(const ResultsCsvWriter&) = delete;

    /// Rows that were already in the file (resume), complete images only.
    const CsvContents& existing() const { return existing_; }
    /// Appends one image's rows. @throws Error on I/O errors.
    void appendImage(const std::vector<InstanceRow>& rows);
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    CsvContents existing_;
    int fd_ = -1;
};

/// Per-model summary over the evaluated rows.
struct ModelSummary {
    std::string name;
    std::size_t count = 0;
    double miou = 0;
    std::size_t thingCount = 0;
    double miouThings = 0;
    std::size_t stuffCount = 0;
    double miouStuff = 0;
    double meanPredictedIou = 0;
    std::size_t images = 0;              ///< images encoded
    double encodeSecondsPerImage = 0;
    double decodeMsPerInstance = 0;
    double secondsPerImage = 0;          ///< encode + all decodes of the image, averaged
};

struct CategorySummary {
    std::int64_t id = -1;
    std::string name;
    int isThing = -1;
    std::size_t count = 0;
    double miouOriginal = 0;
    double miouCompressed = 0;
    double agreement = 0;
};

/// The evaluation report; a pure function of the rows (see summarize()).
struct EvalReport {
    std::string prompt;
    std::string maskRule;
    std::size_t images = 0;     ///< distinct images with at least one evaluated instance
    std::size_t instances = 0;  ///< annotation rows (evaluated + skipped)
    std::size_t evaluated = 0;
    std::map<std::string, std::size_t> skippedInstances;  ///< reason -> annotations
    std::map<std::string, std::size_t> skippedImages;     ///< reason -> unreadable image entries
    ModelSummary original;
    ModelSummary compressed;
    double agreement = 0;       ///< mean IoU between the two models' masks
    double agreementMin = 0;
    std::size_t identicalMasks = 0;
    bool hasThingStuff = false;  ///< some evaluated row has isthing known
    std::vector<CategorySummary> categories;  ///< by category id
};

/// Sorts rows canonically by (image id, annotation id).
/// @throws Error if an (image id, annotation id) pair appears twice.
void sortRows(std::vector<InstanceRow>& rows);

/// The report of `rows` (sorted canonically first, so the result does not depend on row order).
/// @throws Error if rows disagree on prompt, mask rule or model names (CSVs of different runs),
///         or a pair appears twice.
EvalReport summarize(std::vector<InstanceRow> rows);

nlohmann::json reportToJson(const EvalReport& report);
/// Human-readable report (several lines, ends with a newline).
std::string reportToText(const EvalReport& report);

/// eval-merge: reads the CSVs, drops incomplete image blocks (listed in `warnings`), checks that
/// no image appears in two files, and summarises all rows.
/// @throws Error naming the files on overlap, inconsistent runs or unreadable files.
EvalReport mergeResults(const std::vector<std::filesystem::path>& csvs, std::vector<std::string>* warnings = nullptr);

}  // namespace birkhoff::eval
