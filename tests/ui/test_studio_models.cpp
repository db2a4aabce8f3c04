// The studio with every SAM family, driven through the real main window on the small
// random-weight models of tests/core/models/family_test_support (official key layout, written
// as safetensors with the config.json each needs): SAM v1 ViT, MobileSAM, SAM 2, SAM-HQ (ViT and
// tiny), EfficientSAM, EdgeSAM, SlimSAM, MedSAM and EfficientViT-SAM each go open -> compress ->
// prompt -> masks in both panes. Then the compressed-file paths: the same compressed file opened
// twice (saved in another folder, so it runs with the original's config.json), and the same
// settings compressed twice, keep the compressed pane answering prompts,
// and a compressed file made from another model (another family, or the same family with another
// layout) is refused with a message box and changes nothing.
// LibTorch's headers come first: its JIT headers use the identifier `slots`, which Qt defines as
// a keyword macro once a Qt header is seen.
#include "core/codec/compressor.h"
#include "core/codec/model_roles.h"
#include "core/format/compressed_writer.h"
#include "core/io/safetensors.h"
#include "core/predict/overlay.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "tests/core/models/family_test_support.h"
#include "tests/core/models/model_test_support.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/main_window.h"
#include "ui/model_session.h"
#include "ui/predictor_session.h"
#include "ui/studio_settings.h"
#include "ui/workspace_widget.h"

#include <QDir>
#include <QSignalSpy>
#include <QTest>

#include <fstream>
#include <functional>
#include <memory>

using namespace birkhoff;
using namespace birkhoff::ui;
using birkhoff::test::FamilyCase;

Q_DECLARE_METATYPE(FamilyCase)

namespace {

constexpr int kTimeout = 120000;
constexpr int kImageWidth = 96;
constexpr int kImageHeight = 72;

/// scratch/<name>, created.
QString caseDir(const QString& name)
{
    const QString dir = birkhoff::test::scratchDir() + QLatin1Char('/') + name;
    QDir().mkpath(dir);
    return dir;
}

/// Writes `family`'s random-weight checkpoint (safetensors) and its config.json into
/// scratch/<dirName>; returns the checkpoint's path.
QString writeCheckpoint(const FamilyCase& family, const QString& dirName, std::uint64_t seed)
{
    const QString dir = caseDir(dirName);
    const QString path = dir + QStringLiteral("/model.safetensors");
    io::writeSafetensors(path.toStdString(), test::randomCheckpoint(family.config, seed));
    std::ofstream((dir + QStringLiteral("/config.json")).toStdString()) << family.configJson.dump(1);
    return path;
}

/// Compresses `family`'s random-weight checkpoint with the paper's defaults and writes the
/// compressed file and its config.json into scratch/<dirName>; returns the file's path.
QString writeCompressed(const FamilyCase& family, const QString& dirName, std::uint64_t seed)
{
    const io::StateDict tensors = test::randomCheckpoint(family.config, seed);
    const codec::CompressionResult result = codec::compressModel(tensors, codec::detectRoles(tensors).roles, {});
    const QString dir = caseDir(dirName);
    const QString path = dir + QStringLiteral("/compressed.safetensors");
    format::writeCompressedModel(path.toStdString(), result.model);
    std::ofstream((dir + QStringLiteral("/config.json")).toStdString()) << family.configJson.dump(1);
    return path;
}

/// A random RGB image written as PNG; returns its path.
QString writeImage()
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    const at::Tensor pixels = at::randint(0, 256, {kImageHeight, kImageWidth, 3}, generator, at::kByte).contiguous();
    const cv::Mat rgb(kImageHeight, kImageWidth, CV_8UC3, pixels.data_ptr<std::uint8_t>());
    const QString path = caseDir(QStringLiteral("image")) + QStringLiteral("/noise.png");
    predict::writeRgbPng(path.toStdString(), rgb);
    return path;
}

/// The message of the first ModelSession::failed() recorded by `spy`, or "".
QString firstFailure(const QSignalSpy& spy)
{
    return spy.isEmpty() ? QString() : spy.first().at(0).toString() + QStringLiteral(": ") + spy.first().at(1).toString();
}

/// One studio window with its scripted dialogs and settings file.
struct Studio {
    explicit Studio(const QString& name)
        : settings(birkhoff::test::scratchDir() + QLatin1Char('/') + name + QStringLiteral(".ini")),
          window(settings, dialogs)
    {
        window.resize(1400, 900);
        window.show();
    }
    ModelSession* session() const { return window.modelSession(); }
    WorkspaceWidget* workspace() const { return window.workspace(); }
    QString errors() const { return dialogs.errors().join(QLatin1Char('\n')); }

