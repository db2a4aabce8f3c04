// `birkhoff quantize`, `birkhoff agreement` and `birkhoff frontier` end to end on the golden tiny
// SAM: a baseline file that loads in `agreement`, a model agreeing with itself exactly, bad command
// lines (exit 2), a folder without images and models of different layouts (exit 1, no output
// file), a two-point frontier with its three output files, and a frontier stopped with Ctrl-C
// (SIGINT: exit 130, finished points kept) that --resume completes.
#include "tests/app/cli_runner.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QProcess>
#include <QTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include <signal.h>

namespace fs = std::filesystem;
using birkhoff::test::runCli;
using nlohmann::json;

namespace {

QString scratch(const QString& name)
{
    const QString dir = birkhoff::test::scratchDir() + QStringLiteral("/cli-agreement");
    fs::create_directories(dir.toStdString());
    return dir + QLatin1Char('/') + name;
}

QString tiny()
{
    return birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
}

/// A folder holding the golden dog image.
QString imageFolder()
{
    const QString dir = scratch(QStringLiteral("images"));
    fs::create_directories(dir.toStdString());
    fs::copy_file(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")).toStdString(),
                  (dir + QStringLiteral("/dog.png")).toStdString(), fs::copy_options::overwrite_existing);
    return dir;
}

}  // namespace

class TestCliAgreement : public QObject {
    Q_OBJECT

private slots:
    void badCommandLines()
    {
        const QString images = scratch(QStringLiteral("bad-args"));
        fs::create_directories(images.toStdString());
        for (const QStringList& args :
             {QStringList{QStringLiteral("agreement"), QStringLiteral("--compressed"), tiny(), QStringLiteral("--images"),
                          images, QStringLiteral("--grid"), QStringLiteral("0")},
              QStringList{QStringLiteral("agreement"), QStringLiteral("--compressed"), tiny(), QStringLiteral("--images"),
                          images, QStringLiteral("--grid"), QStringLiteral("65")},
              QStringList{QStringLiteral("agreement"), QStringLiteral("--images"), images},
              QStringList{QStringLiteral("agreement"), QStringLiteral("--compressed"), tiny(), QStringLiteral("--images"),
                          images, QStringLiteral("--prompt"), QStringLiteral("lines")},
              QStringList{QStringLiteral("quantize"), QStringLiteral("--bits"), QStringLiteral("9"), scratch(QStringLiteral("q.safetensors"))},
              QStringList{QStringLiteral("frontier"), QStringLiteral("--images"), images, QStringLiteral("-o"),
                          scratch(QStringLiteral("f")), QStringLiteral("--points"), QStringLiteral("rtn:1:64")}}) {
            const auto r = runCli(args);
            QVERIFY2(r.exitCode == 2, qPrintable(args.join(QLatin1Char(' ')) + QStringLiteral(": ") + r.err));
        }
        QVERIFY(!fs::exists(scratch(QStringLiteral("q.safetensors")).toStdString()));
        QVERIFY(!fs::exists(scratch(QStringLiteral("f/frontier.json")).toStdString()));
    }

    void agreementAndFrontierOnTinySam()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const QString images = imageFolder();
        const QString model = scratch(QStringLiteral("model"));
        fs::create_directories(model.toStdString());
        fs::copy_file(birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/config.json")).toStdString(),
                      (model + QStringLiteral("/config.json")).toStdString(), fs::copy_options::overwrite_existing);
        const QString quantized = model + QStringLiteral("/rtn4.safetensors");
        auto r = runCli({QStringLiteral("quantize"), QStringLiteral("--model"), tiny(), QStringLiteral("--bits"),
                         QStringLiteral("4"), QStringLiteral("--group"), QStringLiteral("32"), QStringLiteral("--json"), quantized});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const json summary = json::parse(r.out.toStdString());
        QCOMPARE(summary.at("file_bytes").get<std::uint64_t>(), static_cast<std::uint64_t>(fs::file_size(quantized.toStdString())));

