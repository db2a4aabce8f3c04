// `birkhoff compress` and `birkhoff restore` end to end: the golden model compressed by the CLI
// (roles from the family module map) equals the authors' file, restores within 1e-6 of their
// decoder into .safetensors and a .pth that Python's torch.load reads; reports (JSON, CSV),
// dry runs, bad options (exit 2), bad files (exit 1), and Ctrl-C leaving no output file.
#include "core/codec/report.h"
#include "core/format/encoded_tensor.h"
#include "core/io/safetensors.h"
#include "tests/app/cli_runner.h"
#include "tests/core/io/python_torch.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTest>

#include <nlohmann/json.hpp>

#include <csignal>

using namespace birkhoff;
using birkhoff::test::runCli;

namespace {

QString scratch(const QString& name)
{
    return test::scratchDir() + QLatin1Char('/') + name;
}

nlohmann::json readJson(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return nlohmann::json::parse(f.readAll().toStdString());
}

// A synthetic checkpoint of `blocks` transformer-like blocks (unknown family: shape heuristic).
QString writeSyntheticCheckpoint(const QString& name, int blocks)
{
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(4);
    io::StateDict sd;
    for (int b = 0; b < blocks; ++b) {
        const std::string p = "net.blocks." + std::to_string(b);
        sd.insert(p + ".fc1.weight", at::normal(0.0, 0.02, {1024, 512}, gen));
        sd.insert(p + ".fc1.bias", at::normal(0.0, 0.02, {1024}, gen));
        sd.insert(p + ".fc2.weight", at::normal(0.0, 0.02, {512, 1024}, gen));
        sd.insert(p + ".fc2.bias", at::normal(0.0, 0.02, {512}, gen));
        sd.insert(p + ".norm.weight", 1 + at::normal(0.0, 0.05, {512}, gen));
    }
    const QString path = scratch(name);
    io::writeSafetensors(path.toStdString(), sd);
    return path;
}

}  // namespace

