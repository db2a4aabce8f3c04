// Helpers shared by the SAM model and predictor tests.
#include "tests/core/models/model_test_support.h"

#include "core/io/safetensors.h"
#include "tests/support/test_data.h"

#include <ATen/ATen.h>

#include <QTest>

#include <fstream>

namespace birkhoff::test {

io::StateDict goldenTensors(const QString& relative)
{
    return io::readSafetensors(goldenPath(relative).toStdString()).tensors;
}

nlohmann::json goldenJson(const QString& relative)
{
    std::ifstream in(goldenPath(relative).toStdString());
    return nlohmann::json::parse(in);
}

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b)
{
    if (a.sizes() != b.sizes())
        return std::numeric_limits<double>::infinity();
    return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

double scaledDiff(const at::Tensor& a, const at::Tensor& ref)
{
    const double scale = std::max(1.0, ref.to(at::kFloat).abs().max().item<double>());
    return maxAbsDiff(a, ref) / scale;
}

void expectClose(const at::Tensor& actual, const io::StateDict& golden, const std::string& name, double tolerance,
                 const QString& where)
{
    const at::Tensor& ref = golden.at(name);
    QVERIFY2(actual.sizes() == ref.sizes(), qPrintable(where + QStringLiteral(": ") + QString::fromStdString(name) +
                                                      QStringLiteral(" shape differs")));
    const double abs = maxAbsDiff(actual, ref);
    const double scaled = scaledDiff(actual, ref);
    qInfo("%s %s: max abs diff %.3g (scaled %.3g, tolerance %.1g)", qPrintable(where), name.c_str(), abs, scaled,
          tolerance);
    QVERIFY2(scaled <= tolerance, qPrintable(where + QStringLiteral(": ") + QString::fromStdString(name) +
                                             QStringLiteral(" differs by %1").arg(scaled)));
}

predict::Prompt promptFromManifest(const nlohmann::json& manifest)
{
    predict::Prompt prompt;
    const auto& p = manifest["prompt"];
    for (std::size_t i = 0; i < p["point_coords"].size(); ++i)
        prompt.points.push_back({p["point_coords"][i][0].get<double>(), p["point_coords"][i][1].get<double>(),
                                 p["point_labels"][i].get<int>()});
    if (!p["box"].is_null())
        prompt.box = predict::BoxPrompt{p["box"][0].get<double>(), p["box"][1].get<double>(), p["box"][2].get<double>(),
                                        p["box"][3].get<double>()};
    return prompt;
}

io::StateDict randomCheckpoint(const models::SamConfig& config, std::uint64_t seed)
{
    models::SamModel model(config);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    io::StateDict out;
    auto fill = [&](const std::string& name, const at::Tensor& like) {
        at::Tensor t;
        if (like.scalar_type() == at::kLong) {
            t = at::zeros(like.sizes(), at::kLong);
        } else if (name.size() > 12 && name.compare(name.size() - 11, 11, "running_var") == 0) {
            t = at::rand(like.sizes(), generator) + 0.5;
        } else if (like.dim() == 1 && name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) {
            t = at::rand(like.sizes(), generator) * 0.2 + 0.9;  // norm scales near 1
        } else {
            t = at::randn(like.sizes(), generator) * 0.1;
        }
        out.insert(name, t.to(at::kFloat).to(like.scalar_type()));
    };
    for (const auto& p : model.named_parameters(true))
        fill(p.key(), p.value());
    for (const auto& b : model.named_buffers(true))
        fill(b.key(), b.value());
    return out;
}

models::SamConfig smallVitConfig()
{
    models::SamConfig c;
    c.encoder = models::EncoderKind::Vit;
    c.variant = "vit-small-test";
    c.imageSize = 64;
    c.embeddingSize = 8;
    c.vit.patchSize = 8;
    c.vit.embedDim = 32;
    c.vit.depth = 2;
    c.vit.numHeads = 2;
    c.vit.mlpDim = 64;
    c.vit.outChans = 16;
    c.vit.windowSize = 3;
    c.vit.globalAttnIndexes = {1};
    c.vit.posEmbedGrid = 8;
    c.head.promptEmbedDim = 16;
    c.head.maskInChans = 8;
    c.head.transformerMlpDim = 32;
    c.head.transformerNumHeads = 2;
    c.head.iouHeadHiddenDim = 16;
    return c;
}

models::SamConfig smallTinyVitConfig()
{
    models::SamConfig c;
    c.encoder = models::EncoderKind::TinyVit;
    c.variant = "tinyvit-small-test";
    c.imageSize = 128;
    c.embeddingSize = 8;
    c.tinyVit.embedDims = {16, 32, 40, 80};
    c.tinyVit.depths = {1, 1, 2, 1};
    c.tinyVit.numHeads = {1, 2, 2, 4};
    c.tinyVit.windowSizes = {0, 3, 5, 3};
    c.tinyVit.mlpDims = {0, 64, 80, 160};
    c.tinyVit.mbconvHidden = 64;
    c.tinyVit.mergeStrides = {2, 2, 1};
    c.tinyVit.outChans = 16;
    c.tinyVit.numClasses = 10;
    c.head.promptEmbedDim = 16;
    c.head.maskInChans = 8;
    c.head.transformerMlpDim = 32;
    c.head.transformerNumHeads = 2;
    c.head.iouHeadHiddenDim = 16;
    return c;
}

}  // namespace birkhoff::test
