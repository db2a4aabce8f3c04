// COCO RLE masks: encode/decode round trips, the compressed string, polygon rasterisation and
// merges against outputs of pycocotools (vectors published by a project that tests itself against
// pycocotools: github.com/twsl/pytorchcocotools tests/mask), bbox, IoU, and the mask centre
// against a brute-force distance transform.
#include "core/eval/prompts.h"
#include "core/eval/rle.h"
#include "core/util/error.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <opencv2/core.hpp>

#include <random>

using namespace birkhoff::eval;

namespace {

/// 25x25 mask with rows and columns [lo, hi) set, as pytorchcocotools' merge cases build them.
cv::Mat square25(int lo, int hi)
{
    cv::Mat m(25, 25, CV_8UC1, cv::Scalar(0));
    m(cv::Range(lo, hi), cv::Range(lo, hi)).setTo(1);
    return m;
}

cv::Mat randomBlobs(std::mt19937& rng, int h, int w, int blobs)
{
    cv::Mat m(h, w, CV_8UC1, cv::Scalar(0));
    std::uniform_int_distribution<int> px(0, w - 1), py(0, h - 1), size(1, std::max(2, std::min(h, w) / 2));
    for (int b = 0; b < blobs; ++b) {
        const int x = px(rng), y = py(rng);
        const cv::Rect r = cv::Rect(x, y, size(rng), size(rng)) & cv::Rect(0, 0, w, h);
        m(r).setTo(b % 3 == 2 ? 0 : 1);
    }
    return m;
}

bool sameMask(const cv::Mat& a, const cv::Mat& b)
{
    return a.size() == b.size() && cv::countNonZero(a != b) == 0;
}

/// Brute force: min over background pixels (incl. a one-pixel frame outside) of the squared distance.
std::int64_t bruteSquaredDistance(const cv::Mat& m, int x, int y)
{
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    for (int by = -1; by <= m.rows; ++by)
        for (int bx = -1; bx <= m.cols; ++bx) {
            const bool inside = by >= 0 && by < m.rows && bx >= 0 && bx < m.cols;
            if (inside && m.at<std::uint8_t>(by, bx))
                continue;
            const std::int64_t dx = bx - x, dy = by - y;
            best = std::min(best, dx * dx + dy * dy);
        }
    return best;
}

}  // namespace

class TestRle : public QObject {
    Q_OBJECT
private slots:
    void encodeDecodeRoundTrip()
    {
        std::mt19937 rng(7);
        for (int i = 0; i < 60; ++i) {
            const int h = 1 + static_cast<int>(rng() % 40), w = 1 + static_cast<int>(rng() % 40);
            const cv::Mat m = randomBlobs(rng, h, w, 1 + static_cast<int>(rng() % 6));
            const Rle rle = encodeRle(m);
            QCOMPARE(rle.height, h);
            QCOMPARE(rle.width, w);
            QVERIFY(sameMask(decodeRle(rle), m));
            QCOMPARE(rleArea(rle), static_cast<std::uint64_t>(cv::countNonZero(m)));
            // canonical: only the first run may be empty
            for (std::size_t k = 1; k < rle.counts.size(); ++k)
                QVERIFY(rle.counts[k] > 0);
            QCOMPARE(rleFromString(rleToString(rle), h, w), rle);
        }
    }

    void encodeIsColumnMajor()
    {
        cv::Mat m(2, 3, CV_8UC1, cv::Scalar(0));
        m.at<std::uint8_t>(0, 1) = 1;  // row 0, column 1: column-major index 2
        const Rle rle = encodeRle(m);
        QCOMPARE(rle.counts, (std::vector<std::uint32_t>{2, 1, 3}));
        cv::Mat full(4, 4, CV_8UC1, cv::Scalar(5));
        QCOMPARE(encodeRle(full).counts, (std::vector<std::uint32_t>{0, 16}));
    }

