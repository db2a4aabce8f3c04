// Bilinear resizing of mask logits with PyTorch's F.interpolate(mode="bilinear",
// align_corners=False) arithmetic: source coordinate (dst + 0.5) * ratio - 0.5 in float32
// (clamped at 0), floor index, lambda weights, width interpolated first and then height, in the
// same order as ATen's CPU kernel. It is separable (each source row is interpolated along the
// width once) and parallel over rows, so it is several times faster than at::upsample_bilinear2d
// on single-channel maps, which dominates SAM's post-processing at full image resolution.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace birkhoff::predict {

/// Resizes maps [K, h, w] (float32) to [K, outH, outW]. `ratioH`/`ratioW` are the source/target
/// scale PyTorch would use (input/output size, or 1/scale_factor when one is given). Only the
/// source rows/columns the output needs are read, so a crop of the full result can be computed
/// by passing a smaller output size with the full-size ratio.
at::Tensor resizeBilinear(const at::Tensor& maps, std::int64_t outH, std::int64_t outW, float ratioH, float ratioW);

}  // namespace birkhoff::predict
