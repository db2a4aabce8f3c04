// Reading, validating and decoding compressed models (hyper_model.safetensors).
#include "core/format/encoded_tensor.h"

#include "core/format/index_entropy_coder.h"
#include "core/format/index_packing.h"
#include "core/format/tensor_record.h"
#include "core/util/error.h"
#include "kernels/bitpack.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <unordered_map>

namespace birkhoff::format {

namespace {

constexpr const char* kLoadTypeSuffix = ".load_type";

// Per-tensor key suffixes of the format.
const char* const kEncodedSuffixes[] = {".encoded_index", ".uint_i", ".padding_bits", ".if_padding",
                                        ".center_node", ".farthest_node", ".U", ".K", ".original_shape"};
constexpr const char* kRawSuffix = ".origin_param";
constexpr const char* kTensorLSuffix = ".rect_l";
/// Largest index count of one entropy-coded tensor: a range-coded stream of a few bytes can
/// stand for very many indices of a constant tensor, so the count is bounded explicitly (2^31
/// pairs, over a thousand times the largest tensor of SAM ViT-H).
constexpr std::int64_t kMaxCodedIndices = std::int64_t(1) << 31;
constexpr const char* kRecordSuffix = ".record";  ///< extension "tensor_records" (core/format/tensor_record.h)

std::string quoted(const std::string& s)
{
    return "'" + s + "'";
}

// Natural order: digit runs compare by value, so "blocks.2" < "blocks.10".
bool naturalLess(const std::string& a, const std::string& b)
{
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
        const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
        if (da && db) {
            std::size_t ei = i, ej = j;
            while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei])))
                ++ei;
            while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej])))
                ++ej;
            std::size_t si = i, sj = j;
            while (si + 1 < ei && a[si] == '0')
                ++si;
            while (sj + 1 < ej && b[sj] == '0')
                ++sj;
            if (ei - si != ej - sj)
                return ei - si < ej - sj;
            const int c = a.compare(si, ei - si, b, sj, ej - sj);
            if (c != 0)
                return c < 0;
            i = ei;
            j = ej;
            continue;
        }
        if (a[i] != b[j])
            return a[i] < b[j];
        ++i;
        ++j;
    }
    return a.size() - i < b.size() - j;
}

// Reads the tensors of one file, tracking which keys were consumed.
class KeyReader {
public:
    KeyReader(const io::StateDict& tensors, std::string source)
        : tensors_(tensors), source_(std::move(source))
    {
    }

    const at::Tensor* find(const std::string& key)
    {
        const at::Tensor* t = tensors_.find(key);
        if (t != nullptr)
            used_.insert(key);
        return t;
    }
    const at::Tensor& require(const std::string& key, const std::string& owner)
    {
        const at::Tensor* t = find(key);
        if (t == nullptr)
            throw Error(where(owner) + ": key " + quoted(key) + " is missing");
        return *t;
    }
    std::int64_t requireScalarU8(const std::string& key, const std::string& owner)
    {
        const at::Tensor& t = require(key, owner);
        if (t.scalar_type() != at::kByte || t.numel() != 1 || t.dim() > 1)
            throw Error(where(owner) + ": " + quoted(key) + " must be a uint8 scalar, found "
                        + std::string(c10::toString(t.scalar_type())) + " with "
                        + std::to_string(t.numel()) + " elements");
        return t.item<std::uint8_t>();
    }
    std::pair<float, float> requireFloatPair(const std::string& key, const std::string& owner)
    {
        const at::Tensor& t = require(key, owner);
        if (t.scalar_type() != at::kFloat || t.dim() != 1 || t.numel() != 2)
            throw Error(where(owner) + ": " + quoted(key) + " must be float32 of shape [2]");
        const at::Tensor c = t.contiguous();
        const float* p = c.data_ptr<float>();
        if (!std::isfinite(p[0]) || !std::isfinite(p[1]))
            throw Error(where(owner) + ": " + quoted(key) + " is not finite");
        return {p[0], p[1]};
    }
    void requireUnused(const std::string& key, const std::string& owner)
    {
        if (tensors_.contains(key))
            throw Error(where(owner) + ": key " + quoted(key) + " does not belong to a raw tensor");
    }
    std::vector<std::string> unused() const
    {
        std::vector<std::string> out;
        for (const auto& e : tensors_)
            if (used_.count(e.name) == 0)
                out.push_back(e.name);
        return out;
    }
    std::string where(const std::string& owner) const
    {
        return quoted(source_) + " tensor " + quoted(owner);
    }
    const std::string& source() const { return source_; }

private:
    const io::StateDict& tensors_;
    std::string source_;
    std::set<std::string> used_;
};

