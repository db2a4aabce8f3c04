// Synthetic checkpoints for benchmarks: SAM ViT-B's exact keys, shapes and tensor roles, generated
// from the architecture (segment_anything build_sam / image_encoder / prompt_encoder /
// mask_decoder: depth 12, dim 768, 12 heads, window 14, global attention in blocks 2, 5, 8, 11,
// neck to 256 channels, the shared SAM v1 prompt encoder and mask decoder), filled with values
// drawn like trained SAM weights:
//   Linear and conv weights   N(0, 0.02), with 1% of the entries from N(0, 0.08) (heavier tails,
//                             as trained weights have; exercises the outlier rings);
//   biases                    N(0, 0.02);  LayerNorm weights 1 + N(0, 0.1), biases N(0, 0.05);
//   pos_embed                 N(0, 0.02);  rel_pos tables N(0, 0.05);
//   embeddings, the Gaussian PE buffer   N(0, 1) (nn.Embedding's and the PE's initialisation).
#pragma once

#include "core/codec/settings.h"
#include "core/io/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace birkhoff::bench {

/// How a synthetic tensor's values are drawn.
enum class ValueKind { LinearOrConvWeight, Bias, NormWeight, NormBias, PosEmbed, RelPos, Embedding };

struct SyntheticTensorSpec {
    std::string name;
    std::vector<std::int64_t> shape;
    codec::TensorRole role = codec::TensorRole::Parameter;
    ValueKind kind = ValueKind::Bias;
};

/// SAM ViT-B's 314 state-dict entries in checkpoint order (93,735,472 elements).
std::vector<SyntheticTensorSpec> samVitBSpec();

/// Draws the tensors of `spec` (deterministic for a seed).
io::StateDict makeSyntheticCheckpoint(const std::vector<SyntheticTensorSpec>& spec, std::uint64_t seed);

/// The roles of `spec`, in order.
std::vector<codec::TensorRole> rolesOf(const std::vector<SyntheticTensorSpec>& spec);

}  // namespace birkhoff::bench
