// Prompt derivation from ground truth (box, centre point) and the prompt/mask-rule names.
#include "core/eval/prompts.h"

#include "core/util/error.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace birkhoff::eval {

std::string promptName(PromptKind kind)
{
    switch (kind) {
    case PromptKind::Box:
        return "box";
    case PromptKind::CenterPoint:
        return "center-point";
    case PromptKind::BoxAndPoint:
        return "box+point";
    }
    return "box";
}

PromptKind parsePromptKind(const std::string& name)
{
    for (const auto kind : {PromptKind::Box, PromptKind::CenterPoint, PromptKind::BoxAndPoint})
        if (promptName(kind) == name)
            return kind;
    throw Error("unknown prompt '" + name + "' (expected box, center-point or box+point)");
}

std::string maskRuleName(MaskRule rule)
{
    switch (rule) {
    case MaskRule::Single:
        return "single";
    case MaskRule::Best:
        return "best";
    case MaskRule::Auto:
        return "auto";
    }
    return "single";
}

MaskRule parseMaskRule(const std::string& name)
{
    for (const auto rule : {MaskRule::Single, MaskRule::Best, MaskRule::Auto})
        if (maskRuleName(rule) == name)
            return rule;
    throw Error("unknown mask rule '" + name + "' (expected single, best or auto)");
}

MaskRule defaultMaskRule(PromptKind kind, bool sam2Model)
{
    if (sam2Model)
        return MaskRule::Single;
    return kind == PromptKind::CenterPoint ? MaskRule::Best : MaskRule::Single;
}

MaskRule effectiveMaskRule(MaskRule rule, PromptKind kind)
{
    if (rule != MaskRule::Auto)
        return rule;
    return kind == PromptKind::BoxAndPoint ? MaskRule::Single : MaskRule::Best;
}

std::array<double, 4> boxFromBbox(const std::array<double, 4>& bbox)
{
    return {bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]};
}

namespace {

/// One dimension of the exact squared distance transform: out[p] = min_q (p - q)^2 + f[q], the
/// lower envelope of parabolas rooted at q. `inf` marks q without a root (no background yet).
void distanceTransform1d(const std::vector<double>& f, std::vector<double>& out, std::vector<int>& roots,
                         std::vector<double>& bounds)
{
    const int n = static_cast<int>(f.size());
    const double inf = std::numeric_limits<double>::infinity();
    int k = -1;
    for (int q = 0; q < n; ++q) {
        if (f[q] == inf)
            continue;
        double s = -inf;
        while (k >= 0) {
            const int r = roots[k];
            // Intersection of the parabolas rooted at r and q.
            s = ((f[q] + double(q) * q) - (f[r] + double(r) * r)) / (2.0 * (q - r));
            if (s <= bounds[k])
                --k;
            else
                break;
        }
        ++k;
        roots[k] = q;
        bounds[k] = k == 0 ? -inf : s;
    }
    if (k < 0) {
        std::fill(out.begin(), out.end(), inf);
        return;
    }
    int j = 0;
    for (int p = 0; p < n; ++p) {
        while (j < k && bounds[j + 1] < p)
            ++j;
        const double d = double(p - roots[j]);
        out[p] = d * d + f[roots[j]];
    }
}

}  // namespace

cv::Mat squaredDistanceToBackground(const cv::Mat& mask)
{
    if (mask.type() != CV_8UC1)
        throw Error("maskCenter: expected a CV_8UC1 mask");
    // Work on the mask padded by one background pixel on every side, so the outside counts as
    // background; every padded column and row then holds background and all distances are finite.
    const int h = mask.rows + 2, w = mask.cols + 2;
    const double inf = std::numeric_limits<double>::infinity();
    cv::Mat dist(h, w, CV_64FC1, cv::Scalar(0.0));
    for (int y = 0; y < mask.rows; ++y) {
        const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        double* d = dist.ptr<double>(y + 1);
        for (int x = 0; x < mask.cols; ++x)
            d[x + 1] = m[x] ? inf : 0.0;
    }
    const int longest = std::max(h, w);
    std::vector<double> f(longest), out(longest), bounds(longest);
    std::vector<int> roots(longest);
    f.resize(h);
    out.resize(h);
    for (int x = 0; x < w; ++x) {
        for (int y = 0; y < h; ++y)
            f[y] = dist.at<double>(y, x);
        distanceTransform1d(f, out, roots, bounds);
        for (int y = 0; y < h; ++y)
            dist.at<double>(y, x) = out[y];
    }
    f.resize(w);
    out.resize(w);
    for (int y = 0; y < h; ++y) {
        double* row = dist.ptr<double>(y);
        std::copy(row, row + w, f.begin());
        distanceTransform1d(f, out, roots, bounds);
        std::copy(out.begin(), out.end(), row);
    }
    return dist(cv::Rect(1, 1, mask.cols, mask.rows)).clone();
}

MaskCenter maskCenter(const cv::Mat& mask)
{
    const cv::Mat dist = squaredDistanceToBackground(mask);
    MaskCenter center;
    for (int y = 0; y < mask.rows; ++y) {
        const std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        const double* d = dist.ptr<double>(y);
        for (int x = 0; x < mask.cols; ++x) {
            if (!m[x])
                continue;
            // Squared distances are sums of two squared integers, exact in double.
            const auto squared = static_cast<std::int64_t>(d[x]);
            if (squared > center.squaredDistance) {
                center.x = x;
                center.y = y;
                center.squaredDistance = squared;
                center.ties = 1;
            } else if (squared == center.squaredDistance) {
                ++center.ties;
            }
        }
    }
    return center;
}

}  // namespace birkhoff::eval
