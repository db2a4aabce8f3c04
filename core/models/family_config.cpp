// Configuration of SAM 2, EfficientSAM, EdgeSAM, EfficientViT-SAM and of the SAM-HQ / SAM 2 /
// EfficientSAM heads from checkpoint shapes, official defaults and config.json.
#include "core/models/config_inference.h"

#include "core/models/rep_vit.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace birkhoff::models {
namespace {

std::string text(const std::vector<std::int64_t>& values)
{
    return shapeListText(values);
}

/// Official Hiera sizes (sam2/configs): widths, block counts, heads, windows, global blocks.
struct HieraPreset {
    const char* name;
    std::int64_t embedDim;
    std::vector<std::int64_t> stages;
    std::int64_t heads;
    std::vector<std::int64_t> windowSpec;
    std::vector<std::int64_t> globalAttBlocks;
};

const std::vector<HieraPreset>& hieraPresets()
{
    static const std::vector<HieraPreset> presets = {
        {"Hiera-T", 96, {1, 2, 7, 2}, 1, {8, 4, 14, 7}, {5, 7, 9}},
        {"Hiera-S", 96, {1, 2, 11, 2}, 1, {8, 4, 14, 7}, {7, 10, 13}},
        {"Hiera-B+", 112, {2, 3, 16, 3}, 2, {8, 4, 14, 7}, {12, 16, 20}},
        {"Hiera-L", 144, {2, 6, 36, 4}, 2, {8, 4, 16, 8}, {23, 33, 43}},
    };
    return presets;
}

/// Top-level modules of SAM2Base that only the video path uses.
bool isSam2VideoTensor(const std::string& name)
{
    static const char* const kPrefixes[] = {"memory_attention.", "memory_encoder.", "obj_ptr_proj.",
                                            "obj_ptr_tpos_proj.", "mask_downsample."};
    static const std::set<std::string> kNames = {"maskmem_tpos_enc", "no_mem_pos_enc", "no_obj_ptr",
                                                 "no_obj_embed_spatial"};
    if (kNames.count(name))
        return true;
    for (const char* prefix : kPrefixes)
        if (name.rfind(prefix, 0) == 0)
            return true;
    return false;
}

const char* const kCustomHieraNote =
    "custom Hiera size: num_heads, window_spec and global_att_blocks are not in the shapes; the official defaults "
    "were taken (give config.json to set them)";
const char* const kEfficientSamHeadsNote =
    "EfficientSAM encoder heads are not in the shapes: width / 64 taken (official Ti/S); set encoder_num_heads in "
    "config.json otherwise";

const char* const kEfficientSamDecoderHeadsNote =
    "EfficientSAM decoder heads are not in the shapes: the official 8 taken (its decoder is 256 wide, this one is "
    "not); set transformer_num_heads (or decoder_num_heads) in config.json otherwise";

void dropNote(SamConfig& c, const char* note)
{
    c.notes.erase(std::remove(c.notes.begin(), c.notes.end(), std::string(note)), c.notes.end());
}

std::int64_t linearOut(const ShapeReader& r, const std::string& module)
{
    return r.has(module + ".bias") ? r.dim(module + ".bias", 1, 0) : r.dim(module + ".weight", 2, 0);
}

// ---------------------------------------------------------------------------------------------
// config.json helpers

/// Reads typed values from one JSON object and records "<where>.<key>" in c.overrides.
class JsonObject {
public:
    JsonObject(const nlohmann::json* object, std::string where, const std::string& source, std::vector<std::string>& applied)
        : object_(object), where_(std::move(where)), source_(source), applied_(applied)
    {
    }

    bool valid() const { return object_ != nullptr && object_->is_object(); }

    const nlohmann::json* value(const char* key) const
    {
        if (!valid() || !object_->contains(key) || (*object_)[key].is_null())
            return nullptr;
        return &(*object_)[key];
    }

    JsonObject child(const char* key) const
    {
        const auto* v = value(key);
        return JsonObject(v && v->is_object() ? v : nullptr, where_ + "." + key, source_, applied_);
    }

    bool integer(const char* key, std::int64_t& out) const
    {
        const auto* v = value(key);
        if (!v)
            return false;
        if (!v->is_number_integer())
            fail(key, "an integer", *v);
        out = v->get<std::int64_t>();
        applied_.push_back(where_ + "." + key);
        return true;
    }

