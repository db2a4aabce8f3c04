// Mask agreement and the frontier: the grid convention, percentile statistics against values
// worked out by hand, a model agreeing with itself exactly (stand-in models and the golden tiny
// SAM loaded twice), a quantized tiny SAM whose IoUs are recounted from both models' masks, two
// stand-in models that differ by a known shift compared with IoUs the
// test counts pixel by pixel, bad input (grid, folder without images, models of different
// layouts), frontier point specs, and an interrupted frontier resumed without redoing points.
#include "core/codec/baseline_quant.h"
#include "core/eval/agreement.h"
#include "core/eval/frontier.h"
#include "core/eval/sam_eval_model.h"
#include "core/io/checkpoint.h"
#include "core/models/sam_model.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace birkhoff;
using namespace birkhoff::eval;

namespace {

constexpr int kHalf = 5;  // a point's square: [x - 5, x + 5) x [y - 5, y + 5)

/// Answers a point with the 10x10 square around it and a box with the filled box, both moved
/// `shift` pixels right and clipped to the image.
class SquareModel : public PromptableModel {
public:
    explicit SquareModel(int shift) : shift_(shift) {}
    void setImage(const cv::Mat& rgb) override
    {
        size_ = rgb.size();
        ++encoded;
    }
    ModelAnswer predict(const ModelPrompt& prompt, MaskRule rule) override
    {
        ModelAnswer a;
        a.mask = cv::Mat(size_, CV_8UC1, cv::Scalar(0));
        cv::Rect r;
        if (prompt.box) {
            const auto& b = *prompt.box;
            r = cv::Rect(static_cast<int>(b[0]), static_cast<int>(b[1]), static_cast<int>(b[2] - b[0]),
                         static_cast<int>(b[3] - b[1]));
        } else {
            r = cv::Rect((*prompt.point)[0] - kHalf, (*prompt.point)[1] - kHalf, 2 * kHalf, 2 * kHalf);
        }
        r.x += shift_;
        a.mask(r & cv::Rect(cv::Point(0, 0), size_)).setTo(1);
        a.token = rule == MaskRule::Single ? 0 : 1;
        return a;
    }
    int encoded = 0;

private:
    int shift_;
    cv::Size size_;
};

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(test::scratchDir().toStdString()) / "agreement" / name;
    fs::create_directories(dir);
    return dir;
}

/// A folder with one 60x40 image (and a text file OpenCV cannot decode).
fs::path imageFolder(const std::string& name)
{
    const fs::path dir = scratch(name);
    cv::imwrite((dir / "a.png").string(), cv::Mat(40, 60, CV_8UC3, cv::Scalar(10, 200, 30)));
    std::ofstream(dir / "notes.txt") << "not an image\n";
    return dir;
}

/// IoU of two rectangles drawn on a 60x40 canvas, counted pixel by pixel.
double countedIou(cv::Rect a, cv::Rect b)
{
    const cv::Rect frame(0, 0, 60, 40);
    cv::Mat ma(40, 60, CV_8UC1, cv::Scalar(0)), mb(40, 60, CV_8UC1, cv::Scalar(0));
    ma(a & frame).setTo(1);
    mb(b & frame).setTo(1);
    const double inter = cv::countNonZero(ma & mb), uni = cv::countNonZero(ma | mb);
    return uni == 0 ? 1.0 : inter / uni;
}

}  // namespace

class TestAgreement : public QObject {
    Q_OBJECT

private slots:
    void gridFollowsTheMaskGeneratorConvention()
    {
        // (i + 0.5) / G of the width and height, snapped down to the pixel.
        const auto points = gridPoints(60, 40, 3);
        const std::vector<std::array<int, 2>> expected = {{10, 6}, {30, 6}, {50, 6}, {10, 20}, {30, 20},
                                                          {50, 20}, {10, 33}, {30, 33}, {50, 33}};
        QVERIFY(points == expected);
        QCOMPARE(gridPoints(64, 64, 64).size(), std::size_t{4096});
        QVERIFY_THROWS_EXCEPTION(Error, gridPoints(60, 40, 0));
        QVERIFY_THROWS_EXCEPTION(Error, gridPoints(60, 40, 65));
    }

