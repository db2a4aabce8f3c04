// safetensors reading and writing.
#include "core/io/safetensors.h"

#include "core/util/atomic_file.h"
#include "core/util/error.h"

#include <ATen/Functions.h>
#include <ATen/ops/from_blob.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace birkhoff::io {

namespace {

using Json = nlohmann::ordered_json;

struct DtypeInfo {
    const char* name;
    std::size_t size;
    c10::ScalarType type;       // type the tensor is loaded as
    bool widen;                 // stored type differs from `type` (unsigned wide ints)
    int rank;                   // the Python library's sort rank (higher first)
};

// Ranks follow the safetensors Dtype enum order (BOOL < U8 < I8 < I16 < U16 < F16 < BF16 < I32
// < U32 < F32 < F64 < I64 < U64); only relative order matters.
const DtypeInfo kDtypes[] = {
    {"BOOL", 1, c10::ScalarType::Bool, false, 0},
    {"U8", 1, c10::ScalarType::Byte, false, 4},
    {"I8", 1, c10::ScalarType::Char, false, 5},
    {"I16", 2, c10::ScalarType::Short, false, 9},
    {"U16", 2, c10::ScalarType::Int, true, 10},
    {"F16", 2, c10::ScalarType::Half, false, 11},
    {"BF16", 2, c10::ScalarType::BFloat16, false, 12},
    {"I32", 4, c10::ScalarType::Int, false, 13},
    {"U32", 4, c10::ScalarType::Long, true, 14},
    {"F32", 4, c10::ScalarType::Float, false, 15},
    {"F64", 8, c10::ScalarType::Double, false, 16},
    {"I64", 8, c10::ScalarType::Long, false, 17},
};

const DtypeInfo* findDtype(const std::string& name)
{
    for (const auto& d : kDtypes)
        if (name == d.name)
            return &d;
    return nullptr;
}

const DtypeInfo& dtypeForType(c10::ScalarType type)
{
    for (const auto& d : kDtypes)
        if (!d.widen && d.type == type)
            return d;
    throw Error(std::string("safetensors cannot store tensors of type ") + c10::toString(type));
}

std::uint64_t readU64le(const std::uint8_t* p)
{
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | p[i];
    return v;
}

// Multiplies with overflow detection; returns false on overflow.
bool mulChecked(std::uint64_t a, std::uint64_t b, std::uint64_t& out)
{
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a)
        return false;
    out = a * b;
    return true;
}

at::Tensor widenUnsigned(const std::uint8_t* src, const DtypeInfo& info,
                         const std::vector<std::int64_t>& shape)
{
    at::Tensor out = at::empty(shape, at::TensorOptions().dtype(info.type));
    const std::int64_t n = out.numel();
    if (info.size == 2) {
        auto* dst = out.data_ptr<std::int32_t>();
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint16_t v;
            std::memcpy(&v, src + 2 * i, 2);
            dst[i] = v;
        }
    } else {
        auto* dst = out.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint32_t v;
            std::memcpy(&v, src + 4 * i, 4);
            dst[i] = v;
        }
    }
    return out;
}

}  // namespace

std::string safetensorsDtypeName(c10::ScalarType type)
{
    return dtypeForType(type).name;
}

