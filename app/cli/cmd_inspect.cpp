// `birkhoff inspect FILE [--json]`: what a checkpoint holds - format, wrapper, the detected SAM
// family and variant, whether it runs and whether its pipeline is checked against the official
// implementation, parameter count, element types, and every tensor's name, shape, element type
// and kind (linear weight, conv, norm, embedding, buffer, ...).
#include "cli/command.h"

#include "core/io/checkpoint.h"
#include "core/models/family.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

namespace birkhoff::cli {
namespace {

using models::TensorKind;

// Element type names as PyTorch prints them without the "torch." prefix.
std::string dtypeName(c10::ScalarType type)
{
    switch (type) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Bool: return "bool";
    default: return c10::toString(type);
    }
}

std::string shapeText(const at::Tensor& t)
{
    std::string s = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i)
        s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
}

// 1234567 -> "1,234,567".
std::string grouped(std::int64_t n)
{
    std::string digits = std::to_string(n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<std::size_t>(i), ",");
    return digits;
}

std::string megabytes(std::uint64_t bytes)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return buf;
}

struct KindTotals {
    std::int64_t tensors = 0;
    std::int64_t elements = 0;
};

struct Summary {
    std::int64_t parameters = 0;     // elements of every tensor that is not a buffer
    std::int64_t bufferElements = 0;
    std::int64_t heuristic = 0;      // tensors classified by the generic heuristic
    std::map<std::string, std::int64_t> dtypes;  // element type -> tensor count
    std::map<TensorKind, KindTotals> kinds;
};

Summary summarize(const io::StateDict& tensors, const std::vector<models::TensorRole>& roles)
{
    Summary s;
    for (std::size_t i = 0; i < roles.size(); ++i) {
        const at::Tensor& t = tensors.entries()[i].tensor;
        ++s.dtypes[dtypeName(t.scalar_type())];
        auto& k = s.kinds[roles[i].kind];
        ++k.tensors;
        k.elements += t.numel();
        if (roles[i].kind == TensorKind::Buffer)
            s.bufferElements += t.numel();
        else
            s.parameters += t.numel();
        s.heuristic += roles[i].heuristic ? 1 : 0;
    }
    return s;
}

nlohmann::json toJson(const io::Checkpoint& ckpt, const models::FamilyInfo& family,
                      const std::vector<models::TensorRole>& roles, const Summary& s)
{
    nlohmann::json j;
    j["file"] = ckpt.path.string();
    j["bytes"] = ckpt.fileBytes;
    j["format"] = ckpt.format == io::CheckpointFormat::PyTorchZip ? "pytorch_zip" : "safetensors";
    j["wrapper"] = ckpt.wrapper;
    nlohmann::json f;
    f["id"] = models::familyIdName(family.id);
    f["name"] = family.displayName;
    f["variant"] = family.variant;
    f["known"] = family.isKnown;
    nlohmann::json dims = nlohmann::json::object();
    for (const auto& [name, value] : family.dimensions)
        dims[name] = value;
    f["dimensions"] = dims;
    f["notes"] = family.notes;
    const models::RunSupport run = models::runSupport(family);
    f["runnable"] = run.runnable;
    if (!run.runnable)
        f["run_note"] = run.reason;
    const models::OfficialCheck check = models::officialCheck(family);
    f["official_check"] = {{"golden", check.golden}, {"text", check.text}};
    j["family"] = f;
    j["tensor_count"] = ckpt.tensors.size();
    j["parameters"] = s.parameters;
    j["buffer_elements"] = s.bufferElements;
    j["dtypes"] = s.dtypes;
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [kind, totals] : s.kinds)
        kinds[models::tensorKindName(kind)] = {{"tensors", totals.tensors}, {"elements", totals.elements}};
    j["kinds"] = kinds;
    j["heuristic_kinds"] = s.heuristic;
    j["notes"] = ckpt.notes;
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i = 0; i < roles.size(); ++i) {
        const auto& e = ckpt.tensors.entries()[i];
        list.push_back({{"name", e.name},
                        {"shape", e.tensor.sizes().vec()},
                        {"dtype", dtypeName(e.tensor.scalar_type())},
                        {"kind", models::tensorKindName(roles[i].kind)},
                        {"heuristic", roles[i].heuristic}});
    }
    j["tensors"] = list;
    return j;
}

