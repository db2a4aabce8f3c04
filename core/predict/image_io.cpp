// Image reading/conversion to RGB8, Pillow-exact bilinear resize, mask PNG I/O and mask IoU.
#include "core/predict/image_io.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <vector>

namespace birkhoff::predict {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

/// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter.
struct ResampleCoefficients {
    int taps = 0;                   ///< coefficients per output pixel (ksize)
    std::vector<int> first;         ///< first input index per output pixel
    std::vector<int> count;         ///< used input pixels per output pixel
    std::vector<std::int32_t> kk;   ///< outSize * taps fixed-point weights
};

double triangle(double x)
{
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

ResampleCoefficients precompute(int inSize, int outSize)
{
    constexpr double kSupport = 1.0;
    const double scale = static_cast<double>(inSize) / outSize;
    const double filterScale = scale < 1.0 ? 1.0 : scale;
    const double support = kSupport * filterScale;
    ResampleCoefficients c;
    c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(static_cast<std::size_t>(outSize));
    c.count.resize(static_cast<std::size_t>(outSize));
    c.kk.assign(static_cast<std::size_t>(outSize) * static_cast<std::size_t>(c.taps), 0);
    std::vector<double> weights(static_cast<std::size_t>(c.taps));
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = (xx + 0.5) * scale;
        const double ss = 1.0 / filterScale;
        int xmin = static_cast<int>(center - support + 0.5);
        if (xmin < 0)
            xmin = 0;
        int xmax = static_cast<int>(center + support + 0.5);
        if (xmax > inSize)
            xmax = inSize;
        xmax -= xmin;
        double total = 0.0;
        for (int x = 0; x < xmax; ++x) {
            const double w = triangle((x + xmin - center + 0.5) * ss);
            weights[static_cast<std::size_t>(x)] = w;
            total += w;
        }
        for (int x = 0; x < xmax; ++x) {
            double w = weights[static_cast<std::size_t>(x)];
            if (total != 0.0)
                w /= total;
            c.kk[static_cast<std::size_t>(xx) * c.taps + x] =
                w < 0 ? static_cast<std::int32_t>(-0.5 + w * (1 << kPrecisionBits))
                      : static_cast<std::int32_t>(0.5 + w * (1 << kPrecisionBits));
        }
        c.first[static_cast<std::size_t>(xx)] = xmin;
        c.count[static_cast<std::size_t>(xx)] = xmax;
    }
    return c;
}

inline std::uint8_t clip8(std::int32_t v)
{
    const std::int32_t shifted = v >> kPrecisionBits;
    return static_cast<std::uint8_t>(shifted < 0 ? 0 : shifted > 255 ? 255 : shifted);
}

cv::Mat resampleHorizontal(const cv::Mat& in, int outWidth)
{
    const int channels = in.channels();
    const ResampleCoefficients c = precompute(in.cols, outWidth);
    cv::Mat out(in.rows, outWidth, in.type());
#pragma omp parallel for schedule(static)
    for (int y = 0; y < in.rows; ++y) {
        const std::uint8_t* src = in.ptr<std::uint8_t>(y);
        std::uint8_t* dst = out.ptr<std::uint8_t>(y);
        for (int xx = 0; xx < outWidth; ++xx) {
            const std::int32_t* k = &c.kk[static_cast<std::size_t>(xx) * c.taps];
            const int xmin = c.first[static_cast<std::size_t>(xx)];
            const int n = c.count[static_cast<std::size_t>(xx)];
            for (int ch = 0; ch < channels; ++ch) {
                std::int32_t sum = 1 << (kPrecisionBits - 1);
                for (int x = 0; x < n; ++x)
                    sum += static_cast<std::int32_t>(src[(x + xmin) * channels + ch]) * k[x];
                dst[xx * channels + ch] = clip8(sum);
            }
        }
    }
    return out;
}

cv::Mat resampleVertical(const cv::Mat& in, int outHeight)
{
    const int rowBytes = in.cols * in.channels();
    const ResampleCoefficients c = precompute(in.rows, outHeight);
    cv::Mat out(outHeight, in.cols, in.type());
#pragma omp parallel for schedule(static)
    for (int yy = 0; yy < outHeight; ++yy) {
        const std::int32_t* k = &c.kk[static_cast<std::size_t>(yy) * c.taps];
        const int ymin = c.first[static_cast<std::size_t>(yy)];
        const int n = c.count[static_cast<std::size_t>(yy)];
        std::uint8_t* dst = out.ptr<std::uint8_t>(yy);
        for (int i = 0; i < rowBytes; ++i) {
            std::int32_t sum = 1 << (kPrecisionBits - 1);
            for (int y = 0; y < n; ++y)
                sum += static_cast<std::int32_t>(in.ptr<std::uint8_t>(ymin + y)[i]) * k[y];
            dst[i] = clip8(sum);
        }
    }
    return out;
}

}  // namespace

