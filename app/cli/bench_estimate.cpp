// `birkhoff bench estimate [--exact] [--json]`: speed and accuracy of the studio's sampled live
// estimate on SAM ViT-B's shapes, next to the full compression it predicts.
#include "cli/bench.h"
#include "cli/command.h"

#include "core/bench/estimate_bench.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace birkhoff::cli {
namespace {

int runEstimateBench(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Estimates the compression report of a synthetic checkpoint with SAM ViT-B's keys and shapes (paper settings) "
        "from deterministic samples of 1/1024, 1/256, 1/64 and 1/16 of each large tensor, as the studio's live preview does; "
        "with --exact also runs the full compression and compares ratio, mean MAE and per-tensor choices."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("exact"), QStringLiteral("Also run the full compression (slow) as the reference.")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    const bool json = parser.isSet(QStringLiteral("json"));
    const bool exact = parser.isSet(QStringLiteral("exact"));
    return runGuarded(QStringLiteral("bench estimate"), [&] {
        const bench::EstimateBenchResult r =
            bench::runEstimateBenchmark({1.0 / 1024, 1.0 / 256, 1.0 / 64, 1.0 / 16}, exact, consoleProgress(json));
        if (json) {
            nlohmann::json rows = nlohmann::json::array();
            for (const auto& row : r.rows)
                rows.push_back({{"sample_fraction", row.sampleFraction},
                                {"sampled_elements", row.sampledElements},
                                {"seconds", row.seconds},
                                {"cpu_seconds", row.cpuSeconds},
                                {"ratio", row.ratio},
                                {"mean_mae", row.meanMae},
                                {"same_choices", row.sameChoices},
                                {"tensors", row.tensors}});
            printJson({{"parameters", r.parameters},
                       {"threads", r.threads},
                       {"prepare_seconds", r.prepareSeconds},
                       {"prepare_cpu_seconds", r.prepareCpuSeconds},
                       {"exact_reference", exact},
                       {"rows", rows}});
            return kExitOk;
        }
        std::printf("SAM ViT-B shapes, %lld parameters, %d threads; estimator prepared in %.3f s (%.3f s CPU; once per "
                    "model)\n",
                    static_cast<long long>(r.parameters), r.threads, r.prepareSeconds, r.prepareCpuSeconds);
        std::printf("%-14s %12s %9s %9s %8s %12s %s\n", "sample", "weights", "seconds", "CPU s", "ratio", "mean MAE",
                    exact ? "same path/U/K as exact" : "same path/U/K as 1/16");
        for (std::size_t i = 0; i < r.rows.size(); ++i) {
            const auto& row = r.rows[i];
            const bool isExact = exact && i + 1 == r.rows.size();
            const QString label = isExact ? QStringLiteral("full compress") : QStringLiteral("1/%1").arg(1.0 / row.sampleFraction);
            std::printf("%-14s %12lld %9.3f %9.3f %8.4f %12.4e %d/%d\n", qPrintable(label),
                        static_cast<long long>(row.sampledElements), row.seconds, row.cpuSeconds, row.ratio, row.meanMae,
                        row.sameChoices, row.tensors);
        }
        if (exact) {
            const auto& full = r.rows.back();
            for (std::size_t i = 0; i + 1 < r.rows.size(); ++i)
                std::printf("1/%.0f: %.1fx faster than the full compression, ratio off by %+.3f %%, mean MAE off by %+.2f %%\n",
                            1.0 / r.rows[i].sampleFraction, full.seconds / r.rows[i].seconds,
                            100.0 * (r.rows[i].ratio / full.ratio - 1.0), 100.0 * (r.rows[i].meanMae / full.meanMae - 1.0));
        }
        return kExitOk;
    });
}

const BenchmarkRegistrar registrar({QStringLiteral("estimate"),
                                    QStringLiteral("Live-estimate speed and accuracy vs full compression (SAM ViT-B shapes)"),
                                    runEstimateBench});

}  // namespace
}  // namespace birkhoff::cli
