// SAM v1-family configuration from tensor shapes, official defaults and config.json overrides.
#include "core/models/sam_config.h"

#include "core/models/config_inference.h"
#include "core/models/shape_reader.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace birkhoff::models {

std::string shapeListText(const std::vector<std::int64_t>& shape)
{
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace {

std::string shapeText(const std::vector<std::int64_t>& shape)
{
    return shapeListText(shape);
}

template <typename T>
std::string listText(const std::vector<T>& values)
{
    std::ostringstream s;
    s << "[";
    for (std::size_t i = 0; i < values.size(); ++i)
        s << (i ? "," : "") << values[i];
    s << "]";
    return s.str();
}

bool isPerfectSquare(std::int64_t n, std::int64_t& root)
{
    root = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(n))));
    return root * root == n;
}

/// Official default global-attention blocks: every (depth/4)-th block ([2,5,8,11] for depth 12,
/// [5,11,17,23] for 24, [7,15,23,31] for 32).
std::vector<std::int64_t> defaultGlobalBlocks(std::int64_t depth)
{
    std::vector<std::int64_t> blocks;
    const std::int64_t step = std::max<std::int64_t>(1, depth / 4);
    for (std::int64_t i = step - 1; i < depth; i += step)
        blocks.push_back(i);
    return blocks;
}

/// Official head counts where rel-pos tables do not tell (SAM B/L/H, SlimSAM).
std::int64_t defaultVitHeads(std::int64_t embedDim)
{
    switch (embedDim) {
    case 768: return 12;
    case 1024: return 16;
    case 1280: return 16;
    case 384: return 12;
    case 168: return 12;
    default: return embedDim % 64 == 0 ? embedDim / 64 : 1;
    }
}

void inferVit(const ShapeReader& r, SamConfig& c)
{
    const std::string p = "image_encoder.";
    auto& v = c.vit;
    const auto& patch = r.shape(p + "patch_embed.proj.weight", 4);
    v.embedDim = patch[0];
    v.inChans = patch[1];
    v.patchSize = patch[2];
    if (patch[2] != patch[3])
        r.fail("image_encoder.patch_embed.proj.weight has a non-square kernel " + shapeText(patch));
    v.depth = r.countIndexed(p + "blocks.", ".norm1.weight");
    if (v.depth == 0)
        r.fail("no image_encoder.blocks.0.norm1.weight: not a SAM ViT image encoder");

    v.useAbsPos = r.has(p + "pos_embed");
    if (v.useAbsPos) {
        const auto& pos = r.shape(p + "pos_embed", 4);
        if (pos[1] != pos[2] || pos[3] != v.embedDim)
            r.fail("image_encoder.pos_embed has shape " + shapeText(pos) + ", expected [1,g,g," +
                   std::to_string(v.embedDim) + "]");
        v.posEmbedGrid = pos[1];
        c.imageSize = pos[1] * v.patchSize;
    } else {
        v.posEmbedGrid = 0;
        c.imageSize = 1024;
    }

    const std::string block0 = p + "blocks.0.";
    v.mlpDim = r.has(block0 + "mlp.lin1.bias") ? r.dim(block0 + "mlp.lin1.bias", 1, 0)
                                               : r.dim(block0 + "mlp.lin1.weight", 2, 0);
    v.qkvBias = r.has(block0 + "attn.qkv.bias");
    v.outChans = r.dim(p + "neck.0.weight", 4, 0);

    // Per-block widths (pruned encoders such as SlimSAM may differ block by block).
    std::vector<std::int64_t> attentionDims, mlpDims;
    for (std::int64_t i = 0; i < v.depth; ++i) {
        const std::string block = p + "blocks." + std::to_string(i) + ".";
        const std::int64_t qkvRows = r.dim(block + "attn.qkv.weight", 2, 0);
        if (qkvRows % 3 != 0)
            r.fail(block + "attn.qkv.weight has " + std::to_string(qkvRows) + " rows, not a multiple of 3");
        attentionDims.push_back(qkvRows / 3);
        mlpDims.push_back(r.dim(block + "mlp.lin1.weight", 2, 0));
    }
    const bool uniform = std::all_of(attentionDims.begin(), attentionDims.end(),
                                     [&](std::int64_t d) { return d == v.embedDim; }) &&
                         std::all_of(mlpDims.begin(), mlpDims.end(), [&](std::int64_t d) { return d == v.mlpDim; });
    if (!uniform) {
        v.blockAttentionDims = attentionDims;
        v.blockMlpDims = mlpDims;
    }

    v.useRelPos = r.has(block0 + "attn.rel_pos_h");
    if (v.useRelPos) {
        std::vector<std::int64_t> lengths, heads;
        for (std::int64_t i = 0; i < v.depth; ++i) {
            const auto& table = r.shape(p + "blocks." + std::to_string(i) + ".attn.rel_pos_h", 2);
            const std::int64_t headDim = table[1];
            const std::int64_t width = attentionDims[static_cast<std::size_t>(i)];
            if (headDim <= 0 || width % headDim != 0)
                r.fail("rel_pos_h of block " + std::to_string(i) + " has head dimension " + std::to_string(headDim) +
                       ", which does not divide the block's attention width " + std::to_string(width));
            lengths.push_back(table[0]);
            heads.push_back(width / headDim);
        }
        v.numHeads = heads.front();
        if (!std::all_of(heads.begin(), heads.end(), [&](std::int64_t h) { return h == heads.front(); }) || !uniform)
            v.blockNumHeads = heads;
        v.relPosLengths = lengths;
        const std::int64_t shortest = *std::min_element(lengths.begin(), lengths.end());
        const std::int64_t longest = *std::max_element(lengths.begin(), lengths.end());
        v.globalAttnIndexes.clear();
        if (shortest == longest) {
            // One table length everywhere: all windowed (window = table) or all global.
            const std::int64_t grid = c.imageSize / v.patchSize;
            if (shortest == 2 * grid - 1) {
                v.windowSize = 0;
                for (std::int64_t i = 0; i < v.depth; ++i)
                    v.globalAttnIndexes.push_back(i);
            } else {
                v.windowSize = (shortest + 1) / 2;
            }
        } else {
            v.windowSize = (shortest + 1) / 2;
            for (std::int64_t i = 0; i < v.depth; ++i)
                if (lengths[static_cast<std::size_t>(i)] > shortest)
                    v.globalAttnIndexes.push_back(i);
        }
    } else {
        v.numHeads = defaultVitHeads(v.embedDim);
        if (!uniform)
            r.fail("per-block attention widths differ but there are no rel-pos tables to read the head count from");
        v.windowSize = 14;
        v.globalAttnIndexes = defaultGlobalBlocks(v.depth);
    }
    c.embeddingSize = c.imageSize / v.patchSize;
}

