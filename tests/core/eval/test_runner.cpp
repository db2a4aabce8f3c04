// The evaluation runner, CSV and report with deterministic stand-in models (the SAM wiring is
// tested end to end through the CLI): counts and skip reasons, known mIoU values, the CSV round
// trip, merge of shards == single run exactly, resume (also after a cut-off write), cancellation
// keeping finished images, and refusal to clobber or mix runs.
#include "core/eval/runner.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace birkhoff::eval;
using nlohmann::json;

namespace {

/// Answers a box with the filled box (shifted by `shift` pixels) and a point with a disk.
class BoxFillModel : public PromptableModel {
public:
    explicit BoxFillModel(int shift = 0) : shift_(shift) {}
    void setImage(const cv::Mat& rgb) override
    {
        size_ = rgb.size();
        ++encoded;
        if (onSetImage)
            onSetImage();
    }
    ModelAnswer predict(const ModelPrompt& prompt, MaskRule rule) override
    {
        ModelAnswer a;
        a.mask = cv::Mat(size_, CV_8UC1, cv::Scalar(0));
        if (prompt.box) {
            const auto& b = *prompt.box;
            const cv::Rect r(static_cast<int>(b[0]) + shift_, static_cast<int>(b[1]),
                             static_cast<int>(b[2] - b[0]), static_cast<int>(b[3] - b[1]));
            a.mask(r & cv::Rect(cv::Point(0, 0), size_)).setTo(1);
        }
        if (prompt.point)
            cv::circle(a.mask, cv::Point((*prompt.point)[0], (*prompt.point)[1]), 6, cv::Scalar(1), cv::FILLED);
        a.token = rule == MaskRule::Single ? 0 : 2;
        a.predictedIou = 0.75;
        return a;
    }
    int encoded = 0;
    std::function<void()> onSetImage;

private:
    int shift_;
    cv::Size size_;
};

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "runner";
    fs::create_directories(dir);
    return dir / name;
}

fs::path cocoMini(const char* relative)
{
    return fs::path(birkhoff::test::sharedPath(QStringLiteral("data/coco-mini/")).toStdString()) / relative;
}

EvalOptions miniOptions(PromptKind prompt = PromptKind::Box)
{
    EvalOptions o;
    o.prompt = prompt;
    o.maskRule = defaultMaskRule(prompt);
    o.imagesDir = cocoMini("images");
    o.originalName = "box-fill";
    o.compressedName = "box-fill shifted";
    return o;
}

/// The report without the fields that measure time (they differ between runs).
json withoutTimes(json report)
{
    for (const char* model : {"original", "compressed"})
        for (const char* key : {"encode_seconds_per_image", "decode_ms_per_instance", "seconds_per_image"})
            report[model].erase(key);
    return report;
}

std::string readText(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void writeText(const fs::path& p, const std::string& text)
{
    std::ofstream out(p, std::ios::binary);
    out << text;
}

}  // namespace