    void pycocotoolsMergeVectors_data()
    {
        QTest::addColumn<int>("lo1");
        QTest::addColumn<int>("hi1");
        QTest::addColumn<int>("lo2");
        QTest::addColumn<int>("hi2");
        QTest::addColumn<bool>("intersect");
        QTest::addColumn<QString>("counts");
        QTest::newRow("start") << 0 << 5 << 0 << 5 << false << QStringLiteral("05d00000000d?");
        QTest::newRow("center") << 5 << 10 << 5 << 10 << false << QStringLiteral("R45d00000000b;");
        QTest::newRow("end") << 20 << 25 << 20 << 25 << false << QStringLiteral("X`05d00000000");
        QTest::newRow("full") << 0 << 25 << 0 << 25 << false << QStringLiteral("0ac0");
        QTest::newRow("disjoint") << 5 << 10 << 10 << 15 << false << QStringLiteral("R45d0000000050K0000000`7");
        QTest::newRow("partial") << 5 << 10 << 5 << 15 << false << QStringLiteral("R4:?00000000000000000e7");
        QTest::newRow("overlap") << 5 << 10 << 8 << 13 << false << QStringLiteral("R45d000003M03M0000T9");
        QTest::newRow("disjoint-and") << 5 << 10 << 10 << 15 << true << QStringLiteral("ac0");
        QTest::newRow("partial-and") << 5 << 10 << 5 << 15 << true << QStringLiteral("R45d00000000b;");
        QTest::newRow("overlap-and") << 5 << 10 << 8 << 13 << true << QStringLiteral("`62g00_;");
    }
    void pycocotoolsMergeVectors()
    {
        QFETCH(int, lo1);
        QFETCH(int, hi1);
        QFETCH(int, lo2);
        QFETCH(int, hi2);
        QFETCH(bool, intersect);
        QFETCH(QString, counts);
        const Rle merged = rleMerge({encodeRle(square25(lo1, hi1)), encodeRle(square25(lo2, hi2))}, intersect);
        QCOMPARE(QString::fromStdString(rleToString(merged)), counts);
    }

    void uncompressedCountsVector()
    {
        const Rle rle = rleFromCounts({130, 5, 20, 5, 20, 5, 20, 5, 20, 5, 390}, 25, 25);
        QCOMPARE(QString::fromStdString(rleToString(rle)), QStringLiteral("R45d00000000b;"));
        QCOMPARE(rleArea(rle), std::uint64_t{25});
        const auto box = rleBbox(rle);
        QCOMPARE(box, (std::array<double, 4>{5, 5, 5, 5}));
    }

    void polygonVectors()
    {
        // pycocotools frBbox([10, 10, 10, 10]) rasterises this polygon.
        const Rle box = rleFromPolygon({10, 10, 10, 20, 20, 20, 20, 10}, 25, 25);
        QCOMPARE(QString::fromStdString(rleToString(box)), QStringLiteral("T8:?00000000000000000c3"));
        QCOMPARE(rleArea(box), std::uint64_t{100});
        QCOMPARE(rleBbox(box), (std::array<double, 4>{10, 10, 10, 10}));
        const Rle poly = rleFromPolygon({10, 10, 20, 10, 20, 20, 21, 21, 10, 20}, 25, 25);
        QCOMPARE(QString::fromStdString(rleToString(poly)), QStringLiteral("T8:?00000000001O00000:F`2"));
    }