void inferTinyVit(const ShapeReader& r, SamConfig& c)
{
    const std::string p = "image_encoder.";
    auto& t = c.tinyVit;
    const auto& stem0 = r.shape(p + "patch_embed.seq.0.c.weight", 4);
    const auto& stem2 = r.shape(p + "patch_embed.seq.2.c.weight", 4);
    t.inChans = stem0[1];
    if (!r.has(p + "layers.0.blocks.0.conv1.c.weight"))
        r.fail("image_encoder.layers.0 is not an MBConv stage (no layers.0.blocks.0.conv1.c.weight)");
    std::int64_t numStages = 1;
    while (r.has(p + "layers." + std::to_string(numStages) + ".blocks.0.attn.norm.weight"))
        ++numStages;
    if (numStages < 2)
        r.fail("image_encoder.layers.1 has no attention blocks: not a TinyViT encoder");

    t.embedDims.assign(static_cast<std::size_t>(numStages), 0);
    t.depths.assign(static_cast<std::size_t>(numStages), 0);
    t.numHeads.assign(static_cast<std::size_t>(numStages), 0);
    t.windowSizes.assign(static_cast<std::size_t>(numStages), 0);
    t.mlpDims.assign(static_cast<std::size_t>(numStages), 0);
    t.mergeStrides.assign(static_cast<std::size_t>(numStages - 1), 2);

    t.embedDims[0] = stem2[0];
    if (stem2[1] != stem0[0])
        r.fail("patch_embed.seq.0 has " + std::to_string(stem0[0]) + " output channels but seq.2 expects " +
               std::to_string(stem2[1]));
    t.depths[0] = r.countIndexed(p + "layers.0.blocks.", ".conv1.c.weight");
    t.mbconvHidden = r.dim(p + "layers.0.blocks.0.conv1.c.weight", 4, 0);
    t.localConvSize = 3;
    for (std::int64_t s = 1; s < numStages; ++s) {
        const std::string stage = p + "layers." + std::to_string(s) + ".blocks.";
        const auto i = static_cast<std::size_t>(s);
        t.embedDims[i] = r.dim(stage + "0.attn.norm.weight", 1, 0);
        t.depths[i] = r.countIndexed(stage, ".attn.norm.weight");
        const auto& biases = r.shape(stage + "0.attn.attention_biases", 2);
        t.numHeads[i] = biases[0];
        std::int64_t window = 0;
        if (!isPerfectSquare(biases[1], window))
            r.fail(stage + "0.attn.attention_biases has " + std::to_string(biases[1]) +
                   " offsets, not the square of a window size");
        t.windowSizes[i] = window;
        t.mlpDims[i] = r.has(stage + "0.mlp.fc1.bias") ? r.dim(stage + "0.mlp.fc1.bias", 1, 0)
                                                         : r.dim(stage + "0.mlp.fc1.weight", 2, 0);
        t.localConvSize = r.dim(stage + "0.local_conv.c.weight", 4, 2);
        if (t.embedDims[i] % t.numHeads[i] != 0)
            r.fail(stage + "0.attn: " + std::to_string(t.numHeads[i]) + " heads do not divide width " +
                   std::to_string(t.embedDims[i]));
    }
    for (std::int64_t s = 0; s + 1 < numStages; ++s) {
        const std::string merge = p + "layers." + std::to_string(s) + ".downsample.conv1.c.weight";
        const auto& w = r.shape(merge, 4);
        const auto i = static_cast<std::size_t>(s);
        if (w[0] != t.embedDims[i + 1] || w[1] != t.embedDims[i])
            r.fail(merge + " has shape " + shapeText(w) + ", expected [" + std::to_string(t.embedDims[i + 1]) + "," +
                   std::to_string(t.embedDims[i]) + ",1,1]");
        const std::int64_t out = t.embedDims[i + 1];
        t.mergeStrides[i] = (out == 320 || out == 448 || out == 576) ? 1 : 2;
    }
    t.outChans = r.dim(p + "neck.0.weight", 4, 0);
    t.numClasses = r.has(p + "head.weight") ? r.dim(p + "head.weight", 2, 0) : 0;
    c.imageSize = 1024;
    std::int64_t reduction = 4;
    for (const auto s : t.mergeStrides)
        reduction *= s;
    c.embeddingSize = c.imageSize / reduction;
}

