// The rate-distortion frontier sweep, its output files and its plot (see frontier.h).
#include "core/eval/frontier.h"
#include "core/util/stopwatch.h"

#include "core/codec/baseline_quant.h"
#include "core/codec/compressor.h"
#include "core/codec/model_roles.h"
#include "core/eval/sam_eval_model.h"
#include "core/format/compressed_writer.h"
#include "core/io/checkpoint.h"
#include "core/models/sam_config.h"
#include "core/models/sam_model.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <ATen/ATen.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace birkhoff::eval {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;


std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator))
        parts.push_back(part);
    if (!text.empty() && text.back() == separator)
        parts.emplace_back();
    return parts;
}

double parseNumber(const std::string& text, const std::string& spec)
{
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value))
        throw Error("frontier point '" + spec + "': '" + text + "' is not a number");
    return value;
}

std::string numberText(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

/// The Birkhoff compressor options of a "birkhoff[:OPTION]..." spec.
codec::CompressOptions birkhoffOptions(const std::string& spec)
{
    codec::CompressOptions options;
    const std::vector<std::string> parts = split(spec, ':');
    if (parts[0] == "birkhoff-rd") {
        codec::RateDistortionOptions rd;
        for (std::size_t i = 1; i < parts.size(); ++i) {
            const auto eq = parts[i].find('=');
            const std::string key = parts[i].substr(0, eq);
            const std::string value = eq == std::string::npos ? std::string() : parts[i].substr(eq + 1);
            if (key == "step" && eq != std::string::npos) {
                rd.step = parseNumber(value, spec);
            } else if (key == "ratio" && eq != std::string::npos) {
                rd.targetRatio = parseNumber(value, spec);
            } else if (key == "M" && eq != std::string::npos) {
                const double m = parseNumber(value, spec);
                if (m < 0 || m != std::floor(m))
                    throw Error("frontier point '" + spec + "': M must be a non-negative integer");
                rd.maxRings = static_cast<std::uint32_t>(m);
            } else {
                throw Error("frontier point '" + spec + "': unknown rate-distortion option '" + parts[i]
                            + "' (expected step=S, ratio=R or M=M)");
            }
        }
        if (rd.targetRatio && spec.find("step=") != std::string::npos)
            throw Error("frontier point '" + spec + "': step and ratio cannot be combined");
        options.rateDistortion = rd;
        try {
            codec::validateOptions(options);
        } catch (const Error& e) {
            throw Error("frontier point '" + spec + "': " + e.what());
        }
        return options;
    }
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const std::string& part = parts[i];
        const auto eq = part.find('=');
        const std::string key = part.substr(0, eq);
        const std::string value = eq == std::string::npos ? std::string() : part.substr(eq + 1);
        if (key == "auto-l" && eq == std::string::npos) {
            options.autoL = true;
        } else if (key == "l" && eq != std::string::npos) {
            options.defaults.l = static_cast<float>(parseNumber(value, spec));
        } else if (key == "M" && eq != std::string::npos) {
            const double m = parseNumber(value, spec);
            if (m < 0 || m != std::floor(m))
                throw Error("frontier point '" + spec + "': M must be a non-negative integer");
            options.defaults.maxRings = static_cast<std::uint32_t>(m);
        } else if (key == "U" && eq != std::string::npos) {
            options.defaults.uList.clear();
            for (const std::string& u : split(value, '+')) {
                const double v = parseNumber(u, spec);
                if (v < 1 || v != std::floor(v))
                    throw Error("frontier point '" + spec + "': U values must be positive integers");
                options.defaults.uList.push_back(static_cast<std::uint32_t>(v));
            }
        } else if (key == "ratio" && eq != std::string::npos) {
            options.targetRatio = parseNumber(value, spec);
        } else {
            throw Error("frontier point '" + spec + "': unknown Birkhoff option '" + part
                        + "' (expected l=L, U=U1+U2, M=M, auto-l or ratio=R)");
        }
    }
    try {
        codec::validateOptions(options);
    } catch (const Error& e) {
        throw Error("frontier point '" + spec + "': " + e.what());
    }
    return options;
}