    bool number(const char* key, double& out) const
    {
        const auto* v = value(key);
        if (!v)
            return false;
        if (!v->is_number())
            fail(key, "a number", *v);
        out = v->get<double>();
        applied_.push_back(where_ + "." + key);
        return true;
    }

    bool boolean(const char* key, bool& out) const
    {
        const auto* v = value(key);
        if (!v)
            return false;
        if (!v->is_boolean())
            fail(key, "true or false", *v);
        out = v->get<bool>();
        applied_.push_back(where_ + "." + key);
        return true;
    }

    bool integers(const char* key, std::vector<std::int64_t>& out) const
    {
        const auto* v = value(key);
        if (!v)
            return false;
        if (!v->is_array())
            fail(key, "a list of integers", *v);
        out.clear();
        for (const auto& item : *v) {
            if (!item.is_number_integer())
                fail(key, "a list of integers", *v);
            out.push_back(item.get<std::int64_t>());
        }
        applied_.push_back(where_ + "." + key);
        return true;
    }

    bool string(const char* key, std::string& out) const
    {
        const auto* v = value(key);
        if (!v)
            return false;
        if (!v->is_string())
            fail(key, "a string", *v);
        out = v->get<std::string>();
        applied_.push_back(where_ + "." + key);
        return true;
    }

    /// Throws unless `configured` equals the shape-derived `actual`.
    template <typename T>
    void expectSame(const char* key, const T& configured, const T& actual, const std::string& fromShapes) const
    {
        if (configured != actual) {
            std::ostringstream s;
            s << source_ << ": config " << where_ << "." << key << " does not fit the checkpoint (" << fromShapes << ")";
            throw Error(s.str());
        }
    }

private:
    [[noreturn]] void fail(const char* key, const char* expected, const nlohmann::json& got) const
    {
        throw Error(source_ + ": " + where_ + "." + key + " must be " + expected + ", got " + got.dump());
    }

