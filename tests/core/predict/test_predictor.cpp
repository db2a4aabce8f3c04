// Unit tests of the predictor on a small random-weight model: the official resize-target
// rounding, the Pillow-style resize, image conversions, prompt validation, the mask-selection
// rules, mask-input feedback, and thread safety (predict() while another image is encoded).
#include "core/predict/image_io.h"
#include "core/predict/predictor.h"
#include "core/predict/upsample.h"
#include "core/util/error.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <QTest>

#include <atomic>
#include <thread>

using namespace birkhoff;
using birkhoff::test::maxAbsDiff;

namespace {

std::shared_ptr<models::SamModel> smallModel()
{
    const models::SamConfig c = birkhoff::test::smallVitConfig();
    return models::buildSamModel(c, birkhoff::test::randomCheckpoint(c, 21), "small");
}

cv::Mat gradientImage(int width, int height, int phase)
{
    cv::Mat image(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 7 + phase) % 256),
                                                  static_cast<uchar>((y * 5 + 2 * phase) % 256),
                                                  static_cast<uchar>((x * y + phase) % 256));
    return image;
}

QString errorOf(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

bool identical(const predict::Prediction& a, const predict::Prediction& b)
{
    return a.tokens == b.tokens && maxAbsDiff(a.lowResLogits, b.lowResLogits) == 0.0 &&
           maxAbsDiff(a.iouPredictions, b.iouPredictions) == 0.0 && a.masks.equal(b.masks);
}

}  // namespace

class TestPredictor : public QObject {
    Q_OBJECT
private slots:
    void resizeTargetRoundsLikeTheOfficialCode()
    {
        QCOMPARE(predict::SamPredictor::preprocessShape({800, 534}, 1024), cv::Size(1024, 684));
        QCOMPARE(predict::SamPredictor::preprocessShape({1800, 1200}, 1024), cv::Size(1024, 683));
        QCOMPARE(predict::SamPredictor::preprocessShape({320, 214}, 256), cv::Size(256, 171));
        QCOMPARE(predict::SamPredictor::preprocessShape({100, 300}, 1024), cv::Size(341, 1024));
    }

