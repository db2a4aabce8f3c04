// The safetensors header parser (LibTorch-free: JSON and integers only).
#include "core/io/safetensors_header.h"

#include "core/util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <limits>

namespace birkhoff::io {

namespace {

using Json = nlohmann::ordered_json;

struct DtypeSize {
    const char* name;
    std::size_t size;
};

// The dtypes this project reads (U16/U32 are widened on load; U64 and F8 are not read).
const DtypeSize kDtypeSizes[] = {
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2},
    {"I32", 4},  {"U32", 4}, {"F32", 4}, {"F64", 8}, {"I64", 8},
};

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

}  // namespace

std::size_t safetensorsDtypeSize(const std::string& dtype)
{
    for (const auto& d : kDtypeSizes)
        if (dtype == d.name)
            return d.size;
    return 0;
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
        const std::size_t elementSize = safetensorsDtypeSize(rec.dtype);
        if (elementSize == 0) {
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
        if (!mulChecked(numel, elementSize, expected) || expected != rec.end - rec.begin)
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

}  // namespace birkhoff::io
