// `birkhoff bench hyperlinear`: dense at::linear vs decode-then-at::linear vs HyperLinear for the
// SAM ViT-B and MobileSAM Linear shapes, side by side in one run (core/bench/hyperlinear_bench.h).
#include "cli/bench.h"
#include "cli/command.h"

#include "core/bench/hyperlinear_bench.h"
#include "core/util/runtime.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

int runHyperLinearBenchCommand(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Time dense at::linear (float32), decode-then-at::linear and HyperLinear on the same inputs, for the SAM "
        "ViT-B and MobileSAM Linear shapes. 'hot' weights stay in the caches (one copy reused); 'cold' weights "
        "cycle through copies larger than the last-level cache, as in a whole-model run. Threads: the global "
        "--threads option."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON array of records instead of a table.")});
    parser.addOption({QStringLiteral("tokens"), QStringLiteral("Comma-separated token counts (default 1,16,256,4096)."),
                      QStringLiteral("list")});
    parser.addOption({QStringLiteral("shapes"), QStringLiteral("sam, mobilesam or all (default)."), QStringLiteral("set")});
    parser.addOption({QStringLiteral("cache"), QStringLiteral("hot, cold or both (default)."), QStringLiteral("mode")});
    parser.addOption({QStringLiteral("isa"), QStringLiteral("CPU kernel instruction set: portable, avx2 or avx512 "
                                                            "(default: the best this CPU has)."),
                      QStringLiteral("isa")});
    parser.addOption({QStringLiteral("rounds"), QStringLiteral("Minimum rounds per case (default 5)."), QStringLiteral("n")});
    parser.addOption({QStringLiteral("seconds"), QStringLiteral("Minimum seconds per method and case (default 0.3)."),
                      QStringLiteral("s")});
    parser.addOption({QStringLiteral("quiet"), QStringLiteral("No progress on stderr.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;

    bench::HyperLinearBenchOptions options;
    auto usage = [](const char* message) {
        std::fprintf(stderr, "birkhoff bench hyperlinear: %s\n", message);
        return static_cast<int>(kExitUsage);
    };
    if (parser.isSet(QStringLiteral("tokens"))) {
        std::vector<double> values;
        if (!parseNumberList(parser.value(QStringLiteral("tokens")), values) || values.empty())
            return usage("--tokens needs a comma-separated list of positive integers");
        options.tokens.clear();
        for (double v : values) {
            if (v < 1 || v != static_cast<double>(static_cast<std::int64_t>(v)))
                return usage("--tokens needs a comma-separated list of positive integers");
            options.tokens.push_back(static_cast<std::int64_t>(v));
        }
    }
    if (parser.isSet(QStringLiteral("shapes"))) {
        const QString set = parser.value(QStringLiteral("shapes"));
        if (set != QLatin1String("all")) {
            if (set != QLatin1String("sam") && set != QLatin1String("mobilesam"))
                return usage("--shapes must be sam, mobilesam or all");
            const std::string model = set == QLatin1String("sam") ? "sam-vit-b" : "mobilesam";
            std::vector<bench::LinearShape> kept;
            for (const auto& s : options.shapes)
                if (s.model == model)
                    kept.push_back(s);
            options.shapes = kept;
        }
    }
    if (parser.isSet(QStringLiteral("cache"))) {
        const QString mode = parser.value(QStringLiteral("cache"));
        if (mode == QLatin1String("hot") || mode == QLatin1String("cold"))
            options.caches = {toStd(mode)};
        else if (mode != QLatin1String("both"))
            return usage("--cache must be hot, cold or both");
    }
    if (parser.isSet(QStringLiteral("isa"))) {
        const QString isa = parser.value(QStringLiteral("isa"));
        if (isa == QLatin1String("portable"))
            options.isa = kernels::CpuIsa::Portable;
        else if (isa == QLatin1String("avx2"))
            options.isa = kernels::CpuIsa::Avx2Fma;
        else if (isa == QLatin1String("avx512"))
            options.isa = kernels::CpuIsa::Avx512;
        else
            return usage("--isa must be portable, avx2 or avx512");
    }
    if (parser.isSet(QStringLiteral("rounds"))) {
        bool ok = false;
        options.minRounds = parser.value(QStringLiteral("rounds")).toInt(&ok);
        if (!ok || options.minRounds < 1)
            return usage("--rounds needs a positive integer");
    }
    if (parser.isSet(QStringLiteral("seconds"))) {
        bool ok = false;
        options.seconds = parser.value(QStringLiteral("seconds")).toDouble(&ok);
        if (!ok || options.seconds < 0)
            return usage("--seconds needs a non-negative number");
    }
    const bool json = parser.isSet(QStringLiteral("json"));

    return runGuarded(QStringLiteral("bench hyperlinear"), [&] {
        const auto records = bench::runHyperLinearBench(options, consoleProgress(parser.isSet(QStringLiteral("quiet"))));
        if (json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : records) {
                out.push_back({{"model", r.model},
                               {"shape", r.shape},
                               {"tokens", r.tokens},
                               {"cache", r.cache},
                               {"dense_ms", r.denseMs},
                               {"decode_then_dense_ms", r.decodeThenDenseMs},
                               {"hyperlinear_ms", r.hyperlinearMs},
                               {"ratio", r.ratio},
                               {"dense_weight_bytes", r.denseWeightBytes},
                               {"hyper_weight_bytes", r.hyperWeightBytes},
                               {"threads", r.threads},
                               {"isa", r.isa},
                               {"rel_err", r.relativeError}});
            }
            printJson(out);
            return kExitOk;
        }
        std::printf("HyperLinear vs dense Linear (float32); threads %d; BLAS %s\n",
                    records.empty() ? 0 : records.front().threads, loadedBlasLibrary().c_str());
        std::printf("%-10s %-10s %6s %-5s %10s %14s %14s %7s %9s %9s %8s\n", "model", "shape", "tokens", "cache",
                    "dense_ms", "decode+dense", "hyperlinear_ms", "ratio", "dense_KiB", "hyper_KiB", "rel.err");
        for (const auto& r : records) {
            std::printf("%-10s %-10s %6lld %-5s %10.4f %14.4f %14.4f %7.2f %9lld %9lld %8.1e\n", r.model.c_str(),
                        r.shape.c_str(), static_cast<long long>(r.tokens), r.cache.c_str(), r.denseMs,
                        r.decodeThenDenseMs, r.hyperlinearMs, r.ratio, static_cast<long long>(r.denseWeightBytes / 1024),
                        static_cast<long long>(r.hyperWeightBytes / 1024), r.relativeError);
        }
        if (!records.empty())
            std::printf("ratio = hyperlinear_ms / dense_ms (below 1: HyperLinear faster); CPU kernels: %s\n",
                        records.front().isa.c_str());
        return kExitOk;
    });
}

const BenchmarkRegistrar registrar({QStringLiteral("hyperlinear"),
                                    QStringLiteral("dense vs decode-then-dense vs HyperLinear Linear layers"),
                                    runHyperLinearBenchCommand});

}  // namespace
}  // namespace birkhoff::cli
