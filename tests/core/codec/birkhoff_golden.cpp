// Loading of the Birkhoff golden cases.
#include "tests/core/codec/birkhoff_golden.h"

#include "core/io/safetensors.h"
#include "tests/support/test_data.h"

#include <QFile>

#include <stdexcept>

namespace birkhoff::test {

namespace {

std::string goldenFile(const std::string& relative)
{
    return goldenPath(QStringLiteral("birkhoff/") + QString::fromStdString(relative)).toStdString();
}

at::Tensor optional(const io::StateDict& dict, const std::string& key)
{
    const at::Tensor* t = dict.find(key);
    return t == nullptr ? at::Tensor() : *t;
}

}  // namespace

nlohmann::json loadBirkhoffManifest()
{
    QFile f(goldenPath(QStringLiteral("birkhoff/manifest.json")));
    if (!f.open(QIODevice::ReadOnly))
        throw std::runtime_error("cannot open the Birkhoff golden manifest");
    return nlohmann::json::parse(f.readAll().toStdString());
}

codec::TensorRole roleFromRouting(const std::string& routing)
{
    if (routing == "linear")
        return codec::TensorRole::LinearWeight;
    if (routing == "buffer")
        return codec::TensorRole::Buffer;
    return codec::TensorRole::Parameter;
}

std::vector<GoldenBirkhoffCase> loadBirkhoffGoldenCases()
{
    const nlohmann::json manifest = loadBirkhoffManifest();
    std::vector<GoldenBirkhoffCase> cases;
    for (auto it = manifest.at("cases").begin(); it != manifest.at("cases").end(); ++it) {
        GoldenBirkhoffCase c;
        c.name = it.key();
        const nlohmann::json& m = it.value();
        c.hyperparameters = m.at("hyperparameters");
        const nlohmann::json& files = m.at("files");
        c.hyperFile = goldenFile(files.at("official_hyper").get<std::string>());
        const bool isModel = files.contains("input");
        io::StateDict golden, input, decoded;
        if (isModel) {
            c.inputFile = goldenFile(files.at("input").get<std::string>());
            input = io::readSafetensors(c.inputFile).tensors;
            golden = io::readSafetensors(goldenFile(files.at("golden_extra").get<std::string>())).tensors;
            decoded = io::readSafetensors(goldenFile(files.at("official_decoded_standard").get<std::string>())).tensors;
        } else {
            golden = io::readSafetensors(goldenFile(files.at("golden").get<std::string>())).tensors;
        }
        for (auto t = m.at("tensors").begin(); t != m.at("tensors").end(); ++t) {
            GoldenBirkhoffTensor g;
            g.name = t.key();
            g.info = t.value();
            g.role = roleFromRouting(g.info.at("routing").get<std::string>());
            if (isModel) {
                g.input = input.at(g.name);
                g.decoded = optional(decoded, g.name);
            } else {
                g.input = golden.at(g.name + ".input");
                g.decoded = optional(golden, g.name + ".decoded");
                g.pairs = optional(golden, g.name + ".pairs");
            }
            if (!g.decoded.defined())
                g.decoded = g.input;
            g.indices = optional(golden, g.name + ".indices");
            g.nearTie = optional(golden, g.name + ".near_tie");
            if (g.info.contains("center_node")) {
                g.center[0] = g.info.at("center_node").at(0).get<float>();
                g.center[1] = g.info.at("center_node").at(1).get<float>();
            }
            if (g.info.value("if_padding", 0) != 0) {
                // The pad element is the last coordinate of the official padded pairs.
                if (!g.pairs.defined())
                    throw std::runtime_error("golden tensor " + g.name + " is padded but has no pairs");
                g.hasPadValue = true;
                const at::Tensor pairs = g.pairs.contiguous();
                g.padValue = pairs.data_ptr<float>()[pairs.numel() - 1];
            }
            c.tensors.push_back(std::move(g));
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

}  // namespace birkhoff::test
