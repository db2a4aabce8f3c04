// EfficientSAM (yformer/EfficientSAM, Ti/S): its plain-ViT image encoder, its prompt encoder
// (points and box corners only, no mask input) and its re-implementation of SAM's mask decoder.
//
// Encoder (efficient_sam_encoder.py): patch embedding, the 224-px pretraining pos_embed
// (14x14 + cls) bicubic-resized to the token grid with the cls entry dropped, blocks with global
// attention everywhere and no rel-pos (MLPs fc1/fc2), SAM's neck.
// Prompt encoder (efficient_sam_decoder.py PromptEncoder): random Fourier features of the
// points plus one learned embedding per label (-1 invalid_points, 1 point_embeddings, 2/3 box
// corners; label 0 adds nothing, and padding points keep their positional encoding).
// Decoder: the same math as SAM's except that the two-way blocks always keep the self-attention
// residual (and add the query PE to the queries themselves), every MLP uses GELU and is named
// layers.{i}.0 + fc, there is no dense prompt embedding, and the upscaling is
// final_output_upscaling_layers.{i} = ConvTranspose2d + GroupNorm(1) (+ GELU).
// Parameter names equal the official ones below "image_encoder.", "prompt_encoder." and
// "mask_decoder.".
#pragma once

#include "core/models/image_encoder.h"
#include "core/models/layers.h"
#include "core/models/mask_decoder.h"
#include "core/models/sam_config.h"

#include <vector>

namespace birkhoff::models {

class EfficientSamBlockImpl;
class EfficientSamTwoWayBlockImpl;
class EfficientSamMlpImpl;

/// Intermediate outputs of EfficientSamVitEncoder::forwardTraced, as the official modules
/// return them (golden tests compare them stage by stage).
struct EfficientSamTrace {
    at::Tensor patchEmbed;           ///< patch_embed output [B, C, g, g]
    std::vector<at::Tensor> blocks;  ///< every block's output [B, g*g, C]
};

class EfficientSamVitEncoder : public ImageEncoder {
public:
    /// `imageSize`: encoder input side; the token grid is imageSize / patchSize.
    EfficientSamVitEncoder(const EfficientSamVitConfig& config, std::int64_t imageSize);
    at::Tensor forward(const at::Tensor& image) const override;
    /// forward() that also records the patch embedding and every block's output in `trace`
    /// (when not null). Same input, output and errors as forward().
    at::Tensor forwardTraced(const at::Tensor& image, EfficientSamTrace* trace) const;

    const EfficientSamVitConfig& config() const { return config_; }

private:
    EfficientSamVitConfig config_;
    at::Tensor posEmbed_;
    Conv2d patchProj_{nullptr};
    std::vector<std::shared_ptr<EfficientSamBlockImpl>> blocks_;
    Conv2d neckConv1_{nullptr};
    LayerNorm2d neckNorm1_{nullptr};
    Conv2d neckConv2_{nullptr};
    LayerNorm2d neckNorm2_{nullptr};
};

class EfficientSamPromptEncoderImpl : public torch::nn::Module {
public:
    EfficientSamPromptEncoderImpl(std::int64_t embedDim, std::int64_t embeddingSize, std::int64_t imageSize);

    /// Sparse tokens [B, N, D] for coords [B, N, 2] in the encoder's input frame and labels
    /// [B, N] (-1 padding, 0 negative, 1 positive, 2/3 box corners).
    at::Tensor embedPoints(const at::Tensor& coords, const at::Tensor& labels) const;
    /// Positional encoding of the embedding grid [1, D, g, g].
    at::Tensor denseEncoding() const;

private:
    std::int64_t embeddingSize_;
    std::int64_t imageSize_;
    at::Tensor gaussianMatrix_;
    Embedding invalidPoints_{nullptr};
    Embedding pointEmbeddings_{nullptr};
    Embedding topLeft_{nullptr};
    Embedding bottomRight_{nullptr};
};
TORCH_MODULE(EfficientSamPromptEncoder);

class EfficientSamMaskDecoderImpl : public torch::nn::Module {
public:
    explicit EfficientSamMaskDecoderImpl(const HeadConfig& config);

    /// imageEmbedding [1 or B, D, g, g]; imagePe [1, D, g, g]; sparse [B, T, D]. Returns every
    /// mask token's logits [B, M, 4g, 4g] and IoU [B, M].
    DecoderOutput forward(const at::Tensor& imageEmbedding, const at::Tensor& imagePe, const at::Tensor& sparse) const;

    std::int64_t numMaskTokens() const { return numMaskTokens_; }

private:
    std::int64_t numMaskTokens_;
    std::vector<std::shared_ptr<EfficientSamTwoWayBlockImpl>> layers_;
    DecoderAttention finalAttn_{nullptr};
    LayerNorm normFinal_{nullptr};
    Embedding iouToken_{nullptr};
    Embedding maskTokens_{nullptr};
    std::vector<ConvTranspose2d> upscaleConvs_;
    std::vector<at::Tensor> upscaleNormWeights_;  ///< GroupNorm(1) weight/bias of every layer but the last
    std::vector<at::Tensor> upscaleNormBiases_;
    std::vector<std::shared_ptr<EfficientSamMlpImpl>> hypernetworks_;
    std::shared_ptr<EfficientSamMlpImpl> iouHead_;
};
TORCH_MODULE(EfficientSamMaskDecoder);

}  // namespace birkhoff::models
