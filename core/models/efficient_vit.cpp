// EfficientViT-SAM image encoder: EfficientViT-L backbone, SamNeck, LayerNorm2d.
#include "core/models/efficient_vit.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

namespace birkhoff::models {
namespace {

/// The library's "gelu" activation: nn.GELU(approximate="tanh").
at::Tensor geluTanh(const at::Tensor& x)
{
    return at::gelu(x, "tanh");
}

}  // namespace

/// efficientvit ConvLayer: Conv2d ("conv", same padding) -> optional BatchNorm2d ("norm") ->
/// optional GELU(tanh).
class EfficientVitConvLayerImpl : public torch::nn::Module {
public:
    struct Options {
        std::int64_t in = 0, out = 0, kernel = 1, stride = 1, groups = 1;
        bool bias = false;
        bool norm = true;
        bool act = false;
    };
    EfficientVitConvLayerImpl(const Options& o, double eps) : act_(o.act)
    {
        conv_ = register_module("conv", Conv2d(Conv2dImpl::Options{o.in, o.out, o.kernel, o.stride, o.kernel / 2,
                                                                   o.groups, o.bias}));
        if (o.norm)
            norm_ = register_module("norm", BatchNorm2d(o.out, eps));
    }
    at::Tensor forward(const at::Tensor& x) const
    {
        at::Tensor y = conv_->forward(x);
        if (norm_)
            y = norm_->forward(y);
        return act_ ? geluTanh(y) : y;
    }

private:
    bool act_;
    Conv2d conv_{nullptr};
    BatchNorm2d norm_{nullptr};
};

/// One backbone or neck block (see EfficientVitBlockKind); residual blocks add their input.
class EfficientVitBlockImpl : public torch::nn::Module {
public:
    EfficientVitBlockImpl(const EfficientVitBlockConfig& c, double eps) : config_(c)
    {
        using Conv = EfficientVitConvLayerImpl;
        auto conv = [eps](std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                          std::int64_t groups, bool bias, bool norm, bool act) {
            return std::make_shared<Conv>(Conv::Options{in, out, kernel, stride, groups, bias, norm, act}, eps);
        };
        const bool few = c.fewerNorm;
        switch (c.kind) {
        case EfficientVitBlockKind::Res: {
            auto main = register_module("main", std::make_shared<torch::nn::Module>());
            convs_.push_back(main->register_module("conv1", conv(c.in, c.mid, 3, c.stride, 1, few, !few, true)));
            convs_.push_back(main->register_module("conv2", conv(c.mid, c.out, 3, 1, 1, false, true, false)));
            break;
        }
        case EfficientVitBlockKind::FusedMb: {
            auto main = register_module("main", std::make_shared<torch::nn::Module>());
            convs_.push_back(main->register_module("spatial_conv", conv(c.in, c.mid, 3, c.stride, 1, few, !few, true)));
            convs_.push_back(main->register_module("point_conv", conv(c.mid, c.out, 1, 1, 1, false, true, false)));
            break;
        }
        case EfficientVitBlockKind::Mb: {
            auto main = register_module("main", std::make_shared<torch::nn::Module>());
            addMbConv(*main, c.in, c.mid, c.out, c.stride, few, eps);
            break;
        }
        case EfficientVitBlockKind::Attention: {
            if (c.heads <= 0 || c.attentionDim <= 0)
                throw Error("EfficientViT attention block: invalid heads/dim");
            const std::int64_t total = c.heads * c.attentionDim;
            auto context = register_module("context_module", std::make_shared<torch::nn::Module>());
            auto mla = context->register_module("main", std::make_shared<torch::nn::Module>());
            qkv_ = mla->register_module("qkv", conv(c.in, 3 * total, 1, 1, 1, false, false, false));
            auto aggreg = mla->register_module("aggreg", torch::nn::ModuleList());
            for (const auto scale : c.scales) {
                auto branch = std::make_shared<torch::nn::Module>();
                aggregDepthwise_.push_back(branch->register_module(
                    "0", Conv2d(Conv2dImpl::Options{3 * total, 3 * total, scale, 1, scale / 2, 3 * total, false})));
                aggregPointwise_.push_back(branch->register_module(
                    "1", Conv2d(Conv2dImpl::Options{3 * total, 3 * total, 1, 1, 0, 3 * c.heads, false})));
                aggreg->push_back(branch);
            }
            mlaProj_ = mla->register_module(
                "proj", conv(total * (1 + static_cast<std::int64_t>(c.scales.size())), c.out, 1, 1, 1, false, true, false));
            auto local = register_module("local_module", std::make_shared<torch::nn::Module>());
            auto main = local->register_module("main", std::make_shared<torch::nn::Module>());
            addMbConv(*main, c.out, c.mid, c.out, 1, /*fewerNorm=*/true, eps);
            break;
        }
        }
    }

