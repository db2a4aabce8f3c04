// Configuration inference for the SAM families beyond SAM v1 ViT / TinyViT, called by
// inferSamConfig (sam_config.cpp): each function reads checkpoint shapes into SamConfig, takes
// the official defaults for what shapes cannot tell (recording a note), and the config.json
// reader applies the families' own keys (SAM 2's hydra-style nested config, the preprocessing
// choice). Internal to core/models.
#pragma once

#include "core/models/sam_config.h"
#include "core/models/shape_reader.h"

#include <nlohmann/json_fwd.hpp>

namespace birkhoff::models {

/// SAM 2 / 2.1: Hiera trunk, FPN neck, image size 1024, inactive video-memory tensors.
void inferHieraEncoder(const ShapeReader& r, SamConfig& c);
/// EfficientSAM's plain ViT (pos_embed [1, 14*14+1, C], blocks with fc1/fc2).
void inferEfficientSamEncoder(const ShapeReader& r, SamConfig& c);
/// EdgeSAM's RepViT (features.*, fuse_stage2/3).
void inferRepVitEncoder(const ShapeReader& r, SamConfig& c);
/// EfficientViT-SAM's backbone + SamNeck (L: 512-px encoder input, XL: 1024).
void inferEfficientVitEncoder(const ShapeReader& r, SamConfig& c);

/// The head of c.decoder read from the shapes under `promptPrefix` / `decoderPrefix` ("prompt_encoder."
/// / "mask_decoder.", or SAM 2's "sam_prompt_encoder." / "sam_mask_decoder.").
void inferSamHead(const ShapeReader& r, SamConfig& c, const std::string& promptPrefix, const std::string& decoderPrefix);
/// EfficientSAM's prompt encoder and decoder.
void inferEfficientSamHead(const ShapeReader& r, SamConfig& c);

/// Applies the config.json keys of the families above (EfficientSAM: "encoder_num_heads" and
/// "decoder_num_heads", build_efficient_sam's names; neither is in the shapes) and the keys every
/// family shares ("preprocessing": "sam" | "sam2" | "efficient_sam" | "medsam",
/// "encoder_input_size"), and
/// SAM 2's official nested config ({"config": {"model": ...}}, {"model": ...} or the model
/// object itself with image_encoder.trunk / image_encoder.neck). Values that contradict the
/// shapes throw. Applied keys are recorded in c.overrides.
void applyFamilyOverrides(const nlohmann::json& json, const std::string& source, SamConfig& c);

/// Side of the image-embedding grid a Hiera/FPN encoder gives for an image of `imageSize`.
std::int64_t hieraEmbeddingGrid(const HieraConfig& config, std::int64_t imageSize);

/// Parses a preprocessing name. @throws Error naming `source` for an unknown one.
ImagePipeline parseImagePipeline(const std::string& name, const std::string& source);

}  // namespace birkhoff::models