    void polygonCocoAnnotationVectors()
    {
        // COCO val2017 annotation 2096753 (two polygons on the 427x640 image 397133) and
        // pycocotools' frPyObjects of each polygon and annToRLE of the annotation (their union).
        const std::vector<double> first = {266.83, 189.37, 267.79, 175.29, 269.46, 170.04, 271.37, 165.98, 270.89,
                                           163.12, 269.69, 159.54, 272.8,  156.44, 287.36, 156.44, 293.33, 157.87,
                                           296.91, 160.49, 296.91, 161.21, 291.89, 161.92, 289.98, 165.03, 291.42,
                                           169.56, 286.16, 196.54};
        const std::vector<double> second = {266.35, 214.44, 270.41, 217.3,  276.38, 218.97, 282.11,
                                            218.97, 285.93, 217.3,  286.88, 207.28, 267.07, 201.07};
        const Rle a = rleFromPolygon(first, 427, 640);
        const Rle b = rleFromPolygon(second, 427, 640);
        QCOMPARE(QString::fromStdString(rleToString(a)),
                 QStringLiteral("\\`_3;j<6M3E_OjCd0T<:O1O2O001O00001O00001O001O0000O1K6J5J6A^C0g<N=O001O0O2Omk^4"));
        QCOMPARE(QString::fromStdString(rleToString(b)),
                 QStringLiteral("RT_32n<<O100O0010O000010O0001O00001O000O101O0ISPc4"));
        QCOMPARE(QString::fromStdString(rleToString(rleMerge({a, b}))),
                 QStringLiteral("RT_32X<9SD3f;3ZDNb;5_DKU;DeDd05HU;b0kD_OS;b0nD]OQ;e0nD[OR;e0nD[OR;f0nDZOQ;f0oDZOQ;"
                                "f0oDZOQ;g0oDXOQ;h0oDXOQ;h0oDXOQ;i0oDVOQ;j0oDVOQ;k0nDTOS;l0mDTOS;l0nDSOR;l0oDmNX;n0f0J5"
                                "J6A^C0g<N=O001O0O2Omk^4"));
        // The same first polygon with two vertices moved (269.69 -> 269.12, 286.16 -> 285.16).
        std::vector<double> moved = first;
        moved[10] = 269.12;
        moved[28] = 285.16;
        QCOMPARE(QString::fromStdString(rleToString(rleFromPolygon(moved, 427, 640))),
                 QStringLiteral("\\`_3;j<6B@nCc0Q<@kCc0S<;01N10001O001O00001O001O0000O1L4K6K4L4B]COh<O<O001O0O2Omk^4"));
    }