bool isPerfectSquare(std::int64_t u)
{
    if (u <= 0)
        return false;
    const auto s = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(u))));
    return s * s == u;
}

float readGlobalL(KeyReader& keys)
{
    const at::Tensor* t = keys.find("rect_l");
    if (t == nullptr)
        throw Error(quoted(keys.source()) + ": key 'rect_l' is missing (not a hyper_model.safetensors file?)");
    if (t->scalar_type() != at::kFloat || t->numel() != 1 || t->dim() > 1)
        throw Error(quoted(keys.source()) + ": 'rect_l' must be a float32 scalar");
    const float l = t->item<float>();
    if (!std::isfinite(l) || l <= 0.f)
        throw Error(quoted(keys.source()) + ": rect_l = " + std::to_string(l) + " must be finite and > 0");
    return l;
}

std::vector<std::uint32_t> readUList(KeyReader& keys)
{
    const at::Tensor* t = keys.find("num_inner_list");
    if (t == nullptr)
        throw Error(quoted(keys.source()) + ": key 'num_inner_list' is missing");
    if ((t->scalar_type() != at::kLong && t->scalar_type() != at::kInt) || t->dim() != 1 || t->numel() == 0)
        throw Error(quoted(keys.source()) + ": 'num_inner_list' must be a non-empty 1-D integer tensor");
    if (t->numel() > 256)
        throw Error(quoted(keys.source()) + ": 'num_inner_list' has " + std::to_string(t->numel())
                    + " entries; positions are stored as uint8 (at most 256)");
    const at::Tensor v = t->to(at::kLong).contiguous();
    std::vector<std::uint32_t> out;
    for (std::int64_t i = 0; i < v.numel(); ++i) {
        const std::int64_t u = v.data_ptr<std::int64_t>()[i];
        if (!isPerfectSquare(u) || u > static_cast<std::int64_t>(kernels::kMaxU))
            throw Error(quoted(keys.source()) + ": num_inner_list[" + std::to_string(i) + "] = "
                        + std::to_string(u) + " is not a perfect square in [1, "
                        + std::to_string(kernels::kMaxU) + "]");
        out.push_back(static_cast<std::uint32_t>(u));
    }
    return out;
}