/// The baseline settings of an "rtn:BITS:GROUP" / "hqq:BITS:GROUP" spec.
codec::BaselineSettings baselineSettings(const std::string& spec)
{
    const std::vector<std::string> parts = split(spec, ':');
    if (parts.size() != 3)
        throw Error("frontier point '" + spec + "': expected " + parts[0] + ":BITS:GROUP (GROUP a size or pc)");
    codec::BaselineSettings settings;
    settings.codec = codec::parseBaselineCodec(parts[0]);
    const double bits = parseNumber(parts[1], spec);
    if (bits != std::floor(bits) || bits < 0 || bits > 64)
        throw Error("frontier point '" + spec + "': bits must be an integer");
    settings.bits = static_cast<unsigned>(bits);
    if (parts[2] == "pc") {
        settings.groupSize = 0;
    } else {
        const double group = parseNumber(parts[2], spec);
        if (group < 1 || group != std::floor(group))
            throw Error("frontier point '" + spec + "': the group size must be a positive integer or pc");
        settings.groupSize = static_cast<std::int64_t>(group);
    }
    try {
        codec::validateBaselineSettings(settings);
    } catch (const Error& e) {
        throw Error("frontier point '" + spec + "': " + e.what());
    }
    return settings;
}

std::string birkhoffSettingsText(const codec::CompressOptions& o)
{
    if (o.rateDistortion)
        return o.rateDistortion->targetRatio ? "target ratio " + numberText(*o.rateDistortion->targetRatio)
                                             : "step " + numberText(o.rateDistortion->step);
    std::string u;
    for (std::size_t i = 0; i < o.defaults.uList.size(); ++i)
        u += (i ? "," : "") + std::to_string(o.defaults.uList[i]);
    std::string text = "l=" + numberText(o.defaults.l) + " U=" + u + " M=" + std::to_string(o.defaults.maxRings);
    if (o.autoL)
        text += " auto-l";
    if (o.targetRatio)
        text += " target-ratio=" + numberText(*o.targetRatio);
    return text;
}

/// Mean |a - b| over the floating-point tensors of `original` (b looked up by name).
double weightMae(const io::StateDict& original, const io::StateDict& restored)
{
    double sum = 0;
    std::int64_t count = 0;
    for (const auto& [name, tensor] : original) {
        if (!tensor.is_floating_point())
            continue;
        const at::Tensor diff = (tensor.to(at::kDouble) - restored.at(name).to(at::kDouble).reshape(tensor.sizes())).abs();
        sum += diff.sum().item<double>();
        count += tensor.numel();
    }
    return count ? sum / static_cast<double>(count) : 0.0;
}

/// A compressed point ready to measure.
struct CompressedPoint {
    std::shared_ptr<models::SamModel> model;
    std::uint64_t fileBytes = 0;
    double weightMae = 0;
    std::vector<std::string> notes;
};

CompressedPoint compressPoint(const FrontierPoint& point, const io::Checkpoint& checkpoint, const fs::path& modelPath,
                              const nlohmann::json* configOverrides, const Progress& progress)
{
    CompressedPoint out;
    const std::string source = modelPath.string() + " (" + point.codec + " " + point.settings + ")";
    if (point.codec == "birkhoff" || point.codec == "birkhoff-rd") {
        codec::CompressOptions options = birkhoffOptions(point.spec);
        options.originalFileBytes = checkpoint.fileBytes;
        const std::vector<codec::TensorRole> roles = codec::detectRoles(checkpoint.tensors).roles;
        const codec::CompressionResult result = codec::compressModel(checkpoint.tensors, roles, options, progress);
        out.fileBytes = format::compressedFileSize(result.model);
        out.weightMae = weightMae(checkpoint.tensors, format::restoreDense(result.model, {{}, progress.cancel}));
        out.notes = result.report.warnings;
        out.model = models::buildCompressedSamModel(result.model, source, configOverrides, models::LoadOptions{},
                                                    {{}, progress.cancel});
    } else {
        const codec::BaselineModel baseline = codec::quantizeModel(checkpoint.tensors, baselineSettings(point.spec), progress);
        out.fileBytes = codec::baselineFileSize(baseline);
        const io::StateDict dense = codec::dequantizeModel(baseline, {{}, progress.cancel});
        out.weightMae = weightMae(checkpoint.tensors, dense);
        if (!baseline.notes.empty())
            out.notes.push_back(std::to_string(baseline.notes.size()) + " tensor(s) quantized per output channel "
                                "because the group size does not divide their rows (first: " + baseline.notes.front() + ")");
        const models::SamConfig config = models::inferSamConfig(models::shapesOf(dense), configOverrides, source);
        out.model = models::buildSamModel(config, dense, source);
    }
    return out;
}

