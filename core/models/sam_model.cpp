// SAM-family model assembly, name-for-name weight loading and checkpoint opening (original and compressed).
#include "core/models/sam_model.h"

#include "core/codec/baseline_quant.h"
#include "core/format/encoded_tensor.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/models/efficient_sam.h"
#include "core/models/efficient_vit.h"
#include "core/models/family.h"
#include "core/models/hiera.h"
#include "core/models/hyper_linear.h"
#include "core/models/rep_vit.h"
#include "core/models/sam2_mask_decoder.h"
#include "core/models/sam_hq.h"
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

/// The config.json of `path` (options.configPath, or the one beside it), or nullopt.
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

/// Shape-only copy of a state dict (meta tensors) for family detection.
io::StateDict shapesOnly(const TensorShapes& shapes)
{
    io::StateDict out;
    for (const auto& [name, shape] : shapes)
        out.insert(name, at::empty(shape, at::TensorOptions().device(at::kMeta)));
    return out;
}

/// The official loaders of SAM-HQ and EdgeSAM use load_state_dict(strict=False): keys the model
/// does not have are tolerated (kept, not run).
bool toleratesExtraTensors(const SamConfig& config)
{
    return config.decoder == DecoderKind::SamHq || config.encoder == EncoderKind::RepVit;
}

/// Keeps the checkpoint tensors the model lacks as inactive tensors when the family tolerates them.
void keepToleratedExtras(SamModel& model, const TensorShapes& shapes)
{
    if (!toleratesExtraTensors(model.config()))
        return;
    std::set<std::string> known;
    for (const auto& entry : model.stateDict())
        known.insert(entry.first);
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> extras;
    for (const auto& [name, shape] : shapes)
        if (!known.count(name) && name != "pixel_mean" && name != "pixel_std")
            extras.emplace_back(name, shape);
    if (!extras.empty())
        model.keepInactiveTensors(extras);
}

/// Parameter count, run-time bytes and compressed layer count into model.info.
void fillModelInfo(SamModel& model)
{
    std::int64_t elements = 0, bytes = 0, compressed = 0;
    for (const auto& p : model.named_parameters(true)) {
        elements += p.value().numel();
        bytes += p.value().numel() * static_cast<std::int64_t>(p.value().element_size());
    }
    for (const auto& b : model.named_buffers(true)) {
        elements += b.value().numel();
        bytes += b.value().numel() * static_cast<std::int64_t>(b.value().element_size());
    }
    for (const auto& [name, layer] : linearLayers(model)) {
        if (!layer->hasDenseWeight()) {
            ++compressed;
            elements += layer->inFeatures() * layer->outFeatures();
            bytes += layer->weightBytes();
        }
    }
    model.info.parameterCount = elements;
    model.info.weightBytes = bytes;
    model.info.compressedLinearLayers = compressed;
}

}  // namespace

namespace {

std::shared_ptr<ImageEncoder> makeImageEncoder(const SamConfig& c)
{
    switch (c.encoder) {
    case EncoderKind::Vit: return std::make_shared<VitImageEncoder>(c.vit, c.encoderSize());
    case EncoderKind::TinyVit: return std::make_shared<TinyVitEncoder>(c.tinyVit);
    case EncoderKind::Hiera: return std::make_shared<HieraImageEncoder>(c.hiera);
    case EncoderKind::EfficientSamVit: return std::make_shared<EfficientSamVitEncoder>(c.efficientSamVit, c.encoderSize());
    case EncoderKind::RepVit: return std::make_shared<RepVitEncoder>(c.repVit);
    case EncoderKind::EfficientVit: return std::make_shared<EfficientVitEncoder>(c.efficientVit, c.embeddingSize);
    }
    throw Error("unknown image encoder kind");
}

/// Registers `shape`-sized zero tensors under dotted `name`s, creating the intermediate
/// modules: tensors a family keeps without running them (SAM 2's video memory).
void registerInactiveTensors(torch::nn::Module& root,
                             const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& tensors)
{
    for (const auto& [name, shape] : tensors) {
        torch::nn::Module* module = &root;
        std::size_t start = 0;
        for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
            const std::string part = name.substr(start, dot - start);
            std::shared_ptr<torch::nn::Module> child;
            for (const auto& existing : module->named_children())
                if (existing.key() == part)
                    child = existing.value();
            if (!child)
                child = module->register_module(part, std::make_shared<torch::nn::Module>());
            module = child.get();
            start = dot + 1;
        }
        module->register_parameter(name.substr(start), at::zeros(shape), false);
    }
}

}  // namespace

