// `birkhoff eval` end to end on ../shared/data/coco-mini with the default model: consistent counts
// (47 evaluated, 3 crowd regions skipped), mIoU in [0, 1] and within the README's tolerance of the
// ONNX Runtime reference, a model compared with itself agrees fully, two shards merge to the
// single run's report, --resume of a finished CSV reproduces it exactly, bad command lines fail.
#include "core/eval/results.h"
#include "core/util/paths.h"
#include "tests/app/cli_runner.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using birkhoff::test::runCli;
using nlohmann::json;

namespace {

QString shared(const char* relative)
{
    return birkhoff::test::sharedPath(QString::fromUtf8(relative));
}

QString scratch(const QString& name)
{
    const QString dir = birkhoff::test::scratchDir() + QStringLiteral("/cli-eval");
    fs::create_directories(dir.toStdString());
    return dir + QLatin1Char('/') + name;
}

json withoutTimes(json report)
{
    for (const char* model : {"original", "compressed"})
        for (const char* key : {"encode_seconds_per_image", "decode_ms_per_instance", "seconds_per_image"})
            report[model].erase(key);
    return report;
}

/// Reference per-instance values: ann_id -> column -> value.
std::map<std::int64_t, std::map<std::string, std::string>> referenceRows()
{
    std::ifstream in(shared("data/coco-mini/reference/per_instance.csv").toStdString());
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header;
    std::stringstream hs(line);
    for (std::string cell; std::getline(hs, cell, ',');)
        header.push_back(cell);
    std::map<std::int64_t, std::map<std::string, std::string>> rows;
    while (std::getline(in, line)) {
        std::stringstream ls(line);
        std::map<std::string, std::string> row;
        std::size_t k = 0;
        for (std::string cell; std::getline(ls, cell, ',') && k < header.size(); ++k)
            row[header[k]] = cell;
        rows[std::stoll(row.at("ann_id"))] = row;
    }
    return rows;
}

}  // namespace

class TestCliEval : public QObject {
    Q_OBJECT
private:
    QString model_;
    QStringList base_;

    bool requireInputs()
    {
        const fs::path m = birkhoff::findDefaultModel();
        if (m.empty())
            return false;
        model_ = QString::fromStdString(m.string());
        base_ = {QStringLiteral("eval"),        QStringLiteral("--model"),  model_,
                 QStringLiteral("--compressed"), model_,                     QStringLiteral("--annotations"),
                 shared("data/coco-mini/annotations.json"), QStringLiteral("--images"),
                 shared("data/coco-mini/images"),           QStringLiteral("--quiet")};
        return true;
    }

    json run(const QStringList& extra)
    {
        const auto r = runCli(base_ + extra + QStringList{QStringLiteral("--json")}, 600000);
        if (r.exitCode != 0) {
            qWarning("birkhoff eval exited with %d: %s", r.exitCode, qPrintable(r.err));
            return json();
        }
        return json::parse(r.out.toStdString());
    }

private slots:
    void boxPromptsMatchReferenceAndShardsMerge()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        if (!requireInputs())
            BIRKHOFF_SKIP("the default model is not installed (run scripts/setup.sh), so eval did NOT run");
        const QString single = scratch(QStringLiteral("single.csv"));
        const json report = run({QStringLiteral("--csv"), single, QStringLiteral("--overwrite")});
        QVERIFY(!report.is_null());
        QCOMPARE(report["counts"]["instances"].get<int>(), 50);
        QCOMPARE(report["counts"]["evaluated"].get<int>(), 47);
        QCOMPARE(report["counts"]["images"].get<int>(), 2);
        QCOMPARE(report["skipped_instances"]["iscrowd"].get<int>(), 3);
        QCOMPARE(report["skipped_instances"].size(), std::size_t{1});
        QCOMPARE(report["prompt"].get<std::string>(), std::string("box"));
        QCOMPARE(report["mask_rule"].get<std::string>(), std::string("single"));
        QCOMPARE(report["original"]["things"]["count"].get<int>(), 40);
        QCOMPARE(report["original"]["stuff"]["count"].get<int>(), 7);
        const double miou = report["original"]["miou"].get<double>();
        QVERIFY(miou >= 0.0 && miou <= 1.0);
        // The model against itself: identical masks.
        QCOMPARE(report["agreement"]["mean_iou"].get<double>(), 1.0);
        QCOMPARE(report["agreement"]["identical_masks"].get<int>(), 47);
        QCOMPARE(report["compressed"]["miou"].get<double>(), miou);