    const nlohmann::json* object_;
    std::string where_;
    const std::string& source_;
    std::vector<std::string>& applied_;
};

/// The SAM2Base object of an official (hydra-style) config, or null.
const nlohmann::json* sam2ModelObject(const nlohmann::json& root)
{
    auto isModel = [](const nlohmann::json& j) {
        return j.is_object() && j.contains("image_encoder") && j["image_encoder"].is_object() &&
               j["image_encoder"].contains("trunk");
    };
    if (root.contains("config") && root["config"].is_object() && root["config"].contains("model") &&
        isModel(root["config"]["model"]))
        return &root["config"]["model"];
    if (root.contains("model") && isModel(root["model"]))
        return &root["model"];
    return isModel(root) ? &root : nullptr;
}

void applySam2Config(const nlohmann::json& model, const std::string& source, SamConfig& c)
{
    const JsonObject m(&model, "model", source, c.overrides);
    auto& h = c.hiera;
    const JsonObject encoder = m.child("image_encoder");
    encoder.integer("scalp", h.scalp);
    const JsonObject trunk = encoder.child("trunk");
    std::int64_t n = 0;
    std::vector<std::int64_t> list;
    if (trunk.integer("embed_dim", n))
        trunk.expectSame("embed_dim", n, h.embedDim, "trunk.patch_embed.proj.weight gives " + std::to_string(h.embedDim));
    trunk.integer("num_heads", h.numHeads);
    if (trunk.integers("stages", list)) {
        std::int64_t total = 0;
        for (const auto s : list)
            total += s;
        std::int64_t depth = 0;
        for (const auto s : h.stages)
            depth += s;
        trunk.expectSame("stages", total, depth, "the checkpoint has " + std::to_string(depth) + " trunk blocks");
        h.stages = list;
    }
    trunk.integers("global_att_blocks", h.globalAttBlocks);
    if (trunk.integers("window_spec", list)) {
        if (!list.empty())
            trunk.expectSame("window_spec", list.front(), h.windowSpec.front(),
                             "trunk.pos_embed_window is " + std::to_string(h.windowSpec.front()) + " wide");
        h.windowSpec = list;
    }
    if (trunk.integers("window_pos_embed_bkg_spatial_size", list)) {
        trunk.expectSame("window_pos_embed_bkg_spatial_size", list,
                         std::vector<std::int64_t>{h.posEmbedBackground[0], h.posEmbedBackground[1]},
                         "trunk.pos_embed is " + std::to_string(h.posEmbedBackground[0]) + "x" +
                             std::to_string(h.posEmbedBackground[1]));
    }
    trunk.integer("q_pool", h.qPool);
    if (trunk.integers("q_stride", list)) {
        if (list.size() != 2 || list[0] != list[1] || list[0] <= 0)
            throw Error(source + ": model.image_encoder.trunk.q_stride must be a square stride [s, s], got " + text(list));
        h.qStride = list[0];
    }
    trunk.number("dim_mul", h.dimMul);
    trunk.number("head_mul", h.headMul);
    const JsonObject neck = encoder.child("neck");
    if (neck.integer("d_model", n))
        neck.expectSame("d_model", n, h.dModel, "neck.convs.0.conv.weight gives " + std::to_string(h.dModel));
    if (neck.integers("backbone_channel_list", list))
        neck.expectSame("backbone_channel_list", list, h.backboneChannels,
                        "the neck convs take " + text(h.backboneChannels));
    neck.integers("fpn_top_down_levels", h.fpnTopDownLevels);
    std::string mode;
    if (neck.string("fpn_interp_model", mode)) {
        if (mode != "nearest" && mode != "bilinear")
            throw Error(source + ": model.image_encoder.neck.fpn_interp_model \"" + mode +
                        "\" is not supported (nearest or bilinear)");
        h.fpnNearest = mode == "nearest";
    }
    if (neck.string("fuse_type", mode)) {
        if (mode != "sum" && mode != "avg")
            throw Error(source + ": model.image_encoder.neck.fuse_type must be \"sum\" or \"avg\"");
        h.fuseAverage = mode == "avg";
    }

    auto& s2 = c.head.sam2;
    if (m.integer("image_size", n))
        c.imageSize = n;
    m.boolean("directly_add_no_mem_embed", s2.addNoMemEmbed);
    bool b = false;
    if (m.boolean("use_high_res_features_in_sam", b))
        m.expectSame("use_high_res_features_in_sam", b, s2.useHighResFeatures, "presence of sam_mask_decoder.conv_s0");
    if (m.boolean("pred_obj_scores", b))
        m.expectSame("pred_obj_scores", b, s2.predObjScores, "presence of sam_mask_decoder.obj_score_token");
    if (m.boolean("pred_obj_scores_mlp", b) && s2.predObjScores)
        m.expectSame("pred_obj_scores_mlp", b, s2.predObjScoresMlp, "shape of sam_mask_decoder.pred_obj_score_head");
    m.boolean("iou_prediction_use_sigmoid", s2.iouSigmoid);
    const JsonObject extra = m.child("sam_mask_decoder_extra_args");
    extra.boolean("dynamic_multimask_via_stability", s2.dynamicMultimask);
    extra.number("dynamic_multimask_stability_delta", s2.stabilityDelta);
    extra.number("dynamic_multimask_stability_thresh", s2.stabilityThresh);
}

/// The side of the embedding grid the Hiera/FPN encoder outputs for an image of `imageSize`.
std::int64_t hieraEmbeddingSize(const HieraConfig& h, std::int64_t imageSize)
{
    const std::int64_t levels = static_cast<std::int64_t>(h.stages.size());
    const std::int64_t kept = levels - 1 - h.scalp;  // high-resolution-first index of the embedding level
    std::int64_t size = (imageSize + 2 * h.patchPadding - h.patchKernel) / h.patchStride + 1;
    for (std::int64_t i = 0; i < std::min(kept, h.qPool); ++i)
        size /= h.qStride;
    return size;
}

}  // namespace

ImagePipeline parseImagePipeline(const std::string& name, const std::string& source)
{
    if (name == "sam")
        return ImagePipeline::Sam;
    if (name == "sam2")
        return ImagePipeline::Sam2;
    if (name == "efficient_sam")
        return ImagePipeline::EfficientSam;
    if (name == "medsam")
        return ImagePipeline::MedSam;
    throw Error(source + ": unknown preprocessing \"" + name + "\" (use sam, sam2, efficient_sam or medsam)");
}

