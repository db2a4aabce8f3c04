// hyper_model.safetensors writer (authors' layout + our metadata).
#include "core/format/compressed_writer.h"

#include "core/format/tensor_record.h"
#include "core/util/error.h"
#include "core/util/runtime.h"
#include "kernels/bitpack.h"

#include <ATen/Functions.h>
#include <c10/util/Half.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace birkhoff::format {

namespace {

at::Tensor u8Scalar(std::uint32_t v)
{
    return at::scalar_tensor(static_cast<std::int64_t>(v), at::kByte);
}

at::Tensor floatPair(const float v[2])
{
    at::Tensor t = at::empty({2}, at::kFloat);
    t.data_ptr<float>()[0] = v[0];
    t.data_ptr<float>()[1] = v[1];
    return t;
}

bool sameFloat(float a, float b)
{
    return std::memcmp(&a, &b, sizeof(float)) == 0;
}

void checkConsistent(const CompressedModel& model, const EncodedTensor& t)
{
    const std::string w = "cannot write tensor '" + t.name + "': ";
    if (!t.isEncoded()) {
        if (!t.raw.defined())
            throw Error(w + "raw tensor without data");
        return;
    }
    if (t.uPosition >= model.uList.size() || model.uList[t.uPosition] != t.U)
        throw Error(w + "U = " + std::to_string(t.U) + " is not at position " + std::to_string(t.uPosition)
                    + " of the U list");
    const auto count = static_cast<std::size_t>(t.indexCount());
    if (!t.packed.defined() || t.packed.scalar_type() != at::kByte
        || t.packed.numel() != static_cast<std::int64_t>(kernels::packedByteCount(count, t.bits)))
        throw Error(w + "packed index stream does not match " + std::to_string(count) + " indices of "
                    + std::to_string(t.bits) + " bits");
    if (!t.rowScale.empty()) {
        if (static_cast<std::int64_t>(t.rowScale.size()) != t.scaleRows())
            throw Error(w + "row scale has " + std::to_string(t.rowScale.size()) + " entries, expected "
                        + std::to_string(t.scaleRows()));
        for (float v : t.rowScale)
            if (!std::isfinite(v) || static_cast<float>(c10::Half(v)) != v)
                throw Error(w + "row scale " + std::to_string(v) + " is not a finite float16 value");
    }
}

bool hasOwnL(const CompressedModel& model, const EncodedTensor& t)
{
    return t.isEncoded() && !sameFloat(t.l, model.l);
}

}  // namespace

io::StateDict compressedFileTensors(const CompressedModel& model)
{
    io::StateDict out;
    out.insert("rect_l", at::scalar_tensor(static_cast<double>(model.l), at::kFloat));
    at::Tensor uList = at::empty({static_cast<std::int64_t>(model.uList.size())}, at::kLong);
    for (std::size_t i = 0; i < model.uList.size(); ++i)
        uList.data_ptr<std::int64_t>()[i] = model.uList[i];
    out.insert("num_inner_list", uList);

    for (const EncodedTensor& t : model.tensors) {
        checkConsistent(model, t);
        const std::string& n = t.name;
        if (!t.isEncoded()) {
            out.insert(n + ".origin_param", t.raw);
            out.insert(n + ".load_type", t.loadTypeIsVector ? at::zeros({1}, at::kByte) : u8Scalar(0));
            continue;
        }
        at::Tensor shape = at::empty({static_cast<std::int64_t>(t.shape.size())}, at::kLong);
        std::copy(t.shape.begin(), t.shape.end(), shape.data_ptr<std::int64_t>());
        out.insert(n + ".load_type", u8Scalar(static_cast<std::uint32_t>(t.loadType)));
        if (t.entropyCoded) {
            const std::vector<std::uint8_t> record = encodeTensorRecord(t);
            at::Tensor bytes = at::empty({static_cast<std::int64_t>(record.size())}, at::kByte);
            std::copy(record.begin(), record.end(), bytes.data_ptr<std::uint8_t>());
            out.insert(n + ".record", bytes);
            continue;
        }
        out.insert(n + ".encoded_index", t.packed);
        if (!t.rowScale.empty()) {
            at::Tensor scale = at::empty({static_cast<std::int64_t>(t.rowScale.size())}, at::kFloat);
            std::copy(t.rowScale.begin(), t.rowScale.end(), scale.data_ptr<float>());
            out.insert(n + ".row_scale", scale.to(at::kHalf));
        }
        out.insert(n + ".if_padding", u8Scalar(t.padded ? 1 : 0));
        out.insert(n + ".center_node", floatPair(t.center));
        out.insert(n + ".farthest_node", floatPair(t.farthest));
        out.insert(n + ".U", u8Scalar(t.uPosition));
        out.insert(n + ".K", u8Scalar(t.K));
        out.insert(n + ".original_shape", shape);
        out.insert(n + ".padding_bits", u8Scalar(t.padBits));
        out.insert(n + ".uint_i", u8Scalar(t.bits));
        if (hasOwnL(model, t))
            out.insert(n + ".rect_l", at::scalar_tensor(static_cast<double>(t.l), at::kFloat));
    }
    return out;
}