/// Reads config.json values with type checks and records which keys were applied.
class Overrides {
public:
    Overrides(const nlohmann::json& root, const std::string& source, std::vector<std::string>& applied)
        : source_(source), applied_(applied)
    {
        if (!root.is_object())
            throw Error(source_ + ": config must be a JSON object");
        if (root.contains("builder_args")) {
            if (!root["builder_args"].is_object())
                throw Error(source_ + ": builder_args must be an object");
            flat_ = &root["builder_args"];
        } else {
            flat_ = &root;
        }
        if (root.contains("constructor_kwargs")) {
            if (!root["constructor_kwargs"].is_object())
                throw Error(source_ + ": constructor_kwargs must be an object");
            kwargs_ = &root["constructor_kwargs"];
        }
    }

    /// The value of `key` in the flat arguments, or of `ctorKey` in constructor_kwargs[ctor].
    const nlohmann::json* find(const char* key, const char* ctor = nullptr, const char* ctorKey = nullptr,
                               std::string* where = nullptr) const
    {
        if (flat_->contains(key) && !(*flat_)[key].is_null()) {
            if (where)
                *where = key;
            return &(*flat_)[key];
        }
        if (kwargs_ && ctor && kwargs_->contains(ctor) && (*kwargs_)[ctor].is_object() &&
            (*kwargs_)[ctor].contains(ctorKey) && !(*kwargs_)[ctor][ctorKey].is_null()) {
            if (where)
                *where = std::string("constructor_kwargs.") + ctor + "." + ctorKey;
            return &(*kwargs_)[ctor][ctorKey];
        }
        return nullptr;
    }

