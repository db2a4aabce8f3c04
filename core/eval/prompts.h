// Prompts derived from ground truth for the evaluation: the box prompt from a COCO bbox and the
// centre point of a mask (exact Euclidean distance transform), plus the prompt kinds and the
// mask-selection rules with their command-line names.
#pragma once

#include <opencv2/core/mat.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace birkhoff::eval {

/// Which prompt the evaluation derives from each ground-truth instance.
enum class PromptKind {
    Box,          ///< the annotation's bbox as a box
    CenterPoint,  ///< one positive point at the mask centre (maskCenter)
    BoxAndPoint,  ///< both
};

/// Which of the decoder's mask tokens is scored.
enum class MaskRule {
    Single,  ///< token 0 = SamPredictor multimask_output=False
    Best,    ///< the highest predicted IoU among tokens 1..3 = multimask_output=True + argmax
    Auto,    ///< the official ONNX export's rule: Best for a single point or a box alone, else Single
};

/// "box", "center-point", "box+point".
std::string promptName(PromptKind kind);
/// Inverse of promptName. @throws Error naming the accepted values.
PromptKind parsePromptKind(const std::string& name);
/// "single", "best", "auto".
std::string maskRuleName(MaskRule rule);
/// Inverse of maskRuleName. @throws Error naming the accepted values.
MaskRule parseMaskRule(const std::string& name);
/// The rule the evaluation uses unless told otherwise. SAM v1-family models: Single for box and
/// box+point (the SAM authors' recommendation for unambiguous prompts), Best for a single point.
/// SAM 2 / 2.1 models (`sam2Model`): Single for every prompt, i.e. SAM 2's official single mask
/// (token 0 unless its stability score < 0.98, then the best of tokens 1..3).
MaskRule defaultMaskRule(PromptKind kind, bool sam2Model = false);
/// Resolves Auto for `kind` (a box alone or a point alone are "ambiguous": Best); other rules
/// are returned unchanged.
MaskRule effectiveMaskRule(MaskRule rule, PromptKind kind);

/// Box prompt [x0, y0, x1, y1] from a COCO bbox [x, y, w, h]: x0 = x, y0 = y, x1 = x + w,
/// y1 = y + h (pycocotools extents, so x1, y1 lie one past the last mask pixel).
std::array<double, 4> boxFromBbox(const std::array<double, 4>& bbox);

/// The centre of a mask: the foreground pixel farthest (exact Euclidean distance) from the nearest
/// background pixel, counting pixels outside the image as background.
struct MaskCenter {
    int x = -1;
    int y = -1;
    std::int64_t squaredDistance = 0;  ///< to the nearest background pixel (0 for an empty mask)
    std::int64_t ties = 0;             ///< how many foreground pixels share that distance
    bool valid() const { return x >= 0; }
};

/// maskCenter of `mask` (CV_8UC1, non-zero = foreground). Distances are compared as exact integer
/// squared distances; ties go to the smallest y, then the smallest x. An empty mask gives an
/// invalid (x = y = -1) centre.
/// @throws Error if `mask` is not CV_8UC1.
MaskCenter maskCenter(const cv::Mat& mask);

/// Squared Euclidean distance of every pixel to the nearest background pixel (0 on background),
/// with the outside of the image counted as background; CV_64FC1 holding exact integers.
/// The exact transform of Felzenszwalb and Huttenlocher, separable over columns then rows.
cv::Mat squaredDistanceToBackground(const cv::Mat& mask);

}  // namespace birkhoff::eval