SamModel::SamModel(const SamConfig& config) : config_(config)
{
    const auto& h = config.head;
    imageEncoder_ = register_module("image_encoder", makeImageEncoder(config));
    switch (config.decoder) {
    case DecoderKind::Sam:
        promptEncoder_ = register_module("prompt_encoder", PromptEncoder(h.promptEmbedDim, config.embeddingSize,
                                                                         config.imageSize, h.maskInChans));
        maskDecoder_ = register_module("mask_decoder", MaskDecoder(h));
        break;
    case DecoderKind::SamHq:
        promptEncoder_ = register_module("prompt_encoder", PromptEncoder(h.promptEmbedDim, config.embeddingSize,
                                                                         config.imageSize, h.maskInChans));
        hqDecoder_ = register_module("mask_decoder", std::make_shared<HqMaskDecoderImpl>(h));
        break;
    case DecoderKind::Sam2:
        noMemEmbed_ = register_parameter("no_mem_embed", at::zeros({1, 1, h.promptEmbedDim}), false);
        promptEncoder_ = register_module("sam_prompt_encoder", PromptEncoder(h.promptEmbedDim, config.embeddingSize,
                                                                             config.imageSize, h.maskInChans));
        sam2Decoder_ = register_module("sam_mask_decoder", std::make_shared<Sam2MaskDecoderImpl>(h));
        break;
    case DecoderKind::EfficientSam:
        efficientPrompt_ = register_module(
            "prompt_encoder", std::make_shared<EfficientSamPromptEncoderImpl>(h.promptEmbedDim, config.embeddingSize,
                                                                              config.imageSize));
        efficientDecoder_ = register_module("mask_decoder", std::make_shared<EfficientSamMaskDecoderImpl>(h));
        break;
    }
    registerInactiveTensors(*this, config.inactiveTensors);
    eval();
}

void SamModel::keepInactiveTensors(const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& tensors)
{
    registerInactiveTensors(*this, tensors);
    config_.inactiveTensors.insert(config_.inactiveTensors.end(), tensors.begin(), tensors.end());
    std::string names;
    for (std::size_t i = 0; i < tensors.size() && i < 4; ++i)
        names += (i ? ", " : "") + tensors[i].first;
    config_.notes.push_back(std::to_string(tensors.size()) + " checkpoint tensors the model does not use are kept " +
                            "unused (the official loader tolerates them, strict=False): " + names +
                            (tensors.size() > 4 ? ", ..." : ""));
}

const PromptEncoderImpl& SamModel::promptEncoder() const
{
    if (!promptEncoder_)
        throw Error(config_.variant + ": this model has EfficientSAM's prompt encoder, not SAM's");
    return *promptEncoder_;
}

const MaskDecoderImpl& SamModel::maskDecoder() const
{
    if (!maskDecoder_)
        throw Error(config_.variant + ": this model's mask decoder is the " + decoderKindName(config_.decoder) +
                    " one, not SAM v1's");
    return *maskDecoder_;
}

at::Tensor SamModel::denseEncoding() const
{
    return efficientPrompt_ ? efficientPrompt_->denseEncoding() : promptEncoder_->denseEncoding();
}

at::Tensor SamModel::encodeImage(const at::Tensor& input) const
{
    return encodeFeatures(input).embedding;
}

ImageFeatures SamModel::encodeFeatures(const at::Tensor& input) const
{
    const at::NoGradGuard noGrad;
    const std::int64_t s = config_.encoderSize();
    if (input.dim() != 4 || input.size(1) != 3 || input.size(2) != s || input.size(3) != s)
        throw Error("image encoder input must be [B,3," + std::to_string(s) + "," + std::to_string(s) + "], got " +
                    shapeText(input.sizes()));
    return rethrowAsError("image encoder", [&] {
        ImageFeatures features = imageEncoder_->forwardFeatures(input.to(at::kFloat).contiguous());
        if (sam2Decoder_) {
            // SAM2Base.forward_image + SAM2ImagePredictor.set_image.
            if (config_.head.sam2.addNoMemEmbed)
                features.embedding = features.embedding + noMemEmbed_.reshape({1, -1, 1, 1});
            features.highRes = sam2Decoder_->projectHighRes(features.highRes);
        } else if (hqDecoder_) {
            if (features.highRes.empty())
                throw Error("SAM-HQ: the image encoder gave no early features");
            features.highRes = {hqDecoder_->hqFeatures(features.embedding, features.highRes.front())};
        } else {
            features.highRes.clear();
        }
        return features;
    });
}

