// `birkhoff bench <kind>`: registry of benchmarks (compress, model, hyperlinear, ...). Each
// benchmark lives in its own bench_*.cpp, parses its own options and prints ratios measured
// side by side in one run; core does the measuring.
#pragma once

#include <QString>
#include <QStringList>

#include <functional>
#include <vector>

namespace birkhoff::cli {

struct Benchmark {
    QString name;
    QString summary;
    /// Receives "birkhoff bench <name>" followed by the benchmark's own arguments.
    std::function<int(const QStringList& args)> run;
};

const std::vector<Benchmark>& benchmarks();

struct BenchmarkRegistrar {
    explicit BenchmarkRegistrar(Benchmark benchmark);
};

}  // namespace birkhoff::cli
