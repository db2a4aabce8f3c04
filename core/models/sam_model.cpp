// SAM v1-family model assembly, name-for-name weight loading and checkpoint opening.
#include "core/models/sam_model.h"

#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/models/family.h"
#include "core/models/tiny_vit.h"
#include "core/models/vit_encoder.h"
#include "core/util/error.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <set>

namespace birkhoff::models {
namespace {

std::string shapeText(at::IntArrayRef shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

void appendList(std::string& message, const char* what, const std::vector<std::string>& items)
{
    if (items.empty())
        return;
    constexpr std::size_t kShown = 12;
    message += "\n  " + std::to_string(items.size()) + " " + what + ":";
    for (std::size_t i = 0; i < items.size() && i < kShown; ++i)
        message += "\n    " + items[i];
    if (items.size() > kShown)
        message += "\n    ... and " + std::to_string(items.size() - kShown) + " more";
}

/// Every Linear layer of the model by its weight's checkpoint name.
std::map<std::string, LinearImpl*> linearLayers(SamModel& model)
{
    std::map<std::string, LinearImpl*> layers;
    for (const auto& item : model.named_modules("", false)) {
        if (auto* linear = dynamic_cast<LinearImpl*>(item.value().get()))
            layers[item.key() + ".weight"] = linear;
    }
    return layers;
}

/// The authors' / our compressed layout (hyper_model.safetensors) has these global keys.
bool isCompressedLayout(const io::StateDict& tensors)
{
    return tensors.contains("rect_l") && tensors.contains("num_inner_list");
}

bool isSafetensorsFile(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    unsigned char head[9] = {};
    in.read(reinterpret_cast<char*>(head), sizeof head);
    return in.gcount() == 9 && head[8] == '{';
}

/// Refuses families this runner does not implement, naming them, before shape inference
/// produces a less helpful message. Generic layouts go on to inferSamConfig, which explains
/// what it misses.
void checkSupportedFamily(const io::StateDict& tensors, const std::string& source, ModelInfo& info)
{
    const FamilyInfo family = detectFamily(tensors);
    info.family = family.displayName;
    switch (family.id) {
    case FamilyId::SamVit:
    case FamilyId::SlimSam:
    case FamilyId::MobileSam:
    case FamilyId::Generic:
        return;
    default:
        throw Error(source + ": " + family.displayName +
                    " checkpoints are not supported here: this runner implements SAM v1 (ViT-B/L/H, MedSAM, "
                    "SlimSAM) and MobileSAM/TinySAM with the SAM v1 prompt encoder and mask decoder");
    }
}

/// Shape-only copy of a state dict (meta tensors) for family detection.
io::StateDict shapesOnly(const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& shapes)
{
    io::StateDict out;
    for (const auto& [name, shape] : shapes)
        out.insert(name, at::empty(shape, at::TensorOptions().device(at::kMeta)));
    return out;
}

std::optional<nlohmann::json> configOverrides(const std::filesystem::path& path, const LoadOptions& options,
                                              std::optional<std::filesystem::path>& configPath)
{
    configPath = options.configPath;
    if (!configPath)
        configPath = configBesideCheckpoint(path);
    if (!configPath)
        return std::nullopt;
    return readConfigFile(*configPath);
}

std::shared_ptr<SamModel> loadCompressed(const io::SafetensorsContent& content, const std::filesystem::path& path,
                                         const LoadOptions& options, const Progress& progress)
{
    const std::string source = path.string();
    const format::CompressedModel compressed = format::parseCompressedModel(content, source);
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapeList;
    TensorShapes shapes;
    io::StateDict dense;
    LinearBackendMap backends;
    for (std::size_t i = 0; i < compressed.tensors.size(); ++i) {
        const auto& t = compressed.tensors[i];
        progress.checkCancelled();
        progress.report(static_cast<double>(i) / static_cast<double>(compressed.tensors.size()), t.name);
        const std::vector<std::int64_t> shape = t.isEncoded() ? t.shape : t.raw.sizes().vec();
        shapeList.emplace_back(t.name, shape);
        shapes[t.name] = shape;
        if (t.loadType == format::LoadType::LinearMatrix && options.linearBackend)
            backends[t.name] = options.linearBackend(t);
        else
            dense.insert(t.name, format::decodeTensor(t));
    }
    ModelInfo info;
    checkSupportedFamily(shapesOnly(shapeList), source, info);
    std::optional<std::filesystem::path> configPath;
    const auto overrides = configOverrides(path, options, configPath);
    const SamConfig config = inferSamConfig(shapes, overrides ? &*overrides : nullptr,
                                            configPath ? source + " (config " + configPath->string() + ")" : source);
    auto model = buildSamModel(config, dense, source, backends);
    model->info.family = info.family;
    model->info.configPath = configPath;
    model->info.format = "compressed";
    if (!compressed.extensions.empty())
        model->info.notes.push_back("compressed file uses Birkhoff Studio extensions");
    return model;
}

}  // namespace

SamModel::SamModel(const SamConfig& config) : config_(config)
{
    if (config.encoder == EncoderKind::Vit)
        imageEncoder_ = register_module("image_encoder", std::make_shared<VitImageEncoder>(config.vit, config.imageSize));
    else
        imageEncoder_ = register_module("image_encoder", std::make_shared<TinyVitEncoder>(config.tinyVit));
    promptEncoder_ = register_module("prompt_encoder", PromptEncoder(config.head.promptEmbedDim, config.embeddingSize,
                                                                     config.imageSize, config.head.maskInChans));
    maskDecoder_ = register_module("mask_decoder", MaskDecoder(config.head));
    eval();
}

at::Tensor SamModel::encodeImage(const at::Tensor& input) const
{
    const at::NoGradGuard noGrad;
    const std::int64_t s = config_.imageSize;
    if (input.dim() != 4 || input.size(1) != 3 || input.size(2) != s || input.size(3) != s)
        throw Error("image encoder input must be [B,3," + std::to_string(s) + "," + std::to_string(s) + "], got " +
                    shapeText(input.sizes()));
    return rethrowAsError("image encoder", [&] { return imageEncoder_->forward(input.to(at::kFloat).contiguous()); });
}

std::pair<at::Tensor, at::Tensor> SamModel::embedPrompt(const PromptTensors& prompt) const
{
    const at::NoGradGuard noGrad;
    const std::int64_t batch = prompt.coords.defined() ? prompt.coords.size(0)
                               : prompt.maskInput.defined() ? prompt.maskInput.size(0)
                                                            : 1;
    at::Tensor sparse;
    if (prompt.coords.defined() && prompt.coords.size(1) > 0)
        sparse = promptEncoder_->embedPoints(prompt.coords.to(at::kFloat), prompt.labels);
    else
        sparse = at::empty({batch, 0, config_.head.promptEmbedDim}, at::kFloat);
    const at::Tensor dense = prompt.maskInput.defined() ? promptEncoder_->embedMask(prompt.maskInput.to(at::kFloat))
                                                        : promptEncoder_->noMaskEmbedding(batch);
    return {sparse, dense};
}

DecoderImageCache SamModel::prepareDecoder(const at::Tensor& imageEmbedding) const
{
    const at::NoGradGuard noGrad;
    return rethrowAsError("mask decoder", [&] {
        return maskDecoder_->prepareImage(imageEmbedding, promptEncoder_->denseEncoding(),
                                          promptEncoder_->noMaskEmbedding(1));
    });
}

DecoderOutput SamModel::decode(const at::Tensor& imageEmbedding, const PromptTensors& prompt,
                               const DecoderImageCache* cache) const
{
    const at::NoGradGuard noGrad;
    return rethrowAsError("mask decoder", [&] {
        auto [sparse, dense] = embedPrompt(prompt);
        if (cache && !prompt.maskInput.defined())
            return maskDecoder_->forward(*cache, sparse);
        return maskDecoder_->forward(imageEmbedding, promptEncoder_->denseEncoding(), sparse, dense);
    });
}

namespace {

void collectStateDict(const torch::nn::Module& module, const std::string& prefix,
                      std::vector<std::pair<std::string, at::Tensor>>& out)
{
    for (const auto& p : module.named_parameters(false))
        out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : module.named_buffers(false))
        out.emplace_back(prefix + b.key(), b.value());
    for (const auto& child : module.named_children())
        collectStateDict(*child.value(), prefix + child.key() + ".", out);
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> SamModel::stateDict() const
{
    std::vector<std::pair<std::string, at::Tensor>> out;
    collectStateDict(*this, "", out);
    return out;
}

TensorShapes shapesOf(const io::StateDict& tensors)
{
    TensorShapes shapes;
    for (const auto& entry : tensors)
        shapes[entry.name] = entry.tensor.sizes().vec();
    return shapes;
}

void attachLinearBackends(SamModel& model, const LinearBackendMap& backends)
{
    const auto layers = linearLayers(model);
    for (const auto& [name, backend] : backends) {
        const auto it = layers.find(name);
        if (it == layers.end())
            throw Error("compressed weight " + name + " is not the weight of a Linear layer of this " +
                        model.config().variant + " model");
        it->second->setBackend(backend);
    }
}

void loadWeights(SamModel& model, const io::StateDict& tensors, const std::string& source)
{
    const at::NoGradGuard noGrad;
    std::set<std::string> skipped;
    for (const auto& [name, layer] : linearLayers(model))
        if (!layer->hasDenseWeight())
            skipped.insert(name);

    std::vector<std::pair<std::string, at::Tensor>> targets = model.stateDict();

    std::vector<std::string> missing, misshaped, unexpected;
    std::set<std::string> used;
    for (auto& [name, target] : targets) {
        if (skipped.count(name)) {
            used.insert(name);
            continue;
        }
        const at::Tensor* source_tensor = tensors.find(name);
        if (!source_tensor) {
            missing.push_back(name + " " + shapeText(target.sizes()));
            continue;
        }
        used.insert(name);
        if (source_tensor->sizes() != target.sizes()) {
            misshaped.push_back(name + ": checkpoint " + shapeText(source_tensor->sizes()) + ", model " +
                                shapeText(target.sizes()));
            continue;
        }
        if (target.scalar_type() == at::kFloat && !at::isFloatingType(source_tensor->scalar_type()))
            misshaped.push_back(name + ": checkpoint dtype " + std::string(c10::toString(source_tensor->scalar_type())) +
                                " is not a floating-point type");
    }
    for (const auto& entry : tensors) {
        if (!used.count(entry.name) && entry.name != "pixel_mean" && entry.name != "pixel_std")
            unexpected.push_back(entry.name + " " + shapeText(entry.tensor.sizes()));
    }
    if (!missing.empty() || !misshaped.empty() || !unexpected.empty()) {
        std::string message = source + ": the checkpoint does not fit the " + model.config().variant + " model (" +
                              encoderKindName(model.config().encoder) + " encoder) built from its shapes";
        appendList(message, "missing keys", missing);
        appendList(message, "mis-shaped keys", misshaped);
        appendList(message, "unexpected keys", unexpected);
        throw Error(message);
    }

    for (auto& [name, target] : targets) {
        if (skipped.count(name))
            continue;
        const at::Tensor& src = tensors.at(name);
        rethrowAsError("loading " + name, [&] {
            if (src.scalar_type() == target.scalar_type() && src.device().is_cpu() && src.is_contiguous())
                target.set_(src);
            else
                target.set_(src.to(target.scalar_type()).contiguous());
            return 0;
        });
    }
}

std::shared_ptr<SamModel> buildSamModel(const SamConfig& config, const io::StateDict& tensors, const std::string& source,
                                        const LinearBackendMap& backends)
{
    auto model = rethrowAsError("building the model", [&] { return std::make_shared<SamModel>(config); });
    attachLinearBackends(*model, backends);
    loadWeights(*model, tensors, source);
    std::int64_t elements = 0, bytes = 0, compressed = 0;
    for (const auto& p : model->named_parameters(true)) {
        elements += p.value().numel();
        bytes += p.value().numel() * static_cast<std::int64_t>(p.value().element_size());
    }
    for (const auto& b : model->named_buffers(true)) {
        elements += b.value().numel();
        bytes += b.value().numel() * static_cast<std::int64_t>(b.value().element_size());
    }
    for (const auto& [name, layer] : linearLayers(*model)) {
        if (!layer->hasDenseWeight()) {
            ++compressed;
            elements += layer->inFeatures() * layer->outFeatures();
            bytes += layer->weightBytes();
        }
    }
    model->info.parameterCount = elements;
    model->info.weightBytes = bytes;
    model->info.compressedLinearLayers = compressed;
    return model;
}

std::shared_ptr<SamModel> loadSamModel(const std::filesystem::path& path, const LoadOptions& options,
                                       const Progress& progress)
{
    const auto start = std::chrono::steady_clock::now();
    std::shared_ptr<SamModel> model;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec) && isSafetensorsFile(path)) {
        const io::SafetensorsContent content = io::readSafetensors(path);
        if (isCompressedLayout(content.tensors))
            model = loadCompressed(content, path, options, progress);
    }
    if (!model) {
        const io::Checkpoint checkpoint = io::loadCheckpoint(path, progress);
        const std::string source = path.string();
        ModelInfo info;
        checkSupportedFamily(checkpoint.tensors, source, info);
        std::optional<std::filesystem::path> configPath;
        const auto overrides = configOverrides(path, options, configPath);
        const SamConfig config = inferSamConfig(shapesOf(checkpoint.tensors), overrides ? &*overrides : nullptr,
                                                configPath ? source + " (config " + configPath->string() + ")" : source);
        model = buildSamModel(config, checkpoint.tensors, source);
        model->info.family = info.family;
        model->info.configPath = configPath;
        model->info.format = io::checkpointFormatName(checkpoint.format);
        model->info.notes = checkpoint.notes;
    }
    model->info.path = path;
    model->info.loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return model;
}

}  // namespace birkhoff::models
