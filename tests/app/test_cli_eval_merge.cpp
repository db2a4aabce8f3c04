// `birkhoff eval-merge`: shard CSVs (written by the core runner with stand-in models) merge to
// exactly the report of all rows; overlapping shards, missing files and bad command lines fail
// with clear messages and the documented exit codes.
#include "core/eval/runner.h"
#include "tests/app/cli_runner.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace birkhoff::eval;
using birkhoff::test::runCli;

namespace {

/// Answers every prompt with the box (or a 3x3 square at the point), token 0.
class SquareModel : public PromptableModel {
public:
    void setImage(const cv::Mat& rgb) override { size_ = rgb.size(); }
    ModelAnswer predict(const ModelPrompt& prompt, MaskRule) override
    {
        ModelAnswer a;
        a.mask = cv::Mat(size_, CV_8UC1, cv::Scalar(0));
        cv::Rect r;
        if (prompt.box)
            r = cv::Rect(cv::Point(int((*prompt.box)[0]), int((*prompt.box)[1])),
                         cv::Point(int((*prompt.box)[2]), int((*prompt.box)[3])));
        else
            r = cv::Rect((*prompt.point)[0] - 1, (*prompt.point)[1] - 1, 3, 3);
        a.mask(r & cv::Rect(cv::Point(0, 0), size_)).setTo(1);
        a.predictedIou = 0.5;
        return a;
    }

private:
    cv::Size size_;
};

fs::path scratch(const std::string& name)
{
    const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "cli-eval-merge";
    fs::create_directories(dir);
    return dir / name;
}

QString q(const fs::path& p)
{
    return QString::fromStdString(p.string());
}

/// A 6-image dataset of triangles and boxes with a crowd annotation.
Dataset makeDataset()
{
    fs::create_directories(scratch("images"));
    nlohmann::json root;
    root["categories"] = nlohmann::json::array({{{"id", 1}, {"name", "a"}, {"isthing", 1}},
                                                {{"id", 2}, {"name", "b"}, {"isthing", 0}}});
    root["images"] = nlohmann::json::array();
    root["annotations"] = nlohmann::json::array();
    int annotation = 1;
    for (int i = 1; i <= 6; ++i) {
        const std::string name = "img" + std::to_string(i) + ".png";
        cv::imwrite(scratch("images/" + name).string(), cv::Mat(24 + i, 32, CV_8UC3, cv::Scalar(i * 10, 0, 0)));
        root["images"].push_back({{"id", 100 + i}, {"file_name", name}, {"width", 32}, {"height", 24 + i}});
        for (int k = 0; k < 3; ++k) {
            const double x = 2 + 3 * k + i, y = 3 + k;
            root["annotations"].push_back({{"id", annotation++},
                                           {"image_id", 100 + i},
                                           {"category_id", 1 + k % 2},
                                           {"iscrowd", k == 2 && i == 3 ? 1 : 0},
                                           {"bbox", {x, y, 10, 9}},
                                           {"segmentation", {{x, y, x + 10, y, x + 4, y + 9}}}});
        }
    }
    std::ofstream(scratch("ann.json")) << root.dump();
    return Dataset::open(scratch("ann.json"));
}

}  // namespace

class TestCliEvalMerge : public QObject {
    Q_OBJECT
private slots:
    void mergeOfShardsEqualsAllRows()
    {
        const Dataset dataset = makeDataset();
        SquareModel a, b;
        EvalOptions o;
        o.imagesDir = scratch("images");
        o.originalName = "square";
        o.compressedName = "square too";
        o.prompt = PromptKind::BoxAndPoint;
        o.overwrite = true;
        o.csv = scratch("all.csv");
        const EvalResult all = runEvaluation(dataset, a, b, o);
        QCOMPARE(all.report.evaluated, std::size_t{17});
        QStringList shardFiles;
        for (std::size_t i = 0; i < 3; ++i) {
            o.shard = Shard{i, 3};
            o.csv = scratch("part-" + std::to_string(i) + ".csv");
            runEvaluation(dataset, a, b, o);
            shardFiles << q(o.csv);
        }
        const auto merged = runCli(QStringList{QStringLiteral("eval-merge")} + shardFiles + QStringList{QStringLiteral("--json")});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.err));
        const auto mergedJson = nlohmann::json::parse(merged.out.toStdString());
        const auto allRows = readResultsCsv(scratch("all.csv")).rows;
        // Every number recomputed from the shard rows equals the report of all rows of the
        // shards (times included), and equals the single run's report up to the times.
        std::vector<InstanceRow> shardRows;
        for (const QString& f : shardFiles)
            for (auto& r : readResultsCsv(f.toStdString()).rows)
                shardRows.push_back(r);
        QCOMPARE(mergedJson.dump(), reportToJson(summarize(shardRows)).dump());
        auto strip = [](nlohmann::json j) {
            for (const char* m : {"original", "compressed"})
                for (const char* k : {"encode_seconds_per_image", "decode_ms_per_instance", "seconds_per_image"})
                    j[m].erase(k);
            return j;
        };
        QCOMPARE(strip(mergedJson).dump(), strip(reportToJson(summarize(allRows))).dump());
        QCOMPARE(mergedJson["counts"]["evaluated"].get<int>(), 17);
        QCOMPARE(mergedJson["skipped_instances"]["iscrowd"].get<int>(), 1);

        const auto text = runCli(QStringList{QStringLiteral("eval-merge")} + shardFiles);
        QCOMPARE(text.exitCode, 0);
        QVERIFY2(text.out.contains(QStringLiteral("mIoU")) && text.out.contains(QStringLiteral("agreement")),
                 qPrintable(text.out));
    }

    void badInputFails()
    {
        const auto none = runCli({QStringLiteral("eval-merge")});
        QCOMPARE(none.exitCode, 2);
        const auto missing = runCli({QStringLiteral("eval-merge"), q(scratch("nope.csv"))});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY2(missing.err.contains(QStringLiteral("nope.csv")), qPrintable(missing.err));
        makeDataset();
        const Dataset dataset = Dataset::open(scratch("ann.json"));
        SquareModel a, b;
        EvalOptions o;
        o.imagesDir = scratch("images");
        o.overwrite = true;
        o.csv = scratch("twice.csv");
        runEvaluation(dataset, a, b, o);
        const auto twice = runCli({QStringLiteral("eval-merge"), q(o.csv), q(o.csv)});
        QCOMPARE(twice.exitCode, 1);
        QVERIFY2(twice.err.contains(QStringLiteral("appears in both")), qPrintable(twice.err));
        std::ofstream(scratch("other.csv")) << "a,b\n1,2\n";
        const auto other = runCli({QStringLiteral("eval-merge"), q(scratch("other.csv"))});
        QCOMPARE(other.exitCode, 1);
        QVERIFY2(other.err.contains(QStringLiteral("not an evaluation CSV")), qPrintable(other.err));
    }
};

BIRKHOFF_REGISTER_TEST(TestCliEvalMerge);
#include "test_cli_eval_merge.moc"