io::SafetensorsMetadata compressedFileMetadata(const CompressedModel& model)
{
    io::SafetensorsMetadata meta;
    for (const auto& kv : model.metadata)
        if (kv.first != kMetaFormat && kv.first != kMetaWriter && kv.first != kMetaTensorOrder
            && kv.first != kMetaExtensions)
            meta.push_back(kv);
    meta.emplace_back(kMetaFormat, kFormatTag);
    meta.emplace_back(kMetaWriter, "birkhoff-studio " + versionString());
    nlohmann::json order = nlohmann::json::array();
    for (const auto& t : model.tensors)
        order.push_back(t.name);
    meta.emplace_back(kMetaTensorOrder, order.dump());

    std::vector<std::string> extensions = model.extensions;
    const bool ownL = std::any_of(model.tensors.begin(), model.tensors.end(),
                                  [&](const EncodedTensor& t) { return hasOwnL(model, t); });
    auto mark = [&](bool used, const char* name) {
        if (used && std::find(extensions.begin(), extensions.end(), name) == extensions.end())
            extensions.push_back(name);
    };
    mark(ownL, extension::kPerTensorL);
    mark(std::any_of(model.tensors.begin(), model.tensors.end(), [](const EncodedTensor& t) { return !t.rowScale.empty(); }),
         extension::kRowScale);
    const bool records =
        std::any_of(model.tensors.begin(), model.tensors.end(), [](const EncodedTensor& t) { return t.entropyCoded; });
    mark(records, extension::kEntropyCoded);
    mark(records, extension::kTensorRecords);
    if (!extensions.empty())
        meta.emplace_back(kMetaExtensions, nlohmann::json(extensions).dump());
    return meta;
}

void writeCompressedModel(const std::filesystem::path& path, const CompressedModel& model)
{
    io::writeSafetensors(path, compressedFileTensors(model), compressedFileMetadata(model),
                         io::SafetensorsOrder::DtypeThenName);
}

std::uint64_t compressedFileSize(const CompressedModel& model)
{
    return io::safetensorsFileSize(compressedFileTensors(model), compressedFileMetadata(model),
                                   io::SafetensorsOrder::DtypeThenName);
}

std::uint64_t storedTensorBytes(const EncodedTensor& t, bool ownL)
{
    if (!t.isEncoded())
        return static_cast<std::uint64_t>(t.raw.numel()) * t.raw.element_size() + 1;
    if (t.entropyCoded)  // load_type + record
        return 1 + encodeTensorRecord(t).size();
    // encoded_index + 5 u8 scalars + load_type + center/farthest (16) + original_shape (+ rect_l)
    // (+ row_scale)
    return static_cast<std::uint64_t>(t.packed.numel()) + 6 + 16 + 8 * t.shape.size() + (ownL ? 4 : 0)
           + 2 * t.rowScale.size();
}

}  // namespace birkhoff::format
