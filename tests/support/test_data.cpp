// Where tests find their inputs.
#include "tests/support/test_data.h"

#include <QDir>
#include <QTemporaryDir>

#include <memory>

#ifndef BIRKHOFF_TEST_SHARED_DIR
#error "BIRKHOFF_TEST_SHARED_DIR must be defined by the build"
#endif

namespace birkhoff::test {

QString sharedDir()
{
    const QByteArray env = qgetenv("BIRKHOFF_SHARED_DIR");
    const QString dir = env.isEmpty() ? QStringLiteral(BIRKHOFF_TEST_SHARED_DIR) : QString::fromLocal8Bit(env);
    return QDir(dir).absolutePath();
}

QString goldenPath(const QString& relative)
{
    return sharedDir() + QStringLiteral("/golden/") + relative;
}

QString sharedPath(const QString& relative)
{
    return sharedDir() + QLatin1Char('/') + relative;
}

QString scratchDir()
{
    static std::unique_ptr<QTemporaryDir> dir;
    if (!dir) {
        dir = std::make_unique<QTemporaryDir>(QDir::tempPath() + QStringLiteral("/birkhoff-test-XXXXXX"));
        if (!dir->isValid())
            qFatal("cannot create a temporary directory");
    }
    return dir->path();
}

}  // namespace birkhoff::test