void inferHieraEncoder(const ShapeReader& r, SamConfig& c)
{
    const std::string p = "image_encoder.trunk.";
    auto& h = c.hiera;
    const auto& patch = r.shape(p + "patch_embed.proj.weight", 4);
    h.embedDim = patch[0];
    h.inChans = patch[1];
    h.patchKernel = patch[2];
    if (patch[2] != patch[3])
        r.fail(p + "patch_embed.proj.weight has a non-square kernel " + text(patch));
    if (h.patchKernel != 7)
        c.notes.push_back("Hiera patch embedding kernel " + std::to_string(h.patchKernel) +
                          " is not the official 7; stride 4 and padding 3 assumed");
    const auto& pos = r.shape(p + "pos_embed", 4);
    h.posEmbedBackground = {pos[2], pos[3]};
    const auto& posWindow = r.shape(p + "pos_embed_window", 4);
    if (pos[1] != h.embedDim || posWindow[1] != h.embedDim || posWindow[2] != posWindow[3])
        r.fail(p + "pos_embed / pos_embed_window do not fit the patch embedding width " + std::to_string(h.embedDim));

    const std::int64_t depth = r.countIndexed(p + "blocks.", ".norm1.weight");
    if (depth == 0)
        r.fail("no " + p + "blocks.0.norm1.weight: not a Hiera trunk");
    std::vector<std::int64_t> stages;
    std::int64_t width = h.embedDim, inStage = 0;
    for (std::int64_t i = 0; i < depth; ++i) {
        const std::string block = p + "blocks." + std::to_string(i) + ".";
        const std::int64_t dim = r.dim(block + "norm1.weight", 1, 0);
        const std::int64_t dimOut = r.dim(block + "norm2.weight", 1, 0);
        if (dim != width)
            r.fail(block + "norm1.weight has width " + std::to_string(dim) + ", the previous block outputs " +
                   std::to_string(width));
        if (dimOut != dim) {
            if (!r.has(block + "proj.weight"))
                r.fail(block + " widens " + std::to_string(dim) + " -> " + std::to_string(dimOut) + " without a proj");
            if (inStage > 0)
                stages.push_back(inStage);
            inStage = 0;
        }
        ++inStage;
        width = dimOut;
    }
    stages.push_back(inStage);
    h.stages = stages;
    h.windowSpec.assign(stages.size(), 0);
    h.qPool = std::min<std::int64_t>(3, static_cast<std::int64_t>(stages.size()) - 1);

    const HieraPreset* preset = nullptr;
    for (const auto& candidate : hieraPresets())
        if (candidate.embedDim == h.embedDim && candidate.stages == stages)
            preset = &candidate;
    if (preset) {
        h.numHeads = preset->heads;
        h.windowSpec = preset->windowSpec;
        h.globalAttBlocks = preset->globalAttBlocks;
        c.variant = std::string("sam2 ") + preset->name;
    } else {
        const std::vector<std::int64_t> defaultWindows{8, 4, 14, 7};
        for (std::size_t i = 0; i < h.windowSpec.size(); ++i)
            h.windowSpec[i] = i < defaultWindows.size() ? defaultWindows[i] : defaultWindows.back();
        h.numHeads = 1;
        h.globalAttBlocks.clear();
        for (const auto g : {12, 16, 20})
            if (g < depth)
                h.globalAttBlocks.push_back(g);
        c.variant = "sam2 hiera " + std::to_string(h.embedDim) + "x" + std::to_string(depth);
        c.notes.push_back(kCustomHieraNote);
    }
    h.windowSpec.front() = posWindow[2];

    const std::string neck = "image_encoder.neck.convs.";
    const std::int64_t levels = r.countIndexed(neck, ".conv.weight");
    if (levels != static_cast<std::int64_t>(stages.size()))
        r.fail("the FPN neck has " + std::to_string(levels) + " levels but the trunk has " +
               std::to_string(stages.size()) + " stages");
    h.backboneChannels.clear();
    for (std::int64_t i = 0; i < levels; ++i) {
        const auto& w = r.shape(neck + std::to_string(i) + ".conv.weight", 4);
        if (i == 0)
            h.dModel = w[0];
        else if (w[0] != h.dModel)
            r.fail(neck + std::to_string(i) + ".conv.weight has " + std::to_string(w[0]) + " outputs, level 0 has " +
                   std::to_string(h.dModel));
        h.backboneChannels.push_back(w[1]);
    }
    h.fpnTopDownLevels = {2, 3};
    h.scalp = 1;
    c.imageSize = 1024;

    // Video-memory modules: loaded (and compressed) with the model, never run.
    for (const auto& [name, shape] : r.all())
        if (isSam2VideoTensor(name))
            c.inactiveTensors.emplace_back(name, shape);
}