std::pair<at::Tensor, at::Tensor> SamModel::embedPrompt(const PromptTensors& prompt) const
{
    const at::NoGradGuard noGrad;
    const std::int64_t batch = prompt.coords.defined() ? prompt.coords.size(0)
                               : prompt.maskInput.defined() ? prompt.maskInput.size(0)
                                                            : 1;
    if (efficientPrompt_) {
        // EfficientSAM pads every prompt to decoder_max_num_input_points with (-1, -1, label -1).
        const std::int64_t maxPoints = config_.head.efficientSam.maxPoints;
        const std::int64_t n = prompt.coords.defined() ? prompt.coords.size(1) : 0;
        if (n == 0)
            throw Error("EfficientSAM needs at least one point or a box (it has no mask input)");
        if (n > maxPoints)
            throw Error("EfficientSAM takes at most " + std::to_string(maxPoints) + " prompt points (a box counts as 2), got " +
                        std::to_string(n));
        at::Tensor coords = prompt.coords.to(at::kFloat);
        at::Tensor labels = prompt.labels.to(at::kFloat);
        if (n < maxPoints) {
            coords = at::cat({coords, at::full({batch, maxPoints - n, 2}, -1.0f, coords.options())}, 1);
            labels = at::cat({labels, at::full({batch, maxPoints - n}, -1.0f, labels.options())}, 1);
        }
        return {efficientPrompt_->embedPoints(coords, labels), at::Tensor()};
    }
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
        const at::Tensor pe = denseEncoding();
        switch (config_.decoder) {
        case DecoderKind::Sam: return maskDecoder_->prepareImage(imageEmbedding, pe, promptEncoder_->noMaskEmbedding(1));
        case DecoderKind::SamHq: return hqDecoder_->prepareImage(imageEmbedding, pe, promptEncoder_->noMaskEmbedding(1));
        case DecoderKind::Sam2: return sam2Decoder_->prepareImage(imageEmbedding, pe, promptEncoder_->noMaskEmbedding(1));
        case DecoderKind::EfficientSam: break;
        }
        return DecoderImageCache{};
    });
}

DecoderOutput SamModel::decode(const ImageFeatures& image, const PromptTensors& prompt,
                               const DecoderImageCache* cache) const
{
    const at::NoGradGuard noGrad;
    return rethrowAsError("mask decoder", [&] {
        auto [sparse, dense] = embedPrompt(prompt);
        const bool cached = cache && cache->keys.defined() && !prompt.maskInput.defined();
        switch (config_.decoder) {
        case DecoderKind::Sam:
            return cached ? maskDecoder_->forward(*cache, sparse)
                          : maskDecoder_->forward(image.embedding, denseEncoding(), sparse, dense);
        case DecoderKind::SamHq: {
            if (image.highRes.empty())
                throw Error("SAM-HQ needs the image's HQ features (encode it with encodeFeatures)");
            const at::Tensor& hq = image.highRes.front();
            return cached ? hqDecoder_->forward(*cache, sparse, hq)
                          : hqDecoder_->forward(image.embedding, denseEncoding(), sparse, dense, hq);
        }
        case DecoderKind::Sam2:
            return cached ? sam2Decoder_->forward(*cache, sparse, image.highRes)
                          : sam2Decoder_->forward(image.embedding, denseEncoding(), sparse, dense, image.highRes);
        case DecoderKind::EfficientSam:
            if (prompt.maskInput.defined())
                throw Error("EfficientSAM has no mask input");
            return efficientDecoder_->forward(image.embedding, denseEncoding(), sparse);
        }
        throw Error("unknown mask decoder kind");
    });
}

DecoderOutput SamModel::decode(const at::Tensor& imageEmbedding, const PromptTensors& prompt,
                               const DecoderImageCache* cache) const
{
    return decode(ImageFeatures{imageEmbedding, {}}, prompt, cache);
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
    keepToleratedExtras(*model, shapesOf(tensors));
    attachLinearBackends(*model, backends);
    loadWeights(*model, tensors, source);
    fillModelInfo(*model);
    return model;
}

