// Opening model files of every kind for the studio and the CLI (see model_file.h), and
// loadSamModel on top of it.
#include "core/models/model_file.h"
#include "core/util/stopwatch.h"

#include "core/codec/baseline_quant.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/models/linear.h"
#include "core/models/sam_config.h"
#include "core/util/error.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

namespace birkhoff::models {
namespace {

using Clock = std::chrono::steady_clock;



/// The config.json for `path` (`explicitPath`, or the one beside it), or nullopt; `configPath`
/// receives its path.
std::optional<nlohmann::json> readConfigFor(const std::filesystem::path& path,
                                            const std::optional<std::filesystem::path>& explicitPath,
                                            std::optional<std::filesystem::path>& configPath)
{
    configPath = explicitPath ? explicitPath : configBesideCheckpoint(path);
    if (!configPath)
        return std::nullopt;
    return readConfigFile(*configPath);
}

/// "<file>" or "<file> (config <config.json>)", for messages.
std::string configSource(const std::filesystem::path& path, const std::optional<std::filesystem::path>& configPath)
{
    return configPath ? path.string() + " (config " + configPath->string() + ")" : path.string();
}

/// Shape-only state dict (meta tensors, no data) for family and role detection.
io::StateDict shapesOnly(const TensorShapes& shapes, const std::vector<std::string>& order)
{
    io::StateDict out;
    for (const std::string& name : order)
        out.insert(name, at::empty(shapes.at(name), at::TensorOptions().device(at::kMeta)));
    return out;
}

/// Family, roles, shapes and counts of a compressed model.
void describeCompressed(ModelFile& file, const format::CompressedModel& compressed)
{
    std::vector<std::string> order;
    for (const format::EncodedTensor& t : compressed.tensors) {
        file.shapes[t.name] = t.isEncoded() ? t.shape : t.raw.sizes().vec();
        order.push_back(t.name);
    }
    const io::StateDict shapes = shapesOnly(file.shapes, order);
    file.family = detectFamily(shapes);
    file.roles = codec::detectRoles(shapes);
    file.parameterCount = compressed.elementCount();
    file.tensorCount = compressed.tensors.size();
    for (const std::string& extension : compressed.extensions)
        file.notes.push_back("uses extension: " + extension);
}

/// How a compressed model runs, for the model panel and reports.
std::string compressedRuntime(const SamModel& model, CompressedRun run)
{
    const std::int64_t layers = model.info.compressedLinearLayers;
    if (layers == 0)
        return run == CompressedRun::Dense ? "decoded to dense float32"
                                           : "decoded to dense float32 (no Linear weight is stored as indices)";
    std::string kernel;
    for (const auto& item : model.named_modules("", false)) {
        const auto* linear = dynamic_cast<const LinearImpl*>(item.value().get());
        if (linear && linear->backend()) {
            // "hyperlinear <name> [...] ...; cpu: kernel avx2 (table decode); cuda: ..." -> the CPU part.
            const std::string describe = linear->backend()->describe();
            const auto cpu = describe.find("cpu: ");
            const auto part = describe.find("; ");
            kernel = cpu != std::string::npos ? "CPU " + describe.substr(cpu + 5, describe.find(';', cpu) - cpu - 5)
                     : part != std::string::npos ? describe.substr(part + 2)
                                                 : describe;
            break;
        }
    }
    char text[320];
    std::snprintf(text, sizeof text,
                  "HyperLinear on %lld Linear layers (%s); other tensors decoded to float32; %.1f MiB of weights at run time",
                  static_cast<long long>(layers), kernel.c_str(),
                  static_cast<double>(model.info.weightBytes) / (1024.0 * 1024.0));
    return text;
}

/// Builds file.model from file.compressed; a layout that cannot run sets file.cannotRun.
void buildCompressedModel(ModelFile& file, const std::optional<nlohmann::json>& overrides, const LoadOptions& options,
                          const Progress& progress)
{
    try {
        file.model = buildCompressedSamModel(*file.compressed, configSource(file.path, file.configPath),
                                             overrides ? &*overrides : nullptr, options, progress);
    } catch (const CancelledError&) {
        throw;
    } catch (const Error& e) {
        file.cannotRun = e.what();
        file.runtime = "cannot run";
        return;
    }
    file.cannotRun.clear();
    file.model->info.family = file.family.displayName;
    file.model->info.format = options.compressedRun == CompressedRun::HyperLinear ? "compressed (HyperLinear)"
                              : options.compressedRun == CompressedRun::Reference
                                  ? "compressed (HyperLinear reference path)"
                                  : "compressed (decoded to dense)";
    file.runtime = compressedRuntime(*file.model, options.compressedRun);
}

/// A baseline-quantized safetensors file (rtn / hqq, core/codec/baseline_quant.h) becomes the
/// dense checkpoint it stands for (dequantized on load) and `format` says so; any other
/// checkpoint is left as it is. @throws Error naming the file or tensor of a malformed baseline file.
void dequantizeIfBaseline(const std::filesystem::path& path, io::Checkpoint& checkpoint, std::string& format,
                          const Progress& progress)
{
    if (checkpoint.format != io::CheckpointFormat::Safetensors)
        return;
    const io::SafetensorsContent content = io::readSafetensors(path);
    if (!codec::isBaselineFile(content.metadata))
        return;
    const codec::BaselineModel baseline = codec::parseBaselineModel(content, path.string());
    checkpoint.tensors = codec::dequantizeModel(baseline, progress);
    format = "baseline " + baseline.settings.text() + " (dequantized on load)";
}

/// "[a,b,c]".
std::string shapeText(const std::vector<std::int64_t>& shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

}  // namespace

ModelFile openModelFile(const std::filesystem::path& path, const OpenModelOptions& options, const Progress& progress)
{
    const auto start = Clock::now();
    ModelFile file;
    file.path = path;
    file.kind = io::detectModelFileKind(path);
    const std::optional<nlohmann::json> overrides = readConfigFor(path, options.load.configPath, file.configPath);
    file.runtime = "not built";
    file.cannotRun = "the model was not built (OpenModelOptions::buildModel is false)";
    if (file.kind == io::ModelFileKind::Compressed) {
        file.compressed = std::make_shared<const format::CompressedModel>(format::readCompressedModel(path));
        progress.report(0.2, "read " + path.filename().string());
        file.format = kCompressedFormat;
        std::error_code ec;
        file.fileBytes = std::filesystem::file_size(path, ec);
        describeCompressed(file, *file.compressed);
        if (options.buildModel)
            buildCompressedModel(file, overrides, options.load, progress.scaled(0.2, 0.8));
    } else {
        io::Checkpoint checkpoint = io::loadCheckpoint(path, progress.scaled(0.0, options.buildModel ? 0.8 : 1.0));
        file.format = io::checkpointFormatName(checkpoint.format);
        dequantizeIfBaseline(path, checkpoint, file.format, progress);
        file.fileBytes = checkpoint.fileBytes;
        file.wrapper = checkpoint.wrapper;
        file.notes = checkpoint.notes;
        file.family = detectFamily(checkpoint.tensors);
        file.roles = codec::detectRoles(checkpoint.tensors);
        file.shapes = shapesOf(checkpoint.tensors);
        file.parameterCount = checkpoint.tensors.elementCount();
        file.tensorCount = checkpoint.tensors.size();
        if (options.buildModel) {
            progress.checkCancelled();
            progress.report(0.8, "building the model");
            try {
                const SamConfig config = inferSamConfig(file.shapes, overrides ? &*overrides : nullptr,
                                                        configSource(path, file.configPath));
                file.model = buildSamModel(config, checkpoint.tensors, path.string());
                file.cannotRun.clear();
                file.model->info.family = file.family.displayName;
                file.model->info.format = file.format;
                file.model->info.notes = checkpoint.notes;
                file.runtime = "dense float32";
            } catch (const CancelledError&) {
                throw;
            } catch (const Error& e) {
                file.cannotRun = e.what();
                file.runtime = "cannot run";
            }
        }
        file.tensors = std::move(checkpoint.tensors);
    }
    file.loadSeconds = secondsSince(start);
    if (file.model) {
        file.model->info.path = path;
        file.model->info.configPath = file.configPath;
        file.model->info.loadMs = 1000.0 * file.loadSeconds;
    }
    progress.report(1.0, "opened " + path.filename().string());
    return file;
}

ModelFile compressedModelFile(const ModelFile& original, format::CompressedModel compressed, std::uint64_t fileBytes,
                              const LoadOptions& options, const Progress& progress)
{
    const auto start = Clock::now();
    ModelFile file;
    file.path = original.path;
    file.kind = io::ModelFileKind::Compressed;
    file.format = kCompressedFormat;
    file.fileBytes = fileBytes;
    file.compressed = std::make_shared<const format::CompressedModel>(std::move(compressed));
    describeCompressed(file, *file.compressed);
    file.configPath = original.configPath;
    const std::optional<nlohmann::json> overrides =
        original.configPath ? std::optional<nlohmann::json>(readConfigFile(*original.configPath)) : std::nullopt;
    buildCompressedModel(file, overrides, options, progress);
    file.loadSeconds = secondsSince(start);
    if (file.model) {
        file.model->info.path = original.path;
        file.model->info.configPath = file.configPath;
        file.model->info.loadMs = 1000.0 * file.loadSeconds;
    }
    return file;
}

void checkCompressedMatches(const ModelFile& original, const ModelFile& compressed)
{
    const std::string advice = ": a compressed file can only be compared with the model it was compressed from "
                               "(its family and tensor layout must match); open that model's checkpoint first";
    if (original.family.id != compressed.family.id)
        throw Error(compressed.path.string() + " holds a compressed " + compressed.family.displayName +
                    " model, but the open original " + original.path.string() + " is a " +
                    original.family.displayName + " model" + advice);
    const std::string families = "the file holds a compressed " + compressed.family.displayName +
                                 " model and the open original " + original.path.string() + " is a " +
                                 original.family.displayName + " model";
    std::vector<std::string> differences;
    for (const auto& [name, shape] : original.shapes) {
        const auto other = compressed.shapes.find(name);
        if (other == compressed.shapes.end())
            differences.push_back(name + " " + shapeText(shape) + " is missing");
        else if (other->second != shape)
            differences.push_back(name + " is " + shapeText(other->second) + ", not " + shapeText(shape));
    }
    for (const auto& [name, shape] : compressed.shapes)
        if (!original.shapes.count(name))
            differences.push_back(name + " " + shapeText(shape) + " is not in the original");
    if (differences.empty())
        return;
    constexpr std::size_t kShown = 3;
    std::string list;
    for (std::size_t i = 0; i < differences.size() && i < kShown; ++i)
        list += (i ? "; " : "") + differences[i];
    if (differences.size() > kShown)
        list += "; and " + std::to_string(differences.size() - kShown) + " more";
    throw Error(compressed.path.string() + " does not have the tensor layout of the open original (" +
                std::to_string(differences.size()) + " tensors differ: " + list + "): " + families + advice);
}

std::shared_ptr<SamModel> loadSamModel(const std::filesystem::path& path, const LoadOptions& options,
                                       const Progress& progress)
{
    OpenModelOptions open;
    open.load = options;
    ModelFile file = openModelFile(path, open, progress);
    if (!file.model)
        throw Error(file.cannotRun);
    return file.model;
}

}  // namespace birkhoff::models
