// A checkpoint with its tensor roles, built tensor by tensor, and a report-row lookup: what the
// whole-model codec tests (compressor, rate-distortion) share.
#pragma once

#include "core/codec/report.h"
#include "core/codec/settings.h"
#include "core/io/state_dict.h"

#include <ATen/core/Tensor.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace birkhoff::test {

struct CodecTestModel {
    io::StateDict tensors;
    std::vector<codec::TensorRole> roles;

    void add(const std::string& name, at::Tensor tensor, codec::TensorRole role)
    {
        tensors.insert(name, std::move(tensor));
        roles.push_back(role);
    }
};

/// The report row of tensor `name`. @throws std::runtime_error if there is none.
inline const codec::TensorReport& reportRow(const codec::CompressionReport& report, const std::string& name)
{
    for (const auto& t : report.tensors)
        if (t.name == name)
            return t;
    throw std::runtime_error("no report row " + name);
}

}  // namespace birkhoff::test