    void statsMatchHandComputedValues()
    {
        // Sorted 0.2, 0.4, 0.95, 1.0: median (0.4 + 0.95) / 2; p5 at rank 0.15: 0.2 + 0.15 * 0.2.
        const AgreementStats s = agreementStats({1.0, 0.2, 0.95, 0.4});
        QCOMPARE(s.count, std::size_t{4});
        QVERIFY(std::fabs(s.mean - 0.6375) < 1e-12);
        QVERIFY(std::fabs(s.median - 0.675) < 1e-12);
        QVERIFY(std::fabs(s.p5 - 0.23) < 1e-12);
        QCOMPARE(s.fractionAbove09, 0.5);
        QCOMPARE(agreementStats({}).count, std::size_t{0});
    }

    void modelAgreesWithItselfExactly()
    {
        SquareModel model(0);
        AgreementOptions options;
        options.grid = 3;
        options.imagesDir = imageFolder("self");
        const AgreementReference reference = buildAgreementReference(model, options);
        QCOMPARE(reference.images.size(), std::size_t{1});
        QCOMPARE(reference.promptCount(), std::size_t{18});  // 9 points + 9 boxes
        QCOMPARE(reference.warnings.size(), std::size_t{1});  // notes.txt
        const AgreementResult result = measureAgreement(reference, model);
        QCOMPARE(result.overall.mean, 1.0);
        QCOMPARE(result.overall.p5, 1.0);
        QCOMPARE(result.overall.fractionAbove09, 1.0);
        QCOMPARE(model.encoded, 2);  // once for the reference, once measured
    }

    void shiftedModelMatchesCountedIous()
    {
        SquareModel original(0), shifted(8);
        AgreementOptions options;
        options.grid = 3;
        options.imagesDir = imageFolder("shift");
        const AgreementReference reference = buildAgreementReference(original, options);
        const AgreementResult result = measureAgreement(reference, shifted);
        QCOMPARE(shifted.encoded, 1);
        // Every grid box is the original's square, so points and boxes give the same IoUs: a
        // square and its copy 8 pixels right, clipped at x = 60 for the right column.
        std::vector<double> expected;
        for (const auto& p : gridPoints(60, 40, 3)) {
            const cv::Rect square(p[0] - kHalf, p[1] - kHalf, 2 * kHalf, 2 * kHalf);
            const double iou = countedIou(square, square + cv::Point(8, 0));
            expected.push_back(iou);  // grid-box (built before the point in the reference)
            expected.push_back(iou);  // grid-point
        }
        QCOMPARE(result.images.at(0).ious.size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i)
            QVERIFY2(std::fabs(result.images[0].ious[i] - expected[i]) < 1e-12, qPrintable(QString::number(i)));
        // By hand: 20 of 180 pixels shared (1/9) left and middle, 20 of 150 (2/15) at the right edge.
        QVERIFY(std::fabs(expected[0] - 1.0 / 9.0) < 1e-12);
        QVERIFY(std::fabs(expected[4] - 2.0 / 15.0) < 1e-12);
        QVERIFY(std::fabs(result.overall.mean - (12.0 / 9.0 + 6.0 * 2.0 / 15.0) / 18.0) < 1e-12);
        QVERIFY(std::fabs(result.overall.median - 1.0 / 9.0) < 1e-12);
        QCOMPARE(result.overall.fractionAbove09, 0.0);
        QCOMPARE(result.bySource.size(), std::size_t{2});

        AgreementOptions pointsOnly = options;
        pointsOnly.prompts = AgreementPrompts::Points;
        QCOMPARE(buildAgreementReference(original, pointsOnly).promptCount(), std::size_t{9});
        const nlohmann::json json = agreementToJson(reference, result);
        QCOMPARE(json.at("overall").at("count").get<int>(), 18);
        QCOMPARE(json.at("images").size(), std::size_t{1});
    }

