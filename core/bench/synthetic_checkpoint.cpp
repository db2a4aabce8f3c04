// SAM ViT-B key/shape list built from the architecture, and value generation.
#include "core/bench/synthetic_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>

#include <algorithm>

namespace birkhoff::bench {

namespace {

using codec::TensorRole;

class SpecBuilder {
public:
    void linear(const std::string& prefix, std::int64_t out, std::int64_t in, bool bias = true)
    {
        add(prefix + ".weight", {out, in}, TensorRole::LinearWeight, ValueKind::LinearOrConvWeight);
        if (bias)
            add(prefix + ".bias", {out}, TensorRole::Parameter, ValueKind::Bias);
    }
    void conv(const std::string& prefix, std::vector<std::int64_t> weightShape, bool bias = true)
    {
        const std::int64_t out = weightShape[0];
        add(prefix + ".weight", std::move(weightShape), TensorRole::Parameter, ValueKind::LinearOrConvWeight);
        if (bias)
            add(prefix + ".bias", {out}, TensorRole::Parameter, ValueKind::Bias);
    }
    // ConvTranspose2d weights are [in, out, k, k]; the bias has `out` entries.
    void convTranspose(const std::string& prefix, std::int64_t in, std::int64_t out, std::int64_t k)
    {
        add(prefix + ".weight", {in, out, k, k}, TensorRole::Parameter, ValueKind::LinearOrConvWeight);
        add(prefix + ".bias", {out}, TensorRole::Parameter, ValueKind::Bias);
    }
    void norm(const std::string& prefix, std::int64_t dim)
    {
        add(prefix + ".weight", {dim}, TensorRole::Parameter, ValueKind::NormWeight);
        add(prefix + ".bias", {dim}, TensorRole::Parameter, ValueKind::NormBias);
    }
    void embedding(const std::string& name, std::int64_t count, std::int64_t dim)
    {
        add(name + ".weight", {count, dim}, TensorRole::Parameter, ValueKind::Embedding);
    }
    // segment_anything Attention in the mask decoder: q/k/v project to dim / downsample.
    void decoderAttention(const std::string& prefix, std::int64_t dim, std::int64_t downsample)
    {
        const std::int64_t inner = dim / downsample;
        for (const char* p : {"q_proj", "k_proj", "v_proj"})
            linear(prefix + "." + p, inner, dim);
        linear(prefix + ".out_proj", dim, inner);
    }
    void add(std::string name, std::vector<std::int64_t> shape, TensorRole role, ValueKind kind)
    {
        spec_.push_back({std::move(name), std::move(shape), role, kind});
    }
    std::vector<SyntheticTensorSpec> take() { return std::move(spec_); }

private:
    std::vector<SyntheticTensorSpec> spec_;
};

}  // namespace

std::vector<SyntheticTensorSpec> samVitBSpec()
{
    // ImageEncoderViT(depth 12, embed_dim 768, num_heads 12, window 14, global [2, 5, 8, 11]),
    // image 1024 / patch 16 = 64 tokens per side, out_chans 256 (the prompt embedding width).
    constexpr std::int64_t depth = 12, dim = 768, heads = 12, window = 14, grid = 64, mlp = 4 * dim;
    constexpr std::int64_t headDim = dim / heads, promptDim = 256;
    const std::vector<std::int64_t> globalBlocks = {2, 5, 8, 11};
    SpecBuilder b;
    b.add("image_encoder.pos_embed", {1, grid, grid, dim}, TensorRole::Parameter, ValueKind::PosEmbed);
    b.conv("image_encoder.patch_embed.proj", {dim, 3, 16, 16});
    for (std::int64_t i = 0; i < depth; ++i) {
        const std::string p = "image_encoder.blocks." + std::to_string(i);
        const bool global = std::find(globalBlocks.begin(), globalBlocks.end(), i) != globalBlocks.end();
        const std::int64_t span = 2 * (global ? grid : window) - 1;
        b.norm(p + ".norm1", dim);
        b.add(p + ".attn.rel_pos_h", {span, headDim}, TensorRole::Parameter, ValueKind::RelPos);
        b.add(p + ".attn.rel_pos_w", {span, headDim}, TensorRole::Parameter, ValueKind::RelPos);
        b.linear(p + ".attn.qkv", 3 * dim, dim);
        b.linear(p + ".attn.proj", dim, dim);
        b.norm(p + ".norm2", dim);
        b.linear(p + ".mlp.lin1", mlp, dim);
        b.linear(p + ".mlp.lin2", dim, mlp);
    }
    b.conv("image_encoder.neck.0", {promptDim, dim, 1, 1}, false);
    b.norm("image_encoder.neck.1", promptDim);
    b.conv("image_encoder.neck.2", {promptDim, promptDim, 3, 3}, false);
    b.norm("image_encoder.neck.3", promptDim);

    // PromptEncoder(embed_dim 256, mask_in_chans 16).
    b.add("prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", {2, promptDim / 2}, TensorRole::Buffer,
          ValueKind::Embedding);
    for (int i = 0; i < 4; ++i)
        b.embedding("prompt_encoder.point_embeddings." + std::to_string(i), 1, promptDim);
    b.embedding("prompt_encoder.not_a_point_embed", 1, promptDim);
    b.conv("prompt_encoder.mask_downscaling.0", {4, 1, 2, 2});
    b.norm("prompt_encoder.mask_downscaling.1", 4);
    b.conv("prompt_encoder.mask_downscaling.3", {16, 4, 2, 2});
    b.norm("prompt_encoder.mask_downscaling.4", 16);
    b.conv("prompt_encoder.mask_downscaling.6", {promptDim, 16, 1, 1});
    b.embedding("prompt_encoder.no_mask_embed", 1, promptDim);

    // MaskDecoder(TwoWayTransformer(depth 2, dim 256, mlp 2048, heads 8), 3 multimask outputs,
    // IoU head depth 3 / hidden 256).
    constexpr std::int64_t decoderMlp = 2048, maskTokens = 4, upscaled = promptDim / 8;
    for (int i = 0; i < 2; ++i) {
        const std::string p = "mask_decoder.transformer.layers." + std::to_string(i);
        b.decoderAttention(p + ".self_attn", promptDim, 1);
        b.norm(p + ".norm1", promptDim);
        b.decoderAttention(p + ".cross_attn_token_to_image", promptDim, 2);
        b.norm(p + ".norm2", promptDim);
        b.linear(p + ".mlp.lin1", decoderMlp, promptDim);
        b.linear(p + ".mlp.lin2", promptDim, decoderMlp);
        b.norm(p + ".norm3", promptDim);
        b.norm(p + ".norm4", promptDim);
        b.decoderAttention(p + ".cross_attn_image_to_token", promptDim, 2);
    }
    b.decoderAttention("mask_decoder.transformer.final_attn_token_to_image", promptDim, 2);
    b.norm("mask_decoder.transformer.norm_final_attn", promptDim);
    b.embedding("mask_decoder.iou_token", 1, promptDim);
    b.embedding("mask_decoder.mask_tokens", maskTokens, promptDim);
    b.convTranspose("mask_decoder.output_upscaling.0", promptDim, promptDim / 4, 2);
    b.norm("mask_decoder.output_upscaling.1", promptDim / 4);
    b.convTranspose("mask_decoder.output_upscaling.3", promptDim / 4, upscaled, 2);
    for (int i = 0; i < maskTokens; ++i) {
        const std::string p = "mask_decoder.output_hypernetworks_mlps." + std::to_string(i) + ".layers.";
        b.linear(p + "0", promptDim, promptDim);
        b.linear(p + "1", promptDim, promptDim);
        b.linear(p + "2", upscaled, promptDim);
    }
    b.linear("mask_decoder.iou_prediction_head.layers.0", 256, promptDim);
    b.linear("mask_decoder.iou_prediction_head.layers.1", 256, 256);
    b.linear("mask_decoder.iou_prediction_head.layers.2", maskTokens, 256);
    return b.take();
}

io::StateDict makeSyntheticCheckpoint(const std::vector<SyntheticTensorSpec>& spec, std::uint64_t seed)
{
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    io::StateDict out;
    for (const SyntheticTensorSpec& s : spec) {
        const auto normal = [&](double mean, double stddev) {
            return at::normal(mean, stddev, s.shape, gen, at::TensorOptions().dtype(at::kFloat));
        };
        at::Tensor t;
        switch (s.kind) {
        case ValueKind::LinearOrConvWeight: {
            const at::Tensor tails = at::rand(s.shape, gen, at::TensorOptions().dtype(at::kFloat)).lt(0.01);
            t = at::where(tails, normal(0.0, 0.08), normal(0.0, 0.02));
            break;
        }
        case ValueKind::Bias:
        case ValueKind::PosEmbed:
            t = normal(0.0, 0.02);
            break;
        case ValueKind::NormWeight:
            t = normal(1.0, 0.1);
            break;
        case ValueKind::NormBias:
            t = normal(0.0, 0.05);
            break;
        case ValueKind::RelPos:
            t = normal(0.0, 0.05);
            break;
        case ValueKind::Embedding:
            t = normal(0.0, 1.0);
            break;
        }
        out.insert(s.name, t);
    }
    return out;
}

std::vector<codec::TensorRole> rolesOf(const std::vector<SyntheticTensorSpec>& spec)
{
    std::vector<codec::TensorRole> roles;
    roles.reserve(spec.size());
    for (const auto& s : spec)
        roles.push_back(s.role);
    return roles;
}

}  // namespace birkhoff::bench
