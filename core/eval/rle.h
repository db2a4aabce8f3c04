// COCO run-length encoded masks, bit-compatible with pycocotools: the RLE type, mask <-> RLE
// conversion, the compressed "counts" string, polygon rasterisation (pycocotools' frPoly scanline
// algorithm), union/intersection, area, bounding box and mask IoU. This is the one place that
// knows the COCO mask conventions; the evaluation and the studio's exporters use it.
//
// Conventions (COCO): runs are counted over the pixels in column-major order (x outer, y inner),
// they alternate background/foreground and start with a (possibly empty) background run, and they
// sum to height * width. Masks on our side are cv::Mat CV_8UC1, height x width, row-major,
// 0 = background, non-zero = foreground (decoders write 0/1).
#pragma once

#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::eval {

/// A COCO run-length encoding of a height x width binary mask.
struct Rle {
    int height = 0;
    int width = 0;
    std::vector<std::uint32_t> counts;  ///< alternating background/foreground run lengths

    bool operator==(const Rle& other) const
    {
        return height == other.height && width == other.width && counts == other.counts;
    }
    bool operator!=(const Rle& other) const { return !(*this == other); }
};

/// Encodes `mask` (CV_8UC1 or CV_8SC1, non-zero = foreground) as canonical COCO RLE: no empty
/// runs except a leading empty background run, exactly as pycocotools' encode().
/// @throws Error if `mask` is empty or not single-channel 8-bit.
Rle encodeRle(const cv::Mat& mask);

/// Decodes `rle` to a CV_8UC1 height x width mask with values 0/1.
/// @throws Error if the counts do not sum to height * width.
cv::Mat decodeRle(const Rle& rle);

/// The pycocotools compressed "counts" string of `rle` (6 bits per character, characters
/// '0'..'o', counts after the third stored as differences to the count two places before).
/// Byte-identical to pycocotools' rleToString.
std::string rleToString(const Rle& rle);

/// Parses a pycocotools compressed "counts" string for a height x width mask.
/// @throws Error naming the character position if the string has characters outside '0'..'o',
///         ends inside a value, decodes to a negative run, or the runs do not sum to h * w.
Rle rleFromString(const std::string& counts, int height, int width);

/// Builds an RLE from uncompressed counts (COCO "counts": [..] lists, used for crowd regions);
/// the counts are kept as given (they need not be canonical).
/// @throws Error if a count is negative or the counts do not sum to height * width.
Rle rleFromCounts(const std::vector<std::int64_t>& counts, int height, int width);

/// Rasterises one polygon [x0, y0, x1, y1, ...] (pixel coordinates, pixel centres at integers)
/// exactly as pycocotools' frPoly: vertices upsampled by 5 and rounded, edges traced densely,
/// column crossings downsampled to pixel boundaries. Polygons with fewer than 3 vertices give an
/// empty mask; parts outside the image are clipped.
/// @throws Error if `xy` has an odd number of values or a non-finite value.
Rle rleFromPolygon(const std::vector<double>& xy, int height, int width);

/// Union (or, with `intersect`, intersection) of masks of equal size, as pycocotools' merge():
/// one input is returned as it is; several give the canonical RLE of the result.
/// @throws Error if `rles` is empty or the sizes differ.
Rle rleMerge(const std::vector<Rle>& rles, bool intersect = false);

/// Number of foreground pixels.
std::uint64_t rleArea(const Rle& rle);

/// Tight bounding box [x, y, w, h] of the foreground (w, h are extents in pixels, so the last
/// foreground column is x + w - 1), as pycocotools' toBbox; all zeros for an empty mask.
std::array<double, 4> rleBbox(const Rle& rle);

/// Pixel counts of the intersection and union of two binary masks.
struct MaskOverlap {
    std::uint64_t intersection = 0;
    std::uint64_t unionArea = 0;
    /// intersection / union; two empty masks count as identical (1.0).
    double iou() const
    {
        return unionArea == 0 ? 1.0 : static_cast<double>(intersection) / static_cast<double>(unionArea);
    }
};

/// Overlap of two masks (CV_8UC1, same size, non-zero = foreground).
/// @throws Error if the sizes or types differ.
MaskOverlap maskOverlap(const cv::Mat& a, const cv::Mat& b);

/// Number of foreground pixels of a CV_8UC1 mask.
std::uint64_t maskArea(const cv::Mat& mask);

}  // namespace birkhoff::eval