void inferEfficientSamEncoder(const ShapeReader& r, SamConfig& c)
{
    const std::string p = "image_encoder.";
    auto& e = c.efficientSamVit;
    const auto& patch = r.shape(p + "patch_embed.proj.weight", 4);
    e.embedDim = patch[0];
    e.inChans = patch[1];
    e.patchSize = patch[2];
    const auto& pos = r.shape(p + "pos_embed", 3);
    if (pos[2] != e.embedDim)
        r.fail(p + "pos_embed has width " + std::to_string(pos[2]) + ", the patch embedding " + std::to_string(e.embedDim));
    std::int64_t grid = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(pos[1] - 1))));
    e.posEmbedHasCls = grid * grid == pos[1] - 1;
    if (!e.posEmbedHasCls) {
        grid = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(pos[1]))));
        if (grid * grid != pos[1])
            r.fail(p + "pos_embed has " + std::to_string(pos[1]) + " positions: neither g*g nor g*g+1 (cls)");
    }
    e.posEmbedGrid = grid;
    e.depth = r.countIndexed(p + "blocks.", ".norm1.weight");
    if (e.depth == 0)
        r.fail("no image_encoder.blocks.0.norm1.weight");
    e.mlpDim = linearOut(r, p + "blocks.0.mlp.fc1");
    e.neckDim = r.dim(p + "neck.0.weight", 4, 0);
    // Heads are not in the shapes: the official builders use 3 (Ti, 192) and 6 (S, 384), i.e. width / 64.
    e.numHeads = e.embedDim % 64 == 0 ? e.embedDim / 64 : 1;
    if (e.embedDim != 192 && e.embedDim != 384)
        c.notes.push_back(kEfficientSamHeadsNote);
    c.imageSize = 1024;
    c.variant = e.embedDim == 192 ? "efficient_sam_vitt" : e.embedDim == 384 ? "efficient_sam_vits" : "efficient_sam";
}

void inferRepVitEncoder(const ShapeReader& r, SamConfig& c)
{
    const std::string p = "image_encoder.features.";
    auto& v = c.repVit;
    const auto& stem0 = r.shape(p + "0.0.c.weight", 4);
    const auto& stem2 = r.shape(p + "0.2.c.weight", 4);
    v.inChans = stem0[1];
    v.stemHidden = stem0[0];
    v.stemOut = stem2[0];
    v.blocks.clear();
    for (std::int64_t i = 1;; ++i) {
        const std::string block = p + std::to_string(i) + ".";
        RepVitBlockConfig b;
        if (r.has(block + "token_mixer.0.conv.c.weight")) {
            b.stride = 1;
            b.in = b.out = r.dim(block + "token_mixer.0.conv.c.weight", 4, 0);
            b.kernel = 3;
        } else if (r.has(block + "token_mixer.0.c.weight")) {
            b.stride = 2;
            const auto& dw = r.shape(block + "token_mixer.0.c.weight", 4);
            b.in = dw[0];
            b.kernel = dw[2];
            b.out = r.dim(block + "token_mixer.2.c.weight", 4, 0);
        } else {
            break;
        }
        if (r.has(block + "token_mixer.1.fc1.weight"))
            b.seHidden = r.dim(block + "token_mixer.1.fc1.weight", 4, 0);
        b.hidden = r.dim(block + "channel_mixer.m.0.c.weight", 4, 0);
        const std::int64_t previous = v.blocks.empty() ? v.stemOut : v.blocks.back().out;
        if (b.in != previous)
            r.fail(block + " takes " + std::to_string(b.in) + " channels, the previous layer gives " + std::to_string(previous));
        v.blocks.push_back(b);
    }
    if (v.blocks.empty())
        r.fail("image_encoder.features.1 is not a RepViT block");
    const auto ends = repVitStageEnds(v);
    if (ends.size() < 4)
        r.fail("the RepViT has " + std::to_string(ends.size()) + " stages; EdgeSAM fuses stages 2 and 3");
    v.fuseStage2Block = ends[2];
    v.fuseStage3Block = ends[3];
    const auto& fuse2 = r.shape("image_encoder.fuse_stage2.weight", 4);
    const auto& fuse3 = r.shape("image_encoder.fuse_stage3.op_list.0.weight", 4);
    v.fuseWidth = fuse2[0];
    if (fuse2[1] != v.blocks[static_cast<std::size_t>(ends[2])].out ||
        fuse3[1] != v.blocks[static_cast<std::size_t>(ends[3])].out || fuse3[0] != v.fuseWidth)
        r.fail("fuse_stage2/fuse_stage3 do not take the widths of RepViT stages 2 and 3 (" +
               std::to_string(v.blocks[static_cast<std::size_t>(ends[2])].out) + ", " +
               std::to_string(v.blocks[static_cast<std::size_t>(ends[3])].out) + ")");
    v.outChans = r.dim("image_encoder.neck.0.weight", 4, 0);
    c.imageSize = 1024;
    c.variant = "edge_sam";
}