    bool integer(std::int64_t& out, const char* key, const char* ctor = nullptr, const char* ctorKey = nullptr)
    {
        return apply(key, ctor, ctorKey, "an integer", [&](const nlohmann::json& v) {
            if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[0] == v[1]) {
                out = v[0].get<std::int64_t>();  // square (h, w) pairs such as image_embedding_size
                return true;
            }
            if (!v.is_number_integer())
                return false;
            out = v.get<std::int64_t>();
            return true;
        });
    }

    bool number(double& out, const char* key, const char* ctor = nullptr, const char* ctorKey = nullptr)
    {
        return apply(key, ctor, ctorKey, "a number", [&](const nlohmann::json& v) {
            if (!v.is_number())
                return false;
            out = v.get<double>();
            return true;
        });
    }

    bool boolean(bool& out, const char* key, const char* ctor = nullptr, const char* ctorKey = nullptr)
    {
        return apply(key, ctor, ctorKey, "true or false", [&](const nlohmann::json& v) {
            if (!v.is_boolean())
                return false;
            out = v.get<bool>();
            return true;
        });
    }

    bool integers(std::vector<std::int64_t>& out, const char* key, const char* ctor = nullptr,
                  const char* ctorKey = nullptr)
    {
        return apply(key, ctor, ctorKey, "a list of integers", [&](const nlohmann::json& v) {
            if (!v.is_array() || !std::all_of(v.begin(), v.end(), [](const auto& i) { return i.is_number_integer(); }))
                return false;
            out.clear();
            for (const auto& item : v)
                out.push_back(item.get<std::int64_t>());
            return true;
        });
    }

    bool triple(std::array<double, 3>& out, const char* key, const char* ctor = nullptr, const char* ctorKey = nullptr)
    {
        return apply(key, ctor, ctorKey, "a list of 3 numbers", [&](const nlohmann::json& v) {
            if (!v.is_array() || v.size() != 3 || !v[0].is_number() || !v[1].is_number() || !v[2].is_number())
                return false;
            for (std::size_t i = 0; i < 3; ++i)
                out[i] = v[i].get<double>();
            return true;
        });
    }

    std::string text(const char* key) const
    {
        const auto* v = find(key);
        if (!v)
            return {};
        if (!v->is_string())
            throw Error(source_ + ": " + key + " must be a string, got " + v->dump());
        return v->get<std::string>();
    }

    /// Throws unless `configured` equals the shape-derived `actual`.
    void expectSame(const char* key, std::int64_t configured, std::int64_t actual, const std::string& tensor) const
    {
        if (configured != actual)
            throw Error(source_ + ": config " + key + " = " + std::to_string(configured) +
                        " does not fit the checkpoint (" + tensor + " gives " + std::to_string(actual) + ")");
    }

private:
    /// Looks `key` up (see find) and, when present, stores it through `convert`, which returns
    /// false for a value of the wrong type; records where it came from in applied_.
    /// @return whether the key was present. @throws Error "<where> must be <expected>".
    template <typename Convert>
    bool apply(const char* key, const char* ctor, const char* ctorKey, const char* expected, Convert convert)
    {
        std::string where;
        const auto* v = find(key, ctor, ctorKey, &where);
        if (!v)
            return false;
        if (!convert(*v))
            throw Error(source_ + ": " + where + " must be " + expected + ", got " + v->dump());
        applied_.push_back(where);
        return true;
    }

    std::string source_;
    std::vector<std::string>& applied_;
    const nlohmann::json* flat_ = nullptr;
    const nlohmann::json* kwargs_ = nullptr;
};