EncodedTensor readEncoded(KeyReader& keys, const std::string& name, LoadType type, float globalL,
                          const std::vector<std::uint32_t>& uList)
{
    EncodedTensor t;
    t.name = name;
    t.loadType = type;
    const std::string w = keys.where(name);

    const at::Tensor& shapeT = keys.require(name + ".original_shape", name);
    if (shapeT.scalar_type() != at::kLong || shapeT.dim() != 1)
        throw Error(w + ": original_shape must be a 1-D int64 tensor");
    const at::Tensor shapeC = shapeT.contiguous();
    t.shape.assign(shapeC.data_ptr<std::int64_t>(), shapeC.data_ptr<std::int64_t>() + shapeC.numel());
    std::int64_t numel = 1;
    for (std::int64_t d : t.shape) {
        if (d < 0 || (d > 0 && numel > (std::int64_t(1) << 40) / d))
            throw Error(w + ": original_shape has an invalid dimension " + std::to_string(d));
        numel *= d;
    }
    if (numel == 0)
        throw Error(w + ": an encoded tensor cannot have zero elements");
    if (type == LoadType::LinearMatrix && t.shape.size() != 2)
        throw Error(w + ": a Linear index matrix needs a 2-D original_shape, found "
                    + std::to_string(t.shape.size()) + " dimensions");

    const std::int64_t padFlag = keys.requireScalarU8(name + ".if_padding", name);
    const std::int64_t expectPad = type == LoadType::LinearMatrix ? t.shape[1] % 2 : numel % 2;
    if (padFlag != expectPad)
        throw Error(w + ": if_padding = " + std::to_string(padFlag) + " but the shape needs "
                    + std::to_string(expectPad));
    t.padded = padFlag != 0;

    const std::int64_t uPos = keys.requireScalarU8(name + ".U", name);
    if (uPos >= static_cast<std::int64_t>(uList.size()))
        throw Error(w + ": U position " + std::to_string(uPos) + " is out of range (num_inner_list has "
                    + std::to_string(uList.size()) + " entries)");
    t.uPosition = static_cast<std::uint8_t>(uPos);
    t.U = uList[static_cast<std::size_t>(uPos)];

    const std::int64_t K = keys.requireScalarU8(name + ".K", name);
    if (K > static_cast<std::int64_t>(kernels::kMaxRings))
        throw Error(w + ": K = " + std::to_string(K) + " exceeds the supported maximum of "
                    + std::to_string(kernels::kMaxRings) + " rings");
    t.K = static_cast<std::uint32_t>(K);

    const auto center = keys.requireFloatPair(name + ".center_node", name);
    const auto farthest = keys.requireFloatPair(name + ".farthest_node", name);
    t.center[0] = center.first;
    t.center[1] = center.second;
    t.farthest[0] = farthest.first;
    t.farthest[1] = farthest.second;

    t.l = globalL;
    if (const at::Tensor* own = keys.find(name + kTensorLSuffix)) {
        if (own->scalar_type() != at::kFloat || own->numel() != 1 || own->dim() > 1)
            throw Error(w + ": rect_l must be a float32 scalar");
        t.l = own->item<float>();
        if (!std::isfinite(t.l) || t.l <= 0.f)
            throw Error(w + ": rect_l = " + std::to_string(t.l) + " must be finite and > 0");
    }

    const std::int64_t bits = keys.requireScalarU8(name + ".uint_i", name);
    const std::uint32_t maxIndex = t.U * (t.K + 1) - 1;
    if (bits < 1 || bits > 32)
        throw Error(w + ": uint_i = " + std::to_string(bits) + " bits per index is outside [1, 32]");
    if (static_cast<unsigned>(bits) > kernels::bitWidthFor(maxIndex))
        throw Error(w + ": uint_i = " + std::to_string(bits) + " bits is wider than any index below U*(K+1) = "
                    + std::to_string(maxIndex + 1) + " needs (" + std::to_string(kernels::bitWidthFor(maxIndex))
                    + " bits)");
    t.bits = static_cast<unsigned>(bits);

    const std::int64_t padBits = keys.requireScalarU8(name + ".padding_bits", name);
    const std::int64_t count = t.indexCount();
    const auto expectPadBits = kernels::packedPaddingBits(static_cast<std::size_t>(count), t.bits);
    if (padBits != static_cast<std::int64_t>(expectPadBits))
        throw Error(w + ": padding_bits = " + std::to_string(padBits) + " but " + std::to_string(count)
                    + " indices of " + std::to_string(bits) + " bits need " + std::to_string(expectPadBits));
    t.padBits = static_cast<unsigned>(padBits);

    const auto expectBytes = kernels::packedByteCount(static_cast<std::size_t>(count), t.bits);
    if (const at::Tensor* coded = keys.find(name + ".encoded_index_rc")) {
        if (coded->scalar_type() != at::kByte || coded->dim() != 1)
            throw Error(w + ": encoded_index_rc must be a 1-D uint8 tensor");
        const at::Tensor bytes = coded->contiguous();
        if (count > kMaxCodedIndices)
            throw Error(w + ": " + std::to_string(count) + " entropy-coded indices is more than the supported "
                        + std::to_string(kMaxCodedIndices) + " per tensor");
        std::vector<std::uint32_t> indices(static_cast<std::size_t>(count));
        try {
            decodeIndexStream(bytes.data_ptr<std::uint8_t>(), static_cast<std::size_t>(bytes.numel()), indices.size(),
                              t.U, t.K, indices.data());
        } catch (const Error& e) {
            throw Error(w + ": " + e.what());
        }
        t.packed = at::zeros({static_cast<std::int64_t>(expectBytes)}, at::kByte);
        packIndexStream(indices.data(), indices.size(), t.bits, t.packed.data_ptr<std::uint8_t>());
        t.entropyCoded = true;
    } else {
        const at::Tensor& packed = keys.require(name + ".encoded_index", name);
        if (packed.scalar_type() != at::kByte || packed.dim() != 1)
            throw Error(w + ": encoded_index must be a 1-D uint8 tensor");
        if (packed.numel() != static_cast<std::int64_t>(expectBytes))
            throw Error(w + ": encoded_index has " + std::to_string(packed.numel()) + " bytes but "
                        + std::to_string(count) + " indices of " + std::to_string(bits) + " bits need "
                        + std::to_string(expectBytes));
        t.packed = packed.contiguous();
    }

    if (const at::Tensor* scale = keys.find(name + ".row_scale")) {
        if (scale->scalar_type() != at::kHalf || scale->dim() != 1 || scale->numel() != t.scaleRows())
            throw Error(w + ": row_scale must be a 1-D float16 tensor of " + std::to_string(t.scaleRows())
                        + " entries");
        const at::Tensor values = scale->to(at::kFloat).contiguous();
        t.rowScale.assign(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
        for (std::size_t r = 0; r < t.rowScale.size(); ++r)
            if (!std::isfinite(t.rowScale[r]))
                throw Error(w + ": row_scale of row " + std::to_string(r) + " is not finite");
    }

    if (t.K > 0) {
        const kernels::LatticeParams p = t.lattice();
        const float outer = p.halfL + static_cast<float>(t.K) * p.ringStep;
        if (!std::isfinite(p.ringStep) || !(outer > 0.f))
            throw Error(w + ": the farthest node lies so far inside the square that ring " + std::to_string(t.K)
                        + " has a non-positive radius");
    }
    return t;
}

std::vector<std::string> parseNameList(const std::string& json, const std::string& what, const std::string& source)
{
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json);
    } catch (const std::exception& e) {
        throw Error(quoted(source) + ": metadata " + quoted(what) + " is not valid JSON (" + e.what() + ")");
    }
    if (!j.is_array())
        throw Error(quoted(source) + ": metadata " + quoted(what) + " must be a JSON array of strings");
    std::vector<std::string> out;
    for (const auto& v : j) {
        if (!v.is_string())
            throw Error(quoted(source) + ": metadata " + quoted(what) + " must be a JSON array of strings");
        out.push_back(v.get<std::string>());
    }
    return out;
}

}  // namespace

