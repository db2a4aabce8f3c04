// Benchmark and test inputs for HyperLinear: Linear weights drawn like trained SAM weights and
// their compressed form with the paper's default lattice, without reading a model.
//
// encodeLinearWeight() is a small stand-alone Hyper-Compression encoder for such inputs: l and
// U fixed (paper defaults l = 0.1, U = 1225), K = 1 whenever a pair lies outside the square
// (what the authors' search picks for SAM ViT-B's Linear weights: U = 1225, K = 1), every pair
// scaled as the authors' encoder does and mapped to the nearest lattice point by a local search.
// Its indices are valid and near-optimal but not guaranteed identical to the authors' encoder;
// files meant to match the official ones come from core/codec.
#pragma once

#include "core/format/encoded_tensor.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace birkhoff::bench {

/// A float32 [out, in] weight like a trained SAM Linear weight: N(0, 0.02) with about 0.1% of
/// the entries replaced by outliers of 4 to 10 standard deviations. Deterministic in `seed`.
at::Tensor samLikeLinearWeight(std::int64_t outFeatures, std::int64_t inFeatures, std::uint64_t seed);

/// Encodes a 2-D float32 weight as a LoadType::LinearMatrix tensor named `name` (see the file
/// comment). An odd `in` gets the authors' pad column (mean of the pairs' second coordinates).
/// @throws Error if `weight` is not a 2-D float tensor, is empty or holds non-finite values, or
///   if U is not a perfect square in [1, kernels::kMaxU].
format::EncodedTensor encodeLinearWeight(const std::string& name, const at::Tensor& weight, float l = 0.1f,
                                         std::uint32_t U = 1225);

}  // namespace birkhoff::bench
