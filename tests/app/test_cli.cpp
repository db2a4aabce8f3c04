// The CLI's contract: --version equals the studio's, --help lists the commands, bad command
// lines print usage and exit with status 2, --verbose reports threads and BLAS.
#include "tests/app/cli_runner.h"
#include "tests/support/test_registry.h"

#include <QTest>

using birkhoff::test::runCli;
using birkhoff::test::runStudio;

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void versionMatchesStudio()
    {
        const auto cli = runCli({QStringLiteral("--version")});
        const auto studio = runStudio({QStringLiteral("--version")});
        QCOMPARE(cli.exitCode, 0);
        QCOMPARE(studio.exitCode, 0);
        const QString v = cli.out.trimmed().section(QLatin1Char(' '), 1);
        QVERIFY(!v.isEmpty());
        QCOMPARE(studio.out.trimmed().section(QLatin1Char(' '), 1), v);
    }

    void helpListsCommands()
    {
        const auto r = runCli({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("Commands:")));
        QVERIFY(r.out.contains(QStringLiteral("info")));
    }

    void badCommandLinesExitWithUsage_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("no-command") << QStringList{};
        QTest::newRow("unknown-command") << QStringList{QStringLiteral("frobnicate")};
        QTest::newRow("unknown-global-option") << QStringList{QStringLiteral("--frob")};
        QTest::newRow("unknown-command-option") << QStringList{QStringLiteral("info"), QStringLiteral("--frob")};
        QTest::newRow("bad-threads") << QStringList{QStringLiteral("--threads"), QStringLiteral("zero"), QStringLiteral("info")};
    }
    void badCommandLinesExitWithUsage()
    {
        QFETCH(QStringList, args);
        const auto r = runCli(args);
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("Usage")) || r.err.contains(QStringLiteral("Options:")), qPrintable(r.err));
    }

    void verboseReportsThreadsAndBlas()
    {
        const auto r = runCli({QStringLiteral("--verbose")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("intra-op threads")));
        QVERIFY(r.out.contains(QStringLiteral("BLAS")));
        const auto info = runCli({QStringLiteral("info")});
        QCOMPARE(info.exitCode, 0);
        QVERIFY2(info.out.contains(QStringLiteral("OpenBLAS (OpenMP)")), qPrintable(info.out));
    }
};

BIRKHOFF_REGISTER_TEST(TestCli);
#include "test_cli.moc"