const char* loadTypeName(LoadType type)
{
    switch (type) {
    case LoadType::Raw:
        return "raw";
    case LoadType::Pairs:
        return "pairs";
    case LoadType::LinearMatrix:
        return "linear";
    }
    return "?";
}

std::int64_t EncodedTensor::numel() const
{
    if (!isEncoded())
        return raw.defined() ? raw.numel() : 0;
    std::int64_t n = 1;
    for (std::int64_t d : shape)
        n *= d;
    return n;
}

std::int64_t EncodedTensor::indexRows() const
{
    return loadType == LoadType::LinearMatrix ? shape.at(0) : 1;
}

std::int64_t EncodedTensor::indexCols() const
{
    if (loadType == LoadType::LinearMatrix)
        return (shape.at(1) + 1) / 2;
    return (numel() + 1) / 2;
}

std::int64_t EncodedTensor::indexCount() const
{
    if (!isEncoded())
        return 0;
    return indexRows() * indexCols();
}

std::int64_t EncodedTensor::scaleRows() const
{
    return shape.size() >= 2 ? shape[0] : 1;
}

kernels::LatticeParams EncodedTensor::lattice() const
{
    if (!isEncoded())
        throw Error("tensor " + quoted(name) + " is stored raw and has no lattice parameters");
    return kernels::makeLatticeParams(l, U, K, center, farthest);
}