std::shared_ptr<SamModel> buildCompressedSamModel(const format::CompressedModel& compressed, const std::string& source,
                                                  const nlohmann::json* configOverrides, const LoadOptions& options,
                                                  const Progress& progress)
{
    TensorShapes shapes;
    for (const auto& t : compressed.tensors)
        shapes[t.name] = t.isEncoded() ? t.shape : t.raw.sizes().vec();
    const SamConfig config = inferSamConfig(shapes, configOverrides, source);
    auto model = rethrowAsError("building the model", [&] { return std::make_shared<SamModel>(config); });
    keepToleratedExtras(*model, shapes);

    // Linear weights stored as index matrices run on backends; everything else is decoded,
    // including Linear-shaped tensors the model keeps without running (SAM 2's video memory).
    const std::map<std::string, LinearImpl*> layers = linearLayers(*model);
    HyperLinearOptions hyperOptions;
    hyperOptions.referenceOnly = options.compressedRun == CompressedRun::Reference;
    LinearBackendMap backends;
    io::StateDict dense;
    for (std::size_t i = 0; i < compressed.tensors.size(); ++i) {
        const auto& t = compressed.tensors[i];
        progress.checkCancelled();
        progress.report(static_cast<double>(i) / static_cast<double>(compressed.tensors.size()), t.name);
        // A stored shape that does not fit the layer is decoded, so that loadWeights names it.
        const auto layer = layers.find(t.name);
        const bool onBackend = t.loadType == format::LoadType::LinearMatrix && layer != layers.end() &&
                               t.shape == std::vector<std::int64_t>{layer->second->outFeatures(),
                                                                    layer->second->inFeatures()} &&
                               options.compressedRun != CompressedRun::Dense;
        if (!onBackend)
            dense.insert(t.name, format::decodeTensor(t));
        else if (options.linearBackend && options.compressedRun == CompressedRun::HyperLinear)
            backends[t.name] = options.linearBackend(t);
        else
            backends[t.name] = HyperLinearBackend::fromEncoded(t, hyperOptions);
    }
    attachLinearBackends(*model, backends);
    loadWeights(*model, dense, source);
    fillModelInfo(*model);
    if (!compressed.extensions.empty())
        model->info.notes.push_back("compressed file uses Birkhoff Studio extensions");
    return model;
}

std::shared_ptr<SamModel> loadSamModel(const std::filesystem::path& path, const LoadOptions& options,
                                       const Progress& progress)
{
    const auto start = std::chrono::steady_clock::now();
    const std::string source = path.string();
    std::optional<std::filesystem::path> configPath;
    const auto overrides = configOverrides(path, options, configPath);
    const std::string configSource = configPath ? source + " (config " + configPath->string() + ")" : source;

    std::shared_ptr<SamModel> model;
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec) && isSafetensorsFile(path)) {
        const io::SafetensorsContent content = io::readSafetensors(path);
        if (isCompressedLayout(content.tensors)) {
            const format::CompressedModel compressed = format::parseCompressedModel(content, source);
            model = buildCompressedSamModel(compressed, configSource, overrides ? &*overrides : nullptr, options,
                                            progress);
            TensorShapes shapes;
            for (const auto& t : compressed.tensors)
                shapes[t.name] = t.isEncoded() ? t.shape : t.raw.sizes().vec();
            model->info.family = detectFamily(shapesOnly(shapes)).displayName;
            model->info.format = options.compressedRun == CompressedRun::HyperLinear ? "compressed (HyperLinear)"
                                 : options.compressedRun == CompressedRun::Reference
                                     ? "compressed (HyperLinear reference path)"
                                     : "compressed (decoded to dense)";
        } else if (codec::isBaselineFile(content.metadata)) {
            // Baseline-quantized file (rtn / hqq): dequantized on load, then a dense model.
            const codec::BaselineModel baseline = codec::parseBaselineModel(content, source);
            const io::StateDict dense = codec::dequantizeModel(baseline, progress);
            const SamConfig config = inferSamConfig(shapesOf(dense), overrides ? &*overrides : nullptr, configSource);
            model = buildSamModel(config, dense, source);
            model->info.family = detectFamily(dense).displayName;
            model->info.format = "baseline " + baseline.settings.text() + " (dequantized on load)";
        }
    }
    if (!model) {
        const io::Checkpoint checkpoint = io::loadCheckpoint(path, progress);
        const SamConfig config =
            inferSamConfig(shapesOf(checkpoint.tensors), overrides ? &*overrides : nullptr, configSource);
        model = buildSamModel(config, checkpoint.tensors, source);
        model->info.family = detectFamily(checkpoint.tensors).displayName;
        model->info.format = io::checkpointFormatName(checkpoint.format);
        model->info.notes = checkpoint.notes;
    }
    model->info.path = path;
    model->info.configPath = configPath;
    model->info.loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return model;
}

}  // namespace birkhoff::models