void inferEfficientVitEncoder(const ShapeReader& r, SamConfig& c)
{
    const std::string p = "image_encoder.backbone.stages.";
    auto& e = c.efficientVit;
    e.stemWidth = r.dim(p + "0.op_list.0.conv.weight", 4, 0);
    e.inChans = r.dim(p + "0.op_list.0.conv.weight", 4, 1);
    e.stages.clear();
    std::vector<std::int64_t> stageWidths;
    std::int64_t width = e.stemWidth;
    for (std::int64_t s = 0; r.has(p + std::to_string(s) + ".op_list.0.conv.weight") ||
                             r.hasPrefix(p + std::to_string(s) + ".op_list.");
         ++s) {
        std::vector<EfficientVitBlockConfig> blocks;
        for (std::int64_t j = s == 0 ? 1 : 0;; ++j) {
            const std::string op = p + std::to_string(s) + ".op_list." + std::to_string(j) + ".";
            if (!r.hasPrefix(op))
                break;
            EfficientVitBlockConfig b;
            b.in = width;
            b.residual = !(s > 0 && j == 0);
            b.stride = b.residual ? 1 : 2;
            if (r.has(op + "context_module.main.qkv.conv.weight")) {
                b.kind = EfficientVitBlockKind::Attention;
                const std::string mla = op + "context_module.main.";
                const std::int64_t total = r.dim(mla + "qkv.conv.weight", 4, 0) / 3;
                b.scales.clear();
                for (std::int64_t k = 0; r.has(mla + "aggreg." + std::to_string(k) + ".0.weight"); ++k)
                    b.scales.push_back(r.dim(mla + "aggreg." + std::to_string(k) + ".0.weight", 4, 2));
                b.attentionDim = b.scales.empty() ? 32 : r.dim(mla + "aggreg.0.1.weight", 4, 1);
                if (b.attentionDim <= 0 || total % b.attentionDim != 0)
                    r.fail(mla + "qkv: width " + std::to_string(total) + " is not a multiple of the head dim " +
                           std::to_string(b.attentionDim));
                b.heads = total / b.attentionDim;
                b.out = r.dim(mla + "proj.conv.weight", 4, 0);
                b.mid = r.dim(op + "local_module.main.inverted_conv.conv.weight", 4, 0);
                b.fewerNorm = true;
            } else if (r.has(op + "main.conv1.conv.weight")) {
                b.kind = EfficientVitBlockKind::Res;
                b.mid = r.dim(op + "main.conv1.conv.weight", 4, 0);
                b.out = r.dim(op + "main.conv2.conv.weight", 4, 0);
                b.fewerNorm = !r.has(op + "main.conv1.norm.weight");
            } else if (r.has(op + "main.spatial_conv.conv.weight")) {
                b.kind = EfficientVitBlockKind::FusedMb;
                b.mid = r.dim(op + "main.spatial_conv.conv.weight", 4, 0);
                b.out = r.dim(op + "main.point_conv.conv.weight", 4, 0);
                b.fewerNorm = !r.has(op + "main.spatial_conv.norm.weight");
            } else if (r.has(op + "main.inverted_conv.conv.weight")) {
                b.kind = EfficientVitBlockKind::Mb;
                b.mid = r.dim(op + "main.inverted_conv.conv.weight", 4, 0);
                b.out = r.dim(op + "main.point_conv.conv.weight", 4, 0);
                b.fewerNorm = !r.has(op + "main.inverted_conv.norm.weight");
            } else {
                r.fail(op + " is not an EfficientViT block this build knows (ResBlock, FusedMBConv, MBConv, EfficientViTBlock)");
            }
            if (b.residual && b.out != b.in)
                r.fail(op + " is a residual block but changes the width " + std::to_string(b.in) + " -> " +
                       std::to_string(b.out));
            blocks.push_back(b);
            width = b.out;
        }
        e.stages.push_back(blocks);
        stageWidths.push_back(width);
    }
    if (e.stages.size() < 2)
        r.fail("the EfficientViT backbone has fewer than two stages");

    const std::string neck = "image_encoder.neck.";
    e.neckInputStages.clear();
    e.neckInputChannels.clear();
    for (std::int64_t k = 0; r.has(neck + "input_ops." + std::to_string(k) + ".op_list.0.conv.weight"); ++k) {
        const auto& w = r.shape(neck + "input_ops." + std::to_string(k) + ".op_list.0.conv.weight", 4);
        e.headWidth = w[0];
        e.neckInputChannels.push_back(w[1]);
        // SamNeck's fid_list names backbone stages; the one of width w[1] (widths grow stage by stage).
        const auto it = std::find(stageWidths.rbegin(), stageWidths.rend(), w[1]);
        if (it == stageWidths.rend())
            r.fail(neck + "input_ops." + std::to_string(k) + " takes " + std::to_string(w[1]) +
                   " channels, which no backbone stage outputs");
        e.neckInputStages.push_back(static_cast<std::int64_t>(stageWidths.rend() - it) - 1);
    }
    if (e.neckInputChannels.empty())
        r.fail("no image_encoder.neck.input_ops.0: not an EfficientViT-SAM neck");
    e.neckDepth = r.countIndexed(neck + "middle.op_list.", ".main.spatial_conv.conv.weight");
    e.neckMid = e.neckDepth > 0 ? r.dim(neck + "middle.op_list.0.main.spatial_conv.conv.weight", 4, 0) : e.headWidth;
    e.outChans = r.dim(neck + "output_ops.0.op_list.0.conv.weight", 4, 0);
    e.normEps = 1e-6;
    c.imageSize = 1024;
    c.embeddingSize = 64;
    c.encoderInputSize = e.stages.size() >= 6 ? 1024 : 512;  // XL models take 1024 px, L models 512
    c.head.layerNormEps = 1e-6;                               // set_norm_eps(model, 1e-6) of the model zoo
    c.variant = "efficientvit_sam";
}