std::uint32_t EncodedTensor::indexAt(std::int64_t i) const
{
    return kernels::packedIndexAt(packed.data_ptr<std::uint8_t>(), bits, padBits, static_cast<std::size_t>(i));
}

void EncodedTensor::unpackIndicesTo(std::uint32_t* out) const
{
    const auto count = static_cast<std::size_t>(indexCount());
    const std::uint8_t* bytes = packed.data_ptr<std::uint8_t>();
    const auto nbytes = static_cast<std::size_t>(packed.numel());
    constexpr std::int64_t kChunk = 1 << 16;
    at::parallel_for(0, static_cast<std::int64_t>((count + kChunk - 1) / kChunk), 1,
                     [&](std::int64_t begin, std::int64_t end) {
                         for (std::int64_t c = begin; c < end; ++c) {
                             const auto first = static_cast<std::size_t>(c * kChunk);
                             const std::size_t n = std::min<std::size_t>(kChunk, count - first);
                             unpackIndexRange(bytes, nbytes, bits, padBits, first, n, out + first);
                         }
                     });
}

at::Tensor EncodedTensor::unpackedIndices() const
{
    if (!isEncoded())
        throw Error("tensor " + quoted(name) + " is stored raw and has no indices");
    at::Tensor out = loadType == LoadType::LinearMatrix ? at::empty({indexRows(), indexCols()}, at::kInt)
                                                        : at::empty({indexCount()}, at::kInt);
    unpackIndicesTo(reinterpret_cast<std::uint32_t*>(out.data_ptr<std::int32_t>()));
    return out;
}

const EncodedTensor* CompressedModel::find(const std::string& name) const
{
    for (const auto& t : tensors)
        if (t.name == name)
            return &t;
    return nullptr;
}

const EncodedTensor& CompressedModel::at(const std::string& name) const
{
    const EncodedTensor* t = find(name);
    if (t == nullptr)
        throw Error("tensor " + quoted(name) + " is not in the compressed model");
    return *t;
}

std::int64_t CompressedModel::elementCount() const
{
    std::int64_t n = 0;
    for (const auto& t : tensors)
        n += t.numel();
    return n;
}

