// Ground-truth datasets for the evaluation: COCO instance annotation files (polygons, compressed
// and uncompressed RLE) and SA-1B-style per-image JSON files (one file, or a folder of them).
// Parsing is strict about structure (a malformed file is an Error naming the file and the byte,
// line and column) and lenient about single annotations (a bad segmentation is reported per
// instance so the evaluation can skip it and say why).
#pragma once

#include "core/eval/rle.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace birkhoff::eval {

enum class DatasetFormat {
    CocoInstances,  ///< one COCO instances JSON: images, annotations, categories
    Sa1bImages,     ///< SA-1B-style per-image JSON files: {"image": {...}, "annotations": [...]}
};

/// "coco" or "sa1b".
std::string datasetFormatName(DatasetFormat format);

struct Category {
    std::int64_t id = -1;
    std::string name;
    std::string supercategory;
    int isThing = -1;  ///< 1 thing, 0 stuff, -1 unknown (the file has no "isthing")
};

struct ImageInfo {
    std::int64_t id = -1;
    std::string fileName;  ///< relative to the images folder
    int width = 0;
    int height = 0;
};

/// An annotation's "segmentation" as the file gives it; decoded on demand by annotationRle().
struct Segmentation {
    enum class Kind { None, Polygons, CompressedRle, UncompressedRle, Invalid };
    Kind kind = Kind::None;
    std::vector<std::vector<double>> polygons;  ///< Polygons
    std::string compressedCounts;               ///< CompressedRle
    std::vector<std::int64_t> counts;           ///< UncompressedRle
    int rleHeight = 0;                          ///< RLE "size" [h, w]
    int rleWidth = 0;
    std::string problem;  ///< Invalid: what is wrong
};

struct Annotation {
    std::int64_t id = -1;
    std::int64_t imageId = -1;
    std::int64_t categoryId = -1;  ///< -1 when the file has none (SA-1B)
    bool isCrowd = false;
    std::optional<std::array<double, 4>> bbox;  ///< [x, y, w, h]; absent when the file has none
    std::string bboxProblem;                    ///< set when "bbox" is present but malformed
    Segmentation segmentation;
};

/// One unit of evaluation work: an image and the annotations that refer to it.
struct ImageEntry {
    ImageInfo image;
    /// false when annotations refer to an image id that the file's "images" does not list; such
    /// entries carry those annotations so the evaluation can count them as skipped.
    bool imageListed = true;
    std::vector<Annotation> annotations;
    /// SA-1B: the per-image JSON file this entry comes from.
    std::filesystem::path annotationFile;
    /// SA-1B: why the per-image file could not be read (the entry then has no annotations).
    std::string loadProblem;
};

/// A dataset in evaluation order: COCO images by ascending id (then, as extra entries, ids that
/// only annotations mention), SA-1B files by file name.
class Dataset {
public:
    /// Opens `path`: a COCO instances JSON file, a single SA-1B per-image JSON file, or a folder
    /// of SA-1B per-image JSON files (*.json, read one at a time when entry() asks for them).
    /// @throws Error if the path does not exist, a JSON file is malformed (file, byte, line and
    ///         column named), its structure is not COCO/SA-1B, ids are duplicated or missing.
    static Dataset open(const std::filesystem::path& path);

    DatasetFormat format() const { return format_; }
    const std::filesystem::path& source() const { return source_; }
    /// Number of entries (images) in evaluation order.
    std::size_t size() const { return format_ == DatasetFormat::CocoInstances ? entries_.size() : files_.size(); }
    /// Entry `index`. COCO: from memory. SA-1B folder: the file is parsed now; a malformed file
    /// yields an entry with loadProblem set instead of an exception, so a run can go on.
    ImageEntry entry(std::size_t index) const;
    /// Categories by id (empty for SA-1B).
    const std::map<std::int64_t, Category>& categories() const { return categories_; }
    /// nullptr if `id` is not a listed category.
    const Category* category(std::int64_t id) const;

private:
    DatasetFormat format_ = DatasetFormat::CocoInstances;
    std::filesystem::path source_;
    std::vector<ImageEntry> entries_;          // COCO
    std::vector<std::filesystem::path> files_;  // SA-1B
    std::map<std::int64_t, Category> categories_;
};

/// Reads one SA-1B per-image JSON file.
/// @throws Error naming the file (and byte/line/column for malformed JSON).
ImageEntry readSa1bFile(const std::filesystem::path& file);

/// The ground-truth mask of `annotation` on a height x width image as an RLE, as pycocotools'
/// COCO.annToRLE computes it: polygons rasterised with rleFromPolygon and merged, compressed RLE
/// parsed, uncompressed RLE taken as given. An absent segmentation gives an empty mask.
/// @throws Error if the segmentation is invalid or its RLE size differs from height x width.
Rle annotationRle(const Annotation& annotation, int height, int width);

/// A deterministic subset of the evaluation order for array jobs: entry k belongs to shard
/// `index` of `count` when k % count == index, so all instances of an image are in one shard.
struct Shard {
    std::size_t index = 0;
    std::size_t count = 1;
    bool contains(std::size_t position) const { return position % count == index; }
    /// "i/n".
    std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

/// Parses "i/n" with 0 <= i < n. @throws Error with the accepted form.
Shard parseShard(const std::string& text);

}  // namespace birkhoff::eval
