// main() of the test executables: runs the one registered test class named by argv[1]
// (CTest passes it), or lists them with --list.
#include "tests/support/test_registry.h"

#ifdef BIRKHOFF_TEST_GUI
#include <QApplication>
using TestApplication = QApplication;
#else
#include <QCoreApplication>
using TestApplication = QCoreApplication;
#endif
#include <QTest>

#include <cstdio>
#include <cstring>
#include <vector>

namespace birkhoff::test {

std::map<std::string, TestFactory>& testRegistry()
{
    static std::map<std::string, TestFactory> registry;
    return registry;
}

}  // namespace birkhoff::test

int main(int argc, char** argv)
{
    auto& registry = birkhoff::test::testRegistry();
    if (argc < 2 || std::strcmp(argv[1], "--list") == 0) {
        std::printf("usage: %s <TestClass> [Qt Test options]\nregistered test classes:\n", argv[0]);
        for (const auto& kv : registry)
            std::printf("  %s\n", kv.first.c_str());
        return argc < 2 ? 2 : 0;
    }
    const auto it = registry.find(argv[1]);
    if (it == registry.end()) {
        std::fprintf(stderr, "unknown test class '%s' (try --list)\n", argv[1]);
        return 2;
    }
    TestApplication app(argc, argv);
    std::vector<char*> qtArgs;
    qtArgs.push_back(argv[0]);
    for (int i = 2; i < argc; ++i)
        qtArgs.push_back(argv[i]);
    std::unique_ptr<QObject> test = it->second();
    return QTest::qExec(test.get(), static_cast<int>(qtArgs.size()), qtArgs.data());
}