    void pillowResizeBasics()
    {
        const cv::Mat image = gradientImage(37, 23, 3);
        QCOMPARE(cv::norm(predict::resizeLikePil(image, image.size()), image, cv::NORM_INF), 0.0);
        const cv::Mat flat(40, 30, CV_8UC3, cv::Scalar(17, 200, 99));
        for (const cv::Size size : {cv::Size(13, 7), cv::Size(90, 121), cv::Size(30, 9)}) {
            const cv::Mat out = predict::resizeLikePil(flat, size);
            QCOMPARE(out.size(), size);
            QCOMPARE(cv::norm(out, cv::Mat(size, CV_8UC3, cv::Scalar(17, 200, 99)), cv::NORM_INF), 0.0);
        }
        // Downscaling by an integer factor averages with the widened triangle filter: a 2x2
        // checkerboard of 0/255 reduced 4x becomes uniform mid-grey.
        cv::Mat checker(64, 64, CV_8UC1);
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x)
                checker.at<uchar>(y, x) = ((x + y) % 2) ? 255 : 0;
        const cv::Mat small = predict::resizeLikePil(checker, {16, 16});
        double lo = 0, hi = 0;
        cv::minMaxLoc(small(cv::Rect(2, 2, 12, 12)), &lo, &hi);
        QVERIFY2(lo >= 126 && hi <= 129, qPrintable(QStringLiteral("%1..%2").arg(lo).arg(hi)));
        QVERIFY(!errorOf([&] { predict::resizeLikePil(image, {0, 4}); }).isEmpty());
    }

    void maskUpsamplingMatchesLibTorch()
    {
        auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
        const at::Tensor maps = at::randn({3, 64, 64}, generator) * 10;
        // Plain resizes, up and down, against F.interpolate(bilinear, align_corners=False), within
        // float32 rounding (relative to the values' magnitude, ~40 here).
        for (const auto& [h, w] : std::vector<std::pair<std::int64_t, std::int64_t>>{{256, 256}, {100, 37}, {64, 64}, {300, 171}}) {
            const at::Tensor ours = predict::resizeBilinear(maps, h, w, 64.0f / static_cast<float>(h), 64.0f / static_cast<float>(w));
            const at::Tensor reference = at::upsample_bilinear2d(maps.unsqueeze(0), {h, w}, false)[0];
            const double relative = maxAbsDiff(ours, reference) / reference.abs().max().item<double>();
            QVERIFY2(relative < 1e-5, qPrintable(QStringLiteral("%1x%2: %3").arg(h).arg(w).arg(relative)));
        }
        // A crop of the 4x upsampling computed directly equals the crop of the full result.
        const at::Tensor full = at::upsample_bilinear2d(maps.unsqueeze(0), {256, 256}, false)[0];
        const at::Tensor crop = predict::resizeBilinear(maps, 171, 256, 0.25f, 0.25f);
        QVERIFY(maxAbsDiff(crop, full.narrow(1, 0, 171)) < 1e-5);
    }

    void imagesAreConvertedToRgb8()
    {
        const cv::Mat gray(5, 6, CV_8UC1, cv::Scalar(80));
        QCOMPARE(predict::toRgb8(gray).type(), CV_8UC3);
        QCOMPARE(predict::toRgb8(gray).at<cv::Vec3b>(2, 2), cv::Vec3b(80, 80, 80));
        const cv::Mat deep(5, 6, CV_16UC3, cv::Scalar(257 * 10, 257 * 20, 65535));
        QCOMPARE(predict::toRgb8(deep).at<cv::Vec3b>(1, 1), cv::Vec3b(10, 20, 255));
        const cv::Mat rgba(5, 6, CV_8UC4, cv::Scalar(1, 2, 3, 0));
        QCOMPARE(predict::toRgb8(rgba).at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));
        const cv::Mat unit(2, 2, CV_32FC1, cv::Scalar(1.0));
        QCOMPARE(predict::toRgb8(unit).at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
        QVERIFY(errorOf([] { predict::toRgb8(cv::Mat()); }).contains(QStringLiteral("empty")));
        QVERIFY(!errorOf([] { predict::toRgb8(cv::Mat(2, 2, CV_64FC3)); }).isEmpty());
    }

    void badPromptsAreClearErrors()
    {
        predict::SamPredictor predictor(smallModel());
        QVERIFY(errorOf([&] { predictor.predict(predict::Prompt{}); }).contains(QStringLiteral("no image")));
        predictor.setImage(gradientImage(90, 60, 0));
        QVERIFY(errorOf([&] { predictor.predict(predict::Prompt{}); }).contains(QStringLiteral("no prompt")));
        predict::Prompt outside;
        outside.points.push_back({91, 10, 1});
        QVERIFY(errorOf([&] { predictor.predict(outside); }).contains(QStringLiteral("outside the image")));
        predict::Prompt negative;
        negative.points.push_back({-1, 10, 1});
        QVERIFY(errorOf([&] { predictor.predict(negative); }).contains(QStringLiteral("outside the image")));
        predict::Prompt badLabel;
        badLabel.points.push_back({10, 10, 2});
        QVERIFY(errorOf([&] { predictor.predict(badLabel); }).contains(QStringLiteral("label")));
        predict::Prompt nan;
        nan.points.push_back({std::nan(""), 10, 1});
        QVERIFY(errorOf([&] { predictor.predict(nan); }).contains(QStringLiteral("non-finite")));
        predict::Prompt inverted;
        inverted.box = predict::BoxPrompt{50, 40, 10, 20};
        QVERIFY(errorOf([&] { predictor.predict(inverted); }).contains(QStringLiteral("inverted")));
        predict::Prompt boxOutside;
        boxOutside.box = predict::BoxPrompt{10, 10, 200, 20};
        QVERIFY(errorOf([&] { predictor.predict(boxOutside); }).contains(QStringLiteral("outside the image")));
        predict::Prompt wrongMask;
        wrongMask.maskInput = at::zeros({1, 1, 16, 16});
        QVERIFY(errorOf([&] { predictor.predict(wrongMask); }).contains(QStringLiteral("mask input")));
    }

    void maskSelectionRules()
    {
        const at::Tensor iou = at::tensor({0.5f, 0.7f, 0.9f, 0.8f});
        using predict::MaskOutput;
        QCOMPARE(predict::selectMaskTokens(MaskOutput::Multimask, iou, 2), (std::vector<int>{1, 2, 3}));
        QCOMPARE(predict::selectMaskTokens(MaskOutput::Token0, iou, 2), (std::vector<int>{0}));
        QCOMPARE(predict::selectMaskTokens(MaskOutput::AllTokens, iou, 2), (std::vector<int>{0, 1, 2, 3}));
        // ONNX rule: one point + padding (2 tokens) -> best of 1..3; 3+ tokens -> token 0.
        QCOMPARE(predict::selectMaskTokens(MaskOutput::OnnxSingle, iou, 2), (std::vector<int>{2}));
        QCOMPARE(predict::selectMaskTokens(MaskOutput::OnnxSingle, iou, 3), (std::vector<int>{0}));
        QCOMPARE(predict::selectMaskTokens(MaskOutput::OnnxSingle, at::tensor({0.99f, 0.1f, 0.2f, 0.3f}), 2),
                 (std::vector<int>{3}));
    }

    void predictionsAreAtOriginalResolutionAndAcceptMaskFeedback()
    {
        predict::SamPredictor predictor(smallModel());
        const auto embedding = predictor.setImage(gradientImage(90, 60, 1));
        QCOMPARE(embedding->inputSize, cv::Size(64, 43));
        predict::Prompt prompt;
        prompt.points.push_back({30, 20, 1});
        const predict::Prediction first = predictor.predict(prompt);
        QCOMPARE(first.count(), std::size_t(3));
        QCOMPARE(first.masks.sizes().vec(), (std::vector<std::int64_t>{3, 60, 90}));
        QCOMPARE(first.masks.scalar_type(), at::kBool);
        QCOMPARE(first.lowResLogits.sizes().vec(), (std::vector<std::int64_t>{3, 32, 32}));
        QCOMPARE(first.maskImage(first.bestIndex()).size(), cv::Size(90, 60));

        predict::Prompt refine = prompt;
        refine.points.push_back({60, 40, 0});
        refine.maskInput = first.lowResLogits[static_cast<std::int64_t>(first.bestIndex())];
        predict::PredictOptions single;
        single.output = predict::MaskOutput::OnnxSingle;
        const predict::Prediction second = predictor.predict(refine, single);
        QCOMPARE(second.count(), std::size_t(1));
        QCOMPARE(second.tokens[0], 0);  // 2 points + padding -> token 0
        QCOMPARE(second.sparseTokens, 3);

        predict::Prompt boxOnly;
        boxOnly.box = predict::BoxPrompt{10, 10, 50, 40};
        QCOMPARE(predictor.predict(boxOnly, single).sparseTokens, 2);
    }

    void predictRunsWhileAnotherImageIsEncoded()
    {
        predict::SamPredictor predictor(smallModel());
        const cv::Mat imageA = gradientImage(90, 60, 2);
        const cv::Mat imageB = gradientImage(70, 80, 9);
        predict::Prompt prompt;
        prompt.points.push_back({20, 30, 1});
        const auto embeddingA = predictor.encode(imageA);
        const auto embeddingB = predictor.encode(imageB);
        const predict::Prediction onA = predictor.predict(*embeddingA, prompt);
        const predict::Prediction onB = predictor.predict(*embeddingB, prompt);
        QVERIFY(!identical(onA, onB));

        predictor.setImage(imageA);
        std::atomic<bool> stop{false};
        std::atomic<int> encodes{0};
        std::atomic<int> failures{0};
        std::thread encoder([&] {
            try {
                for (int i = 0; i < 12; ++i) {
                    predictor.setImage(i % 2 ? imageA : imageB);
                    ++encodes;
                }
            } catch (...) {
                ++failures;
            }
            stop = true;
        });
        int predictions = 0;
        while (!stop || predictions < 5) {
            const predict::Prediction p = predictor.predict(prompt);
            if (!identical(p, onA) && !identical(p, onB))
                ++failures;
            ++predictions;
        }
        encoder.join();
        qInfo("%d predictions during %d encodes", predictions, encodes.load());
        QCOMPARE(failures.load(), 0);
        QCOMPARE(encodes.load(), 12);
        QVERIFY(identical(predictor.predict(prompt), onA));  // the last image set was A
    }

    void embeddingsFromAnotherModelAreRejected()
    {
        predict::SamPredictor a(smallModel());
        predict::SamPredictor b(smallModel());
        const auto embedding = a.encode(gradientImage(20, 20, 0));
        QVERIFY(errorOf([&] { b.predict(*embedding, predict::Prompt{}); }).contains(QStringLiteral("another model")));
    }
};

BIRKHOFF_REGISTER_TEST(TestPredictor);
#include "test_predictor.moc"