class TestCliCodec : public QObject {
    Q_OBJECT
private slots:
    void compressAndRestoreGoldenModel()
    {
        BIRKHOFF_REQUIRE_GOLDEN("birkhoff/model1/input_state_dict.safetensors");
        const QString input = test::goldenPath(QStringLiteral("birkhoff/model1/input_state_dict.safetensors"));
        const QString out = scratch(QStringLiteral("model1.safetensors"));
        const QString report = scratch(QStringLiteral("model1.json"));
        auto r = runCli({QStringLiteral("compress"), input, QStringLiteral("-o"), out, QStringLiteral("--report"), report,
                         QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains(QStringLiteral("ratio")));
        const nlohmann::json j = readJson(report);
        QCOMPARE(j.at("tensors").size(), std::size_t(66));
        QCOMPARE(j.at("totals").at("original_bytes").get<std::uint64_t>(), std::uint64_t(QFileInfo(input).size()));
        QCOMPARE(j.at("totals").at("compressed_bytes").get<std::uint64_t>(), std::uint64_t(QFileInfo(out).size()));

        // The family's module map gives the authors' routing, so the file equals theirs.
        const io::SafetensorsContent ours = io::readSafetensors(out.toStdString());
        const io::SafetensorsContent theirs = io::readSafetensors(
            test::goldenPath(QStringLiteral("birkhoff/model1/hyper_model.safetensors")).toStdString());
        QCOMPARE(ours.tensors.names(), theirs.tensors.names());
        for (const auto& e : theirs.tensors)
            QVERIFY2(ours.tensors.at(e.name).equal(e.tensor), e.name.c_str());

        const QString csv = scratch(QStringLiteral("model1.csv"));
        r = runCli({QStringLiteral("compress"), input, QStringLiteral("--dry-run"), QStringLiteral("--report"), csv,
                    QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QFile c(csv);
        QVERIFY(c.open(QIODevice::ReadOnly));
        QVERIFY(c.readLine().startsWith("name,shape,path,l,U,K,"));

        // Restore to safetensors and .pth.
        const QString dense = scratch(QStringLiteral("model1_dense.safetensors"));
        r = runCli({QStringLiteral("restore"), out, QStringLiteral("-o"), dense, QStringLiteral("--quiet")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const io::StateDict restored = io::readSafetensors(dense.toStdString()).tensors;
        const io::StateDict official = io::readSafetensors(
            test::goldenPath(QStringLiteral("birkhoff/model1/decoded_standard.safetensors")).toStdString()).tensors;
        const io::StateDict original = io::readSafetensors(input.toStdString()).tensors;
        QCOMPARE(restored.size(), original.size());
        for (const auto& e : restored)
            QVERIFY2((e.tensor - official.at(e.name)).abs().max().item<double>() <= 1e-6, e.name.c_str());

        const QString pth = scratch(QStringLiteral("model1_dense.pth"));
        r = runCli({QStringLiteral("restore"), out, QStringLiteral("-o"), pth, QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(nlohmann::json::parse(r.out.toStdString()).at("tensors").get<int>(), 66);
        if (test::pythonTorchAvailable()) {
            QString error;
            const QStringList listing = test::pythonCheckpointListing(pth, &error);
            QVERIFY2(!listing.isEmpty(), qPrintable(error));
            QStringList expected = test::stateDictListing(restored);
            QStringList got = listing.mid(2);
            expected.sort();
            got.sort();
            QCOMPARE(got, expected);
        } else {
            qWarning("%s: /usr/bin/python3 with torch is unavailable; torch.load of the restored .pth NOT checked",
                     test::kSkipMarker);
        }
    }

    void compressesOtherFormatsAndFamiliesWithExtensions()
    {
        const QString input = writeSyntheticCheckpoint(QStringLiteral("generic.safetensors"), 2);
        const QString overrides = scratch(QStringLiteral("overrides.json"));
        QFile o(overrides);
        QVERIFY(o.open(QIODevice::WriteOnly));
        o.write(R"({"overrides": [{"pattern": "net.blocks.1.*", "l": 0.05}]})");
        o.close();
        const QString out = scratch(QStringLiteral("generic_c.safetensors"));
        const auto r = runCli({QStringLiteral("compress"), input, QStringLiteral("-o"), out, QStringLiteral("--overrides"),
                               overrides, QStringLiteral("--auto-l"), QStringLiteral("--json"), QStringLiteral("--threads"),
                               QStringLiteral("1")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const nlohmann::json j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j.at("model").at("known_family").get<bool>(), false);
        QVERIFY(j.at("warnings").dump().find("heuristic") != std::string::npos);
        QCOMPARE(j.at("tensors").at(0).at("load_type").get<int>(), 2);  // fc1.weight: Linear by the heuristic
        const format::CompressedModel m = format::readCompressedModel(out.toStdString());
        QVERIFY(!m.extensions.empty());
        QCOMPARE(m.at("net.blocks.1.fc1.weight").l, 0.05f);
    }

    // (Every invalid setting is covered by TestCompressor::invalidSettingsAreRejected; these rows
    // check that the CLI turns them into usage errors.)
    void badOptionsAreUsageErrors_data()
    {
        QTest::addColumn<QStringList>("extra");
        QTest::addColumn<QString>("message");
        QTest::newRow("U-not-square") << QStringList{QStringLiteral("--U"), QStringLiteral("1225,1000")} << QStringLiteral("perfect square");
        QTest::newRow("U-empty") << QStringList{QStringLiteral("--U"), QStringLiteral(",")} << QStringLiteral("--U");
        QTest::newRow("l-zero") << QStringList{QStringLiteral("--l"), QStringLiteral("0")} << QStringLiteral("--l");
        QTest::newRow("l-nan") << QStringList{QStringLiteral("--l"), QStringLiteral("nan")} << QStringLiteral("--l");
        QTest::newRow("M-huge") << QStringList{QStringLiteral("--M"), QStringLiteral("1000")} << QStringLiteral("--M");
        QTest::newRow("two-targets") << QStringList{QStringLiteral("--target-mae"), QStringLiteral("0.001"),
                                                    QStringLiteral("--target-ratio"), QStringLiteral("4")}
                                     << QStringLiteral("cannot be combined");
        QTest::newRow("rd-step-without-rd") << QStringList{QStringLiteral("--rd-step"), QStringLiteral("0.5")}
                                            << QStringLiteral("--rd-step needs --rd");
        QTest::newRow("rd-with-l") << QStringList{QStringLiteral("--rd"), QStringLiteral("--l"), QStringLiteral("0.2")}
                                   << QStringLiteral("drop --l");
        QTest::newRow("rd-step-and-ratio") << QStringList{QStringLiteral("--rd"), QStringLiteral("--rd-step"),
                                                          QStringLiteral("0.5"), QStringLiteral("--target-ratio"),
                                                          QStringLiteral("8")}
                                           << QStringLiteral("cannot be combined");
        QTest::newRow("rd-step-zero") << QStringList{QStringLiteral("--rd"), QStringLiteral("--rd-step"), QStringLiteral("0")}
                                      << QStringLiteral("--rd-step");
    }

    // The rate-distortion codec end to end through the CLI: compress the golden tiny SAM to a
    // target ratio, segment with the file (its loader note is printed), and a ratio out of reach
    // fails naming the largest reachable one without leaving a file.
    void rateDistortionCompressAndSegment()
    {
        BIRKHOFF_REQUIRE_GOLDEN("sam_vit_tiny/sam_vit_tiny.pth");
        const QString input = test::goldenPath(QStringLiteral("sam_vit_tiny/sam_vit_tiny.pth"));
        const QString out = scratch(QStringLiteral("tiny_rd.safetensors"));
        auto r = runCli({QStringLiteral("compress"), input, QStringLiteral("--rd"), QStringLiteral("--target-ratio"),
                         QStringLiteral("6"), QStringLiteral("-o"), out, QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 0);
        const auto report = nlohmann::json::parse(r.out.toStdString());
        const double ratio = report.at("totals").at("ratio").get<double>();
        QVERIFY2(ratio >= 6.0 && ratio <= 6.3, qPrintable(QString::number(ratio)));
        QCOMPARE(static_cast<double>(QFileInfo(input).size()) / QFileInfo(out).size(), ratio);
        r = runCli({QStringLiteral("segment"), QStringLiteral("--model"), out, QStringLiteral("--image"),
                    test::goldenPath(QStringLiteral("sam_vit_tiny/dog_320.png")), QStringLiteral("--point"),
                    QStringLiteral("160,120"), QStringLiteral("-o"), scratch(QStringLiteral("tiny_rd_mask.png"))});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.err.contains(QStringLiteral("note: ")) && r.err.contains(QStringLiteral("extensions")), qPrintable(r.err));
        const QString far = scratch(QStringLiteral("tiny_rd_far.safetensors"));
        r = runCli({QStringLiteral("compress"), input, QStringLiteral("--rd"), QStringLiteral("--target-ratio"),
                    QStringLiteral("5000"), QStringLiteral("-o"), far});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("largest ratio")), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(far));
    }
    void badOptionsAreUsageErrors()
    {
        QFETCH(QStringList, extra);
        QFETCH(QString, message);
        const QString out = scratch(QStringLiteral("never.safetensors"));
        const auto r = runCli(QStringList{QStringLiteral("compress"), scratch(QStringLiteral("absent.pth")),
                                          QStringLiteral("-o"), out} + extra);
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(out));
    }

    void badFilesFailCleanly()
    {
        const QString out = scratch(QStringLiteral("never2.safetensors"));
        auto r = runCli({QStringLiteral("compress"), scratch(QStringLiteral("absent.pth")), QStringLiteral("-o"), out});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("absent.pth")), qPrintable(r.err));
        r = runCli({QStringLiteral("compress"), scratch(QStringLiteral("x.pth")), QStringLiteral("-o"),
                    scratch(QStringLiteral("out.bin"))});
        QCOMPARE(r.exitCode, 2);
        r = runCli({QStringLiteral("compress"), scratch(QStringLiteral("x.pth"))});
        QCOMPARE(r.exitCode, 2);

        const QString overrides = scratch(QStringLiteral("bad_overrides.json"));
        QFile o(overrides);
        QVERIFY(o.open(QIODevice::WriteOnly));
        o.write("{\"overrides\": [ {\"pattern\": 3 } ]}");
        o.close();
        const QString input = writeSyntheticCheckpoint(QStringLiteral("small.safetensors"), 1);
        r = runCli({QStringLiteral("compress"), input, QStringLiteral("-o"), out, QStringLiteral("--overrides"), overrides});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("bad_overrides.json")), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(out));

        // A compressed file with an inconsistent byte count.
        const QString good = scratch(QStringLiteral("small_c.safetensors"));
        r = runCli({QStringLiteral("compress"), input, QStringLiteral("-o"), good, QStringLiteral("--quiet")});
        QCOMPARE(r.exitCode, 0);
        // A compressed file is not compressed again (it would be taken for a generic checkpoint).
        const QString twice = scratch(QStringLiteral("small_cc.safetensors"));
        r = runCli({QStringLiteral("compress"), good, QStringLiteral("-o"), twice, QStringLiteral("--quiet")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("already compressed")) && r.err.contains(good), qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(twice));
        io::StateDict tensors = io::readSafetensors(good.toStdString()).tensors;
        tensors.insertOrAssign("net.blocks.0.fc1.weight.encoded_index", at::zeros({10}, at::kByte));
        const QString broken = scratch(QStringLiteral("broken.safetensors"));
        io::writeSafetensors(broken.toStdString(), tensors);
        const QString dense = scratch(QStringLiteral("broken_dense.pth"));
        r = runCli({QStringLiteral("restore"), broken, QStringLiteral("-o"), dense});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("net.blocks.0.fc1.weight")) && r.err.contains(QStringLiteral("bytes")),
                 qPrintable(r.err));
        QVERIFY(!QFileInfo::exists(dense));
        r = runCli({QStringLiteral("restore"), input, QStringLiteral("-o"), dense});  // a dense file
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("rect_l")), qPrintable(r.err));
    }

    void interruptLeavesNoOutput()
    {
        const QString input = writeSyntheticCheckpoint(QStringLiteral("interrupt.safetensors"), 6);
        const QString out = scratch(QStringLiteral("interrupted.safetensors"));
        QProcess p;
        p.start(qEnvironmentVariable("BIRKHOFF_CLI"),
                {QStringLiteral("compress"), input, QStringLiteral("-o"), out, QStringLiteral("--target-mae"),
                 QStringLiteral("0.0001")});
        QVERIFY(p.waitForStarted());
        // Interrupt once compression reports progress.
        QByteArray err;
        while (!err.contains("[") && p.state() == QProcess::Running) {
            p.waitForReadyRead(100);
            err += p.readAllStandardError();
        }
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        err += p.readAllStandardError();
        QCOMPARE(p.exitCode(), 130);
        QVERIFY2(err.contains("interrupted"), err.constData());
        QVERIFY(!QFileInfo::exists(out));
        const QStringList leftovers = QDir(test::scratchDir()).entryList({QStringLiteral(".interrupted*")},
                                                                         QDir::Files | QDir::Hidden);
        QVERIFY2(leftovers.isEmpty(), qPrintable(leftovers.join(QLatin1Char(' '))));
    }
};

BIRKHOFF_REGISTER_TEST(TestCliCodec);
#include "test_cli_codec.moc"
