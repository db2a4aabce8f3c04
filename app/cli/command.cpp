// Sub-command registry and shared CLI helpers.
#include "cli/command.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>

namespace birkhoff::cli {

namespace {

std::vector<Command>& registry()
{
    static std::vector<Command> all;
    return all;
}

CancelToken& sigintToken()
{
    static CancelToken token;
    return token;
}

extern "C" void onSigint(int)
{
    sigintToken().cancel();
}

}  // namespace

CommandRegistrar::CommandRegistrar(Command command)
{
    auto& all = registry();
    all.push_back(std::move(command));
    std::sort(all.begin(), all.end(), [](const Command& a, const Command& b) { return a.name < b.name; });
}

const std::vector<Command>& commands()
{
    return registry();
}

const Command* findCommand(const QString& name)
{
    for (const auto& c : registry())
        if (c.name == name)
            return &c;
    return nullptr;
}

int parseCommandLine(QCommandLineParser& parser, const QStringList& args)
{
    if (!parser.parse(args)) {
        std::fprintf(stderr, "%s: %s\n\n%s", qPrintable(args.value(0)), qPrintable(parser.errorText()),
                     qPrintable(parser.helpText()));
        return kExitUsage;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        std::fputs(qPrintable(parser.helpText()), stdout);
        return -1;
    }
    return kExitOk;
}

int runGuarded(const QString& command, const std::function<int()>& body)
{
    std::signal(SIGINT, onSigint);
    try {
        return body();
    } catch (const CancelledError&) {
        std::fprintf(stderr, "birkhoff %s: interrupted\n", qPrintable(command));
        return kExitInterrupted;
    } catch (const Error& e) {
        std::fprintf(stderr, "birkhoff %s: error: %s\n", qPrintable(command), e.what());
        return kExitFailure;
    } catch (const std::exception& e) {
        std::string what = e.what();
        const auto nl = what.find('\n');
        if (nl != std::string::npos)
            what.resize(nl);
        std::fprintf(stderr, "birkhoff %s: internal error: %s\n", qPrintable(command), what.c_str());
        return kExitFailure;
    }
}

const CancelToken& interruptToken()
{
    return sigintToken();
}

Progress consoleProgress(bool quiet)
{
    Progress p;
    p.cancel = &sigintToken();
    if (quiet)
        return p;
    struct State {
        std::mutex mutex;
        std::chrono::steady_clock::time_point last{};
        int lastPercent = -1;
    };
    auto state = std::make_shared<State>();
    p.onProgress = [state](double fraction, const std::string& what) {
        const int percent = static_cast<int>(fraction * 100.0 + 0.5);
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(state->mutex);
        if (percent == state->lastPercent)
            return;
        if (percent != 100 && now - state->last < std::chrono::milliseconds(250))
            return;
        state->last = now;
        state->lastPercent = percent;
        std::fprintf(stderr, "[%3d%%] %s\n", percent, what.c_str());
    };
    return p;
}

void printJson(const nlohmann::json& value)
{
    std::cout << value.dump(1) << std::endl;
}

std::string toStd(const QString& s)
{
    return s.toStdString();
}

bool parseNumberList(const QString& text, std::vector<double>& out)
{
    out.clear();
    const QStringList parts = text.split(QLatin1Char(','), Qt::SkipEmptyParts);
    for (const QString& part : parts) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok)
            return false;
        out.push_back(v);
    }
    return !out.empty();
}

}  // namespace birkhoff::cli