void inferSamHead(const ShapeReader& r, SamConfig& c, const std::string& pe, const std::string& md)
{
    auto& h = c.head;
    h.promptEmbedDim = r.dim(pe + "point_embeddings.0.weight", 2, 1);
    h.maskInChans = r.dim(pe + "mask_downscaling.3.weight", 4, 0);
    h.numMultimaskOutputs = r.dim(md + "mask_tokens.weight", 2, 0) - 1;
    const std::string t = md + "transformer.";
    h.transformerDepth = r.countIndexed(t + "layers.", ".norm1.weight");
    if (h.transformerDepth == 0)
        r.fail("no " + t + "layers.0.norm1.weight: not a SAM mask decoder");
    h.mlpLayersNames = r.has(t + "layers.0.mlp.layers.0.weight");
    h.transformerMlpDim = linearOut(r, t + (h.mlpLayersNames ? "layers.0.mlp.layers.0" : "layers.0.mlp.lin1"));
    const std::int64_t internal = linearOut(r, t + "final_attn_token_to_image.q_proj");
    if (internal <= 0 || h.promptEmbedDim % internal != 0)
        r.fail("final_attn_token_to_image.q_proj width " + std::to_string(internal) + " does not divide " +
               std::to_string(h.promptEmbedDim));
    h.attentionDownsampleRate = h.promptEmbedDim / internal;
    h.iouHeadDepth = r.countIndexed(md + "iou_prediction_head.layers.", ".bias");
    if (h.iouHeadDepth == 0)
        r.fail(md + "iou_prediction_head.layers.0.bias is missing");
    h.iouHeadHiddenDim = r.dim(md + "iou_prediction_head.layers.0.bias", 1, 0);
    h.transformerNumHeads = 8;
    if (c.decoder == DecoderKind::SamHq)
        h.hq.vitDim = r.dim(md + "compress_vit_feat.0.weight", 4, 0);
    if (c.decoder == DecoderKind::Sam2) {
        auto& s2 = h.sam2;
        s2.useHighResFeatures = r.has(md + "conv_s0.weight");
        s2.predObjScores = r.has(md + "obj_score_token.weight");
        s2.predObjScoresMlp = r.has(md + "pred_obj_score_head.layers.0.weight");
        if (!r.has("no_mem_embed"))
            r.fail("no_mem_embed is missing: not a SAM 2 checkpoint");
    }
}