    at::Tensor forward(const at::Tensor& x) const
    {
        if (config_.kind == EfficientVitBlockKind::Attention) {
            std::vector<at::Tensor> scales{qkv_->forward(x)};
            for (std::size_t i = 0; i < aggregDepthwise_.size(); ++i)
                scales.push_back(aggregPointwise_[i]->forward(aggregDepthwise_[i]->forward(scales.front())));
            const at::Tensor attended = liteMlaAttention(at::cat(scales, 1), config_.attentionDim);
            const at::Tensor mid = x + mlaProj_->forward(attended);
            return mid + runConvs(mid);
        }
        const at::Tensor y = runConvs(x);
        return config_.residual ? x + y : y;
    }

private:
    void addMbConv(torch::nn::Module& main, std::int64_t in, std::int64_t mid, std::int64_t out, std::int64_t stride,
                   bool fewerNorm, double eps)
    {
        using Conv = EfficientVitConvLayerImpl;
        convs_.push_back(main.register_module(
            "inverted_conv", std::make_shared<Conv>(Conv::Options{in, mid, 1, 1, 1, fewerNorm, !fewerNorm, true}, eps)));
        convs_.push_back(main.register_module(
            "depth_conv", std::make_shared<Conv>(Conv::Options{mid, mid, 3, stride, mid, fewerNorm, !fewerNorm, true}, eps)));
        convs_.push_back(main.register_module(
            "point_conv", std::make_shared<Conv>(Conv::Options{mid, out, 1, 1, 1, false, true, false}, eps)));
    }

    at::Tensor runConvs(const at::Tensor& x) const
    {
        at::Tensor y = x;
        for (const auto& c : convs_)
            y = c->forward(y);
        return y;
    }

