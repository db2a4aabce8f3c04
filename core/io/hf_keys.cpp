// Hugging Face transformers SAM / SAM 2 key names -> original names.
#include "core/io/hf_keys.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

namespace birkhoff::io {

namespace {

using Segments = std::vector<std::string>;

Segments split(const std::string& key)
{
    Segments out;
    std::size_t start = 0;
    while (true) {
        const auto dot = key.find('.', start);
        out.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos)
            return out;
        start = dot + 1;
    }
}

std::string join(const Segments& s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i)
        out += (i ? "." : "") + s[i];
    return out;
}

bool isNumber(const std::string& s)
{
    if (s.empty())
        return false;
    for (const char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

bool startsWith(const std::string& s, const std::string& prefix)
{
    return s.compare(0, prefix.size(), prefix) == 0;
}

// Replaces segment i by `with` (one or more segments).
void replaceSegment(Segments& s, std::size_t i, const Segments& with)
{
    s.erase(s.begin() + static_cast<std::ptrdiff_t>(i));
    s.insert(s.begin() + static_cast<std::ptrdiff_t>(i), with.begin(), with.end());
}

// "layer_norm1" -> "norm1", "layer_norm_final_attn" -> "norm_final_attn", "layer_norm" -> "norm".
void unLayerNorm(std::string& segment)
{
    if (startsWith(segment, "layer_norm"))
        segment.erase(0, 6);
}

// A 3-layer MLP (iou head, hypernetwork MLPs, object-score head, object-pointer projection):
// proj_in / layers.0 / proj_out at segment i -> layers.0 / layers.1 / layers.2.
void mapThreeLayerMlp(Segments& s, std::size_t i)
{
    if (i >= s.size())
        return;
    if (s[i] == "proj_in")
        replaceSegment(s, i, {"layers", "0"});
    else if (s[i] == "proj_out")
        replaceSegment(s, i, {"layers", "2"});
    else if (s[i] == "layers" && i + 1 < s.size() && s[i + 1] == "0")
        s[i + 1] = "1";
}

// A 2-layer MLP: proj_in / proj_out at segment i -> layers.0 / layers.1.
void mapTwoLayerMlp(Segments& s, std::size_t i)
{
    if (i >= s.size())
        return;
    if (s[i] == "proj_in")
        replaceSegment(s, i, {"layers", "0"});
    else if (s[i] == "proj_out")
        replaceSegment(s, i, {"layers", "1"});
}

// s[0] is the prompt encoder.
void mapPromptEncoder(Segments& s)
{
    if (s.size() < 2)
        return;
    if (s[1] == "shared_embedding" && s.size() == 3 && s[2] == "positional_embedding") {
        s[1] = "pe_layer";
        s[2] = "positional_encoding_gaussian_matrix";
    } else if (s[1] == "point_embed") {
        s[1] = "point_embeddings";
    } else if (s[1] == "mask_embed" && s.size() >= 3) {
        static const std::pair<const char*, const char*> kLayers[] = {
            {"conv1", "0"}, {"layer_norm1", "1"}, {"conv2", "3"}, {"layer_norm2", "4"}, {"conv3", "6"}};
        for (const auto& [hf, index] : kLayers) {
            if (s[2] == hf) {
                s[1] = "mask_downscaling";
                s[2] = index;
                break;
            }
        }
    }
}

// s[0] is the mask decoder.
void mapMaskDecoder(Segments& s, bool sam2)
{
    if (s.size() < 2)
        return;
    if (s[1] == "upscale_conv1")
        replaceSegment(s, 1, {"output_upscaling", "0"});
    else if (s[1] == "upscale_layer_norm")
        replaceSegment(s, 1, {"output_upscaling", "1"});
    else if (s[1] == "upscale_conv2")
        replaceSegment(s, 1, {"output_upscaling", "3"});
    else if (s[1] == "iou_prediction_head" || s[1] == "pred_obj_score_head")
        mapThreeLayerMlp(s, 2);
    else if (s[1] == "output_hypernetworks_mlps" && s.size() > 2 && isNumber(s[2]))
        mapThreeLayerMlp(s, 3);
    else if (s[1] == "transformer") {
        for (std::size_t i = 2; i < s.size(); ++i) {
            unLayerNorm(s[i]);
            if (sam2 && s[i] == "o_proj")
                s[i] = "out_proj";
        }
        // SAM 2's transformer MLPs: transformer.layers.N.mlp.proj_in/proj_out.
        if (sam2 && s.size() > 5 && s[2] == "layers" && s[4] == "mlp")
            mapTwoLayerMlp(s, 5);
    }
}

// s[0] is "image_encoder" (a SAM v1 ViT).
void mapVitEncoder(Segments& s)
{
    if (s.size() < 3)
        return;
    if (s[1] == "patch_embed" && s[2] == "projection") {
        s[2] = "proj";
    } else if (s[1] == "layers" && isNumber(s[2])) {
        s[1] = "blocks";
        if (s.size() > 3)
            unLayerNorm(s[3]);
    } else if (s[1] == "neck") {
        static const std::pair<const char*, const char*> kLayers[] = {
            {"conv1", "0"}, {"layer_norm1", "1"}, {"conv2", "2"}, {"layer_norm2", "3"}};
        for (const auto& [hf, index] : kLayers)
            if (s[2] == hf)
                s[2] = index;
    }
}

// s[0..1] is "image_encoder.trunk" (SAM 2 Hiera).
void mapHieraTrunk(Segments& s)
{
    if (s.size() < 4)
        return;
    if (s[2] == "patch_embed" && s[3] == "projection") {
        s[3] = "proj";
    } else if (s[2] == "blocks" && isNumber(s[3]) && s.size() > 4) {
        unLayerNorm(s[4]);
        if (s[4] == "mlp")
            mapTwoLayerMlp(s, 5);
    }
}

void mapMemoryEncoder(Segments& s, int maskDownsamplerLayers)
{
    if (s.size() < 2)
        return;
    if (s[1] == "projection")
        s[1] = "out_proj";
    else if (s[1] == "feature_projection")
        s[1] = "pix_feat_proj";
    else if (s[1] == "memory_fuser") {
        s[1] = "fuser";
        for (std::size_t i = 2; i < s.size(); ++i) {
            if (s[i] == "depthwise_conv")
                s[i] = "dwconv";
            else if (startsWith(s[i], "pointwise_conv"))
                s[i] = "pwconv" + s[i].substr(std::string("pointwise_conv").size());
            unLayerNorm(s[i]);
        }
        if (s.size() == 5 && s[2] == "layers" && s[4] == "scale")
            s[4] = "gamma";
    } else if (s[1] == "mask_downsampler" && s.size() > 3) {
        // mask_downsampler.layers.k.conv / .layers.k.layer_norm -> encoder.(3k) / encoder.(3k+1)
        if (s[2] == "layers" && isNumber(s[3]) && s[3].size() < 6 && s.size() > 4
            && (s[4] == "conv" || s[4] == "layer_norm")) {
            const int index = 3 * std::stoi(s[3]) + (s[4] == "conv" ? 0 : 1);
            Segments out{s[0], s[1], "encoder", std::to_string(index)};
            out.insert(out.end(), s.begin() + 5, s.end());
            s = std::move(out);
        } else if (s[2] == "final_conv") {
            replaceSegment(s, 2, {"encoder", std::to_string(3 * maskDownsamplerLayers)});
        }
    }
}

const char* const kSharedPositional = "shared_image_embedding.positional_embedding";

}  // namespace

HfNaming detectHuggingFaceNaming(const StateDict& tensors)
{
    bool visionEncoder = false;
    bool samVit = false;
    bool hfShared = false;
    for (const auto& e : tensors) {
        if (startsWith(e.name, "vision_encoder.backbone."))
            return HfNaming::Sam2;
        visionEncoder = visionEncoder || startsWith(e.name, "vision_encoder.");
        samVit = samVit || startsWith(e.name, "vision_encoder.layers.")
                 || startsWith(e.name, "vision_encoder.patch_embed.projection.");
        hfShared = hfShared || e.name == kSharedPositional
                   || e.name == "prompt_encoder.shared_embedding.positional_embedding";
    }
    if ((visionEncoder && samVit) || hfShared) {
        for (const auto& e : tensors)
            if (startsWith(e.name, "mask_decoder.conv_s0.") || startsWith(e.name, "mask_decoder.obj_score_token."))
                return HfNaming::Sam2;
        return HfNaming::Sam;
    }
    return HfNaming::None;
}

std::string samKeyFromHuggingFace(const std::string& key)
{
    if (key == kSharedPositional)
        return "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix";
    Segments s = split(key);
    if (s[0] == "vision_encoder") {
        s[0] = "image_encoder";
        mapVitEncoder(s);
    } else if (s[0] == "prompt_encoder") {
        mapPromptEncoder(s);
    } else if (s[0] == "mask_decoder") {
        mapMaskDecoder(s, false);
    }
    return join(s);
}

std::string sam2KeyFromHuggingFace(const std::string& key, int maskDownsamplerLayers)
{
    if (key == kSharedPositional)
        return "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix";
    static const std::pair<const char*, const char*> kTopLevel[] = {
        {"memory_temporal_positional_encoding", "maskmem_tpos_enc"},
        {"no_memory_embedding", "no_mem_embed"},
        {"no_memory_positional_encoding", "no_mem_pos_enc"},
        {"occlusion_spatial_embedding_parameter", "no_obj_embed_spatial"},
        {"no_object_pointer", "no_obj_ptr"},
        {"temporal_positional_encoding_projection_layer", "obj_ptr_tpos_proj"},
        {"object_pointer_proj", "obj_ptr_proj"},
    };
    Segments s = split(key);
    for (const auto& [hf, original] : kTopLevel)
        if (s[0] == hf)
            s[0] = original;
    if (s[0] == "vision_encoder" && s.size() > 1 && s[1] == "backbone") {
        s[0] = "image_encoder";
        s[1] = "trunk";
        mapHieraTrunk(s);
    } else if (s[0] == "vision_encoder" && s.size() > 1 && s[1] == "neck") {
        s[0] = "image_encoder";
        if (s.size() == 5 && s[2] == "convs" && isNumber(s[3]))
            s.insert(s.begin() + 4, "conv");
    } else if (s[0] == "prompt_encoder") {
        mapPromptEncoder(s);
        s[0] = "sam_prompt_encoder";
    } else if (s[0] == "mask_decoder") {
        mapMaskDecoder(s, true);
        s[0] = "sam_mask_decoder";
    } else if (s[0] == "memory_attention") {
        for (std::size_t i = 1; i < s.size(); ++i) {
            unLayerNorm(s[i]);
            if (s[i] == "o_proj")
                s[i] = "out_proj";
        }
    } else if (s[0] == "memory_encoder") {
        mapMemoryEncoder(s, maskDownsamplerLayers);
    } else if (s[0] == "obj_ptr_proj") {
        mapThreeLayerMlp(s, 1);
    }
    return join(s);
}

std::vector<std::string> mapHuggingFaceKeys(StateDict& tensors)
{
    const HfNaming naming = detectHuggingFaceNaming(tensors);
    if (naming == HfNaming::None)
        return {};
    int downsamplerLayers = 0;
    for (const auto& e : tensors) {
        const std::string prefix = "memory_encoder.mask_downsampler.layers.";
        if (startsWith(e.name, prefix)) {
            const std::string index = e.name.substr(prefix.size(), e.name.find('.', prefix.size()) - prefix.size());
            if (isNumber(index) && index.size() < 6)
                downsamplerLayers = std::max(downsamplerLayers, std::stoi(index) + 1);
        }
    }
    if (downsamplerLayers == 0)
        downsamplerLayers = 4;

    std::vector<std::string> notes;
    StateDict mapped;
    std::size_t renamed = 0;
    const auto add = [&](const std::string& from, const std::string& name, const at::Tensor& t) {
        if (const at::Tensor* existing = mapped.find(name)) {
            const bool same = existing->sizes() == t.sizes() && existing->scalar_type() == t.scalar_type()
                              && at::equal(*existing, t);
            if (!same)
                throw Error("Hugging Face key '" + from + "' maps to '" + name
                            + "', which an earlier key already filled with different values");
            notes.push_back("dropped '" + from + "': a duplicate of '" + name + "'");
            return;
        }
        if (name != from)
            ++renamed;
        mapped.insert(name, t);
    };
    for (const auto& e : tensors) {
        if (naming == HfNaming::Sam2 && e.name == "prompt_encoder.point_embed.weight" && e.tensor.dim() == 2) {
            for (std::int64_t i = 0; i < e.tensor.size(0); ++i)
                add(e.name, "sam_prompt_encoder.point_embeddings." + std::to_string(i) + ".weight",
                    e.tensor.narrow(0, i, 1));
            notes.push_back("split the stacked '" + e.name + "' into " + std::to_string(e.tensor.size(0))
                            + " point_embeddings tensors");
            continue;
        }
        add(e.name,
            naming == HfNaming::Sam ? samKeyFromHuggingFace(e.name)
                                    : sam2KeyFromHuggingFace(e.name, downsamplerLayers),
            e.tensor);
    }
    notes.insert(notes.begin(), "mapped " + std::to_string(renamed) + " Hugging Face transformers ("
                                    + (naming == HfNaming::Sam ? "SamModel" : "Sam2Model")
                                    + ") key names to the original names");
    tensors = std::move(mapped);
    return notes;
}

}  // namespace birkhoff::io
