// Mask visualisation: overlays, prompts, side-by-side panels.
#include "core/predict/overlay.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <vector>

namespace birkhoff::predict {

cv::Mat renderMaskOverlay(const cv::Mat& rgb, const cv::Mat& mask, const Prompt& prompt, const cv::Scalar& color,
                          double alpha)
{
    if (rgb.type() != CV_8UC3 || mask.size() != rgb.size())
        throw Error("overlay needs an RGB8 image and a mask of the same size");
    cv::Mat out = rgb.clone();
    const cv::Mat inside = mask != 0;
    cv::Mat tint(rgb.size(), CV_8UC3, color);
    cv::Mat blended;
    cv::addWeighted(rgb, 1.0 - alpha, tint, alpha, 0.0, blended);
    blended.copyTo(out, inside);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(inside.clone(), contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    const int thickness = std::max(1, std::min(rgb.cols, rgb.rows) / 300);
    cv::drawContours(out, contours, -1, color, thickness);
    const int radius = std::max(3, std::min(rgb.cols, rgb.rows) / 80);
    for (const auto& p : prompt.points) {
        const cv::Point centre(static_cast<int>(p.x), static_cast<int>(p.y));
        cv::circle(out, centre, radius, p.label == 1 ? cv::Scalar(40, 220, 40) : cv::Scalar(230, 40, 40), cv::FILLED);
        cv::circle(out, centre, radius, cv::Scalar(255, 255, 255), std::max(1, radius / 3));
    }
    if (prompt.box)
        cv::rectangle(out, cv::Point(static_cast<int>(prompt.box->x0), static_cast<int>(prompt.box->y0)),
                      cv::Point(static_cast<int>(prompt.box->x1), static_cast<int>(prompt.box->y1)),
                      cv::Scalar(40, 220, 40), thickness + 1);
    return out;
}

cv::Mat sideBySide(const cv::Mat& left, const std::string& leftTitle, const cv::Mat& right, const std::string& rightTitle)
{
    const int gap = 8;
    const int titleHeight = 32;
    const int height = std::max(left.rows, right.rows) + titleHeight;
    cv::Mat canvas(height, left.cols + gap + right.cols, CV_8UC3, cv::Scalar(255, 255, 255));
    left.copyTo(canvas(cv::Rect(0, titleHeight, left.cols, left.rows)));
    right.copyTo(canvas(cv::Rect(left.cols + gap, titleHeight, right.cols, right.rows)));
    const double scale = 0.6;
    cv::putText(canvas, leftTitle, {6, titleHeight - 10}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(0, 0, 0), 1,
                cv::LINE_AA);
    cv::putText(canvas, rightTitle, {left.cols + gap + 6, titleHeight - 10}, cv::FONT_HERSHEY_SIMPLEX, scale,
                cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    return canvas;
}

void writeRgbPng(const std::filesystem::path& path, const cv::Mat& rgb)
{
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<uchar> png;
    if (!cv::imencode(".png", bgr, png))
        throw Error("cannot encode PNG for " + path.string());
    writeFileAtomically(path, [&](AtomicFileWriter& out) { out.write(png.data(), png.size()); });
}

}  // namespace birkhoff::predict
