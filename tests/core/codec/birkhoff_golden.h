// Access to the golden outputs of the authors' Birkhoff encoder (../shared/golden/birkhoff):
// every case of manifest.json with its tensors, the input, the official stored indices, the
// near-tie mask and the official decoded tensor. Used by the format and codec golden tests.
#pragma once

#include "core/codec/settings.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace birkhoff::test {

struct GoldenBirkhoffTensor {
    std::string name;
    nlohmann::json info;      ///< the manifest entry (routing, U, K, uint_i, search, ...)
    codec::TensorRole role = codec::TensorRole::Parameter;
    at::Tensor input;         ///< the original tensor
    at::Tensor indices;       ///< official stored indices (int32); undefined for raw tensors
    at::Tensor nearTie;       ///< uint8 mask, same shape as indices
    at::Tensor decoded;       ///< official decoder output (the input itself for raw tensors)
    at::Tensor pairs;         ///< padded pairs [n, 2] (tensor cases only; undefined for model1)
    float center[2] = {0.f, 0.f};   ///< official center_node (encoded tensors)
    bool hasPadValue = false;
    float padValue = 0.f;     ///< official pad element when padded
};

struct GoldenBirkhoffCase {
    std::string name;
    nlohmann::json hyperparameters;
    std::string hyperFile;    ///< official hyper_model.safetensors of the case (absolute path)
    std::string inputFile;    ///< model cases: the input state dict
    std::vector<GoldenBirkhoffTensor> tensors;  ///< manifest order
};

/// The manifest (throws if absent; call BIRKHOFF_REQUIRE_GOLDEN first).
nlohmann::json loadBirkhoffManifest();

/// Every case of the manifest with its tensors loaded.
std::vector<GoldenBirkhoffCase> loadBirkhoffGoldenCases();

/// Role from the manifest's routing field ("linear", "non-linear", "buffer", "small(<10)").
codec::TensorRole roleFromRouting(const std::string& routing);

}  // namespace birkhoff::test
