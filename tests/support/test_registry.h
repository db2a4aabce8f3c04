// Registry of Qt Test classes. Each layer has one test executable (tests_kernels, tests_core,
// tests_ui) built once; every test class registers itself here and CTest runs
// "<executable> <ClassName>" as its own test, so tests stay separate and labelled while the
// LibTorch-heavy code is compiled and linked only once.
#pragma once

#include <QObject>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace birkhoff::test {

using TestFactory = std::function<std::unique_ptr<QObject>()>;

/// Name -> factory of every registered test class.
std::map<std::string, TestFactory>& testRegistry();

template <typename T>
struct TestRegistrar {
    explicit TestRegistrar(const char* name)
    {
        testRegistry()[name] = [] { return std::unique_ptr<QObject>(new T()); };
    }
};

}  // namespace birkhoff::test

/// Registers test class `Class` under its own name (use once per class, after its definition).
#define BIRKHOFF_REGISTER_TEST(Class) \
    static const ::birkhoff::test::TestRegistrar<Class> birkhoffTestRegistrar##Class(#Class)