void inferEfficientSamHead(const ShapeReader& r, SamConfig& c)
{
    auto& h = c.head;
    const std::string md = "mask_decoder.";
    h.promptEmbedDim = r.dim("prompt_encoder.point_embeddings.weight", 2, 1);
    h.maskInChans = 0;
    h.numMultimaskOutputs = r.dim(md + "mask_tokens.weight", 2, 0) - 1;
    const std::string t = md + "transformer.";
    h.transformerDepth = r.countIndexed(t + "layers.", ".norm1.weight");
    if (h.transformerDepth == 0)
        r.fail("no mask_decoder.transformer.layers.0.norm1.weight");
    h.transformerMlpDim = linearOut(r, t + "layers.0.mlp.layers.0.0");
    const std::int64_t internal = linearOut(r, t + "final_attn_token_to_image.q_proj");
    if (internal <= 0 || h.promptEmbedDim % internal != 0)
        r.fail("final_attn_token_to_image.q_proj width does not divide the embedding width");
    h.attentionDownsampleRate = h.promptEmbedDim / internal;
    h.iouHeadDepth = r.countIndexed(md + "iou_prediction_head.layers.", ".0.weight") + 1;
    h.iouHeadHiddenDim = linearOut(r, md + "iou_prediction_head.layers.0.0");
    // build_efficient_sam's decoder_num_heads; a decoder of another width comes from a modified builder.
    h.transformerNumHeads = 8;
    if (h.promptEmbedDim != 256)
        c.notes.push_back(kEfficientSamDecoderHeadsNote);
    auto& e = h.efficientSam;
    e.upscalingDims.clear();
    for (std::int64_t i = 0; r.has(md + "final_output_upscaling_layers." + std::to_string(i) + ".0.weight"); ++i)
        e.upscalingDims.push_back(r.dim(md + "final_output_upscaling_layers." + std::to_string(i) + ".0.weight", 4, 1));
    if (e.upscalingDims.empty())
        r.fail("no mask_decoder.final_output_upscaling_layers.0");
    e.hypernetworkLayers = r.countIndexed(md + "output_hypernetworks_mlps.0.layers.", ".0.weight");
    e.maxPoints = 6;
}

void applyFamilyOverrides(const nlohmann::json& json, const std::string& source, SamConfig& c)
{
    if (!json.is_object())
        return;
    const nlohmann::json* flat = json.contains("builder_args") && json["builder_args"].is_object()
                                     ? &json["builder_args"]
                                     : &json;
    const JsonObject root(flat, "config", source, c.overrides);
    std::string pipeline;
    if (root.string("preprocessing", pipeline))
        c.preprocess.pipeline = parseImagePipeline(pipeline, source);
    std::int64_t n = 0;
    if (c.encoder != EncoderKind::Vit && c.encoder != EncoderKind::TinyVit && root.integer("image_size", n)) {
        if (n <= 0)
            throw Error(source + ": image_size must be positive");
        c.imageSize = n;
    }
    if (root.integer("encoder_input_size", n)) {
        if (n <= 0)
            throw Error(source + ": encoder_input_size must be positive");
        c.encoderInputSize = n;
    }
    if (c.encoder == EncoderKind::EfficientSamVit && root.integer("encoder_num_heads", n)) {
        if (n <= 0 || c.efficientSamVit.embedDim % n != 0)
            throw Error(source + ": encoder_num_heads " + std::to_string(n) + " does not divide the encoder width " +
                        std::to_string(c.efficientSamVit.embedDim));
        c.efficientSamVit.numHeads = n;
        dropNote(c, kEfficientSamHeadsNote);
    }
    if (c.decoder == DecoderKind::EfficientSam) {
        if (root.integer("decoder_num_heads", n))  // build_efficient_sam's name
            c.head.transformerNumHeads = n;
        if (root.value("decoder_num_heads") || root.value("transformer_num_heads"))
            dropNote(c, kEfficientSamDecoderHeadsNote);
    }
    if (c.encoder == EncoderKind::Hiera) {
        if (const nlohmann::json* model = sam2ModelObject(json)) {
            applySam2Config(*model, source, c);
            const auto* trunk = &(*model)["image_encoder"]["trunk"];
            if (trunk->contains("num_heads") && trunk->contains("window_spec") && trunk->contains("global_att_blocks"))
                dropNote(c, kCustomHieraNote);
        }
        if (c.hiera.windowSpec.size() != c.hiera.stages.size())
            throw Error(source + ": window_spec " + text(c.hiera.windowSpec) + " needs one entry per Hiera stage (" +
                        std::to_string(c.hiera.stages.size()) + ")");
    }
}

std::int64_t hieraEmbeddingGrid(const HieraConfig& h, std::int64_t imageSize)
{
    return hieraEmbeddingSize(h, imageSize);
}

}  // namespace birkhoff::models
