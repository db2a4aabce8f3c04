// COCO RLE masks bit-compatible with pycocotools (see rle.h for the conventions).
#include "core/eval/rle.h"

#include "core/util/error.h"

#include <opencv2/core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace birkhoff::eval {

namespace {

std::string sizeText(int height, int width)
{
    return std::to_string(height) + "x" + std::to_string(width);
}

void checkSize(int height, int width)
{
    if (height < 0 || width < 0)
        throw Error("invalid mask size " + sizeText(height, width));
}

void checkSum(std::uint64_t sum, int height, int width, const char* what)
{
    const std::uint64_t expected = static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(width);
    if (sum != expected)
        throw Error(std::string(what) + " sum to " + std::to_string(sum) + " pixels, but a "
                    + sizeText(height, width) + " mask has " + std::to_string(expected));
}

/// Appends the canonical runs of the column-major foreground flags in `columnMajor`.
std::vector<std::uint32_t> runsOf(const std::uint8_t* columnMajor, std::size_t n)
{
    std::vector<std::uint32_t> counts;
    bool current = false;
    std::uint32_t run = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const bool on = columnMajor[i] != 0;
        if (on != current) {
            counts.push_back(run);
            run = 0;
            current = on;
        }
        ++run;
    }
    counts.push_back(run);
    return counts;
}

/// The mask as a width x height matrix (column-major pixel order in memory), values 0/1.
cv::Mat decodeTransposed(const Rle& rle)
{
    cv::Mat t(rle.width, rle.height, CV_8UC1);
    std::uint8_t* out = t.ptr<std::uint8_t>();
    const std::size_t total = t.total();
    std::size_t pos = 0;
    std::uint8_t value = 0;
    for (const std::uint32_t run : rle.counts) {
        if (run > total - pos)
            checkSum(pos + static_cast<std::uint64_t>(run), rle.height, rle.width, "RLE counts");
        std::fill(out + pos, out + pos + run, value);
        pos += run;
        value = value ? 0 : 1;
    }
    checkSum(pos, rle.height, rle.width, "RLE counts");
    return t;
}

}  // namespace

Rle encodeRle(const cv::Mat& mask)
{
    if (mask.empty() || mask.channels() != 1 || (mask.depth() != CV_8U && mask.depth() != CV_8S))
        throw Error("encodeRle: expected a non-empty single-channel 8-bit mask");
    cv::Mat transposed;
    cv::transpose(mask, transposed);  // rows of `transposed` are the columns of `mask`
    if (!transposed.isContinuous())
        transposed = transposed.clone();
    Rle rle;
    rle.height = mask.rows;
    rle.width = mask.cols;
    rle.counts = runsOf(transposed.ptr<std::uint8_t>(), transposed.total());
    return rle;
}

cv::Mat decodeRle(const Rle& rle)
{
    checkSize(rle.height, rle.width);
    if (rle.height == 0 || rle.width == 0) {
        checkSum(0, rle.height, rle.width, "RLE counts");
        return cv::Mat(rle.height, rle.width, CV_8UC1);
    }
    cv::Mat mask;
    cv::transpose(decodeTransposed(rle), mask);
    return mask;
}

std::string rleToString(const Rle& rle)
{
    std::string s;
    s.reserve(rle.counts.size() * 2);
    for (std::size_t i = 0; i < rle.counts.size(); ++i) {
        std::int64_t value = rle.counts[i];
        if (i > 2)
            value -= static_cast<std::int64_t>(rle.counts[i - 2]);
        // Little-endian groups of 5 bits; bit 0x20 marks "more groups follow"; the last group's
        // bit 0x10 is the sign. Arithmetic shift keeps negative values terminating at -1.
        bool more = true;
        while (more) {
            int group = static_cast<int>(value & 0x1f);
            value >>= 5;
            more = (group & 0x10) ? value != -1 : value != 0;
            if (more)
                group |= 0x20;
            s.push_back(static_cast<char>(group + 48));
        }
    }
    return s;
}