nlohmann::json optionalNumber(const std::optional<double>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<double> optionalFromJson(const nlohmann::json& json, const char* key)
{
    const auto it = json.find(key);
    if (it == json.end() || it->is_null())
        return std::nullopt;
    return it->get<double>();
}

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (const char c : text)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

std::string shortest(double value)
{
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value);
    for (int precision = 1; precision <= 17; ++precision) {
        char candidate[40];
        std::snprintf(candidate, sizeof candidate, "%.*g", precision, value);
        if (std::strtod(candidate, nullptr) == value)
            return candidate;
    }
    return text;
}

void writeText(const fs::path& path, const std::string& text)
{
    writeFileAtomically(path, [&](AtomicFileWriter& writer) { writer.write(text.data(), text.size()); });
}

struct RunIdentity {
    std::string model;
    std::uint64_t modelBytes = 0;
    std::string promptSet;
    int grid = 0;
    std::string prompts;
};

void writeOutputs(const FrontierOptions& options, const RunIdentity& id, const AgreementReference& reference,
                  const std::vector<FrontierRow>& rows, bool complete)
{
    nlohmann::json json = {{"model", id.model},
                           {"model_bytes", id.modelBytes},
                           {"prompt_set", id.promptSet},
                           {"grid", id.grid},
                           {"prompts", id.prompts},
                           {"annotations", reference.annotations},
                           {"images", reference.images.size()},
                           {"prompt_count", reference.promptCount()},
                           {"complete", complete}};
    nlohmann::json jsonRows = nlohmann::json::array();
    for (const auto& row : rows)
        jsonRows.push_back(frontierRowToJson(row));
    json["rows"] = std::move(jsonRows);
    writeText(frontierJsonPath(options.outputDir), json.dump(2) + "\n");
    writeText(frontierCsvPath(options.outputDir), frontierCsv(rows));
    std::vector<std::uint8_t> png;
    const std::string title = fs::path(id.model).filename().string() + " on " + id.promptSet + " (grid "
                              + std::to_string(id.grid) + ", " + id.prompts + (reference.annotations ? " + ground truth" : "")
                              + ")";
    if (!cv::imencode(".png", renderFrontierPlot(rows, title), png))
        throw Error("cannot encode the frontier plot as PNG");
    writeFileAtomically(frontierPlotPath(options.outputDir),
                        [&](AtomicFileWriter& writer) { writer.write(png.data(), png.size()); });
}

/// The finished rows of an existing frontier.json of the same run.
std::vector<FrontierRow> resumedRows(const fs::path& path, const RunIdentity& id)
{
    std::ifstream in(path);
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(in);
        const auto check = [&](const char* key, const nlohmann::json& ours) {
            if (json.at(key) != ours)
                throw Error("cannot resume '" + path.string() + "': it was written with " + key + " " + json.at(key).dump()
                            + ", this run uses " + ours.dump());
        };
        check("model", id.model);
        check("model_bytes", id.modelBytes);
        check("prompt_set", id.promptSet);
        check("grid", id.grid);
        check("prompts", id.prompts);
        std::vector<FrontierRow> rows;
        for (const auto& row : json.at("rows"))
            rows.push_back(frontierRowFromJson(row));
        return rows;
    } catch (const nlohmann::json::exception& e) {
        throw Error("cannot resume '" + path.string() + "': " + e.what());
    }
}

}  // namespace