        // ONNX Runtime reference on the same weights: box_token0 = 0.651372 (README tolerance 0.005).
        const auto reference = referenceRows();
        double maxDiff = 0;
        std::int64_t worst = -1;
        for (const auto& row : birkhoff::eval::readResultsCsv(single.toStdString()).rows) {
            if (!row.evaluated())
                continue;
            const double diff = std::fabs(row.original->iou - std::stod(reference.at(row.annotationId).at("box_tok0_iou")));
            if (diff > maxDiff) {
                maxDiff = diff;
                worst = row.annotationId;
            }
        }
        qInfo("box mIoU %.6f (things %.6f, stuff %.6f); ORT reference 0.651372 (0.639750, 0.717781); "
              "max per-instance |IoU diff| %.4f (annotation %lld)",
              miou, report["original"]["things"]["miou"].get<double>(), report["original"]["stuff"]["miou"].get<double>(),
              maxDiff, static_cast<long long>(worst));
        QVERIFY2(std::fabs(miou - 0.651372) <= 0.005, qPrintable(QStringLiteral("box mIoU %1").arg(miou, 0, 'f', 6)));
        QVERIFY2(maxDiff <= 0.03, qPrintable(QStringLiteral("annotation %1 differs by %2").arg(worst).arg(maxDiff)));

        // Two shards merge to the single run's report.
        const QString p0 = scratch(QStringLiteral("part-0.csv")), p1 = scratch(QStringLiteral("part-1.csv"));
        const json r0 = run({QStringLiteral("--shard"), QStringLiteral("0/2"), QStringLiteral("--csv"), p0,
                             QStringLiteral("--overwrite")});
        const json r1 = run({QStringLiteral("--shard"), QStringLiteral("1/2"), QStringLiteral("--csv"), p1,
                             QStringLiteral("--overwrite")});
        QVERIFY(!r0.is_null() && !r1.is_null());
        QCOMPARE(r0["counts"]["images"].get<int>() + r1["counts"]["images"].get<int>(), 2);
        const auto merged = runCli({QStringLiteral("eval-merge"), p1, p0, QStringLiteral("--json")});
        QCOMPARE(merged.exitCode, 0);
        QCOMPARE(withoutTimes(json::parse(merged.out.toStdString())).dump(), withoutTimes(report).dump());