CompressedModel parseCompressedModel(const io::SafetensorsContent& content, const std::string& source)
{
    KeyReader keys(content.tensors, source);
    CompressedModel model;
    model.metadata = content.metadata;
    model.l = readGlobalL(keys);
    model.uList = readUList(keys);

    std::string orderJson;
    for (const auto& kv : content.metadata) {
        if (kv.first == kMetaTensorOrder)
            orderJson = kv.second;
        else if (kv.first == kMetaExtensions)
            model.extensions = parseNameList(kv.second, kMetaExtensions, source);
    }

    // Every tensor owns a `<name>.load_type` key.
    std::vector<std::string> names;
    const std::string suffix = kLoadTypeSuffix;
    for (const auto& e : content.tensors)
        if (e.name.size() > suffix.size() && e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0)
            names.push_back(e.name.substr(0, e.name.size() - suffix.size()));

    if (!orderJson.empty()) {
        std::vector<std::string> order = parseNameList(orderJson, kMetaTensorOrder, source);
        std::vector<std::string> a = order, b = names;
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        if (a != b)
            throw Error(quoted(source) + ": metadata " + quoted(kMetaTensorOrder)
                        + " does not list exactly the tensors of the file");
        names = std::move(order);
    } else {
        std::sort(names.begin(), names.end(), naturalLess);
    }

    struct PendingRecord {
        std::size_t position;     // in model.tensors and names
        const at::Tensor* record;
        LoadType type;
    };
    std::vector<PendingRecord> records;
    for (const std::string& name : names) {
        const at::Tensor& lt = keys.require(name + kLoadTypeSuffix, name);
        if (lt.scalar_type() != at::kByte || lt.numel() != 1 || lt.dim() > 1)
            throw Error(keys.where(name) + ": load_type must be a uint8 scalar or [1] tensor");
        const int value = lt.item<std::uint8_t>();
        if (value > 2)
            throw Error(keys.where(name) + ": load_type " + std::to_string(value) + " is not 0, 1 or 2");
        const auto type = static_cast<LoadType>(value);
        if (type == LoadType::Raw) {
            EncodedTensor t;
            t.name = name;
            t.loadType = LoadType::Raw;
            t.loadTypeIsVector = lt.dim() == 1;
            t.raw = keys.require(name + kRawSuffix, name);
            for (const char* s : kEncodedSuffixes)
                keys.requireUnused(name + s, name);
            model.tensors.push_back(std::move(t));
        } else if (const at::Tensor* record = keys.find(name + kRecordSuffix)) {
            keys.requireUnused(name + kRawSuffix, name);
            for (const char* s : kEncodedSuffixes)
                keys.requireUnused(name + s, name);
            const std::uint32_t U = tensorRecordU(*record, name, source);
            if (std::find(model.uList.begin(), model.uList.end(), U) == model.uList.end()) {
                if (model.uList.size() >= 256)
                    throw Error(quoted(source) + ": more than 256 distinct U values (tensor " + quoted(name) + ")");
                model.uList.push_back(U);
            }
            records.push_back({model.tensors.size(), record, type});
            model.tensors.emplace_back();
        } else {
            keys.requireUnused(name + kRawSuffix, name);
            model.tensors.push_back(readEncoded(keys, name, type, model.l, model.uList));
        }
    }

    // Records decode their range-coded indices: independent work, run in parallel.
    at::parallel_for(0, static_cast<std::int64_t>(records.size()), 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            const PendingRecord& r = records[static_cast<std::size_t>(i)];
            const std::string& name = names[r.position];
            const io::StateDict expanded = expandTensorRecord(*r.record, name, source, model.uList);
            KeyReader recordKeys(expanded, source);
            model.tensors[r.position] = readEncoded(recordKeys, name, r.type, model.l, model.uList);
        }
    });

    const std::vector<std::string> extra = keys.unused();
    if (!extra.empty())
        throw Error(quoted(source) + ": key " + quoted(extra.front())
                    + " belongs to no tensor (" + std::to_string(extra.size()) + " unexpected keys)");
    return model;
}

CompressedModel readCompressedModel(const std::filesystem::path& path)
{
    const io::SafetensorsContent content = io::readSafetensors(path);
    return parseCompressedModel(content, path.string());
}