FrontierPoint parseFrontierPoint(const std::string& spec)
{
    FrontierPoint point;
    point.spec = spec;
    point.codec = spec.substr(0, spec.find(':'));
    if (point.codec == "birkhoff" || point.codec == "birkhoff-rd") {
        point.settings = birkhoffSettingsText(birkhoffOptions(spec));
    } else if (point.codec == "rtn" || point.codec == "hqq") {
        const codec::BaselineSettings settings = baselineSettings(spec);
        point.settings = "int" + std::to_string(settings.bits) + " "
                         + (settings.groupSize ? "g" + std::to_string(settings.groupSize) : std::string("per-channel"));
    } else {
        throw Error("frontier point '" + spec + "': unknown codec '" + point.codec + "' (expected birkhoff, birkhoff-rd, rtn or hqq)");
    }
    return point;
}

std::vector<std::string> defaultFrontierSpecs()
{
    return {"birkhoff",          "birkhoff:auto-l",    "birkhoff:ratio=6",    "birkhoff-rd:ratio=6",
            "birkhoff-rd:ratio=8", "birkhoff-rd:ratio=10", "birkhoff-rd:ratio=12", "rtn:8:pc",
            "rtn:6:64",          "rtn:4:64",           "rtn:4:32",            "rtn:3:32",
            "hqq:4:64",          "hqq:4:32",           "hqq:3:64",            "hqq:3:32"};
}

fs::path frontierJsonPath(const fs::path& dir)
{
    return dir / "frontier.json";
}

fs::path frontierCsvPath(const fs::path& dir)
{
    return dir / "frontier.csv";
}

fs::path frontierPlotPath(const fs::path& dir)
{
    return dir / "frontier.png";
}

namespace {

nlohmann::json bySourceJson(const std::vector<std::pair<std::string, AgreementStats>>& bySource)
{
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [source, stats] : bySource)
        out[source] = agreementStatsToJson(stats);
    return out;
}

AgreementStats statsFromJson(const nlohmann::json& a)
{
    AgreementStats stats;
    stats.count = a.at("count").get<std::size_t>();
    stats.mean = a.at("mean").get<double>();
    stats.median = a.at("median").get<double>();
    stats.p5 = a.at("p5").get<double>();
    stats.fractionAbove09 = a.at("fraction_iou_ge_0.9").get<double>();
    return stats;
}

}  // namespace

nlohmann::json frontierRowToJson(const FrontierRow& row)
{
    return {{"codec", row.codec},
            {"spec", row.spec},
            {"settings", row.settings},
            {"file_bytes", row.fileBytes},
            {"ratio", row.ratio},
            {"bits_per_weight", row.bitsPerWeight},
            {"weight_mae", row.weightMae},
            {"agreement", agreementStatsToJson(row.agreement)},
            {"agreement_by_source", bySourceJson(row.bySource)},
            {"miou_original", optionalNumber(row.miouOriginal)},
            {"miou_compressed", optionalNumber(row.miouCompressed)},
            {"compress_seconds", row.compressSeconds},
            {"measure_seconds", row.measureSeconds},
            {"notes", row.notes}};
}

FrontierRow frontierRowFromJson(const nlohmann::json& json)
{
    FrontierRow row;
    try {
        row.codec = json.at("codec").get<std::string>();
        row.spec = json.at("spec").get<std::string>();
        row.settings = json.at("settings").get<std::string>();
        row.fileBytes = json.at("file_bytes").get<std::uint64_t>();
        row.ratio = json.at("ratio").get<double>();
        row.bitsPerWeight = json.at("bits_per_weight").get<double>();
        row.weightMae = json.at("weight_mae").get<double>();
        row.agreement = statsFromJson(json.at("agreement"));
        if (const auto it = json.find("agreement_by_source"); it != json.end())
            for (const auto& [source, stats] : it->items())
                row.bySource.emplace_back(source, statsFromJson(stats));
        row.miouOriginal = optionalFromJson(json, "miou_original");
        row.miouCompressed = optionalFromJson(json, "miou_compressed");
        row.compressSeconds = json.at("compress_seconds").get<double>();
        row.measureSeconds = json.at("measure_seconds").get<double>();
        row.notes = json.at("notes").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
        throw Error("malformed frontier row: " + std::string(e.what()));
    }
    return row;
}

