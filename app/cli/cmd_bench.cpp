// `birkhoff bench <kind> [options]`: dispatches to the registered benchmarks.
#include "cli/bench.h"
#include "cli/command.h"

#include <algorithm>
#include <cstdio>

namespace birkhoff::cli {

namespace {

std::vector<Benchmark>& benchRegistry()
{
    static std::vector<Benchmark> all;
    return all;
}

void printBenchUsage(FILE* to)
{
    std::fprintf(to, "Usage: birkhoff bench <kind> [options]\n\nBenchmarks (side-by-side ratios measured in one run):\n");
    for (const auto& b : benchRegistry())
        std::fprintf(to, "  %-12s %s\n", qPrintable(b.name), qPrintable(b.summary));
    std::fprintf(to, "\nRun 'birkhoff bench <kind> --help' for the options of a benchmark.\n");
}

int runBench(const QStringList& args)
{
    const QString sub = args.value(1);
    if (sub == QLatin1String("--help") || sub == QLatin1String("-h")) {
        printBenchUsage(stdout);
        return kExitOk;
    }
    if (sub.isEmpty() || sub.startsWith(QLatin1Char('-'))) {
        std::fprintf(stderr, "birkhoff bench: missing benchmark kind\n\n");
        printBenchUsage(stderr);
        return kExitUsage;
    }
    for (const auto& b : benchRegistry()) {
        if (b.name == sub) {
            QStringList rest = args.mid(2);
            rest.prepend(QStringLiteral("birkhoff bench ") + sub);
            return b.run(rest);
        }
    }
    std::fprintf(stderr, "birkhoff bench: unknown benchmark '%s'\n\n", qPrintable(sub));
    printBenchUsage(stderr);
    return kExitUsage;
}

const CommandRegistrar registrar({QStringLiteral("bench"),
                                  QStringLiteral("Benchmarks: compression speed, model and HyperLinear timings"),
                                  runBench});

}  // namespace

const std::vector<Benchmark>& benchmarks()
{
    return benchRegistry();
}

BenchmarkRegistrar::BenchmarkRegistrar(Benchmark benchmark)
{
    auto& all = benchRegistry();
    all.push_back(std::move(benchmark));
    std::sort(all.begin(), all.end(), [](const Benchmark& a, const Benchmark& b) { return a.name < b.name; });
}

}  // namespace birkhoff::cli