    void polygonEdgeCases()
    {
        // Fewer than three vertices enclose nothing; a polygon outside the image is clipped away.
        QCOMPARE(rleArea(rleFromPolygon({1, 1, 5, 5}, 10, 10)), std::uint64_t{0});
        QCOMPARE(rleArea(rleFromPolygon({}, 10, 10)), std::uint64_t{0});
        QCOMPARE(rleArea(rleFromPolygon({-50, -50, -40, -50, -40, -40}, 10, 10)), std::uint64_t{0});
        // A box larger than the image covers it entirely.
        QCOMPARE(rleArea(rleFromPolygon({-5, -5, -5, 20, 20, 20, 20, -5}, 10, 10)), std::uint64_t{100});
        // Repeated vertices change nothing.
        QCOMPARE(rleFromPolygon({2, 2, 2, 2, 2, 7, 7, 7, 7, 2}, 10, 10), rleFromPolygon({2, 2, 2, 7, 7, 7, 7, 2}, 10, 10));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromPolygon({1, 2, 3}, 10, 10));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromPolygon({1, 2, 3, 4, NAN, 6}, 10, 10));
    }

    void malformedStringsAreErrors()
    {
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromString("R45d00000000b;", 25, 24));  // wrong sum
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromString("R45d0 000000b;", 25, 25));  // bad character
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromString("R45d00000000b", 25, 25));   // ends mid-value
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromString("R4O", 25, 25));            // negative run
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleFromCounts({10, -1, 16}, 5, 5));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, decodeRle(Rle{5, 5, {3, 30}}));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, rleMerge({Rle{2, 2, {4}}, Rle{2, 3, {6}}}));
        try {
            rleFromString("R45d0~", 25, 25);
            QFAIL("no error");
        } catch (const birkhoff::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("position 5")), e.what());
        }
    }

    void bboxOfRunWrappingColumns()
    {
        // 4x3 mask: foreground run from (x=0, y=3) into (x=1, y=0): full height, columns 0..1.
        const Rle rle{4, 3, {3, 2, 7}};
        QCOMPARE(rleBbox(rle), (std::array<double, 4>{0, 0, 2, 4}));
        QCOMPARE(rleBbox(Rle{4, 3, {12}}), (std::array<double, 4>{0, 0, 0, 0}));
    }

    void overlapAndIou()
    {
        const cv::Mat a = square25(5, 10), b = square25(8, 13);
        const MaskOverlap o = maskOverlap(a, b);
        QCOMPARE(o.intersection, std::uint64_t{4});
        QCOMPARE(o.unionArea, std::uint64_t{46});
        QCOMPARE(o.iou(), 4.0 / 46.0);
        const cv::Mat empty(25, 25, CV_8UC1, cv::Scalar(0));
        QCOMPARE(maskOverlap(empty, empty).iou(), 1.0);
        QCOMPARE(maskOverlap(a, empty).iou(), 0.0);
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, maskOverlap(a, cv::Mat(24, 25, CV_8UC1)));
    }

    void boxFromBboxIsExclusiveEnd()
    {
        QCOMPARE(boxFromBbox({282, 207, 48, 149}), (std::array<double, 4>{282, 207, 330, 356}));
    }

    void centerOfKnownMasks()
    {
        // 5x7 rectangle at x 2..8, y 1..5 in a 10x12 image: distance 3 at its middle row.
        cv::Mat m(10, 12, CV_8UC1, cv::Scalar(0));
        m(cv::Rect(2, 1, 7, 5)).setTo(1);
        MaskCenter c = maskCenter(m);
        QCOMPARE(c.y, 3);
        QCOMPARE(c.x, 4);  // x 4, 5, 6 all at distance 3: the smallest x wins
        QCOMPARE(c.squaredDistance, std::int64_t{9});
        QCOMPARE(c.ties, std::int64_t{3});
        // The image border counts as background: a full image's centre is its middle.
        cv::Mat full(5, 5, CV_8UC1, cv::Scalar(1));
        c = maskCenter(full);
        QCOMPARE(c.x, 2);
        QCOMPARE(c.y, 2);
        QCOMPARE(c.squaredDistance, std::int64_t{9});
        QCOMPARE(c.ties, std::int64_t{1});
        // A single pixel.
        cv::Mat one(4, 4, CV_8UC1, cv::Scalar(0));
        one.at<std::uint8_t>(0, 3) = 1;
        c = maskCenter(one);
        QCOMPARE(c.x, 3);
        QCOMPARE(c.y, 0);
        QCOMPARE(c.squaredDistance, std::int64_t{1});
        QVERIFY(!maskCenter(cv::Mat(4, 4, CV_8UC1, cv::Scalar(0))).valid());
    }

    void distanceTransformIsExact()
    {
        std::mt19937 rng(11);
        for (int i = 0; i < 25; ++i) {
            const int h = 1 + static_cast<int>(rng() % 23), w = 1 + static_cast<int>(rng() % 23);
            const cv::Mat m = randomBlobs(rng, h, w, 1 + static_cast<int>(rng() % 5));
            const cv::Mat d = squaredDistanceToBackground(m);
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) {
                    const std::int64_t expected = m.at<std::uint8_t>(y, x) ? bruteSquaredDistance(m, x, y) : 0;
                    QCOMPARE(static_cast<std::int64_t>(d.at<double>(y, x)), expected);
                }
        }
    }

    void promptAndRuleNames()
    {
        for (const auto k : {PromptKind::Box, PromptKind::CenterPoint, PromptKind::BoxAndPoint})
            QVERIFY(parsePromptKind(promptName(k)) == k);
        for (const auto r : {MaskRule::Single, MaskRule::Best, MaskRule::Auto})
            QVERIFY(parseMaskRule(maskRuleName(r)) == r);
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, parsePromptKind("boxes"));
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, parseMaskRule("first"));
        QVERIFY(effectiveMaskRule(MaskRule::Auto, PromptKind::Box) == MaskRule::Best);
        QVERIFY(effectiveMaskRule(MaskRule::Auto, PromptKind::CenterPoint) == MaskRule::Best);
        QVERIFY(effectiveMaskRule(MaskRule::Auto, PromptKind::BoxAndPoint) == MaskRule::Single);
        QVERIFY(defaultMaskRule(PromptKind::Box) == MaskRule::Single);
        QVERIFY(defaultMaskRule(PromptKind::CenterPoint) == MaskRule::Best);
        for (const auto k : {PromptKind::Box, PromptKind::CenterPoint, PromptKind::BoxAndPoint})
            QVERIFY(defaultMaskRule(k, true) == MaskRule::Single);
    }
};

BIRKHOFF_REGISTER_TEST(TestRle);
#include "test_rle.moc"