std::string frontierCsv(const std::vector<FrontierRow>& rows)
{
    std::string out = "codec,spec,settings,file_bytes,ratio,bits_per_weight,weight_mae,prompts,agreement_mean,"
                      "agreement_median,agreement_p5,agreement_frac_ge_0.9,miou_original,miou_compressed,"
                      "compress_seconds,measure_seconds\n";
    for (const auto& r : rows) {
        out += csvField(r.codec) + "," + csvField(r.spec) + "," + csvField(r.settings) + "," + std::to_string(r.fileBytes)
               + "," + shortest(r.ratio) + "," + shortest(r.bitsPerWeight) + "," + shortest(r.weightMae) + ","
               + std::to_string(r.agreement.count) + "," + shortest(r.agreement.mean) + "," + shortest(r.agreement.median)
               + "," + shortest(r.agreement.p5) + "," + shortest(r.agreement.fractionAbove09) + ","
               + (r.miouOriginal ? shortest(*r.miouOriginal) : "") + ","
               + (r.miouCompressed ? shortest(*r.miouCompressed) : "") + "," + shortest(r.compressSeconds) + ","
               + shortest(r.measureSeconds) + "\n";
    }
    return out;
}

std::optional<double> boxPromptMean(const FrontierRow& row)
{
    double sum = 0;
    std::size_t count = 0;
    for (const auto& [source, stats] : row.bySource)
        if (source == "gt-box" || source == "grid-box") {
            sum += stats.mean * static_cast<double>(stats.count);
            count += stats.count;
        }
    if (count == 0)
        return std::nullopt;
    return sum / static_cast<double>(count);
}

std::string frontierTable(const std::vector<FrontierRow>& rows)
{
    std::ostringstream out;
    char line[320];
    std::snprintf(line, sizeof line, "%-11s %-34s %11s %7s %6s %9s %7s %7s %7s %7s %7s %8s %8s\n", "codec", "settings",
                  "bytes", "ratio", "bpw", "w-MAE", "mean", "boxes", "median", "p5", ">=0.9", "mIoU", "seconds");
    out << line;
    for (const auto& r : rows) {
        char miou[16] = "-", boxes[16] = "-";
        if (r.miouCompressed)
            std::snprintf(miou, sizeof miou, "%.4f", *r.miouCompressed);
        if (const auto b = boxPromptMean(r))
            std::snprintf(boxes, sizeof boxes, "%.4f", *b);
        std::snprintf(line, sizeof line, "%-11s %-34s %11llu %7.3f %6.3f %9.3g %7.4f %7s %7.4f %7.4f %7.4f %8s %8.1f\n",
                      r.codec.c_str(), r.settings.c_str(), static_cast<unsigned long long>(r.fileBytes), r.ratio,
                      r.bitsPerWeight, r.weightMae, r.agreement.mean, boxes, r.agreement.median, r.agreement.p5,
                      r.agreement.fractionAbove09, miou, r.compressSeconds + r.measureSeconds);
        out << line;
    }
    return out.str();
}

FrontierRow measureFrontierPoint(const FrontierPoint& point, const io::Checkpoint& checkpoint,
                                 const std::filesystem::path& modelPath, const nlohmann::json* configOverrides,
                                 const AgreementReference& reference, const Progress& progress)
{
    std::int64_t parameters = 0;
    for (const auto& [name, tensor] : checkpoint.tensors)
        parameters += tensor.numel();
    auto start = Clock::now();
    CompressedPoint compressed =
        compressPoint(point, checkpoint, modelPath, configOverrides, progress.scaled(0.0, 0.5));
    FrontierRow row;
    row.codec = point.codec;
    row.spec = point.spec;
    row.settings = point.settings;
    row.compressSeconds = secondsSince(start);
    row.fileBytes = compressed.fileBytes;
    row.ratio = static_cast<double>(checkpoint.fileBytes) / static_cast<double>(compressed.fileBytes);
    row.bitsPerWeight = parameters ? 8.0 * static_cast<double>(compressed.fileBytes) / static_cast<double>(parameters) : 0.0;
    row.weightMae = compressed.weightMae;
    row.notes = compressed.notes;
    start = Clock::now();
    const auto model = makeSamEvalModel(compressed.model);
    const AgreementResult agreement = measureAgreement(reference, *model, progress.scaled(0.5, 0.5));
    row.measureSeconds = secondsSince(start);
    row.agreement = agreement.overall;
    for (const auto& [source, stats] : agreement.bySource)
        row.bySource.emplace_back(promptSourceName(source), stats);
    row.miouOriginal = agreement.miouOriginal;
    row.miouCompressed = agreement.miouCompressed;
    return row;
}