        // The same model twice agrees exactly.
        r = runCli({QStringLiteral("agreement"), QStringLiteral("--model"), tiny(), QStringLiteral("--compressed"), tiny(),
                    QStringLiteral("--images"), images, QStringLiteral("--grid"), QStringLiteral("3"), QStringLiteral("--json"),
                    QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        json report = json::parse(r.out.toStdString());
        QCOMPARE(report.at("overall").at("mean").get<double>(), 1.0);

        // The quantized file loads and agrees partly.
        const QString reportFile = scratch(QStringLiteral("agreement.json"));
        r = runCli({QStringLiteral("agreement"), QStringLiteral("--model"), tiny(), QStringLiteral("--compressed"), quantized,
                    QStringLiteral("--images"), images, QStringLiteral("--grid"), QStringLiteral("3"), QStringLiteral("--prompt"),
                    QStringLiteral("points"), QStringLiteral("-o"), reportFile, QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        std::ifstream in(reportFile.toStdString());
        report = json::parse(in);
        QCOMPARE(report.at("overall").at("count").get<int>(), 9);
        const double mean = report.at("overall").at("mean").get<double>();
        QVERIFY2(mean >= 0.0 && mean <= 1.0, qPrintable(QString::number(mean)));

        // No readable image: exit 1, no report written.
        const QString empty = scratch(QStringLiteral("no-images"));
        fs::create_directories(empty.toStdString());
        std::ofstream(empty.toStdString() + "/readme.txt") << "text\n";
        const QString noReport = scratch(QStringLiteral("none.json"));
        r = runCli({QStringLiteral("agreement"), QStringLiteral("--model"), tiny(), QStringLiteral("--compressed"), tiny(),
                    QStringLiteral("--images"), empty, QStringLiteral("-o"), noReport, QStringLiteral("--quiet")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("no readable image")), qPrintable(r.err));
        QVERIFY(!fs::exists(noReport.toStdString()));

        // Different layouts (window 4 vs 6): exit 1.
        r = runCli({QStringLiteral("agreement"), QStringLiteral("--model"), tiny(), QStringLiteral("--compressed"),
                    birkhoff::test::goldenPath(QStringLiteral("sam_vit_tiny/variant_window6/sam_vit_tiny.pth")),
                    QStringLiteral("--images"), images, QStringLiteral("--quiet")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("different")), qPrintable(r.err));

        // A two-point frontier writes its three files.
        const QString out = scratch(QStringLiteral("frontier"));
        r = runCli({QStringLiteral("frontier"), QStringLiteral("--model"), tiny(), QStringLiteral("--images"), images,
                    QStringLiteral("--grid"), QStringLiteral("2"), QStringLiteral("--points"), QStringLiteral("rtn:8:pc,hqq:4:64"),
                    QStringLiteral("-o"), out, QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        for (const char* file : {"/frontier.json", "/frontier.csv", "/frontier.png"})
            QVERIFY2(fs::exists((out + QString::fromUtf8(file)).toStdString()), file);
        QVERIFY(r.out.contains(QStringLiteral("int8 per-channel")));
    }

    void frontierCtrlCIsResumable()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const QString images = imageFolder();
        const QString out = scratch(QStringLiteral("frontier-interrupted"));
        const QStringList args = {QStringLiteral("frontier"), QStringLiteral("--model"), tiny(), QStringLiteral("--images"),
                                  images, QStringLiteral("--grid"), QStringLiteral("12"), QStringLiteral("--points"),
                                  QStringLiteral("rtn:8:pc,rtn:4:64,hqq:4:64,rtn:6:32"), QStringLiteral("-o"), out};
        // Grid 12 (288 prompts per point) keeps each point running for seconds, so SIGINT sent
        // when the first point is reported lands while a later point is being measured.
        QProcess process;
        process.start(qEnvironmentVariable("BIRKHOFF_CLI"), args);
        QVERIFY2(process.waitForStarted(), "$BIRKHOFF_CLI did not start (run the test through CTest)");
        QString err;
        while (!err.contains(QStringLiteral("done: ")) && process.state() == QProcess::Running) {
            process.waitForReadyRead(1000);
            err += QString::fromUtf8(process.readAllStandardError());
        }
        QVERIFY2(process.state() == QProcess::Running, qPrintable(QStringLiteral("finished before Ctrl-C: ") + err));
        ::kill(static_cast<pid_t>(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(120000));
        err += QString::fromUtf8(process.readAllStandardError());
        QCOMPARE(process.exitCode(), 130);
        QVERIFY2(err.contains(QStringLiteral("--resume")), qPrintable(err));
        std::ifstream partialFile((out + QStringLiteral("/frontier.json")).toStdString());
        const json partial = json::parse(partialFile);
        QCOMPARE(partial.at("complete").get<bool>(), false);
        const std::size_t finished = partial.at("rows").size();
        QVERIFY(finished >= 1 && finished < 4);

        const auto r = runCli(args + QStringList{QStringLiteral("--resume"), QStringLiteral("--quiet")}, 600000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("(%1 resumed)").arg(finished)), qPrintable(r.err));
        std::ifstream doneFile((out + QStringLiteral("/frontier.json")).toStdString());
        const json done = json::parse(doneFile);
        QCOMPARE(done.at("complete").get<bool>(), true);
        QCOMPARE(done.at("rows").size(), std::size_t{4});
    }
};

BIRKHOFF_REGISTER_TEST(TestCliAgreement);
#include "test_cli_agreement.moc"
