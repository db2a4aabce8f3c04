// Separable bilinear resize with PyTorch's align_corners=False arithmetic.
#include "core/predict/upsample.h"

#include "core/util/error.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace birkhoff::predict {
namespace {

struct Taps {
    std::vector<std::int64_t> first;   ///< lower source index
    std::vector<std::int64_t> second;  ///< upper source index (== first at the border)
    std::vector<float> w0;
    std::vector<float> w1;
};

Taps taps(std::int64_t inputSize, std::int64_t outputSize, float ratio)
{
    Taps t;
    t.first.resize(static_cast<std::size_t>(outputSize));
    t.second.resize(static_cast<std::size_t>(outputSize));
    t.w0.resize(static_cast<std::size_t>(outputSize));
    t.w1.resize(static_cast<std::size_t>(outputSize));
    for (std::int64_t i = 0; i < outputSize; ++i) {
        float source = ratio * (static_cast<float>(i) + 0.5f) - 0.5f;
        if (source < 0.0f)
            source = 0.0f;
        const std::int64_t index = std::min(static_cast<std::int64_t>(std::floor(source)), inputSize - 1);
        const float lambda = std::min(std::max(source - static_cast<float>(index), 0.0f), 1.0f);
        const auto k = static_cast<std::size_t>(i);
        t.first[k] = index;
        t.second[k] = index + (index < inputSize - 1 ? 1 : 0);
        t.w1[k] = lambda;
        t.w0[k] = 1.0f - lambda;
    }
    return t;
}

}  // namespace

at::Tensor resizeBilinear(const at::Tensor& maps, std::int64_t outH, std::int64_t outW, float ratioH, float ratioW)
{
    if (maps.dim() != 3 || maps.scalar_type() != at::kFloat)
        throw Error("resizeBilinear needs float maps [K, h, w]");
    const at::Tensor src = maps.contiguous();
    const std::int64_t count = src.size(0), h = src.size(1), w = src.size(2);
    const Taps rows = taps(h, outH, ratioH);
    const Taps cols = taps(w, outW, ratioW);
    const std::int64_t usedRows = outH > 0 ? std::min(h, rows.second.back() + 1) : 0;

    at::Tensor out = at::empty({count, outH, outW}, at::kFloat);
    std::vector<float> horizontal(static_cast<std::size_t>(count * usedRows * outW));
    const float* in = src.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    const std::int64_t horizontalRows = count * usedRows;
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < horizontalRows; ++r) {
        const float* line = in + (r / usedRows) * h * w + (r % usedRows) * w;
        float* result = horizontal.data() + r * outW;
        for (std::int64_t x = 0; x < outW; ++x) {
            const auto k = static_cast<std::size_t>(x);
            float v = line[cols.first[k]] * cols.w0[k];
            v += line[cols.second[k]] * cols.w1[k];
            result[x] = v;
        }
    }
    const std::int64_t outputRows = count * outH;
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < outputRows; ++r) {
        const std::int64_t map = r / outH;
        const auto y = static_cast<std::size_t>(r % outH);
        const float* top = horizontal.data() + (map * usedRows + rows.first[y]) * outW;
        const float* bottom = horizontal.data() + (map * usedRows + rows.second[y]) * outW;
        const float w0 = rows.w0[y], w1 = rows.w1[y];
        float* result = dst + r * outW;
        for (std::int64_t x = 0; x < outW; ++x) {
            float v = top[x] * w0;
            v += bottom[x] * w1;
            result[x] = v;
        }
    }
    return out;
}

}  // namespace birkhoff::predict