FrontierResult runFrontier(const FrontierOptions& options, const Progress& progress,
                           const std::function<void(const FrontierRow&)>& onRow)
{
    if (options.points.empty())
        throw Error("the frontier has no point to measure");
    std::error_code ec;
    fs::create_directories(options.outputDir, ec);
    if (!fs::is_directory(options.outputDir, ec))
        throw Error("cannot create the output folder " + options.outputDir.string());
    const fs::path jsonPath = frontierJsonPath(options.outputDir);
    const bool exists = fs::exists(jsonPath, ec);
    if (exists && !options.resume && !options.overwrite)
        throw Error(jsonPath.string() + " exists; continue it with --resume or replace it with --overwrite");

    const Progress loading{{}, progress.cancel};
    const io::Checkpoint checkpoint = io::loadCheckpoint(options.model, loading);
    RunIdentity id;
    id.model = options.model.filename().string();
    id.modelBytes = checkpoint.fileBytes;
    id.promptSet = options.promptSetName;
    id.grid = options.agreement.grid;
    id.prompts = agreementPromptsName(options.agreement.prompts);

    FrontierResult result;
    std::set<std::string> done;
    if (exists && options.resume) {
        result.rows = resumedRows(jsonPath, id);
        for (const auto& row : result.rows)
            done.insert(row.spec);
        result.resumed = result.rows.size();
    }

    const std::optional<fs::path> configPath = models::configBesideCheckpoint(options.model);
    const nlohmann::json overrides = configPath ? models::readConfigFile(*configPath) : nlohmann::json();
    const nlohmann::json* configOverrides = configPath ? &overrides : nullptr;
    const std::shared_ptr<models::SamModel> original = models::loadSamModel(options.model, {}, loading);
    {
        const auto reference = makeSamEvalModel(original);
        const Progress referenceProgress{
            [&](double f, const std::string& what) {
                progress.report(f / static_cast<double>(options.points.size() + 1), "original model: " + what);
            },
            progress.cancel};
        result.reference = buildAgreementReference(*reference, options.agreement, referenceProgress);
    }

    std::size_t index = 0;
    for (const FrontierPoint& point : options.points) {
        ++index;
        if (done.count(point.spec))
            continue;
        progress.checkCancelled();
        const std::string label = "point " + std::to_string(index) + "/" + std::to_string(options.points.size()) + " "
                                  + point.codec + " " + point.settings;
        // The reference takes the first of points + 1 equal shares of the progress bar.
        const double width = 1.0 / static_cast<double>(options.points.size() + 1);
        const double base = static_cast<double>(index) * width;
        const Progress pointProgress{[&](double f, const std::string& what) {
                                         progress.report(base + width * f, label + ": " + what);
                                     },
                                     progress.cancel};
        const FrontierRow row =
            measureFrontierPoint(point, checkpoint, options.model, configOverrides, result.reference, pointProgress);
        result.rows.push_back(row);
        writeOutputs(options, id, result.reference, result.rows, false);
        if (onRow)
            onRow(row);
    }
    writeOutputs(options, id, result.reference, result.rows, true);
    progress.report(1.0, "frontier done");
    return result;
}