SafetensorsHeader parseSafetensorsHeader(const std::uint8_t* data, std::size_t size,
                                         const std::string& source)
{
    const std::string where = "'" + source + "'";
    if (size < 8)
        throw Error(where + " is not a safetensors file: shorter than the 8-byte header length");
    const std::uint64_t headerLen = readU64le(data);
    if (headerLen > kMaxSafetensorsHeaderBytes)
        throw Error(where + ": safetensors header claims " + std::to_string(headerLen)
                    + " bytes, more than the " + std::to_string(kMaxSafetensorsHeaderBytes)
                    + "-byte limit (corrupt or not a safetensors file)");
    if (headerLen > size - 8)
        throw Error(where + ": safetensors header claims " + std::to_string(headerLen)
                    + " bytes but the file has only " + std::to_string(size - 8)
                    + " after the length field (truncated file?)");
    if (headerLen < 2)
        throw Error(where + ": safetensors header is too short to be a JSON object");

    Json header;
    try {
        header = Json::parse(reinterpret_cast<const char*>(data + 8),
                             reinterpret_cast<const char*>(data + 8 + headerLen));
    } catch (const std::exception& e) {
        throw Error(where + ": safetensors header is not valid JSON (" + e.what() + ")");
    }
    if (!header.is_object())
        throw Error(where + ": safetensors header is not a JSON object");

    SafetensorsHeader out;
    out.dataStart = 8 + headerLen;
    const std::uint64_t dataSize = size - out.dataStart;

    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const Json& value = it.value();
        if (name == "__metadata__") {
            if (!value.is_object())
                throw Error(where + ": __metadata__ must be an object of strings");
            for (auto m = value.begin(); m != value.end(); ++m) {
                if (!m.value().is_string())
                    throw Error(where + ": __metadata__ entry '" + m.key() + "' is not a string");
                out.metadata.emplace_back(m.key(), m.value().get<std::string>());
            }
            continue;
        }
        const std::string tensor = where + " tensor '" + name + "'";
        if (!value.is_object())
            throw Error(tensor + ": header entry is not an object");
        const auto dtypeIt = value.find("dtype");
        const auto shapeIt = value.find("shape");
        const auto offsetsIt = value.find("data_offsets");
        if (dtypeIt == value.end() || !dtypeIt->is_string())
            throw Error(tensor + ": missing or non-string 'dtype'");
        if (shapeIt == value.end() || !shapeIt->is_array())
            throw Error(tensor + ": missing or non-array 'shape'");
        if (offsetsIt == value.end() || !offsetsIt->is_array() || offsetsIt->size() != 2)
            throw Error(tensor + ": 'data_offsets' must be [begin, end]");

        SafetensorsRecord rec;
        rec.name = name;
        rec.dtype = dtypeIt->get<std::string>();
        const DtypeInfo* info = findDtype(rec.dtype);
        if (info == nullptr) {
            if (rec.dtype == "U64")
                throw Error(tensor + ": dtype U64 is not supported (LibTorch has no uint64)");
            throw Error(tensor + ": unknown dtype '" + rec.dtype + "'");
        }
        std::uint64_t numel = 1;
        for (const Json& dim : *shapeIt) {
            if (!dim.is_number_integer() || dim.get<std::int64_t>() < 0)
                throw Error(tensor + ": shape has a negative or non-integer dimension");
            const auto d = dim.get<std::uint64_t>();
            if (!mulChecked(numel, d, numel))
                throw Error(tensor + ": shape is too large");
            rec.shape.push_back(static_cast<std::int64_t>(d));
        }
        for (const Json& off : *offsetsIt)
            if (!off.is_number_unsigned() && !(off.is_number_integer() && off.get<std::int64_t>() >= 0))
                throw Error(tensor + ": data_offsets must be non-negative integers");
        rec.begin = (*offsetsIt)[0].get<std::uint64_t>();
        rec.end = (*offsetsIt)[1].get<std::uint64_t>();
        if (rec.end < rec.begin)
            throw Error(tensor + ": data_offsets end " + std::to_string(rec.end)
                        + " is before begin " + std::to_string(rec.begin));
        if (rec.end > dataSize)
            throw Error(tensor + ": data_offsets [" + std::to_string(rec.begin) + ", "
                        + std::to_string(rec.end) + ") run past the end of the data ("
                        + std::to_string(dataSize) + " bytes)");
        std::uint64_t expected = 0;
        if (!mulChecked(numel, info->size, expected) || expected != rec.end - rec.begin)
            throw Error(tensor + ": shape and dtype need " + std::to_string(expected)
                        + " bytes but data_offsets span " + std::to_string(rec.end - rec.begin));
        out.records.push_back(std::move(rec));
    }

    std::vector<const SafetensorsRecord*> byOffset;
    for (const auto& r : out.records)
        if (r.end > r.begin)
            byOffset.push_back(&r);
    std::sort(byOffset.begin(), byOffset.end(),
              [](const SafetensorsRecord* a, const SafetensorsRecord* b) { return a->begin < b->begin; });
    for (std::size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i]->begin < byOffset[i - 1]->end)
            throw Error(where + ": tensors '" + byOffset[i - 1]->name + "' and '"
                        + byOffset[i]->name + "' overlap in the data section");
    return out;
}

