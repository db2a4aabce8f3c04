// SAM's prompt encoder (segment_anything PromptEncoder), shared by SAM v1, MobileSAM, TinySAM,
// MedSAM, ...: random-Fourier positional encoding of points and box corners plus learned label
// embeddings (sparse tokens), and the mask-input downscaling or the no-mask embedding (dense).
// Parameter names equal the official ones below "prompt_encoder." (pe_layer.
// positional_encoding_gaussian_matrix, point_embeddings.{0..3}, not_a_point_embed,
// mask_downscaling.{0,1,3,4,6}, no_mask_embed).
#pragma once

#include "core/models/layers.h"

#include <vector>

namespace birkhoff::models {

/// Label codes of sparse prompt tokens (those of the official ONNX export).
enum PointLabel : int {
    kPaddingPoint = -1,   ///< "not a point": the padding token appended when there is no box
    kNegativePoint = 0,
    kPositivePoint = 1,
    kBoxTopLeft = 2,
    kBoxBottomRight = 3,
};

/// Random Fourier features of coordinates normalised to [0, 1] (PositionEmbeddingRandom.
/// _pe_encoding): [..., 2] -> [..., 2K] for a gaussian matrix [2, K].
at::Tensor randomFourierEncoding(const at::Tensor& normalised, const at::Tensor& gaussianMatrix);
/// The encoding of the centres of a g x g grid, [1, 2K, g, g] (PositionEmbeddingRandom.forward).
at::Tensor gridFourierEncoding(const at::Tensor& gaussianMatrix, std::int64_t g);

class PromptEncoderImpl : public torch::nn::Module {
public:
    /// embedDim: token width; embeddingSize: image-embedding grid side; imageSize: encoder input
    /// side (coordinates are in this frame); maskInChans: hidden width of the mask downscaler.
    PromptEncoderImpl(std::int64_t embedDim, std::int64_t embeddingSize, std::int64_t imageSize,
                      std::int64_t maskInChans);

    /// Sparse tokens [B, N, D] for points already in the encoder's input frame: coords [B, N, 2]
    /// (x, y) float32, labels [B, N] with the PointLabel codes. The caller appends the padding
    /// point / box corners (see SamModel::encodePrompt); +0.5 pixel centring happens here.
    at::Tensor embedPoints(const at::Tensor& coords, const at::Tensor& labels) const;
    /// Dense embedding [B, D, g, g] of low-res mask logits [B, 1, 4g, 4g].
    at::Tensor embedMask(const at::Tensor& mask) const;
    /// The no-mask dense embedding broadcast to [B, D, g, g].
    at::Tensor noMaskEmbedding(std::int64_t batch) const;
    /// Positional encoding of the embedding grid [1, D, g, g] (get_dense_pe).
    at::Tensor denseEncoding() const;

    std::int64_t embedDim() const { return embedDim_; }
    std::int64_t embeddingSize() const { return embeddingSize_; }
    std::int64_t imageSize() const { return imageSize_; }

private:
    /// sin/cos encoding of coordinates normalised to [0, 1]; [..., 2] -> [..., D].
    at::Tensor encodeNormalised(const at::Tensor& coords) const;

    std::int64_t embedDim_;
    std::int64_t embeddingSize_;
    std::int64_t imageSize_;
    at::Tensor gaussianMatrix_;
    std::vector<Embedding> pointEmbeddings_;
    Embedding notAPointEmbed_{nullptr};
    Conv2d maskConv1_{nullptr};
    LayerNorm2d maskNorm1_{nullptr};
    Conv2d maskConv2_{nullptr};
    LayerNorm2d maskNorm2_{nullptr};
    Conv2d maskConv3_{nullptr};
    Embedding noMaskEmbed_{nullptr};
};
TORCH_MODULE(PromptEncoder);

}  // namespace birkhoff::models
