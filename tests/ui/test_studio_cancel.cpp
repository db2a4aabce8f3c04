// Cancelling long operations in the studio leaves nothing behind: a compression cancelled midway
// (after its progress started) keeps no compressed model and enables no save; an export of the
// restored checkpoint cancelled before it finished writes no file (not even a temporary one).
// Uses a synthetic 12.6 M-parameter checkpoint written to a scratch directory (a generic layout:
// compressible, not runnable), so the compression lasts long enough to be cancelled midway.
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"
#include "tests/ui/scripted_dialogs.h"
#include "ui/compression_panel.h"
#include "ui/main_window.h"
#include "ui/model_session.h"
#include "ui/studio_settings.h"

#include "core/bench/synthetic_checkpoint.h"
#include "core/io/checkpoint.h"

#include <QDir>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>

#include <memory>

using namespace birkhoff::ui;

namespace {

constexpr int kTimeout = 300000;

QStringList filesIn(const QString& dir)
{
    return QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
}

}  // namespace

class TestStudioCancel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        dir_ = birkhoff::test::scratchDir() + QStringLiteral("/cancel");
        QVERIFY(QDir().mkpath(dir_));
        std::vector<birkhoff::bench::SyntheticTensorSpec> spec;
        for (int i = 0; i < 12; ++i) {
            spec.push_back({QStringLiteral("layers.%1.fc.weight").arg(i).toStdString(), {1024, 1024},
                            birkhoff::codec::TensorRole::LinearWeight, birkhoff::bench::ValueKind::LinearOrConvWeight});
            spec.push_back({QStringLiteral("layers.%1.fc.bias").arg(i).toStdString(), {1024},
                            birkhoff::codec::TensorRole::Parameter, birkhoff::bench::ValueKind::Bias});
        }
        modelPath_ = dir_ + QStringLiteral("/synthetic.safetensors");
        birkhoff::io::saveCheckpoint(modelPath_.toStdString(), birkhoff::bench::makeSyntheticCheckpoint(spec, 5));
        settings_ = std::make_unique<StudioSettings>(birkhoff::test::scratchDir() + QStringLiteral("/cancel.ini"));
        window_ = std::make_unique<MainWindow>(*settings_, dialogs_);
        window_->show();
        QSignalSpy ready(window_->modelSession(), &ModelSession::originalReady);
        window_->openFile(modelPath_);
        QVERIFY(ready.wait(kTimeout));
        QVERIFY2(dialogs_.errors().isEmpty(), qPrintable(dialogs_.errors().join(QLatin1Char('\n'))));
        QCOMPARE(window_->modelSession()->originalSummary().runtime, QStringLiteral("cannot run"));
    }

    void cleanupTestCase() { window_.reset(); }

    void compressionCancelledMidwayKeepsNothing()
    {
        auto* progressBar = window_->findChild<QProgressBar*>(QStringLiteral("compressProgress"));
        QSignalSpy cancelled(window_->modelSession(), &ModelSession::cancelled);
        QSignalSpy compressed(window_->modelSession(), &ModelSession::compressedReady);
        window_->findChild<QPushButton*>(QStringLiteral("compressButton"))->click();
        QTRY_VERIFY_WITH_TIMEOUT(progressBar->value() > 0, kTimeout);
        QVERIFY(progressBar->value() < progressBar->maximum());
        window_->findChild<QPushButton*>(QStringLiteral("cancelButton"))->click();
        QVERIFY(cancelled.wait(kTimeout));
        QCOMPARE(compressed.count(), 0);
        QVERIFY(!window_->modelSession()->hasCompressed());
        QVERIFY(!window_->modelSession()->isBusy());
        QVERIFY(!window_->action(QStringLiteral("actionSaveCompressed"))->isEnabled());
        QVERIFY(!window_->findChild<QPushButton*>(QStringLiteral("saveCompressedButton"))->isEnabled());
        QCOMPARE(filesIn(dir_), QStringList{QStringLiteral("synthetic.safetensors")});
        QVERIFY(dialogs_.errors().isEmpty());
    }

    void cancelledExportWritesNoFile()
    {
        QSignalSpy compressed(window_->modelSession(), &ModelSession::compressedReady);
        window_->compress();
        QVERIFY(compressed.wait(kTimeout));
        QSignalSpy cancelled(window_->modelSession(), &ModelSession::cancelled);
        QSignalSpy saved(window_->modelSession(), &ModelSession::saved);
        dialogs_.setNextFileName(dir_ + QStringLiteral("/restored.pth"));
        window_->action(QStringLiteral("actionExportRestored"))->trigger();
        QVERIFY(window_->action(QStringLiteral("actionCancel"))->isEnabled());
        window_->action(QStringLiteral("actionCancel"))->trigger();
        QVERIFY(cancelled.wait(kTimeout));
        QCOMPARE(saved.count(), 0);
        QCOMPARE(filesIn(dir_), QStringList{QStringLiteral("synthetic.safetensors")});

        // Not cancelled, the same export completes and the file reads back.
        dialogs_.setNextFileName(dir_ + QStringLiteral("/restored.pth"));
        window_->action(QStringLiteral("actionExportRestored"))->trigger();
        QVERIFY(saved.wait(kTimeout));
        const auto restored = birkhoff::io::loadCheckpoint((dir_ + QStringLiteral("/restored.pth")).toStdString());
        QCOMPARE(restored.tensors.size(), std::size_t{24});
        QVERIFY(dialogs_.errors().isEmpty());
    }

private:
    birkhoff::test::ScriptedDialogs dialogs_;
    QString dir_;
    QString modelPath_;
    std::unique_ptr<StudioSettings> settings_;
    std::unique_ptr<MainWindow> window_;
};

BIRKHOFF_REGISTER_TEST(TestStudioCancel);
#include "test_studio_cancel.moc"