        // Resuming a finished CSV encodes nothing and reproduces the report exactly.
        const auto resumed = runCli(base_ + QStringList{QStringLiteral("--csv"), single, QStringLiteral("--resume"),
                                                        QStringLiteral("--json")},
                                    600000);
        QCOMPARE(resumed.exitCode, 0);
        QVERIFY2(resumed.err.contains(QStringLiteral("(2 resumed from the CSV), 0 images encoded")), qPrintable(resumed.err));
        QCOMPARE(json::parse(resumed.out.toStdString()).dump(), report.dump());
    }

    void centrePointPromptsMatchReference()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        if (!requireInputs())
            BIRKHOFF_SKIP("the default model is not installed (run scripts/setup.sh), so eval did NOT run");
        const json report = run({QStringLiteral("--prompt"), QStringLiteral("center-point")});
        QVERIFY(!report.is_null());
        QCOMPARE(report["mask_rule"].get<std::string>(), std::string("best"));
        QCOMPARE(report["counts"]["evaluated"].get<int>(), 47);
        const double miou = report["original"]["miou"].get<double>();
        qInfo("center-point mIoU %.6f; ORT reference point_multimask_best 0.486666", miou);
        QVERIFY2(std::fabs(miou - 0.486666) <= 0.005, qPrintable(QStringLiteral("point mIoU %1").arg(miou, 0, 'f', 6)));
    }

    void paperDefaultCompressionInMemory()
    {
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        if (!requireInputs())
            BIRKHOFF_SKIP("the default model is not installed (run scripts/setup.sh), so eval did NOT run");
        QStringList args = base_;
        const int at = args.indexOf(QStringLiteral("--compressed"));
        args.removeAt(at + 1);
        args[at] = QStringLiteral("--compress");
        const auto r = runCli(args + QStringList{QStringLiteral("--json")}, 600000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("compressed in memory (l=0.1 U=1225,1600 M=3)")), qPrintable(r.err));
        const json report = json::parse(r.out.toStdString());
        QCOMPARE(report["counts"]["evaluated"].get<int>(), 47);
        const double original = report["original"]["miou"].get<double>();
        const double compressed = report["compressed"]["miou"].get<double>();
        const double agreement = report["agreement"]["mean_iou"].get<double>();
        qInfo("box mIoU original %.6f, compressed (paper defaults) %.6f, drop %.6f, agreement %.6f (min %.6f)", original,
              compressed, original - compressed, agreement, report["agreement"]["min_iou"].get<double>());
        QVERIFY(compressed >= 0.0 && compressed <= 1.0);
        QVERIFY(agreement > 0.5 && agreement <= 1.0);
        QVERIFY(std::fabs(original - compressed) < 0.1);
        QVERIFY(report["compressed"]["name"].get<std::string>().find("compressed in memory") != std::string::npos);
    }

    void badCommandLines()
    {
        const auto noAnnotations = runCli({QStringLiteral("eval"), QStringLiteral("--compressed"), QStringLiteral("x")});
        QCOMPARE(noAnnotations.exitCode, 2);
        QVERIFY2(noAnnotations.err.contains(QStringLiteral("--annotations")), qPrintable(noAnnotations.err));
        const auto badPrompt = runCli({QStringLiteral("eval"), QStringLiteral("--compressed"), QStringLiteral("x"),
                                       QStringLiteral("--annotations"), QStringLiteral("a.json"), QStringLiteral("--prompt"),
                                       QStringLiteral("boxes")});
        QCOMPARE(badPrompt.exitCode, 2);
        const auto badShard = runCli({QStringLiteral("eval"), QStringLiteral("--compressed"), QStringLiteral("x"),
                                      QStringLiteral("--annotations"), QStringLiteral("a.json"), QStringLiteral("--shard"),
                                      QStringLiteral("2/2")});
        QCOMPARE(badShard.exitCode, 2);
        QVERIFY2(badShard.err.contains(QStringLiteral("i/n")), qPrintable(badShard.err));
        const auto both = runCli({QStringLiteral("eval"), QStringLiteral("--compressed"), QStringLiteral("x"),
                                  QStringLiteral("--compress"), QStringLiteral("--annotations"), QStringLiteral("a.json")});
        QCOMPARE(both.exitCode, 2);
        const auto badU = runCli({QStringLiteral("eval"), QStringLiteral("--compress"), QStringLiteral("--U"),
                                  QStringLiteral("12.5"), QStringLiteral("--annotations"), QStringLiteral("a.json")});
        QCOMPARE(badU.exitCode, 2);
        const auto resumeNoCsv = runCli({QStringLiteral("eval"), QStringLiteral("--compressed"), QStringLiteral("x"),
                                         QStringLiteral("--annotations"), QStringLiteral("a.json"), QStringLiteral("--resume")});
        QCOMPARE(resumeNoCsv.exitCode, 2);
        BIRKHOFF_REQUIRE_SHARED("data/coco-mini/annotations.json");
        const auto missingModel = runCli({QStringLiteral("eval"), QStringLiteral("--model"), scratch(QStringLiteral("none.pth")),
                                          QStringLiteral("--compressed"), scratch(QStringLiteral("none.pth")),
                                          QStringLiteral("--annotations"), shared("data/coco-mini/annotations.json")});
        QCOMPARE(missingModel.exitCode, 1);
        QVERIFY2(missingModel.err.contains(QStringLiteral("none.pth")), qPrintable(missingModel.err));

        // A folder without the dataset's images: nothing evaluated is a failure, not an mIoU of 0.
        if (!requireInputs())
            return;
        const QString empty = scratch(QStringLiteral("no_images"));
        fs::create_directories(empty.toStdString());
        QStringList args = base_;
        args[args.indexOf(QStringLiteral("--images")) + 1] = empty;
        const auto noImages = runCli(args, 600000);
        QCOMPARE(noImages.exitCode, 1);
        QVERIFY2(noImages.err.contains(QStringLiteral("no instance was evaluated"))
                     && noImages.err.contains(QStringLiteral("missing_image_file")),
                 qPrintable(noImages.err));
    }
};

BIRKHOFF_REGISTER_TEST(TestCliEval);
#include "test_cli_eval.moc"