class TestRunner : public QObject {
    Q_OBJECT
private slots:
    void cocoMiniCountsAndKnownMiou()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(cocoMini("annotations.json"));
        BoxFillModel a, b(1);
        const EvalResult r = runEvaluation(d, a, b, miniOptions());
        QCOMPARE(r.report.instances, std::size_t{50});
        QCOMPARE(r.report.evaluated, std::size_t{47});
        QCOMPARE(r.report.skippedInstances.at(skip::kCrowd), std::size_t{3});
        QCOMPARE(r.report.images, std::size_t{2});
        QCOMPARE(r.imagesEncoded, std::size_t{2});
        QCOMPARE(a.encoded, 2);
        QCOMPARE(r.report.original.thingCount, std::size_t{40});
        QCOMPARE(r.report.original.stuffCount, std::size_t{7});
        // The filled GT box contains the GT mask, so IoU = area / (w * h).
        double expected = 0;
        for (const auto& row : r.rows)
            if (row.evaluated()) {
                expected += double(row.area) / ((*row.bbox)[2] * (*row.bbox)[3]);
                QCOMPARE(row.original->token, 0);
                QCOMPARE(row.original->maskArea, std::uint64_t((*row.bbox)[2] * (*row.bbox)[3]));
                QVERIFY(row.agreement > 0.0 && row.agreement < 1.0);
                QVERIFY(!row.point.has_value());
            }
        QVERIFY(std::fabs(r.report.original.miou - expected / 47.0) < 1e-12);
        QVERIFY(r.report.original.miou > 0 && r.report.original.miou < 1);
        QVERIFY(r.report.compressed.miou < r.report.original.miou);
        QCOMPARE(r.report.prompt, std::string("box"));
        QCOMPARE(r.report.maskRule, std::string("single"));
        QCOMPARE(r.report.categories.size(), std::size_t{8});
        const std::string text = reportToText(r.report);
        QVERIFY2(text.find("skipped iscrowd: 3") != std::string::npos, text.c_str());
    }

    void identicalModelsAgreeFully()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(cocoMini("annotations.json"));
        BoxFillModel a, b;
        const EvalResult r = runEvaluation(d, a, b, miniOptions(PromptKind::BoxAndPoint));
        QCOMPARE(r.report.agreement, 1.0);
        QCOMPARE(r.report.agreementMin, 1.0);
        QCOMPARE(r.report.identicalMasks, std::size_t{47});
        QCOMPARE(r.report.original.miou, r.report.compressed.miou);
        for (const auto& row : r.rows)
            if (row.evaluated())
                QVERIFY(row.point.has_value() && row.box.has_value());
    }

    void centerPointPromptUsesReferenceCentres()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(cocoMini("annotations.json"));
        BoxFillModel a, b;
        const EvalResult r = runEvaluation(d, a, b, miniOptions(PromptKind::CenterPoint));
        QCOMPARE(r.report.maskRule, std::string("best"));
        for (const auto& row : r.rows)
            if (row.annotationId == 1) {  // reference: point (313, 280)
                QVERIFY(!row.box.has_value());
                QCOMPARE((*row.point)[0], 313);
                QCOMPARE((*row.point)[1], 280);
                QCOMPARE(row.original->token, 2);
            }
    }

    void csvRoundTripAndMergeEqualSingleRun()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(cocoMini("annotations.json"));
        BoxFillModel a, b(2);
        EvalOptions o = miniOptions();
        o.csv = scratch("single.csv");
        o.overwrite = true;
        const EvalResult single = runEvaluation(d, a, b, o);
        const json singleJson = reportToJson(single.report);

        // The CSV reads back to the same rows and exactly the same report, times included.
        const CsvContents back = readResultsCsv(o.csv);
        QCOMPARE(back.rows.size(), std::size_t{50});
        QVERIFY(back.incompleteImages.empty());
        QCOMPARE(reportToJson(summarize(back.rows)).dump(), singleJson.dump());
        QCOMPARE(reportToJson(mergeResults({o.csv})).dump(), singleJson.dump());

        // Splitting the single run's CSV by shard and merging gives exactly its report.
        const std::string text = readText(o.csv);
        std::istringstream lines(text);
        std::string header, line;
        std::getline(lines, header);
        std::string part[2] = {header + "\n", header + "\n"};
        while (std::getline(lines, line))
            part[line.rfind("142238", 0) == 0 ? 0 : 1] += line + "\n";
        writeText(scratch("split-0.csv"), part[0]);
        writeText(scratch("split-1.csv"), part[1]);
        QCOMPARE(reportToJson(mergeResults({scratch("split-1.csv"), scratch("split-0.csv")})).dump(), singleJson.dump());

        // Real shard runs merge to the single run's report (times differ between runs).
        fs::path shards[2];
        for (std::size_t i = 0; i < 2; ++i) {
            EvalOptions so = o;
            so.shard = Shard{i, 2};
            so.csv = shards[i] = scratch("shard-" + std::to_string(i) + ".csv");
            const EvalResult part = runEvaluation(d, a, b, so);
            QCOMPARE(part.entriesInShard, std::size_t{1});
        }
        QCOMPARE(withoutTimes(reportToJson(mergeResults({shards[0], shards[1]}))).dump(),
                 withoutTimes(singleJson).dump());

        // The same image in two files is refused.
        try {
            mergeResults({shards[0], o.csv});
            QFAIL("overlap not detected");
        } catch (const birkhoff::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("appears in both")), e.what());
        }
    }

    void resumeSkipsFinishedImagesAndRepairsCutOffWrites()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(cocoMini("annotations.json"));
        BoxFillModel a, b(1);
        EvalOptions o = miniOptions();
        o.csv = scratch("resume.csv");
        o.overwrite = true;
        const EvalResult full = runEvaluation(d, a, b, o);

        o.limit = 1;
        runEvaluation(d, a, b, o);
        o.limit = 0;
        o.overwrite = false;
        o.resume = true;
        a.encoded = 0;
        const EvalResult resumed = runEvaluation(d, a, b, o);
        QCOMPARE(resumed.entriesResumed, std::size_t{1});
        QCOMPARE(resumed.imagesEncoded, std::size_t{1});
        QCOMPARE(a.encoded, 1);
        QCOMPARE(withoutTimes(reportToJson(resumed.report)).dump(), withoutTimes(reportToJson(full.report)).dump());
        QCOMPARE(readResultsCsv(o.csv).rows.size(), std::size_t{50});

        // Cut the file inside the second image's block: resume evaluates that image again.
        std::string text = readText(o.csv);
        text.resize(text.size() - 150);
        writeText(o.csv, text);
        const CsvContents cut = readResultsCsv(o.csv);
        QVERIFY(cut.truncatedLastLine);
        QCOMPARE(cut.incompleteImages, (std::vector<std::int64_t>{439180}));
        a.encoded = 0;
        const EvalResult repaired = runEvaluation(d, a, b, o);
        QCOMPARE(a.encoded, 1);
        QCOMPARE(repaired.entriesResumed, std::size_t{1});
        QCOMPARE(withoutTimes(reportToJson(repaired.report)).dump(), withoutTimes(reportToJson(full.report)).dump());
        const CsvContents after = readResultsCsv(o.csv);
        QCOMPARE(after.rows.size(), std::size_t{50});
        QVERIFY(!after.truncatedLastLine);
        QVERIFY(after.incompleteImages.empty());

        // Resuming with another prompt or other models is refused.
        EvalOptions other = o;
        other.prompt = PromptKind::CenterPoint;
        other.maskRule = MaskRule::Best;
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, runEvaluation(d, a, b, other));
        other = o;
        other.compressedName = "something else";
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, runEvaluation(d, a, b, other));
        // An existing CSV is not replaced without --resume or --overwrite.
        other = o;
        other.resume = false;
        try {
            runEvaluation(d, a, b, other);
            QFAIL("existing CSV overwritten");
        } catch (const birkhoff::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("--resume")), e.what());
        }
    }

    void cancellationKeepsFinishedImages()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const Dataset d = Dataset::open(cocoMini("annotations.json"));
        birkhoff::CancelToken token;
        BoxFillModel a, b;
        a.onSetImage = [&] {
            if (a.encoded == 2)
                token.cancel();
        };
        birkhoff::Progress progress;
        progress.cancel = &token;
        std::vector<std::string> messages;
        progress.onProgress = [&](double, const std::string& what) { messages.push_back(what); };
        EvalOptions o = miniOptions();
        o.csv = scratch("cancel.csv");
        o.overwrite = true;
        QVERIFY_THROWS_EXCEPTION(birkhoff::CancelledError, runEvaluation(d, a, b, o, progress));
        const CsvContents kept = readResultsCsv(o.csv);
        QVERIFY(kept.incompleteImages.empty());
        QVERIFY(!kept.rows.empty());
        for (const auto& r : kept.rows)
            QCOMPARE(r.imageId, std::int64_t{142238});
        QVERIFY(!messages.empty());
        bool sawEta = false;
        for (const auto& m : messages)
            sawEta = sawEta || m.find("ETA") != std::string::npos;
        QVERIFY(sawEta);
    }

    void badInputIsSkippedWithReasons()
    {
        const fs::path dir = scratch("bad");
        fs::create_directories(dir / "images");
        cv::Mat img(20, 30, CV_8UC3, cv::Scalar(10, 20, 30));
        cv::imwrite((dir / "images" / "ok.png").string(), img);
        cv::imwrite((dir / "images" / "small.png").string(), cv::Mat(10, 10, CV_8UC3, cv::Scalar(0)));
        writeText(dir / "images" / "garbage.jpg", "not an image");
        writeText(dir / "ann.json", R"({
          "images": [
            {"id": 1, "file_name": "ok.png", "width": 30, "height": 20},
            {"id": 2, "file_name": "absent.png", "width": 30, "height": 20},
            {"id": 3, "file_name": "small.png", "width": 30, "height": 20},
            {"id": 4, "file_name": "garbage.jpg", "width": 30, "height": 20}],
          "categories": [{"id": 1, "name": "box"}],
          "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 8], "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
            {"id": 11, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "segmentation": []},
            {"id": 12, "image_id": 1, "category_id": 1, "bbox": [2, 2, 0, 8], "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
            {"id": 13, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "segmentation": {"size": [20, 30], "counts": "&&"}},
            {"id": 14, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 5, 5], "segmentation": [[0, 0, 5, 0, 5, 5]]},
            {"id": 15, "image_id": 1, "category_id": 1, "segmentation": [[20, 4, 28, 4, 28, 16, 20, 16]]},
            {"id": 16, "image_id": 1, "category_id": 1, "bbox": [20, 4, 1, 1], "segmentation": [[20, 4, 21, 4, 21, 5, 20, 5]]},
            {"id": 20, "image_id": 2, "category_id": 1, "bbox": [2, 2, 10, 8], "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
            {"id": 30, "image_id": 3, "category_id": 1, "bbox": [2, 2, 10, 8], "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
            {"id": 40, "image_id": 4, "category_id": 1, "bbox": [2, 2, 10, 8], "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]},
            {"id": 50, "image_id": 5, "category_id": 1, "bbox": [2, 2, 10, 8], "segmentation": [[2, 2, 12, 2, 12, 10, 2, 10]]}
          ]})");
        const Dataset d = Dataset::open(dir / "ann.json");
        BoxFillModel a, b;
        EvalOptions o;
        o.imagesDir = dir / "images";
        o.minArea = 4;
        o.originalName = o.compressedName = "m";
        const EvalResult r = runEvaluation(d, a, b, o);
        QCOMPARE(r.report.instances, std::size_t{11});
        QCOMPARE(r.report.evaluated, std::size_t{2});  // 10, and 15 whose bbox comes from its mask
        const std::map<std::string, std::size_t> expected = {
            {skip::kEmptySegmentation, 1}, {skip::kZeroAreaBox, 1},     {skip::kMalformedSegmentation, 1},
            {skip::kCrowd, 1},             {skip::kBelowMinArea, 1},    {skip::kMissingImageFile, 1},
            {skip::kImageSizeMismatch, 1}, {skip::kUnreadableImage, 1}, {skip::kMissingImage, 1}};
        QCOMPARE(r.report.skippedInstances, expected);
        QCOMPARE(a.encoded, 1);
        for (const auto& row : r.rows) {
            if (row.annotationId == 15)
                QCOMPARE(*row.bbox, (std::array<double, 4>{20, 4, 8, 12}));
            if (row.annotationId == 13)
                QVERIFY2(row.detail.find("invalid character") != std::string::npos, row.detail.c_str());
            if (row.annotationId == 20)
                QVERIFY2(row.detail.find("absent.png") != std::string::npos, row.detail.c_str());
            if (!row.evaluated())
                QVERIFY(!row.detail.empty() || row.status == skip::kCrowd);
        }
        // Box-fill on a box polygon: the mask is the box's pixels, IoU 1.
        QCOMPARE(r.report.original.miou, 1.0);
    }

    void malformedSa1bFileIsAnImageSkip()
    {
        const fs::path dir = scratch("sa1b");
        fs::create_directories(dir);
        cv::imwrite((dir / "sa_1.jpg").string(), cv::Mat(20, 30, CV_8UC3, cv::Scalar(90, 90, 90)));
        cv::Mat mask(20, 30, CV_8UC1, cv::Scalar(0));
        mask(cv::Rect(5, 2, 9, 2)).setTo(1);
        json file;
        file["image"] = {{"image_id", 1}, {"width", 30}, {"height", 20}, {"file_name", "sa_1.jpg"}};
        file["annotations"] = json::array({{{"id", 1},
                                            {"segmentation", {{"size", {20, 30}}, {"counts", rleToString(encodeRle(mask))}}},
                                            {"bbox", {5, 2, 9, 2}}}});
        writeText(dir / "sa_1.json", file.dump());
        writeText(dir / "sa_2.json", R"({"image": {"image_id": 2, )");
        const Dataset d = Dataset::open(dir);
        BoxFillModel a, b;
        EvalOptions o;
        o.imagesDir = dir;
        o.originalName = o.compressedName = "m";
        o.csv = dir / "out.csv";
        const EvalResult r = runEvaluation(d, a, b, o);
        QCOMPARE(r.report.skippedImages.at(skip::kMalformedAnnotationFile), std::size_t{1});
        QCOMPARE(r.report.evaluated, std::size_t{1});
        QVERIFY(!r.report.hasThingStuff);
        QCOMPARE(reportToJson(mergeResults({o.csv})).dump(), reportToJson(r.report).dump());
    }

    void csvQuotingAndErrors()
    {
        InstanceRow row;
        row.imageId = 5;
        row.fileName = "dir, with \"quotes\".jpg";
        row.annotationId = 7;
        row.status = skip::kMissingImageFile;
        row.detail = "line one\nline two";
        row.imageRows = 1;
        row.bbox = std::array<double, 4>{0.1, 0.2, 3.3000000000000003, 4};
        const fs::path p = scratch("quoting.csv");
        writeText(p, csvHeader() + "\n" + csvLine(row) + "\n");
        const CsvContents c = readResultsCsv(p);
        QCOMPARE(c.rows.size(), std::size_t{1});
        QCOMPARE(c.rows[0].fileName, row.fileName);
        QCOMPARE(c.rows[0].detail, std::string("line one line two"));
        QCOMPARE(*c.rows[0].bbox, *row.bbox);
        writeText(p, "image_id,foo\n1,2\n");
        QVERIFY_THROWS_EXCEPTION(birkhoff::Error, readResultsCsv(p));
        std::string bad = csvLine(row);
        bad.replace(0, 1, "x");
        writeText(p, csvHeader() + "\n" + bad + "\n");
        try {
            readResultsCsv(p);
            QFAIL("no error");
        } catch (const birkhoff::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("line 2")), e.what());
        }
        QCOMPARE(QString::fromStdString(formatDuration(5)), QStringLiteral("5s"));
        QCOMPARE(QString::fromStdString(formatDuration(185)), QStringLiteral("3m05s"));
        QCOMPARE(QString::fromStdString(formatDuration(7800)), QStringLiteral("2h10m"));
    }
};

BIRKHOFF_REGISTER_TEST(TestRunner);
#include "test_runner.moc"