cv::Mat toRgb8(const cv::Mat& image)
{
    if (image.empty())
        throw Error("empty image");
    cv::Mat eight;
    switch (image.depth()) {
    case CV_8U: eight = image; break;
    case CV_16U: image.convertTo(eight, CV_8U, 1.0 / 257.0); break;
    case CV_32F: image.convertTo(eight, CV_8U, 255.0); break;
    default:
        throw Error("unsupported image depth (OpenCV type " + std::to_string(image.type()) +
                    "); expected 8-bit, 16-bit or float");
    }
    cv::Mat rgb;
    switch (eight.channels()) {
    case 1: cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: rgb = eight.clone(); break;
    case 4: cv::cvtColor(eight, rgb, cv::COLOR_RGBA2RGB); break;
    default: throw Error("unsupported image with " + std::to_string(eight.channels()) + " channels");
    }
    return rgb;
}

std::optional<cv::Size> imageDimensions(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::array<unsigned char, 32> head{};
    if (!in.read(reinterpret_cast<char*>(head.data()), head.size()) && in.gcount() < 26)
        return std::nullopt;
    const auto be16 = [&](std::size_t at) { return (std::uint32_t(head[at]) << 8) | head[at + 1]; };
    const auto be32 = [&](std::size_t at) { return (be16(at) << 16) | be16(at + 2); };
    const auto le16 = [&](std::size_t at) { return std::uint32_t(head[at]) | (std::uint32_t(head[at + 1]) << 8); };
    const auto le32 = [&](std::size_t at) { return le16(at) | (le16(at + 2) << 16); };
    const auto size = [](std::uint64_t w, std::uint64_t h) -> std::optional<cv::Size> {
        if (w == 0 || h == 0 || w > (1u << 30) || h > (1u << 30))
            return std::nullopt;
        return cv::Size(static_cast<int>(w), static_cast<int>(h));
    };
    static const unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (std::equal(kPng, kPng + 8, head.begin()))
        return size(be32(16), be32(20));  // IHDR
    if (head[0] == 'G' && head[1] == 'I' && head[2] == 'F')
        return size(le16(6), le16(8));
    if (head[0] == 'B' && head[1] == 'M') {
        const auto height = static_cast<std::int32_t>(le32(22));  // negative: top-down rows
        return size(le32(18), static_cast<std::uint64_t>(height < 0 ? -static_cast<std::int64_t>(height) : height));
    }
    if (std::equal(head.begin(), head.begin() + 4, "RIFF") && std::equal(head.begin() + 8, head.begin() + 12, "WEBP")) {
        if (std::equal(head.begin() + 12, head.begin() + 16, "VP8X"))
            return size(1 + (le32(24) & 0xffffff), 1 + ((le32(27)) & 0xffffff));
        if (std::equal(head.begin() + 12, head.begin() + 16, "VP8L") && head[20] == 0x2f) {
            const std::uint32_t bits = le32(21);
            return size(1 + (bits & 0x3fff), 1 + ((bits >> 14) & 0x3fff));
        }
        if (std::equal(head.begin() + 12, head.begin() + 16, "VP8 "))
            return size(le16(26) & 0x3fff, le16(28) & 0x3fff);
        return std::nullopt;
    }
    if (head[0] == 0xff && head[1] == 0xd8) {  // JPEG: walk the markers to the first SOFn
        in.clear();
        in.seekg(2);
        for (int markers = 0; markers < 4096; ++markers) {
            unsigned char marker[4];
            if (!in.read(reinterpret_cast<char*>(marker), 4) || marker[0] != 0xff)
                return std::nullopt;
            const unsigned type = marker[1];
            const std::uint32_t length = (std::uint32_t(marker[2]) << 8) | marker[3];
            if (length < 2)
                return std::nullopt;
            const bool sof = type >= 0xc0 && type <= 0xcf && type != 0xc4 && type != 0xc8 && type != 0xcc;
            if (sof) {
                unsigned char frame[5];
                if (!in.read(reinterpret_cast<char*>(frame), 5))
                    return std::nullopt;
                return size((std::uint32_t(frame[3]) << 8) | frame[4], (std::uint32_t(frame[1]) << 8) | frame[2]);
            }
            in.seekg(static_cast<std::streamoff>(length) - 2, std::ios::cur);
        }
    }
    return std::nullopt;
}