Rle rleFromString(const std::string& counts, int height, int width)
{
    checkSize(height, width);
    Rle rle;
    rle.height = height;
    rle.width = width;
    std::size_t p = 0;
    while (p < counts.size()) {
        const std::size_t start = p;
        std::int64_t value = 0;
        int shift = 0;
        bool more = true;
        while (more) {
            if (p >= counts.size())
                throw Error("RLE counts string ends inside a value (at character " + std::to_string(start) + ")");
            const int c = static_cast<unsigned char>(counts[p]) - 48;
            if (c < 0 || c > 63)
                throw Error("RLE counts string has an invalid character '" + std::string(1, counts[p])
                            + "' at position " + std::to_string(p));
            if (shift > 55)
                throw Error("RLE counts string has an overlong value at position " + std::to_string(start));
            value |= static_cast<std::int64_t>(c & 0x1f) << shift;
            more = (c & 0x20) != 0;
            ++p;
            shift += 5;
            if (!more && (c & 0x10))
                value |= -(static_cast<std::int64_t>(1) << shift);  // sign-extend
        }
        if (rle.counts.size() > 2)
            value += rle.counts[rle.counts.size() - 2];
        if (value < 0 || value > 0xffffffffLL)
            throw Error("RLE counts string decodes to an invalid run length " + std::to_string(value)
                        + " at position " + std::to_string(start));
        rle.counts.push_back(static_cast<std::uint32_t>(value));
    }
    std::uint64_t sum = 0;
    for (const auto c : rle.counts)
        sum += c;
    checkSum(sum, height, width, "RLE counts");
    return rle;
}

Rle rleFromCounts(const std::vector<std::int64_t>& counts, int height, int width)
{
    checkSize(height, width);
    Rle rle;
    rle.height = height;
    rle.width = width;
    rle.counts.reserve(counts.size());
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] < 0 || counts[i] > 0xffffffffLL)
            throw Error("RLE count #" + std::to_string(i) + " is invalid: " + std::to_string(counts[i]));
        rle.counts.push_back(static_cast<std::uint32_t>(counts[i]));
        sum += static_cast<std::uint64_t>(counts[i]);
    }
    checkSum(sum, height, width, "RLE counts");
    return rle;
}

Rle rleFromPolygon(const std::vector<double>& xy, int height, int width)
{
    checkSize(height, width);
    if (xy.size() % 2 != 0)
        throw Error("polygon has an odd number of coordinates (" + std::to_string(xy.size()) + ")");
    for (const double v : xy)
        if (!std::isfinite(v))
            throw Error("polygon has a non-finite coordinate");
    const std::uint32_t total = static_cast<std::uint32_t>(static_cast<std::uint64_t>(height) * width);
    const std::size_t vertices = xy.size() / 2;
    if (vertices < 3)
        return Rle{height, width, {total}};

    // 1. Vertices on a 5x finer grid, rounded as C's (int)(5 * v + 0.5) (truncation), closed.
    constexpr double kScale = 5.0;
    std::vector<int> vx(vertices + 1), vy(vertices + 1);
    for (std::size_t j = 0; j < vertices; ++j) {
        vx[j] = static_cast<int>(kScale * xy[2 * j] + 0.5);
        vy[j] = static_cast<int>(kScale * xy[2 * j + 1] + 0.5);
    }
    vx[vertices] = vx[0];
    vy[vertices] = vy[0];

    // 2. Every fine-grid point along each edge, stepping along the edge's major axis from its
    //    lower end and rounding the minor coordinate (truncating v + 0.5), in edge order.
    std::vector<int> px, py;
    for (std::size_t j = 0; j < vertices; ++j) {
        int x0 = vx[j], x1 = vx[j + 1], y0 = vy[j], y1 = vy[j + 1];
        const int dx = std::abs(x1 - x0);
        const int dy = std::abs(y1 - y0);
        const bool alongX = dx >= dy;
        const bool reversed = (alongX && x0 > x1) || (!alongX && y0 > y1);
        if (reversed) {
            std::swap(x0, x1);
            std::swap(y0, y1);
        }
        if (alongX) {
            const double slope = dx == 0 ? 0.0 : static_cast<double>(y1 - y0) / dx;
            for (int d = 0; d <= dx; ++d) {
                const int t = reversed ? dx - d : d;
                px.push_back(t + x0);
                py.push_back(static_cast<int>(y0 + slope * t + 0.5));
            }
        } else {
            const double slope = static_cast<double>(x1 - x0) / dy;
            for (int d = 0; d <= dy; ++d) {
                const int t = reversed ? dy - d : d;
                py.push_back(t + y0);
                px.push_back(static_cast<int>(x0 + slope * t + 0.5));
            }
        }
    }

    // 3. Where the traced boundary moves to another fine column that is a pixel centre column,
    //    the pixel (column, first row at or below the boundary) toggles; collect those toggles
    //    as column-major pixel indices.
    std::vector<std::uint32_t> toggles;
    for (std::size_t j = 1; j < px.size(); ++j) {
        if (px[j] == px[j - 1])
            continue;
        double column = px[j] < px[j - 1] ? px[j] : px[j] - 1;
        column = (column + 0.5) / kScale - 0.5;
        if (std::floor(column) != column || column < 0 || column > width - 1)
            continue;
        double row = std::min(py[j], py[j - 1]);
        row = (row + 0.5) / kScale - 0.5;
        row = std::ceil(std::clamp(row, 0.0, static_cast<double>(height)));
        toggles.push_back(static_cast<std::uint32_t>(static_cast<int>(column) * height + static_cast<int>(row)));
    }
    toggles.push_back(total);
    std::sort(toggles.begin(), toggles.end());

    // 4. Toggle positions -> run lengths; a zero-length run joins its two neighbours.
    std::vector<std::uint32_t> runs(toggles.size());
    std::uint32_t previous = 0;
    for (std::size_t j = 0; j < toggles.size(); ++j) {
        runs[j] = toggles[j] - previous;
        previous = toggles[j];
    }
    Rle rle;
    rle.height = height;
    rle.width = width;
    rle.counts.push_back(runs[0]);
    for (std::size_t j = 1; j < runs.size();) {
        if (runs[j] > 0) {
            rle.counts.push_back(runs[j++]);
        } else {
            ++j;
            if (j < runs.size())
                rle.counts.back() += runs[j++];
        }
    }
    return rle;
}