at::Tensor decodeTensor(const EncodedTensor& tensor)
{
    if (!tensor.isEncoded()) {
        if (!tensor.raw.defined())
            throw Error("raw tensor " + quoted(tensor.name) + " has no data");
        return tensor.raw;
    }
    const kernels::LatticeParams p = tensor.lattice();
    const std::size_t entries = kernels::decodeTableEntries(p);
    const std::int64_t count = tensor.indexCount();
    // A table pays off when it is used more often than it has entries (a small tensor on a fine
    // lattice decodes each index directly: same function, same bits).
    const bool useTable = static_cast<std::size_t>(count) >= entries;
    std::vector<float> table(useTable ? 2 * entries : 0);
    if (useTable)
        kernels::buildDecodeTable(p, table.data());

    at::Tensor out = at::empty({2 * count}, at::kFloat);
    float* dst = out.data_ptr<float>();
    const std::uint8_t* bytes = tensor.packed.data_ptr<std::uint8_t>();
    const auto nbytes = static_cast<std::size_t>(tensor.packed.numel());
    std::atomic<std::int64_t> badPosition{-1};
    std::atomic<std::uint32_t> badIndex{0};
    constexpr std::int64_t kChunk = 1 << 14;
    at::parallel_for(0, (count + kChunk - 1) / kChunk, 1, [&](std::int64_t begin, std::int64_t end) {
        std::vector<std::uint32_t> idx(kChunk);
        for (std::int64_t c = begin; c < end; ++c) {
            const std::int64_t first = c * kChunk;
            const std::int64_t n = std::min(kChunk, count - first);
            unpackIndexRange(bytes, nbytes, tensor.bits, tensor.padBits, static_cast<std::size_t>(first),
                             static_cast<std::size_t>(n), idx.data());
            for (std::int64_t i = 0; i < n; ++i) {
                const std::uint32_t t = idx[static_cast<std::size_t>(i)];
                if (t >= entries) {
                    std::int64_t expected = -1;
                    if (badPosition.compare_exchange_strong(expected, first + i))
                        badIndex = t;
                    return;
                }
                if (useTable) {
                    dst[2 * (first + i)] = table[2 * t];
                    dst[2 * (first + i) + 1] = table[2 * t + 1];
                } else {
                    kernels::decodeIndex(p, t, dst + 2 * (first + i));
                }
            }
        }
    });
    if (badPosition.load() >= 0)
        throw Error("tensor " + quoted(tensor.name) + ": stored index " + std::to_string(badIndex.load())
                    + " at position " + std::to_string(badPosition.load()) + " is not below U*(K+1) = "
                    + std::to_string(entries));

    at::Tensor dense;
    if (tensor.loadType == LoadType::LinearMatrix) {
        dense = out.view({tensor.shape[0], 2 * tensor.indexCols()});
        if (tensor.padded)
            dense = dense.narrow(1, 0, tensor.shape[1]).contiguous();
    } else {
        if (tensor.padded)
            out = out.narrow(0, 0, tensor.numel()).clone();
        dense = out.view(tensor.shape);
    }
    if (!tensor.rowScale.empty()) {
        if (static_cast<std::int64_t>(tensor.rowScale.size()) != tensor.scaleRows())
            throw Error("tensor " + quoted(tensor.name) + ": row scale has " + std::to_string(tensor.rowScale.size())
                        + " entries, expected " + std::to_string(tensor.scaleRows()));
        const std::int64_t rows = tensor.scaleRows();
        const std::int64_t perRow = tensor.numel() / rows;
        float* v = dense.data_ptr<float>();
        at::parallel_for(0, rows, 64, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t r = begin; r < end; ++r) {
                const float scale = tensor.rowScale[static_cast<std::size_t>(r)];
                for (std::int64_t e = 0; e < perRow; ++e)
                    v[r * perRow + e] *= scale;
            }
        });
    }
    return dense;
}

io::StateDict restoreDense(const CompressedModel& model, const Progress& progress)
{
    io::StateDict out;
    const double total = static_cast<double>(std::max<std::int64_t>(1, model.elementCount()));
    double done = 0;
    for (const auto& t : model.tensors) {
        progress.checkCancelled();
        progress.report(done / total, t.name);
        out.insert(t.name, decodeTensor(t));
        done += static_cast<double>(t.numel());
    }
    progress.report(1.0, "restored");
    return out;
}

}  // namespace birkhoff::format
