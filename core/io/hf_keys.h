// Hugging Face transformers key names (SamModel, Sam2Model) -> the original key names of
// facebookresearch/segment-anything and facebookresearch/sam2. transformers' converters
// (convert_sam_to_hf.py, convert_sam2_to_hf.py) rename keys by ordered substring rules; this is
// their inverse, written per module so that it is exact for every key those models have:
//   SAM:  vision_encoder -> image_encoder, layers -> blocks, layer_norm -> norm,
//         patch_embed.projection -> patch_embed.proj, neck.conv1/layer_norm1/conv2/layer_norm2 ->
//         neck.0..3, point_embed -> point_embeddings, mask_embed.* -> mask_downscaling.{0,1,3,4,6},
//         shared_embedding.positional_embedding -> pe_layer.positional_encoding_gaussian_matrix,
//         upscale_conv1/upscale_layer_norm/upscale_conv2 -> output_upscaling.{0,1,3},
//         3-layer MLP heads proj_in/layers.0/proj_out -> layers.0/1/2.
//   SAM 2: additionally vision_encoder.backbone -> image_encoder.trunk, convs.N -> convs.N.conv,
//         prompt_encoder/mask_decoder -> sam_prompt_encoder/sam_mask_decoder, o_proj -> out_proj,
//         2-layer MLPs proj_in/proj_out -> layers.0/1, memory module renames, and the stacked
//         prompt_encoder.point_embed.weight [4, C] split back into point_embeddings.{i}.weight.
// transformers stores the prompt encoder's positional matrix twice (also as the top-level
// shared_image_embedding.positional_embedding); the duplicate is dropped. pixel_mean/pixel_std
// are absent from transformers files and not needed (they are constants of the pipeline).
#pragma once

#include "core/io/state_dict.h"

#include <string>
#include <vector>

namespace birkhoff::io {

enum class HfNaming {
    None,  ///< original names (or an unknown scheme): nothing to map
    Sam,   ///< transformers SamModel (SAM ViT-B/L/H, SlimSAM, MedSAM on the Hub)
    Sam2,  ///< transformers Sam2Model / Sam2VideoModel (SAM 2 / 2.1)
};

/// Which transformers naming `tensors` uses, judged by its key names.
HfNaming detectHuggingFaceNaming(const StateDict& tensors);

/// The original segment-anything name of a transformers SamModel key (unchanged if the key is
/// not one SamModel renames).
std::string samKeyFromHuggingFace(const std::string& key);

/// The original sam2 name of a transformers Sam2Model key. `maskDownsamplerLayers` is the number
/// of conv+norm layers of memory_encoder.mask_downsampler (4 in every released model), needed to
/// place its final conv.
std::string sam2KeyFromHuggingFace(const std::string& key, int maskDownsamplerLayers = 4);

/// Renames `tensors` in place from transformers names to the original names (order kept),
/// splitting SAM 2's stacked point embeddings and dropping the duplicated positional matrix.
/// Returns notes describing what was done (empty if the naming is not a transformers one).
/// @throws Error if two different keys map to the same original name with different values.
std::vector<std::string> mapHuggingFaceKeys(StateDict& tensors);

}  // namespace birkhoff::io
