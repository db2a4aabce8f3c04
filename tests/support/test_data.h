// Where tests find their inputs, and how they skip loudly when optional inputs are absent.
// The read-only folder ../shared (golden outputs of the official implementations, real test
// images, docs) sits next to the checkout; $BIRKHOFF_SHARED_DIR overrides its location.
#pragma once

#include <QString>
#include <QTest>

namespace birkhoff::test {

/// Absolute path of the shared folder (may not exist).
QString sharedDir();
/// sharedDir() + "/golden/" + relative.
QString goldenPath(const QString& relative);
/// sharedDir() + "/" + relative (e.g. "data/coco-mini/annotations.json").
QString sharedPath(const QString& relative);
/// A fresh temporary directory path for this test run (removed at exit).
QString scratchDir();

/// The marker CTest's SKIP_REGULAR_EXPRESSION looks for: a test whose output contains it is
/// reported as skipped, never as passed.
constexpr const char* kSkipMarker = "BIRKHOFF-SKIP";

}  // namespace birkhoff::test

/// Skips the current test function (loudly, counted as skipped by CTest) when the golden data
/// `relative` (a path under ../shared/golden) is absent.
#define BIRKHOFF_REQUIRE_GOLDEN(relative)                                                          \
    do {                                                                                            \
        const QString birkhoffGolden = ::birkhoff::test::goldenPath(QStringLiteral(relative));      \
        if (!QFileInfo::exists(birkhoffGolden))                                                     \
            QSKIP(qPrintable(QStringLiteral("%1: golden data %2 is absent, so this golden test did " \
                                            "NOT run").arg(QLatin1String(::birkhoff::test::kSkipMarker), \
                                                           birkhoffGolden)));                       \
    } while (0)

/// Skips loudly when the shared file `relative` is absent.
#define BIRKHOFF_REQUIRE_SHARED(relative)                                                          \
    do {                                                                                            \
        const QString birkhoffShared = ::birkhoff::test::sharedPath(QStringLiteral(relative));      \
        if (!QFileInfo::exists(birkhoffShared))                                                     \
            QSKIP(qPrintable(QStringLiteral("%1: shared data %2 is absent, so this test did NOT run") \
                                 .arg(QLatin1String(::birkhoff::test::kSkipMarker), birkhoffShared))); \
    } while (0)

/// Skips loudly for another stated reason (no GPU, no clang, ...).
#define BIRKHOFF_SKIP(reason)                                                                      \
    QSKIP(qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(::birkhoff::test::kSkipMarker),    \
                                                  QString(reason))))

#include <QFileInfo>