Rle rleMerge(const std::vector<Rle>& rles, bool intersect)
{
    if (rles.empty())
        throw Error("rleMerge: no masks to merge");
    if (rles.size() == 1)
        return rles.front();
    const int h = rles.front().height;
    const int w = rles.front().width;
    cv::Mat acc = decodeTransposed(rles.front());
    for (std::size_t i = 1; i < rles.size(); ++i) {
        if (rles[i].height != h || rles[i].width != w)
            throw Error("rleMerge: masks of different sizes (" + sizeText(h, w) + " and "
                        + sizeText(rles[i].height, rles[i].width) + ")");
        const cv::Mat next = decodeTransposed(rles[i]);
        if (intersect)
            cv::bitwise_and(acc, next, acc);
        else
            cv::bitwise_or(acc, next, acc);
    }
    Rle rle;
    rle.height = h;
    rle.width = w;
    rle.counts = runsOf(acc.ptr<std::uint8_t>(), acc.total());
    return rle;
}

std::uint64_t rleArea(const Rle& rle)
{
    std::uint64_t area = 0;
    for (std::size_t j = 1; j < rle.counts.size(); j += 2)
        area += rle.counts[j];
    return area;
}

std::array<double, 4> rleBbox(const Rle& rle)
{
    if (rle.height <= 0 || rle.width <= 0)
        return {0, 0, 0, 0};
    const std::uint64_t h = static_cast<std::uint64_t>(rle.height);
    std::uint64_t xMin = ~0ULL, xMax = 0, yMin = ~0ULL, yMax = 0;
    bool any = false;
    std::uint64_t pos = 0;
    for (std::size_t j = 0; j < rle.counts.size(); ++j) {
        const std::uint64_t start = pos;
        pos += rle.counts[j];
        if (j % 2 == 0 || rle.counts[j] == 0)
            continue;
        any = true;
        const std::uint64_t last = pos - 1;
        const std::uint64_t x0 = start / h, x1 = last / h;
        xMin = std::min(xMin, x0);
        xMax = std::max(xMax, x1);
        if (x0 != x1) {  // the run wraps into the next column: every row is covered
            yMin = 0;
            yMax = h - 1;
        } else {
            yMin = std::min(yMin, start % h);
            yMax = std::max(yMax, last % h);
        }
    }
    if (!any)
        return {0, 0, 0, 0};
    return {static_cast<double>(xMin), static_cast<double>(yMin), static_cast<double>(xMax - xMin + 1),
            static_cast<double>(yMax - yMin + 1)};
}

MaskOverlap maskOverlap(const cv::Mat& a, const cv::Mat& b)
{
    if (a.size() != b.size() || a.type() != CV_8UC1 || b.type() != CV_8UC1)
        throw Error("maskOverlap: masks must be CV_8UC1 of the same size (got " + sizeText(a.rows, a.cols)
                    + " and " + sizeText(b.rows, b.cols) + ")");
    MaskOverlap overlap;
    for (int y = 0; y < a.rows; ++y) {
        const std::uint8_t* pa = a.ptr<std::uint8_t>(y);
        const std::uint8_t* pb = b.ptr<std::uint8_t>(y);
        std::uint64_t inter = 0, uni = 0;
        for (int x = 0; x < a.cols; ++x) {
            const bool ia = pa[x] != 0, ib = pb[x] != 0;
            inter += static_cast<std::uint64_t>(ia && ib);
            uni += static_cast<std::uint64_t>(ia || ib);
        }
        overlap.intersection += inter;
        overlap.unionArea += uni;
    }
    return overlap;
}

std::uint64_t maskArea(const cv::Mat& mask)
{
    return mask.empty() ? 0 : static_cast<std::uint64_t>(cv::countNonZero(mask));
}

}  // namespace birkhoff::eval