SafetensorsContent readSafetensors(const std::filesystem::path& path)
{
    std::shared_ptr<MappedFile> file = MappedFile::open(path);
    const SafetensorsHeader header = parseSafetensorsHeader(file->data(), file->size(), path.string());
    SafetensorsContent content;
    content.metadata = header.metadata;
    for (const auto& rec : header.records) {
        const DtypeInfo& info = *findDtype(rec.dtype);
        std::uint8_t* ptr = file->mutableData() + header.dataStart + rec.begin;
        at::Tensor t;
        if (rec.end == rec.begin) {
            t = at::empty(rec.shape, at::TensorOptions().dtype(info.type));
        } else if (info.widen) {
            t = widenUnsigned(ptr, info, rec.shape);
        } else if (info.type == c10::ScalarType::Bool) {
            // Normalise arbitrary bytes to 0/1 so no invalid bool reaches LibTorch.
            t = at::from_blob(ptr, rec.shape, at::TensorOptions().dtype(c10::ScalarType::Byte)).ne(0);
        } else if (reinterpret_cast<std::uintptr_t>(ptr) % info.size != 0) {
            t = at::from_blob(ptr, rec.shape, at::TensorOptions().dtype(info.type)).clone();
        } else {
            std::shared_ptr<MappedFile> keepAlive = file;
            t = at::from_blob(
                ptr, rec.shape, [keepAlive](void*) mutable { keepAlive.reset(); },
                at::TensorOptions().dtype(info.type));
        }
        content.tensors.insert(rec.name, std::move(t));
    }
    return content;
}

void writeSafetensors(const std::filesystem::path& path, const StateDict& tensors,
                      const SafetensorsMetadata& metadata, SafetensorsOrder order)
{
    std::vector<const StateDict::Entry*> entries;
    entries.reserve(tensors.size());
    for (const auto& e : tensors)
        entries.push_back(&e);
    if (order == SafetensorsOrder::DtypeThenName) {
        std::stable_sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) {
            const int ra = dtypeForType(a->tensor.scalar_type()).rank;
            const int rb = dtypeForType(b->tensor.scalar_type()).rank;
            if (ra != rb)
                return ra > rb;
            return a->name < b->name;
        });
    }

    std::vector<at::Tensor> contiguous;
    contiguous.reserve(entries.size());
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& kv : metadata)
            meta[kv.first] = kv.second;
        header["__metadata__"] = std::move(meta);
    }
    std::uint64_t offset = 0;
    for (const auto* e : entries) {
        if (e->name == "__metadata__")
            throw Error("a tensor cannot be named '__metadata__'");
        const DtypeInfo& info = dtypeForType(e->tensor.scalar_type());
        at::Tensor t = e->tensor.to(at::kCPU).contiguous();
        const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * info.size;
        Json rec = Json::object();
        rec["dtype"] = info.name;
        rec["shape"] = t.sizes().vec();
        rec["data_offsets"] = {offset, offset + bytes};
        header[e->name] = std::move(rec);
        offset += bytes;
        contiguous.push_back(std::move(t));
    }
    std::string json = header.dump();
    json.append((8 - json.size() % 8) % 8, ' ');

    writeFileAtomically(path, [&](AtomicFileWriter& out) {
        std::uint8_t len[8];
        std::uint64_t n = json.size();
        for (int i = 0; i < 8; ++i, n >>= 8)
            len[i] = static_cast<std::uint8_t>(n & 0xff);
        out.write(len, 8);
        out.write(json.data(), json.size());
        for (const auto& t : contiguous)
            if (t.numel() > 0)
                out.write(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
    });
}

std::uint64_t safetensorsFileSize(const StateDict& tensors, const SafetensorsMetadata& metadata,
                                  SafetensorsOrder order)
{
    // Mirrors the header construction of writeSafetensors(); tests compare both on real files.
    std::vector<const StateDict::Entry*> entries;
    entries.reserve(tensors.size());
    for (const auto& e : tensors)
        entries.push_back(&e);
    if (order == SafetensorsOrder::DtypeThenName) {
        std::stable_sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) {
            const int ra = dtypeForType(a->tensor.scalar_type()).rank;
            const int rb = dtypeForType(b->tensor.scalar_type()).rank;
            if (ra != rb)
                return ra > rb;
            return a->name < b->name;
        });
    }
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& kv : metadata)
            meta[kv.first] = kv.second;
        header["__metadata__"] = std::move(meta);
    }
    std::uint64_t offset = 0;
    for (const auto* e : entries) {
        const DtypeInfo& info = dtypeForType(e->tensor.scalar_type());
        const std::uint64_t bytes = static_cast<std::uint64_t>(e->tensor.numel()) * info.size;
        Json rec = Json::object();
        rec["dtype"] = info.name;
        rec["shape"] = e->tensor.sizes().vec();
        rec["data_offsets"] = {offset, offset + bytes};
        header[e->name] = std::move(rec);
        offset += bytes;
    }
    const std::uint64_t json = header.dump().size();
    return 8 + json + (8 - json % 8) % 8 + offset;
}

}  // namespace birkhoff::io
