// EdgeSAM RepViT encoder.
#include "core/models/rep_vit.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

namespace birkhoff::models {

/// timm's SqueezeExcite (SEModule): mean over the grid -> fc1 -> ReLU -> fc2 -> sigmoid gate.
class SqueezeExciteImpl : public torch::nn::Module {
public:
    SqueezeExciteImpl(std::int64_t channels, std::int64_t reduced)
    {
        fc1_ = register_module("fc1", Conv2d(Conv2dImpl::Options{channels, reduced, 1, 1, 0, 1, true}));
        fc2_ = register_module("fc2", Conv2d(Conv2dImpl::Options{reduced, channels, 1, 1, 0, 1, true}));
    }
    at::Tensor forward(const at::Tensor& x) const
    {
        const at::Tensor squeezed = x.mean({2, 3}, /*keepdim=*/true);
        return x * at::sigmoid(fc2_->forward(at::relu(fc1_->forward(squeezed))));
    }

private:
    Conv2d fc1_{nullptr};
    Conv2d fc2_{nullptr};
};

class RepVitBlockImpl : public torch::nn::Module {
public:
    explicit RepVitBlockImpl(const RepVitBlockConfig& c) : downsample_(c.stride == 2)
    {
        auto mixer = register_module("token_mixer", std::make_shared<torch::nn::Module>());
        if (downsample_) {
            dwConv_ = mixer->register_module("0", Conv2dBn(c.in, c.in, c.kernel, 2, (c.kernel - 1) / 2, c.in));
            pointConv_ = mixer->register_module("2", Conv2dBn(c.in, c.out, 1, 1, 0, 1));
        } else {
            if (c.in != c.out)
                throw Error("RepViT block: a stride-1 block must keep its width (" + std::to_string(c.in) + " -> " +
                            std::to_string(c.out) + ")");
            auto repvgg = mixer->register_module("0", std::make_shared<torch::nn::Module>());
            dwConv_ = repvgg->register_module("conv", Conv2dBn(c.in, c.in, 3, 1, 1, c.in));
            dwConv1x1_ = repvgg->register_module("conv1", Conv2dBn(c.in, c.in, 1, 1, 0, c.in));
        }
        if (c.seHidden > 0)
            se_ = mixer->register_module("1", std::make_shared<SqueezeExciteImpl>(c.in, c.seHidden));
        auto channelMixer = register_module("channel_mixer", std::make_shared<torch::nn::Module>());
        auto m = channelMixer->register_module("m", std::make_shared<torch::nn::Module>());
        expand_ = m->register_module("0", Conv2dBn(c.out, c.hidden, 1, 1, 0, 1));
        reduce_ = m->register_module("2", Conv2dBn(c.hidden, c.out, 1, 1, 0, 1));
    }

    at::Tensor forward(const at::Tensor& x) const
    {
        at::Tensor y;
        if (downsample_) {
            y = dwConv_->forward(x);
            if (se_)
                y = se_->forward(y);
            y = pointConv_->forward(y);
        } else {
            y = dwConv_->forward(x) + dwConv1x1_->forward(x) + x;
            if (se_)
                y = se_->forward(y);
        }
        return y + reduce_->forward(geluExact(expand_->forward(y)));
    }

private:
    bool downsample_;
    Conv2dBn dwConv_{nullptr};
    Conv2dBn dwConv1x1_{nullptr};
    Conv2dBn pointConv_{nullptr};
    std::shared_ptr<SqueezeExciteImpl> se_;
    Conv2dBn expand_{nullptr};
    Conv2dBn reduce_{nullptr};
};

std::vector<std::int64_t> repVitStageEnds(const RepVitConfig& config)
{
    std::vector<std::int64_t> ends;
    std::int64_t previous = config.stemOut;
    for (std::size_t i = 0; i < config.blocks.size(); ++i) {
        if (config.blocks[i].out != previous) {
            ends.push_back(static_cast<std::int64_t>(i) - 1);
            previous = config.blocks[i].out;
        }
    }
    ends.push_back(static_cast<std::int64_t>(config.blocks.size()) - 1);
    return ends;
}

RepVitEncoder::RepVitEncoder(const RepVitConfig& config) : config_(config)
{
    const std::int64_t count = static_cast<std::int64_t>(config.blocks.size());
    if (config.fuseStage2Block < 0 || config.fuseStage2Block >= count || config.fuseStage3Block < 0 ||
        config.fuseStage3Block >= count)
        throw Error("RepViT encoder: the fused stages lie outside the " + std::to_string(count) + " blocks");
    auto features = register_module("features", torch::nn::ModuleList());
    auto stem = std::make_shared<torch::nn::Module>();
    stem1_ = stem->register_module("0", Conv2dBn(config.inChans, config.stemHidden, 3, 2, 1, 1));
    stem2_ = stem->register_module("2", Conv2dBn(config.stemHidden, config.stemOut, 3, 2, 1, 1));
    features->push_back(stem);
    for (const auto& b : config.blocks) {
        auto block = std::make_shared<RepVitBlockImpl>(b);
        features->push_back(block);
        blocks_.push_back(block);
    }
    const std::int64_t stage2 = config.blocks[static_cast<std::size_t>(config.fuseStage2Block)].out;
    const std::int64_t stage3 = config.blocks[static_cast<std::size_t>(config.fuseStage3Block)].out;
    fuseStage2_ = register_module("fuse_stage2", Conv2d(Conv2dImpl::Options{stage2, config.fuseWidth, 1, 1, 0, 1, false}));
    auto fuse3 = register_module("fuse_stage3", std::make_shared<torch::nn::Module>());
    auto ops = fuse3->register_module("op_list", torch::nn::ModuleList());
    fuseStage3_ = Conv2d(Conv2dImpl::Options{stage3, config.fuseWidth, 1, 1, 0, 1, false});
    ops->push_back(fuseStage3_);
    auto neck = register_module("neck", std::make_shared<torch::nn::Module>());
    neckConv1_ = neck->register_module("0", Conv2d(Conv2dImpl::Options{config.fuseWidth, config.outChans, 1, 1, 0, 1, false}));
    neckNorm1_ = neck->register_module("1", LayerNorm2d(config.outChans));
    neckConv2_ = neck->register_module("2", Conv2d(Conv2dImpl::Options{config.outChans, config.outChans, 3, 1, 1, 1, false}));
    neckNorm2_ = neck->register_module("3", LayerNorm2d(config.outChans));
}

at::Tensor RepVitEncoder::forward(const at::Tensor& image) const
{
    at::Tensor x = stem2_->forward(geluExact(stem1_->forward(image)));
    at::Tensor stage2, stage3;
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
        x = blocks_[i]->forward(x);
        if (static_cast<std::int64_t>(i) == config_.fuseStage2Block)
            stage2 = x;
        if (static_cast<std::int64_t>(i) == config_.fuseStage3Block)
            stage3 = x;
    }
    at::Tensor low = fuseStage3_->forward(stage3);
    const std::int64_t h = low.size(2) * 2, w = low.size(3) * 2;
    low = config_.upsampleBicubic ? at::upsample_bicubic2d(low, {h, w}, /*align_corners=*/false, 2.0, 2.0)
                                  : at::upsample_bilinear2d(low, {h, w}, /*align_corners=*/false, 2.0, 2.0);
    x = fuseStage2_->forward(stage2) + low;
    x = neckNorm1_->forward(neckConv1_->forward(x));
    return neckNorm2_->forward(neckConv2_->forward(x));
}

}  // namespace birkhoff::models