void printText(const io::Checkpoint& ckpt, const models::FamilyInfo& family,
               const std::vector<models::TensorRole>& roles, const Summary& s)
{
    std::printf("file        %s (%s, %s%s)\n", ckpt.path.string().c_str(), megabytes(ckpt.fileBytes).c_str(),
                io::checkpointFormatName(ckpt.format),
                ckpt.wrapper.empty() ? "" : (", wrapped as {'" + ckpt.wrapper + "': ...}").c_str());
    std::printf("family      %s%s\n", family.displayName.c_str(),
                family.isKnown ? "" : " (unknown layout; kinds from a shape heuristic)");
    const models::RunSupport run = models::runSupport(family);
    std::printf("runs        %s\n", run.runnable ? "yes (birkhoff segment / compare)"
                                                  : ("no: " + run.reason).c_str());
    std::printf("official    %s\n", models::officialCheck(family).text.c_str());
    std::printf("parameters  %s in %zu tensors", grouped(s.parameters).c_str(), ckpt.tensors.size());
    if (s.bufferElements > 0)
        std::printf(" (+ %s buffer elements)", grouped(s.bufferElements).c_str());
    std::printf("\n");
    std::string dtypes;
    for (const auto& [name, count] : s.dtypes)
        dtypes += (dtypes.empty() ? "" : ", ") + name + " (" + std::to_string(count) + ")";
    std::printf("dtypes      %s\n", dtypes.c_str());
    std::string kinds;
    const double total = static_cast<double>(s.parameters + s.bufferElements);
    for (const auto& [kind, totals] : s.kinds) {
        char share[32];
        std::snprintf(share, sizeof share, " %.1f%%", total > 0 ? 100.0 * static_cast<double>(totals.elements) / total : 0.0);
        kinds += (kinds.empty() ? "" : ", ") + std::string(models::tensorKindName(kind)) + share;
    }
    std::printf("kinds       %s (share of elements)\n", kinds.c_str());
    for (const auto& note : family.notes)
        std::printf("note        %s\n", note.c_str());
    for (const auto& note : ckpt.notes)
        std::printf("note        %s\n", note.c_str());

    std::size_t nameWidth = 4;
    std::size_t shapeWidth = 5;
    for (const auto& e : ckpt.tensors) {
        nameWidth = std::max(nameWidth, e.name.size());
        shapeWidth = std::max(shapeWidth, shapeText(e.tensor).size());
    }
    std::printf("\n%-*s  %-*s  %-8s  %s\n", static_cast<int>(nameWidth), "name", static_cast<int>(shapeWidth),
                "shape", "dtype", "kind");
    for (std::size_t i = 0; i < roles.size(); ++i) {
        const auto& e = ckpt.tensors.entries()[i];
        std::printf("%-*s  %-*s  %-8s  %s%s\n", static_cast<int>(nameWidth), e.name.c_str(),
                    static_cast<int>(shapeWidth), shapeText(e.tensor).c_str(),
                    dtypeName(e.tensor.scalar_type()).c_str(), models::tensorKindName(roles[i].kind),
                    roles[i].heuristic && family.isKnown ? " (heuristic)" : "");
    }
}

int runInspect(const QStringList& args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Show what a checkpoint holds: format, SAM family and variant, parameter count, element "
        "types, and every tensor's name, shape, element type and kind."));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print JSON instead of text.")});
    parser.addPositionalArgument(QStringLiteral("file"), QStringLiteral("Checkpoint (.pth, .pt or .safetensors)."));
    if (const int rc = parseCommandLine(parser, args); rc != kExitOk)
        return rc < 0 ? kExitOk : rc;
    if (parser.positionalArguments().size() != 1) {
        std::fprintf(stderr, "birkhoff inspect: expected exactly one checkpoint file\n\n%s", qPrintable(parser.helpText()));
        return kExitUsage;
    }
    const std::string path = toStd(parser.positionalArguments().first());
    return runGuarded(QStringLiteral("inspect"), [&] {
        const io::Checkpoint ckpt = io::loadCheckpoint(path, consoleProgress(true));
        const models::FamilyInfo family = models::detectFamily(ckpt.tensors);
        const std::vector<models::TensorRole> roles = models::classifyAll(family, ckpt.tensors);
        const Summary s = summarize(ckpt.tensors, roles);
        if (parser.isSet(QStringLiteral("json")))
            printJson(toJson(ckpt, family, roles, s));
        else
            printText(ckpt, family, roles, s);
        return kExitOk;
    });
}

const CommandRegistrar registrar({QStringLiteral("inspect"),
                                  QStringLiteral("Show a checkpoint's family, parameters and tensors"),
                                  runInspect});

}  // namespace
}  // namespace birkhoff::cli