cv::Mat readImageRgb(const std::filesystem::path& path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw Error("image " + path.string() + " does not exist");
    if (std::filesystem::is_directory(path, ec))
        throw Error("image path " + path.string() + " is a directory");
    const auto tooLarge = [&](std::int64_t width, std::int64_t height) {
        return Error("image " + path.string() + " is " + std::to_string(width) + " x " + std::to_string(height) + " = " +
                     std::to_string((width * height + 500'000) / 1'000'000) + " megapixels, more than the " +
                     std::to_string(kMaxImagePixels / 1'000'000) +
                     " megapixels read (SAM works at 1024 pixels on the long side): downscale it first");
    };
    if (const auto dims = imageDimensions(path);
        dims && static_cast<std::int64_t>(dims->width) * dims->height > kMaxImagePixels)
        throw tooLarge(dims->width, dims->height);
    // OpenCV's own decoder limit, for the formats whose header is not read above (a user's
    // explicit OPENCV_IO_MAX_IMAGE_PIXELS wins). Set before OpenCV reads it on its first decode.
    static const bool limitSet = [] {
        setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(kMaxImagePixels).c_str(), 0);
        return true;
    }();
    (void)limitSet;
    cv::Mat decoded;
    try {
        decoded = cv::imread(path.string(), cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH);
    } catch (const cv::Exception& e) {
        throw Error("cannot decode image " + path.string() + ": " + e.what());
    }
    if (decoded.empty())
        throw Error("cannot read image " + path.string() + " (not an image format OpenCV can decode, or corrupt)");
    cv::Mat eight;
    switch (decoded.depth()) {
    case CV_8U: eight = decoded; break;
    case CV_16U: decoded.convertTo(eight, CV_8U, 1.0 / 257.0); break;
    case CV_32F: decoded.convertTo(eight, CV_8U, 255.0); break;
    default: throw Error("image " + path.string() + " has an unsupported sample type");
    }
    cv::Mat rgb;
    cv::cvtColor(eight, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

cv::Mat resizeLikePil(const cv::Mat& image, cv::Size size)
{
    if (image.depth() != CV_8U)
        throw Error("resizeLikePil needs an 8-bit image");
    if (size.width <= 0 || size.height <= 0)
        throw Error("resize target " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                    " is empty");
    const cv::Mat in = image.isContinuous() ? image : image.clone();
    cv::Mat out = in;
    if (size.width != in.cols)
        out = resampleHorizontal(out, size.width);
    if (size.height != in.rows)
        out = resampleVertical(out, size.height);
    return out.data == image.data ? image.clone() : out;
}

void writeMaskPng(const std::filesystem::path& path, const cv::Mat& mask)
{
    if (mask.empty() || mask.channels() != 1)
        throw Error("mask for " + path.string() + " must be a non-empty single-channel image");
    cv::Mat binary = mask != 0;  // 255 inside
    std::vector<uchar> png;
    if (!cv::imencode(".png", binary, png))
        throw Error("cannot encode mask PNG for " + path.string());
    writeFileAtomically(path, [&](AtomicFileWriter& out) { out.write(png.data(), png.size()); });
}

cv::Mat readMaskPng(const std::filesystem::path& path)
{
    const cv::Mat gray = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
    if (gray.empty())
        throw Error("cannot read mask " + path.string());
    cv::Mat binary;
    cv::threshold(gray, binary, 0, 1, cv::THRESH_BINARY);
    return binary;
}

double maskIou(const cv::Mat& a, const cv::Mat& b)
{
    if (a.size() != b.size())
        throw Error("mask IoU of different sizes " + std::to_string(a.cols) + "x" + std::to_string(a.rows) + " and " +
                    std::to_string(b.cols) + "x" + std::to_string(b.rows));
    const cv::Mat ma = a != 0, mb = b != 0;
    const double inter = cv::countNonZero(ma & mb);
    const double uni = cv::countNonZero(ma | mb);
    return uni == 0 ? 1.0 : inter / uni;
}

}  // namespace birkhoff::predict
