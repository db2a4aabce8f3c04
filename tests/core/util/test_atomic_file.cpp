// Atomic output: committed files appear whole; abandoned or failed writes leave nothing.
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/support/test_data.h"
#include "tests/support/test_registry.h"

#include <QDir>
#include <QTest>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;

class TestAtomicFile : public QObject {
    Q_OBJECT
private:
    static int entriesIn(const fs::path& dir)
    {
        int n = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir))
            ++n;
        return n;
    }

private slots:
    void commitWritesWholeFile()
    {
        const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "commit";
        fs::create_directories(dir);
        birkhoff::writeFileAtomically(dir / "out.bin", [](birkhoff::AtomicFileWriter& w) { w.write("hello", 5); });
        std::ifstream in(dir / "out.bin");
        std::string s;
        in >> s;
        QCOMPARE(QString::fromStdString(s), QStringLiteral("hello"));
        QCOMPARE(entriesIn(dir), 1);
    }

    void exceptionLeavesNoFileAndKeepsOldContent()
    {
        const fs::path dir = fs::path(birkhoff::test::scratchDir().toStdString()) / "abort";
        fs::create_directories(dir);
        { std::ofstream(dir / "out.bin") << "old"; }
        QVERIFY_THROWS_EXCEPTION(std::runtime_error,
            birkhoff::writeFileAtomically(dir / "out.bin", [](birkhoff::AtomicFileWriter& w) {
                w.write("partial", 7);
                throw std::runtime_error("simulated failure");
            }));
        QCOMPARE(entriesIn(dir), 1);
        std::ifstream in(dir / "out.bin");
        std::string s;
        in >> s;
        QCOMPARE(QString::fromStdString(s), QStringLiteral("old"));
    }

    void missingDirectoryIsAClearError()
    {
        try {
            birkhoff::AtomicFileWriter w("/nonexistent-dir-birkhoff/x.bin");
            QFAIL("expected an error");
        } catch (const birkhoff::Error& e) {
            QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("does not exist")));
        }
    }
};

BIRKHOFF_REGISTER_TEST(TestAtomicFile);
#include "test_atomic_file.moc"