    void refusesBadInput()
    {
        SquareModel model(0);
        AgreementOptions options;
        options.imagesDir = scratch("empty");
        std::ofstream(options.imagesDir / "readme.txt") << "no image here\n";
        try {
            buildAgreementReference(model, options);
            QFAIL("a folder without images was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("no readable image")), e.what());
        }
        options.imagesDir = imageFolder("grid");
        options.grid = 0;
        QVERIFY_THROWS_EXCEPTION(Error, buildAgreementReference(model, options));
        options.grid = 65;
        QVERIFY_THROWS_EXCEPTION(Error, buildAgreementReference(model, options));
        options.grid = 2;
        options.imagesDir = scratch("missing") / "nowhere";
        QVERIFY_THROWS_EXCEPTION(Error, buildAgreementReference(model, options));
        QVERIFY_THROWS_EXCEPTION(Error, parseAgreementPrompts("lines"));
    }

    void tinySamAgreesWithItselfAndNotWithOtherLayouts()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const fs::path tiny = test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")).toStdString();
        AgreementModels models = loadAgreementModels(tiny, tiny);
        const fs::path dir = scratch("tiny");
        fs::copy_file(test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString(), dir / "dog.png",
                      fs::copy_options::overwrite_existing);
        AgreementOptions options;
        options.grid = 4;
        options.imagesDir = dir;
        const AgreementReference reference = buildAgreementReference(*models.original, options);
        const AgreementResult result = measureAgreement(reference, *models.compressed);
        QVERIFY(result.overall.count > 16);
        QCOMPARE(result.overall.mean, 1.0);
        QCOMPARE(result.overall.p5, 1.0);

        // A quantized copy (rtn int3 g32) disagrees; every IoU equals the one counted here from
        // the two models' own masks at the grid points.
        const auto original = models::loadSamModel(tiny);
        const io::StateDict dense = codec::dequantizeModel(
            codec::quantizeModel(io::loadCheckpoint(tiny).tensors, {codec::BaselineCodec::Rtn, 3, 32}));
        const auto quantized = models::buildSamModel(original->config(), dense, "rtn int3 g32");
        const auto a = makeSamEvalModel(original);
        const auto b = makeSamEvalModel(quantized);
        AgreementOptions pointsOnly = options;
        pointsOnly.prompts = AgreementPrompts::Points;
        const AgreementReference pointReference = buildAgreementReference(*a, pointsOnly);
        const AgreementResult differ = measureAgreement(pointReference, *b);
        const cv::Mat rgb = readEvalImage(dir / "dog.png");
        a->setImage(rgb);
        b->setImage(rgb);
        const auto points = gridPoints(rgb.cols, rgb.rows, 4);
        QCOMPARE(differ.images.at(0).ious.size(), points.size());
        double sum = 0;
        for (std::size_t i = 0; i < points.size(); ++i) {
            ModelPrompt prompt;
            prompt.point = points[i];
            const cv::Mat ma = a->predict(prompt, MaskRule::Best).mask, mb = b->predict(prompt, MaskRule::Best).mask;
            const double inter = cv::countNonZero(ma & mb), uni = cv::countNonZero(ma | mb);
            const double iou = uni == 0 ? 1.0 : inter / uni;
            QCOMPARE(differ.images[0].ious[i], iou);
            sum += iou;
        }
        QCOMPARE(differ.overall.mean, sum / static_cast<double>(points.size()));
        QVERIFY(differ.overall.mean < 1.0);
        qInfo("tiny SAM vs its rtn int3 g32 copy: grid-point agreement %.4f", differ.overall.mean);

        const fs::path window = test::goldenPath(QStringLiteral("sam_vit_tiny/variant_window6")).toStdString();
        fs::path other;
        for (const auto& item : fs::directory_iterator(window))
            if (item.path().extension() == ".pth")
                other = item.path();
        if (other.empty())
            return;
        try {
            loadAgreementModels(tiny, other);
            QFAIL("models of different layouts were accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("different")), e.what());
        }
    }

    void frontierSpecs()
    {
        QCOMPARE(QString::fromStdString(parseFrontierPoint("rtn:4:64").settings), QStringLiteral("int4 g64"));
        QCOMPARE(QString::fromStdString(parseFrontierPoint("hqq:3:pc").settings), QStringLiteral("int3 per-channel"));
        QCOMPARE(QString::fromStdString(parseFrontierPoint("birkhoff").settings), QStringLiteral("l=0.1 U=1225,1600 M=3"));
        QVERIFY(QString::fromStdString(parseFrontierPoint("birkhoff:ratio=6").settings).contains(QStringLiteral("target-ratio=6")));
        QCOMPARE(parseFrontierPoint("birkhoff-rd:ratio=8").settings, std::string("target ratio 8"));
        QCOMPARE(parseFrontierPoint("birkhoff-rd:step=0.5").codec, std::string("birkhoff-rd"));
        for (const char* bad : {"rtn:9:64", "rtn:1:64", "hqq:4", "rtn:4:0", "jpeg:4:64", "birkhoff:U=7", "birkhoff:x=1",
                                "birkhoff-rd:step=0", "birkhoff-rd:ratio=0.5", "birkhoff-rd:l=0.1",
                                "birkhoff-rd:step=1:ratio=8"}) {
            try {
                parseFrontierPoint(bad);
                QFAIL(bad);
            } catch (const Error& e) {
                QVERIFY2(QString::fromUtf8(e.what()).contains(QString::fromUtf8(bad)), e.what());
            }
        }
        QVERIFY(defaultFrontierSpecs().size() >= 12);
    }

    void frontierResumesAfterCancel()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const fs::path dir = scratch("frontier_images");
        fs::copy_file(test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString(), dir / "dog.png",
                      fs::copy_options::overwrite_existing);
        FrontierOptions options;
        options.model = test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth")).toStdString();
        options.agreement.grid = 2;
        options.agreement.imagesDir = dir;
        options.promptSetName = dir.string();
        for (const char* spec : {"rtn:8:pc", "hqq:3:32"})
            options.points.push_back(parseFrontierPoint(spec));
        options.outputDir = scratch("frontier_out");

        CancelToken cancel;
        FrontierRow first;
        try {
            runFrontier(options, {{}, &cancel}, [&](const FrontierRow& row) {
                first = row;
                cancel.cancel();
            });
            QFAIL("the cancelled frontier finished");
        } catch (const CancelledError&) {
        }
        const auto readJson = [&] {
            std::ifstream in(frontierJsonPath(options.outputDir));
            return nlohmann::json::parse(in);
        };
        nlohmann::json partial = readJson();
        QCOMPARE(partial.at("complete").get<bool>(), false);
        QCOMPARE(partial.at("rows").size(), std::size_t{1});
        QCOMPARE(partial.at("rows")[0].at("spec").get<std::string>(), std::string("rtn:8:pc"));
        // The row's size is the real file's.
        const fs::path weights = options.model;
        QCOMPARE(first.ratio, static_cast<double>(fs::file_size(weights)) / static_cast<double>(first.fileBytes));
        QVERIFY(first.agreement.mean > 0.5 && first.agreement.mean <= 1.0);

        QVERIFY_THROWS_EXCEPTION(Error, runFrontier(options));  // exists, neither resume nor overwrite
        FrontierOptions otherGrid = options;
        otherGrid.resume = true;
        otherGrid.agreement.grid = 3;
        QVERIFY_THROWS_EXCEPTION(Error, runFrontier(otherGrid));

        options.resume = true;
        int measured = 0;
        const FrontierResult result = runFrontier(options, {}, [&](const FrontierRow&) { ++measured; });
        QCOMPARE(result.resumed, std::size_t{1});
        QCOMPARE(measured, 1);
        QCOMPARE(result.rows.size(), std::size_t{2});
        QCOMPARE(result.rows[0].compressSeconds, first.compressSeconds);  // taken from the file, not redone
        QCOMPARE(result.rows[1].spec, std::string("hqq:3:32"));
        const nlohmann::json done = readJson();
        QCOMPARE(done.at("complete").get<bool>(), true);
        QCOMPARE(done.at("rows").size(), std::size_t{2});
        std::ifstream csv(frontierCsvPath(options.outputDir));
        int lines = 0;
        for (std::string line; std::getline(csv, line);)
            ++lines;
        QCOMPARE(lines, 3);
        const cv::Mat plot = cv::imread(frontierPlotPath(options.outputDir).string());
        QVERIFY(!plot.empty());
    }
};

BIRKHOFF_REGISTER_TEST(TestAgreement);
#include "test_agreement.moc"