void applyOverrides(const nlohmann::json& json, const std::string& source, SamConfig& c)
{
    Overrides o(json, source, c.overrides);
    std::int64_t n = 0;
    double d = 0;
    bool b = false;
    std::vector<std::int64_t> list;

    const std::string format = o.text("image_format");
    if (!format.empty() && format != "RGB")
        throw Error(source + ": image_format \"" + format + "\" is not supported (only \"RGB\")");

    if (c.encoder == EncoderKind::Vit) {
        auto& v = c.vit;
        if (o.integer(n, "vit_patch_size", "ImageEncoderViT", "patch_size"))
            o.expectSame("vit_patch_size", n, v.patchSize, "image_encoder.patch_embed.proj.weight");
        if (o.integer(n, "encoder_embed_dim", "ImageEncoderViT", "embed_dim"))
            o.expectSame("encoder_embed_dim", n, v.embedDim, "image_encoder.patch_embed.proj.weight");
        if (o.integer(n, "encoder_depth", "ImageEncoderViT", "depth"))
            o.expectSame("encoder_depth", n, v.depth, "the number of image_encoder.blocks");
        if (o.integer(n, "encoder_num_heads", "ImageEncoderViT", "num_heads")) {
            if (v.useRelPos)
                o.expectSame("encoder_num_heads", n, v.numHeads, "embed dim / rel_pos head dimension");
            if (n <= 0 || v.embedDim % n != 0)
                throw Error(source + ": encoder_num_heads " + std::to_string(n) + " does not divide embed dim " +
                            std::to_string(v.embedDim));
            v.numHeads = n;
        }
        if (o.number(d, "encoder_mlp_ratio", "ImageEncoderViT", "mlp_ratio"))
            o.expectSame("encoder_mlp_ratio x embed_dim", static_cast<std::int64_t>(v.embedDim * d), v.mlpDim,
                         "image_encoder.blocks.0.mlp.lin1");
        if (o.boolean(b, "encoder_qkv_bias", "ImageEncoderViT", "qkv_bias"))
            o.expectSame("encoder_qkv_bias", b, v.qkvBias, "presence of blocks.0.attn.qkv.bias");
        if (o.boolean(b, "encoder_use_rel_pos", "ImageEncoderViT", "use_rel_pos"))
            o.expectSame("encoder_use_rel_pos", b, v.useRelPos, "presence of blocks.0.attn.rel_pos_h");
        if (o.boolean(b, "encoder_use_abs_pos", "ImageEncoderViT", "use_abs_pos"))
            o.expectSame("encoder_use_abs_pos", b, v.useAbsPos, "presence of image_encoder.pos_embed");
        if (o.integer(n, "encoder_out_chans", "ImageEncoderViT", "out_chans"))
            o.expectSame("encoder_out_chans", n, v.outChans, "image_encoder.neck.0.weight");
        if (o.integer(n, "encoder_window_size", "ImageEncoderViT", "window_size"))
            v.windowSize = n;
        if (o.integers(list, "encoder_global_attn_indexes", "ImageEncoderViT", "global_attn_indexes")) {
            for (const auto i : list)
                if (i < 0 || i >= v.depth)
                    throw Error(source + ": encoder_global_attn_indexes lists block " + std::to_string(i) +
                                " but the encoder has " + std::to_string(v.depth) + " blocks");
            v.globalAttnIndexes = list;
        }
        if (o.integer(n, "image_size", "ImageEncoderViT", "img_size"))
            c.imageSize = n;
        if (c.imageSize % v.patchSize != 0)
            throw Error(source + ": image_size " + std::to_string(c.imageSize) + " is not a multiple of the patch size " +
                        std::to_string(v.patchSize));
        c.embeddingSize = c.imageSize / v.patchSize;
        if (v.useAbsPos && c.embeddingSize != v.posEmbedGrid)
            throw Error(source + ": image_size " + std::to_string(c.imageSize) + " gives a " +
                        std::to_string(c.embeddingSize) + "x" + std::to_string(c.embeddingSize) +
                        " token grid but image_encoder.pos_embed is " + std::to_string(v.posEmbedGrid) + "x" +
                        std::to_string(v.posEmbedGrid));
    } else if (c.encoder == EncoderKind::TinyVit) {
        auto& t = c.tinyVit;
        if (o.integers(list, "embed_dims", "TinyViT", "embed_dims") && list != t.embedDims)
            throw Error(source + ": TinyViT embed_dims " + listText(list) + " do not fit the checkpoint (" +
                        listText(t.embedDims) + ")");
        if (o.integers(list, "depths", "TinyViT", "depths") && list != t.depths)
            throw Error(source + ": TinyViT depths " + listText(list) + " do not fit the checkpoint (" +
                        listText(t.depths) + ")");
        if (o.integers(list, "num_heads", "TinyViT", "num_heads") && list.size() == t.numHeads.size()) {
            for (std::size_t i = 1; i < list.size(); ++i)
                o.expectSame("TinyViT num_heads", list[i], t.numHeads[i], "attention_biases of layers." + std::to_string(i));
        }
        if (o.integers(list, "window_sizes", "TinyViT", "window_sizes") && list.size() == t.windowSizes.size()) {
            for (std::size_t i = 1; i < list.size(); ++i)
                o.expectSame("TinyViT window_sizes", list[i], t.windowSizes[i],
                             "attention_biases of layers." + std::to_string(i));
        }
        if (o.integers(list, "tinyvit_merge_strides")) {
            if (list.size() != t.mergeStrides.size())
                throw Error(source + ": tinyvit_merge_strides needs " + std::to_string(t.mergeStrides.size()) +
                            " values");
            t.mergeStrides = list;
        }
        if (o.integer(n, "image_size", "TinyViT", "img_size"))
            c.imageSize = n;
        std::int64_t reduction = 4;
        for (const auto s : t.mergeStrides)
            reduction *= s;
        if (c.imageSize % reduction != 0)
            throw Error(source + ": image_size " + std::to_string(c.imageSize) + " is not a multiple of " +
                        std::to_string(reduction));
        c.embeddingSize = c.imageSize / reduction;
    }

    auto& h = c.head;
    if (o.integer(n, "image_embedding_size", "PromptEncoder", "image_embedding_size"))
        o.expectSame("image_embedding_size", n, c.embeddingSize, "image_size / encoder stride");
    if (o.integer(n, "prompt_embed_dim", "PromptEncoder", "embed_dim"))
        o.expectSame("prompt_embed_dim", n, h.promptEmbedDim, "prompt_encoder.point_embeddings.0.weight");
    if (o.integer(n, "mask_in_chans", "PromptEncoder", "mask_in_chans"))
        o.expectSame("mask_in_chans", n, h.maskInChans, "prompt_encoder.mask_downscaling.3.weight");
    if (o.integer(n, "num_multimask_outputs", "MaskDecoder", "num_multimask_outputs"))
        o.expectSame("num_multimask_outputs", n, h.numMultimaskOutputs, "mask_decoder.mask_tokens.weight");
    if (o.integer(n, "transformer_depth", "TwoWayTransformer", "depth"))
        o.expectSame("transformer_depth", n, h.transformerDepth, "the number of mask_decoder.transformer.layers");
    if (o.integer(n, "transformer_mlp_dim", "TwoWayTransformer", "mlp_dim"))
        o.expectSame("transformer_mlp_dim", n, h.transformerMlpDim, "mask_decoder.transformer.layers.0.mlp.lin1");
    if (o.integer(n, "transformer_attention_downsample_rate", "TwoWayTransformer", "attention_downsample_rate"))
        o.expectSame("transformer_attention_downsample_rate", n, h.attentionDownsampleRate,
                     "mask_decoder.transformer.final_attn_token_to_image.q_proj");
    if (o.integer(n, "iou_head_depth", "MaskDecoder", "iou_head_depth"))
        o.expectSame("iou_head_depth", n, h.iouHeadDepth, "the number of mask_decoder.iou_prediction_head.layers");
    if (o.integer(n, "iou_head_hidden_dim", "MaskDecoder", "iou_head_hidden_dim"))
        o.expectSame("iou_head_hidden_dim", n, h.iouHeadHiddenDim, "mask_decoder.iou_prediction_head.layers.0");
    if (o.integer(n, "transformer_num_heads", "TwoWayTransformer", "num_heads"))
        h.transformerNumHeads = n;
    o.triple(c.preprocess.pixelMean, "pixel_mean", "Sam", "pixel_mean");
    o.triple(c.preprocess.pixelStd, "pixel_std", "Sam", "pixel_std");
    o.number(c.preprocess.maskThreshold, "mask_threshold");
}