cv::Mat renderFrontierPlot(const std::vector<FrontierRow>& rows, const std::string& title)
{
    const int width = 1100, height = 720, left = 90, right = 250, top = 60, bottom = 70;
    cv::Mat image(height, width, CV_8UC3, cv::Scalar(255, 255, 255));
    const int plotW = width - left - right, plotH = height - top - bottom;
    double xMin = 1e300, xMax = -1e300, yMin = 1.0;
    for (const auto& r : rows) {
        xMin = std::min(xMin, r.ratio);
        xMax = std::max(xMax, r.ratio);
        yMin = std::min(yMin, r.agreement.mean);
    }
    if (rows.empty()) {
        xMin = 1;
        xMax = 10;
    }
    xMin = std::floor(xMin);
    xMax = std::max(std::ceil(xMax), xMin + 1);
    yMin = std::min(0.9, std::floor(yMin * 10.0) / 10.0);
    const double yMax = 1.0;
    const auto px = [&](double x) { return left + static_cast<int>(std::lround((x - xMin) / (xMax - xMin) * plotW)); };
    const auto py = [&](double y) { return top + static_cast<int>(std::lround((yMax - y) / (yMax - yMin) * plotH)); };
    const cv::Scalar black(0, 0, 0), grid(225, 225, 225);
    const int font = cv::FONT_HERSHEY_SIMPLEX;

    const double xStep = std::max(1.0, std::ceil((xMax - xMin) / 10.0));
    for (double x = xMin; x <= xMax + 1e-9; x += xStep) {
        cv::line(image, {px(x), top}, {px(x), top + plotH}, grid, 1);
        cv::putText(image, numberText(x) + "x", {px(x) - 12, top + plotH + 22}, font, 0.5, black, 1, cv::LINE_AA);
    }
    const double yStep = (yMax - yMin) > 0.3 ? 0.1 : 0.05;
    for (double y = yMin; y <= yMax + 1e-9; y += yStep) {
        cv::line(image, {left, py(y)}, {left + plotW, py(y)}, grid, 1);
        char text[16];
        std::snprintf(text, sizeof text, "%.2f", y);
        cv::putText(image, text, {left - 50, py(y) + 5}, font, 0.5, black, 1, cv::LINE_AA);
    }
    cv::rectangle(image, {left, top}, {left + plotW, top + plotH}, black, 1);
    cv::putText(image, "compression ratio (original file / compressed file)", {left + plotW / 2 - 210, height - 20}, font,
                0.55, black, 1, cv::LINE_AA);
    cv::Mat yLabel(24, plotH, CV_8UC3, cv::Scalar(255, 255, 255));
    cv::putText(yLabel, "mean mask agreement (IoU with the original)", {plotH / 2 - 190, 18}, font, 0.55, black, 1,
                cv::LINE_AA);
    cv::Mat rotated;
    cv::rotate(yLabel, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    rotated.copyTo(image(cv::Rect(8, top, rotated.cols, rotated.rows)));
    cv::putText(image, title, {left, 35}, font, 0.55, black, 1, cv::LINE_AA);

    const std::map<std::string, cv::Scalar> colours = {
        {"birkhoff", cv::Scalar(40, 40, 210)},
        {"birkhoff-rd", cv::Scalar(170, 40, 170)},
        {"rtn", cv::Scalar(200, 110, 30)},
        {"hqq", cv::Scalar(40, 150, 40)}};
    std::map<std::string, std::vector<const FrontierRow*>> byCodec;
    for (const auto& r : rows)
        byCodec[r.codec].push_back(&r);
    int legendY = top + 20;
    for (auto& [codecName, points] : byCodec) {
        const auto it = colours.find(codecName);
        const cv::Scalar colour = it != colours.end() ? it->second : cv::Scalar(120, 120, 120);
        std::sort(points.begin(), points.end(), [](const FrontierRow* a, const FrontierRow* b) { return a->ratio < b->ratio; });
        std::vector<cv::Point> line;
        for (const FrontierRow* r : points)
            line.emplace_back(px(r->ratio), py(std::max(r->agreement.mean, yMin)));
        cv::polylines(image, line, false, colour, 2, cv::LINE_AA);
        for (std::size_t i = 0; i < points.size(); ++i) {
            cv::circle(image, line[i], 5, colour, cv::FILLED, cv::LINE_AA);
            cv::putText(image, points[i]->settings.substr(0, 28), line[i] + cv::Point(7, -7), font, 0.35, colour, 1,
                        cv::LINE_AA);
        }
        cv::line(image, {left + plotW + 20, legendY - 5}, {left + plotW + 50, legendY - 5}, colour, 2, cv::LINE_AA);
        cv::circle(image, {left + plotW + 35, legendY - 5}, 5, colour, cv::FILLED, cv::LINE_AA);
        cv::putText(image, codecName, {left + plotW + 60, legendY}, font, 0.55, black, 1, cv::LINE_AA);
        legendY += 28;
    }
    return image;
}

}  // namespace birkhoff::eval