    EfficientVitBlockConfig config_;
    std::vector<std::shared_ptr<EfficientVitConvLayerImpl>> convs_;  ///< the local convs in order
    std::shared_ptr<EfficientVitConvLayerImpl> qkv_;
    std::vector<Conv2d> aggregDepthwise_;
    std::vector<Conv2d> aggregPointwise_;
    std::shared_ptr<EfficientVitConvLayerImpl> mlaProj_;
};

at::Tensor liteMlaAttention(const at::Tensor& qkvAll, std::int64_t dim, double eps)
{
    const std::int64_t b = qkvAll.size(0), h = qkvAll.size(2), w = qkvAll.size(3);
    const at::Tensor qkv = qkvAll.reshape({b, -1, 3 * dim, h * w});
    const at::Tensor q = at::relu(qkv.narrow(2, 0, dim));
    const at::Tensor k = at::relu(qkv.narrow(2, dim, dim));
    const at::Tensor v = qkv.narrow(2, 2 * dim, dim);
    at::Tensor out;
    if (h * w > dim) {
        const at::Tensor paddedV = at::constant_pad_nd(v, {0, 0, 0, 1}, 1.0);  // a row of ones: the normaliser
        const at::Tensor vk = at::matmul(paddedV, k.transpose(-1, -2));
        const at::Tensor numerator = at::matmul(vk, q);
        out = numerator.narrow(2, 0, dim) / (numerator.narrow(2, dim, 1) + eps);
    } else {
        at::Tensor map = at::matmul(k.transpose(-1, -2), q);
        map = map / (map.sum(2, /*keepdim=*/true) + eps);
        out = at::matmul(v, map);
    }
    return out.reshape({b, -1, h, w});
}

EfficientVitEncoder::EfficientVitEncoder(const EfficientVitConfig& config, std::int64_t embeddingSize)
    : config_(config), embeddingSize_(embeddingSize)
{
    using Conv = EfficientVitConvLayerImpl;
    if (config.stages.empty())
        throw Error("EfficientViT encoder: no backbone stages");
    if (config.neckInputStages.size() != config.neckInputChannels.size() || config.neckInputStages.empty())
        throw Error("EfficientViT encoder: the neck needs one input channel count per input stage");
    auto backbone = register_module("backbone", std::make_shared<torch::nn::Module>());
    auto stageList = backbone->register_module("stages", torch::nn::ModuleList());
    for (std::size_t s = 0; s < config.stages.size(); ++s) {
        auto stage = std::make_shared<torch::nn::Module>();
        auto ops = stage->register_module("op_list", torch::nn::ModuleList());
        if (s == 0) {
            stem_ = std::make_shared<Conv>(Conv::Options{config.inChans, config.stemWidth, 3, 2, 1, false, true, true},
                                           config.normEps);
            ops->push_back(stem_);
        }
        std::vector<std::shared_ptr<EfficientVitBlockImpl>> blocks;
        for (const auto& b : config.stages[s]) {
            auto block = std::make_shared<EfficientVitBlockImpl>(b, config.normEps);
            ops->push_back(block);
            blocks.push_back(block);
        }
        stageList->push_back(stage);
        stages_.push_back(std::move(blocks));
    }

    auto neck = register_module("neck", std::make_shared<torch::nn::Module>());
    auto inputs = neck->register_module("input_ops", torch::nn::ModuleList());
    for (const auto channels : config.neckInputChannels) {
        auto op = std::make_shared<torch::nn::Module>();
        auto list = op->register_module("op_list", torch::nn::ModuleList());
        auto conv = std::make_shared<Conv>(Conv::Options{channels, config.headWidth, 1, 1, 1, false, true, false},
                                           config.normEps);
        list->push_back(conv);
        neckInputs_.push_back(conv);
        inputs->push_back(op);
    }
    auto middle = neck->register_module("middle", std::make_shared<torch::nn::Module>());
    auto middleList = middle->register_module("op_list", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < config.neckDepth; ++i) {
        EfficientVitBlockConfig b;
        b.kind = EfficientVitBlockKind::FusedMb;
        b.in = b.out = config.headWidth;
        b.mid = config.neckMid;
        auto block = std::make_shared<EfficientVitBlockImpl>(b, config.normEps);
        middleList->push_back(block);
        neckMiddle_.push_back(block);
    }
    auto outputs = neck->register_module("output_ops", torch::nn::ModuleList());
    auto output = std::make_shared<torch::nn::Module>();
    auto outputList = output->register_module("op_list", torch::nn::ModuleList());
    neckOutput_ = std::make_shared<Conv>(Conv::Options{config.headWidth, config.outChans, 1, 1, 1, true, false, false},
                                         config.normEps);
    outputList->push_back(neckOutput_);
    outputs->push_back(output);
    norm_ = register_module("norm", LayerNorm2d(config.outChans, config.normEps));
}

at::Tensor EfficientVitEncoder::forward(const at::Tensor& image) const
{
    std::vector<at::Tensor> stageOutputs;
    at::Tensor x = stem_->forward(image);
    for (const auto& stage : stages_) {
        for (const auto& block : stage)
            x = block->forward(x);
        stageOutputs.push_back(x);
    }
    at::Tensor fused;
    for (std::size_t k = 0; k < neckInputs_.size(); ++k) {
        const auto stage = static_cast<std::size_t>(config_.neckInputStages[k]);
        if (stage >= stageOutputs.size())
            throw Error("EfficientViT encoder: the neck reads stage " + std::to_string(stage) + " of " +
                        std::to_string(stageOutputs.size()));
        at::Tensor feature = neckInputs_[k]->forward(stageOutputs[stage]);
        if (feature.size(2) != embeddingSize_ || feature.size(3) != embeddingSize_)
            feature = at::upsample_bicubic2d(feature, {embeddingSize_, embeddingSize_}, /*align_corners=*/false);
        fused = fused.defined() ? fused + feature : feature;
    }
    for (const auto& block : neckMiddle_)
        fused = block->forward(fused);
    return norm_->forward(neckOutput_->forward(fused));
}

}  // namespace birkhoff::models