void validate(const SamConfig& c, const std::string& source)
{
    const auto& h = c.head;
    const std::int64_t internal = h.promptEmbedDim / h.attentionDownsampleRate;
    if (h.transformerNumHeads <= 0 || h.promptEmbedDim % h.transformerNumHeads != 0 ||
        internal % h.transformerNumHeads != 0)
        throw Error(source + ": transformer_num_heads " + std::to_string(h.transformerNumHeads) +
                    " must divide the decoder widths " + std::to_string(h.promptEmbedDim) + " and " +
                    std::to_string(internal));
    const std::int64_t encoderOut = c.encoderOutChannels();
    if (encoderOut != h.promptEmbedDim)
        throw Error(source + ": the image encoder outputs " + std::to_string(encoderOut) +
                    " channels but the prompt encoder expects " + std::to_string(h.promptEmbedDim));
    if (h.maskInChans % 4 != 0)
        throw Error(source + ": mask_in_chans " + std::to_string(h.maskInChans) + " is not a multiple of 4");
    if (h.promptEmbedDim % 8 != 0)
        throw Error(source + ": prompt embed dim " + std::to_string(h.promptEmbedDim) + " is not a multiple of 8");
    if (c.imageSize <= 0 || c.embeddingSize <= 0)
        throw Error(source + ": invalid image size " + std::to_string(c.imageSize));
    if (c.encoder == EncoderKind::Vit) {
        if (c.vit.windowSize < 0)
            throw Error(source + ": negative encoder_window_size");
    }
}

}  // namespace

const char* encoderKindName(EncoderKind kind)
{
    switch (kind) {
    case EncoderKind::Vit: return "vit";
    case EncoderKind::TinyVit: return "tinyvit";
    case EncoderKind::Hiera: return "hiera";
    case EncoderKind::EfficientSamVit: return "efficientsam-vit";
    case EncoderKind::RepVit: return "repvit";
    case EncoderKind::EfficientVit: return "efficientvit";
    }
    return "?";
}

const char* decoderKindName(DecoderKind kind)
{
    switch (kind) {
    case DecoderKind::Sam: return "sam";
    case DecoderKind::SamHq: return "sam_hq";
    case DecoderKind::Sam2: return "sam2";
    case DecoderKind::EfficientSam: return "efficient_sam";
    }
    return "?";
}

const char* imagePipelineName(ImagePipeline pipeline)
{
    switch (pipeline) {
    case ImagePipeline::Sam: return "sam";
    case ImagePipeline::Sam2: return "sam2";
    case ImagePipeline::EfficientSam: return "efficient_sam";
    case ImagePipeline::MedSam: return "medsam";
    }
    return "?";
}