    test::ScriptedDialogs dialogs;
    StudioSettings settings;
    MainWindow window;
};

}  // namespace

class TestStudioModels : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { image_ = writeImage(); }

    void everyFamilyRunsInBothPanes_data()
    {
        QTest::addColumn<FamilyCase>("family");
        for (const FamilyCase& family : test::allFamilyCases())
            QTest::newRow(family.name.c_str()) << family;
    }

    void everyFamilyRunsInBothPanes()
    {
        QFETCH(FamilyCase, family);
        const QString name = QString::fromStdString(family.name);
        const QString checkpoint = writeCheckpoint(family, name, 11);
        Studio studio(name);
        QSignalSpy failed(studio.session(), &ModelSession::failed);

        QSignalSpy opened(studio.session(), &ModelSession::originalReady);
        studio.window.openFile(checkpoint);
        QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));
        QCOMPARE(studio.session()->originalSummary().runtime, QStringLiteral("dense float32"));

        QSignalSpy imageOpened(&studio.window, &MainWindow::imageOpened);
        studio.window.openImage(image_);
        QVERIFY(imageOpened.wait(kTimeout));

        QSignalSpy compressed(studio.session(), &ModelSession::compressedReady);
        studio.window.compress();
        QTRY_VERIFY_WITH_TIMEOUT(!compressed.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));
        const QString runtime = studio.session()->compressedSummary().runtime;
        QVERIFY2(runtime.startsWith(QStringLiteral("HyperLinear on")), qPrintable(runtime));

        WorkspaceWidget* ws = studio.workspace();
        QSignalSpy paneFailed(ws, &WorkspaceWidget::paneFailed);
        ws->prompts()->addPoint(QPointF(0.4 * kImageWidth, 0.5 * kImageHeight), 1);
        QTRY_VERIFY_WITH_TIMEOUT((!ws->prediction(WorkspaceWidget::Original).isEmpty() &&
                                  !ws->prediction(WorkspaceWidget::Compressed).isEmpty()) ||
                                     !paneFailed.isEmpty(),
                                 kTimeout);
        QVERIFY2(paneFailed.isEmpty(), qPrintable(paneFailed.isEmpty() ? QString() : paneFailed.first().at(1).toString()));
        for (WorkspaceWidget::Pane pane : {WorkspaceWidget::Original, WorkspaceWidget::Compressed}) {
            const MaskPrediction& prediction = ws->prediction(pane);
            QVERIFY(!prediction.candidates.isEmpty());
            QCOMPARE(prediction.candidates.first().mask.size(), QSize(kImageWidth, kImageHeight));
            QCOMPARE(ws->session(pane)->state(), PaneState::Ready);
        }
        QVERIFY2(studio.dialogs.errors().isEmpty(), qPrintable(studio.errors()));
    }

    void reopenedCompressedFileKeepsAnswering()
    {
        const QString checkpoint = writeCheckpoint(test::samVitCase(), QStringLiteral("reopen"), 21);
        // Saved in another folder: it runs with the original's config.json.
        const QString compressedPath = caseDir(QStringLiteral("reopen_saved")) + QStringLiteral("/c.safetensors");
        Studio studio(QStringLiteral("reopen"));
        QSignalSpy failed(studio.session(), &ModelSession::failed);
        QSignalSpy opened(studio.session(), &ModelSession::originalReady);
        studio.window.openFile(checkpoint);
        QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));
        QSignalSpy imageOpened(&studio.window, &MainWindow::imageOpened);
        studio.window.openImage(image_);
        QVERIFY(imageOpened.wait(kTimeout));
        WorkspaceWidget* ws = studio.workspace();
        ws->prompts()->addPoint(QPointF(40, 30), 1);
        QSignalSpy paneFailed(ws, &WorkspaceWidget::paneFailed);

        // The compressed pane answers the prompt after every step (the prompt stays), always with
        // the masks of the first compression: the saved file is that model, and compressing
        // again with the same settings gives it again.
        MaskPrediction first;
        const auto expectCompressedMasks = [&](const char* step) {
            QTRY_VERIFY_WITH_TIMEOUT(!ws->prediction(WorkspaceWidget::Compressed).isEmpty() || !paneFailed.isEmpty(),
                                     kTimeout);
            QVERIFY2(paneFailed.isEmpty(),
                     qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(step),
                                                            paneFailed.isEmpty() ? QString() : paneFailed.first().at(1).toString())));
            QCOMPARE(ws->session(WorkspaceWidget::Compressed)->state(), PaneState::Ready);
            const MaskPrediction& now = ws->prediction(WorkspaceWidget::Compressed);
            if (first.isEmpty())
                first = now;
            QCOMPARE(now.candidates.size(), first.candidates.size());
            for (int k = 0; k < now.candidates.size(); ++k) {
                QVERIFY2(now.candidates[k].predictedIou == first.candidates[k].predictedIou,
                         qPrintable(QStringLiteral("%1: candidate %2 predicted IoU %3, first compression %4")
                                        .arg(QLatin1String(step))
                                        .arg(k)
                                        .arg(now.candidates[k].predictedIou, 0, 'g', 9)
                                        .arg(first.candidates[k].predictedIou, 0, 'g', 9)));
                QVERIFY(now.candidates[k].mask == first.candidates[k].mask);
            }
        };
        const auto compress = [&] {
            QSignalSpy done(studio.session(), &ModelSession::compressedReady);
            studio.window.compress();
            QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty() || !failed.isEmpty(), kTimeout);
            QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));
        };
        const auto openCompressed = [&] {
            QSignalSpy done(studio.session(), &ModelSession::compressedReady);
            studio.window.openCompressedModel(compressedPath);
            QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty() || !failed.isEmpty(), kTimeout);
            QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));
        };

        // The steps are lambdas (their QVERIFYs return from the lambda only): stop at the first failure.
        const auto run = [](const std::function<void()>& first, const std::function<void()>& second) {
            first();
            if (!QTest::currentTestFailed())
                second();
            return !QTest::currentTestFailed();
        };
        if (!run(compress, [&] { expectCompressedMasks("compressed"); }))
            return;
        QSignalSpy saved(studio.session(), &ModelSession::saved);
        studio.dialogs.setNextFileName(compressedPath);
        studio.window.action(QStringLiteral("actionSaveCompressed"))->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));

        if (!run(openCompressed, [&] { expectCompressedMasks("the saved file opened"); }) ||
            !run(openCompressed, [&] { expectCompressedMasks("the same file opened again"); }) ||
            !run(compress, [&] { expectCompressedMasks("compressed again"); }) ||
            !run(compress, [&] { expectCompressedMasks("compressed again with the same settings"); }))
            return;
        QVERIFY2(studio.dialogs.errors().isEmpty(), qPrintable(studio.errors()));
    }

    void compressedFileOfAnotherModelIsRefused_data()
    {
        QTest::addColumn<FamilyCase>("other");
        QTest::addColumn<QString>("expected");  // what the message must say
        QTest::newRow("another family") << test::mobileSamCase() << QStringLiteral("MobileSAM");
        QTest::newRow("another layout") << test::slimSamCase() << QStringLiteral("tensors differ");
    }

    void compressedFileOfAnotherModelIsRefused()
    {
        QFETCH(FamilyCase, other);
        QFETCH(QString, expected);
        const QString dirName = QStringLiteral("refuse_") + QString::fromStdString(other.name);
        const QString checkpoint = writeCheckpoint(test::samVitCase(), dirName, 31);
        const QString foreign = writeCompressed(other, dirName + QStringLiteral("_other"), 32);
        Studio studio(dirName);
        QSignalSpy failed(studio.session(), &ModelSession::failed);
        QSignalSpy opened(studio.session(), &ModelSession::originalReady);
        studio.window.openFile(checkpoint);
        QTRY_VERIFY_WITH_TIMEOUT(!opened.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(firstFailure(failed)));

        QSignalSpy errors(&studio.window, &MainWindow::errorReported);
        QSignalSpy ready(studio.session(), &ModelSession::compressedReady);
        studio.window.openFile(foreign);
        QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty() || !errors.isEmpty(), kTimeout);
        QVERIFY2(ready.isEmpty(), "a compressed file of another model was accepted");
        QCOMPARE(studio.dialogs.errors().size(), 1);  // shown in a message box
        const QString message = errors.first().at(1).toString();
        QVERIFY2(message.contains(expected) && message.contains(QStringLiteral("compressed.safetensors")) &&
                     message.contains(QStringLiteral("model.safetensors")),
                 qPrintable(message));
        QVERIFY(!studio.session()->hasCompressed());
        QVERIFY(!studio.workspace()->session(WorkspaceWidget::Compressed)->hasModel());

        // A compressed file of the same layout is still accepted.
        const QString own = writeCompressed(test::samVitCase(), dirName + QStringLiteral("_own"), 33);
        studio.window.openFile(own);
        QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty() || errors.size() > 1, kTimeout);
        QCOMPARE(errors.size(), 1);
        QVERIFY(studio.workspace()->session(WorkspaceWidget::Compressed)->hasModel());
    }

private:
    QString image_;
};

BIRKHOFF_REGISTER_TEST(TestStudioModels);
#include "test_studio_models.moc"