std::int64_t SamConfig::encoderOutChannels() const
{
    switch (encoder) {
    case EncoderKind::Vit: return vit.outChans;
    case EncoderKind::TinyVit: return tinyVit.outChans;
    case EncoderKind::Hiera: return hiera.dModel;
    case EncoderKind::EfficientSamVit: return efficientSamVit.neckDim;
    case EncoderKind::RepVit: return repVit.outChans;
    case EncoderKind::EfficientVit: return efficientVit.outChans;
    }
    return 0;
}

SamConfig inferSamConfig(const TensorShapes& shapes, const nlohmann::json* overrides, const std::string& source)
{
    const ShapeReader r(shapes, source);
    SamConfig c;
    if (r.has("image_encoder.trunk.patch_embed.proj.weight")) {
        c.encoder = EncoderKind::Hiera;
        inferHieraEncoder(r, c);
    } else if (r.has("image_encoder.features.0.0.c.weight")) {
        c.encoder = EncoderKind::RepVit;
        inferRepVitEncoder(r, c);
    } else if (r.has("image_encoder.backbone.stages.0.op_list.0.conv.weight")) {
        c.encoder = EncoderKind::EfficientVit;
        inferEfficientVitEncoder(r, c);
    } else if (r.has("image_encoder.blocks.0.mlp.fc1.weight")) {
        c.encoder = EncoderKind::EfficientSamVit;
        inferEfficientSamEncoder(r, c);
    } else if (r.has("image_encoder.blocks.0.norm1.weight")) {
        c.encoder = EncoderKind::Vit;
        inferVit(r, c);
    } else if (r.has("image_encoder.layers.0.blocks.0.conv1.c.weight")) {
        c.encoder = EncoderKind::TinyVit;
        inferTinyVit(r, c);
    } else {
        throw Error(source + ": not a SAM-family checkpoint (no image encoder this build knows: image_encoder.blocks.* "
                             "(ViT), image_encoder.layers.* (TinyViT), image_encoder.trunk.* (Hiera), "
                             "image_encoder.features.* (RepViT) or image_encoder.backbone.* (EfficientViT))");
    }

    if (r.has("sam_mask_decoder.mask_tokens.weight")) {
        c.decoder = DecoderKind::Sam2;
        inferSamHead(r, c, "sam_prompt_encoder.", "sam_mask_decoder.");
        c.preprocess.pipeline = ImagePipeline::Sam2;
    } else if (r.has("prompt_encoder.invalid_points.weight")) {
        c.decoder = DecoderKind::EfficientSam;
        inferEfficientSamHead(r, c);
        c.preprocess.pipeline = ImagePipeline::EfficientSam;
    } else {
        c.decoder = r.has("mask_decoder.hf_token.weight") ? DecoderKind::SamHq : DecoderKind::Sam;
        inferSamHead(r, c, "prompt_encoder.", "mask_decoder.");
    }
    if (c.decoder == DecoderKind::SamHq) {
        if (c.encoder != EncoderKind::Vit && c.encoder != EncoderKind::TinyVit)
            r.fail("SAM-HQ's decoder needs a ViT or TinyViT encoder");
        c.vit.outputEarlyFeatures = c.encoder == EncoderKind::Vit;
        c.tinyVit.outputEarlyFeatures = c.encoder == EncoderKind::TinyVit;
    }

    if (overrides) {
        applyOverrides(*overrides, source, c);
        applyFamilyOverrides(*overrides, source, c);
    }
    switch (c.encoder) {
    case EncoderKind::Hiera: c.embeddingSize = hieraEmbeddingGrid(c.hiera, c.imageSize); break;
    case EncoderKind::EfficientSamVit: c.embeddingSize = c.imageSize / c.efficientSamVit.patchSize; break;
    case EncoderKind::RepVit:
    case EncoderKind::EfficientVit: c.embeddingSize = c.imageSize / 16; break;
    case EncoderKind::Vit:
    case EncoderKind::TinyVit: break;
    }
    validate(c, source);

    if (c.encoder == EncoderKind::Vit) {
        switch (c.vit.embedDim) {
        case 768: c.variant = c.vit.depth == 12 ? "sam_vit_b" : "vit"; break;
        case 1024: c.variant = c.vit.depth == 24 ? "sam_vit_l" : "vit"; break;
        case 1280: c.variant = c.vit.depth == 32 ? "sam_vit_h" : "vit"; break;
        case 384: c.variant = c.vit.depth == 12 && c.vit.mlpDim == 1536 ? "slimsam_50" : "vit"; break;
        case 168: c.variant = c.vit.depth == 12 && c.vit.mlpDim == 696 ? "slimsam_77" : "vit"; break;
        default: c.variant = "vit"; break;
        }
        if (c.preprocess.pipeline == ImagePipeline::MedSam)
            c.variant = c.variant == "sam_vit_b" ? "medsam_vit_b" : "medsam " + c.variant;
    } else if (c.encoder == EncoderKind::TinyVit) {
        c.variant = c.tinyVit.embedDims == std::vector<std::int64_t>{64, 128, 160, 320} ? "mobile_sam" : "tinyvit";
    }
    if (c.decoder == DecoderKind::SamHq)
        c.variant = "sam_hq " + c.variant;
    return c;
}

std::string SamConfig::describe() const
{
    std::ostringstream s;
    s << "variant " << variant << ", image " << imageSize << "x" << imageSize << ", embedding " << embeddingSize << "x"
      << embeddingSize << "\n";
    if (encoder == EncoderKind::Vit) {
        s << "encoder: ViT embed " << vit.embedDim << ", depth " << vit.depth << ", heads " << vit.numHeads << ", mlp "
          << vit.mlpDim << ", patch " << vit.patchSize << ", window " << vit.windowSize << ", global blocks "
          << listText(vit.globalAttnIndexes) << ", rel-pos " << (vit.useRelPos ? "yes" : "no") << ", neck "
          << vit.outChans << "\n";
    } else if (encoder == EncoderKind::TinyVit) {
        s << "encoder: TinyViT dims " << listText(tinyVit.embedDims) << ", depths " << listText(tinyVit.depths)
          << ", heads " << listText(tinyVit.numHeads) << ", windows " << listText(tinyVit.windowSizes)
          << ", merge strides " << listText(tinyVit.mergeStrides) << ", neck " << tinyVit.outChans << "\n";
    } else if (encoder == EncoderKind::Hiera) {
        s << "encoder: Hiera embed " << hiera.embedDim << ", heads " << hiera.numHeads << ", stages "
          << listText(hiera.stages) << ", windows " << listText(hiera.windowSpec) << ", global blocks "
          << listText(hiera.globalAttBlocks) << ", q_pool " << hiera.qPool << "; FPN " << hiera.dModel << " from "
          << listText(hiera.backboneChannels) << ", top-down " << listText(hiera.fpnTopDownLevels) << ", scalp "
          << hiera.scalp << "\n";
    } else if (encoder == EncoderKind::EfficientSamVit) {
        s << "encoder: EfficientSAM ViT embed " << efficientSamVit.embedDim << ", depth " << efficientSamVit.depth
          << ", heads " << efficientSamVit.numHeads << ", mlp " << efficientSamVit.mlpDim << ", pos_embed grid "
          << efficientSamVit.posEmbedGrid << ", neck " << efficientSamVit.neckDim << "\n";
    } else if (encoder == EncoderKind::RepVit) {
        s << "encoder: RepViT " << repVit.blocks.size() << " blocks, fused blocks " << repVit.fuseStage2Block << "/"
          << repVit.fuseStage3Block << ", neck " << repVit.outChans << "\n";
    } else {
        s << "encoder: EfficientViT " << efficientVit.stages.size() << " stages, neck inputs "
          << listText(efficientVit.neckInputStages) << ", head " << efficientVit.headWidth << " x "
          << efficientVit.neckDepth << ", input " << encoderSize() << " px\n";
    }
    s << "decoder: " << decoderKindName(decoder) << ", dim " << head.promptEmbedDim << ", depth " << head.transformerDepth
      << ", heads " << head.transformerNumHeads << ", mlp " << head.transformerMlpDim << ", masks "
      << head.numMultimaskOutputs << "+1\n";
    s << "pipeline: " << imagePipelineName(preprocess.pipeline) << "\n";
    if (!inactiveTensors.empty())
        s << "kept unused: " << inactiveTensors.size() << " tensors\n";
    for (const auto& note : notes)
        s << "note: " << note << "\n";
    if (!overrides.empty())
        s << "config overrides: " << listText(overrides) << "\n";
    return s.str();
}

nlohmann::json readConfigFile(const std::filesystem::path& path)
{
    std::ifstream in(path);
    if (!in)
        throw Error("cannot read config file " + path.string());
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error("config file " + path.string() + " is not valid JSON: " + e.what());
    }
}

std::optional<std::filesystem::path> configBesideCheckpoint(const std::filesystem::path& checkpoint)
{
    std::error_code ec;
    const auto candidate = checkpoint.parent_path() / "config.json";
    if (std::filesystem::is_regular_file(candidate, ec))
        return candidate;
    return std::nullopt;
}

}  // namespace birkhoff::models
